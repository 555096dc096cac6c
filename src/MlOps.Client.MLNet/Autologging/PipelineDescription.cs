using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text.Json.Nodes;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using MlOps.Client.Formatting;

namespace MlOps.Client.MLNet.Autologging;

/// <summary>
/// What a pipeline is made of, read by reflection because ML.NET exposes neither the steps of an
/// <c>EstimatorChain</c> nor a trainer's options: each estimator's type, and each trainer's <c>Options</c> object
/// (<see cref="TrainerInputBase"/>) flattened to params named <c>{Trainer}.{Option}</c>, e.g. <c>SdcaMaximumEntropy.L2Regularization</c>.
/// </summary>
public sealed class PipelineDescription
{
    private static readonly string[] TrainerSuffixes =
        ["MulticlassClassificationTrainer", "BinaryClassificationTrainer", "MulticlassTrainer", "BinaryTrainer", "RegressionTrainer", "RankingTrainer", "Trainer", "Estimator"];

    private PipelineDescription(IReadOnlyList<PipelineStep> steps, IReadOnlyList<KeyValuePair<string, string>> hyperparameters)
    {
        Steps = steps;
        Hyperparameters = hyperparameters;
    }

    /// <summary>The estimators, in order.</summary>
    public IReadOnlyList<PipelineStep> Steps { get; }

    /// <summary>Every trainer's options, flattened: <c>{Trainer}.{Option}</c> → value.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Hyperparameters { get; }

    /// <summary>The shape, e.g. <c>ValueToKeyMapping -> ColumnConcatenating -> SdcaMaximumEntropy</c>.</summary>
    public string Shape => string.Join(" -> ", Steps.Select(s => s.Name));

    /// <summary>Describes <paramref name="estimator"/> (a chain is expanded into its steps).</summary>
    /// <param name="estimator">The estimator or pipeline.</param>
    public static PipelineDescription Describe(object estimator)
    {
        ArgumentNullException.ThrowIfNull(estimator);
        var steps = new List<PipelineStep>();
        var hyper = new List<KeyValuePair<string, string>>();
        foreach (var e in Expand(estimator))
        {
            var name = ShortName(e.GetType());
            var options = new SortedDictionary<string, string>(StringComparer.Ordinal);
            var isTrainer = false;
            foreach (var (prefix, trainerOptions) in FindOptions(e, name, 0))
            {
                isTrainer = true;
                foreach (var (key, value) in FlattenOptions(trainerOptions))
                {
                    options[prefix + "." + key] = value;
                    hyper.Add(new(prefix + "." + key, value));
                }
            }

            steps.Add(new PipelineStep(name, e.GetType().FullName ?? e.GetType().Name, isTrainer, options));
        }

        return new PipelineDescription(steps, hyper);
    }

    /// <summary>The description as JSON: <c>{"steps": [{"name", "type", "is_trainer", "options"}]}</c>.</summary>
    public string ToJson() => new JsonObject
    {
        ["shape"] = Shape,
        ["steps"] = new JsonArray([.. Steps.Select(s => (JsonNode)new JsonObject
        {
            ["name"] = s.Name,
            ["type"] = s.TypeName,
            ["is_trainer"] = s.IsTrainer,
            ["options"] = new JsonObject(s.Options.Select(o => KeyValuePair.Create(o.Key, (JsonNode?)o.Value))),
        })]),
    }.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });

    internal static string ShortName(Type type)
    {
        var name = type.Name;
        var tick = name.IndexOf('`', StringComparison.Ordinal);
        name = tick > 0 ? name[..tick] : name;
        foreach (var suffix in TrainerSuffixes)
        {
            if (name.Length > suffix.Length && name.EndsWith(suffix, StringComparison.Ordinal))
            {
                return name[..^suffix.Length];
            }
        }

        return name;
    }

    private static IEnumerable<object> Expand(object estimator)
    {
        if (estimator is ITrackedEstimator tracked)
        {
            foreach (var inner in Expand(tracked.Inner))
            {
                yield return inner;
            }

            yield break;
        }

        var type = estimator.GetType();
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(EstimatorChain<>)
            && type.GetField("_estimators", BindingFlags.Instance | BindingFlags.NonPublic)?.GetValue(estimator) is IEnumerable steps)
        {
            foreach (var step in steps)
            {
                foreach (var inner in Expand(step))
                {
                    yield return inner;
                }
            }

            yield break;
        }

        yield return estimator;
    }

    /// <summary>The trainer options objects of <paramref name="estimator"/> and of trainers nested in it (e.g. one-versus-all's binary trainer).</summary>
    private static IEnumerable<(string Prefix, TrainerInputBase Options)> FindOptions(object estimator, string prefix, int depth)
    {
        if (depth > 3)
        {
            yield break;
        }

        var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
        for (var t = estimator.GetType(); t is not null && t != typeof(object); t = t.BaseType)
        {
            foreach (var field in t.GetFields(BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.DeclaredOnly))
            {
                var value = field.GetValue(estimator);
                if (value is TrainerInputBase options && seen.Add(options))
                {
                    yield return (prefix, options);
                }
                else if (value is not null && value is not TrainerInputBase && IsTrainer(value.GetType()) && seen.Add(value))
                {
                    foreach (var nested in FindOptions(value, prefix + "." + ShortName(value.GetType()), depth + 1))
                    {
                        yield return nested;
                    }
                }
            }
        }
    }

    private static bool IsTrainer(Type type) =>
        type.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(ITrainerEstimator<,>));

    /// <summary>Public fields and properties with simple values; objects by their type name; data and delegates skipped.</summary>
    internal static IEnumerable<(string Key, string Value)> FlattenOptions(object options)
    {
        var members = options.GetType().GetFields(BindingFlags.Instance | BindingFlags.Public)
            .Select(f => (f.Name, Type: f.FieldType, Get: (Func<object?>)(() => f.GetValue(options))))
            .Concat(options.GetType().GetProperties(BindingFlags.Instance | BindingFlags.Public)
                .Where(p => p.GetIndexParameters().Length == 0 && p.CanRead)
                .Select(p => (p.Name, Type: p.PropertyType, Get: (Func<object?>)(() => p.GetValue(options)))));
        foreach (var (name, type, get) in members.OrderBy(m => m.Name, StringComparer.Ordinal))
        {
            if (typeof(IDataView).IsAssignableFrom(type) || typeof(Delegate).IsAssignableFrom(type))
            {
                continue;
            }

            object? value;
            try
            {
                value = get();
            }
            catch (TargetInvocationException)
            {
                continue;
            }

            var text = Format(value);
            if (text is not null)
            {
                yield return (name, text);
            }
        }
    }

    /// <summary>A parameter as Python MLflow's <c>str(value)</c> stores it (<see cref="PythonFormat"/>: <c>1.0</c>, <c>True</c>, <c>['a', 1]</c>); an object that is not a value by its type name.</summary>
    private static string? Format(object? value) => value switch
    {
        null or string or bool or Enum or float or double or decimal => PythonFormat.Value(value),
        IFormattable when value.GetType().IsPrimitive => PythonFormat.Value(value),
        IEnumerable list => "[" + string.Join(", ", list.Cast<object?>().Select(Item)) + "]",
        _ => value.GetType().Name,
    };

    private static string? Item(object? value) => value is string ? PythonFormat.Repr(value) : Format(value);
}

/// <summary>One estimator of a pipeline.</summary>
/// <param name="Name">The short name (type name without <c>Trainer</c>/<c>Estimator</c> suffixes).</param>
/// <param name="TypeName">The full type name.</param>
/// <param name="IsTrainer">Whether it is a trainer.</param>
/// <param name="Options">Its options, flattened.</param>
public sealed record PipelineStep(string Name, string TypeName, bool IsTrainer, IReadOnlyDictionary<string, string> Options);
