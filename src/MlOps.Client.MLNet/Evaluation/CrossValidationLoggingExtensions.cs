using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlOps.Client.MLNet.Autologging;
using MlOps.Client.Tracking;

namespace MlOps.Client.MLNet.Evaluation;

/// <summary>
/// <c>catalog.CrossValidate(...).LogTo()</c>: each fold becomes a nested child run (<c>fold_0</c>, <c>fold_1</c>, …) with
/// its metrics; the parent gets <c>{metric}_mean</c> and <c>{metric}_std</c> (population standard deviation) of each.
/// </summary>
public static class CrossValidationLoggingExtensions
{
    /// <summary>Logs the folds of any ML.NET cross-validation.</summary>
    /// <typeparam name="T">The metrics type.</typeparam>
    /// <param name="results">The folds.</param>
    /// <param name="prefix">A prefix for every key.</param>
    /// <param name="run">The parent run (the active one, or one started for it, when <see langword="null"/>).</param>
    /// <param name="labels">Class names in key order for multiclass metric names, or class indexes.</param>
    public static IReadOnlyList<TrainCatalogBase.CrossValidationResult<T>> LogTo<T>(this IReadOnlyList<TrainCatalogBase.CrossValidationResult<T>> results, string prefix = "", RunScope? run = null, IReadOnlyList<string>? labels = null)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(results);
        var folds = results.Select(r => r.Metrics switch
        {
            BinaryClassificationMetrics b => MetricNames.Flatten(b),
            MulticlassClassificationMetrics m => MetricNames.Flatten(m, labels),
            RegressionMetrics g => MetricNames.Flatten(g),
            RankingMetrics k => MetricNames.Flatten(k),
            ClusteringMetrics c => MetricNames.Flatten(c),
            AnomalyDetectionMetrics a => MetricNames.Flatten(a),
            _ => throw new NotSupportedException($"Cross-validation metrics of type {typeof(T).Name} are not supported."),
        }).ToList();
        LogFolds(folds, results.Select(r => r.Fold).ToList(), prefix, run);
        return results;
    }

    internal static void LogFolds(IReadOnlyList<IReadOnlyDictionary<string, double>> folds, IReadOnlyList<int> foldIndexes, string prefix, RunScope? run)
    {
        run ??= Tracker.ActiveRun;
        if (run is null)
        {
            var session = MLNetAutolog.Current
                ?? throw new InvalidOperationException("No run to log the cross-validation to: pass a run, start one, or enable autologging.");
            session.InRun("cross-validation", r => LogFolds(folds, foldIndexes, prefix, r));
            return;
        }

        for (var i = 0; i < folds.Count; i++)
        {
            using var child = run.Tracker.StartRun(string.Create(CultureInfo.InvariantCulture, $"fold_{foldIndexes[i]}"), new StartRunOptions { Parent = run });
            child.LogParam("fold", foldIndexes[i]);
            child.LogMetrics(folds[i].Select(kv => KeyValuePair.Create(prefix + kv.Key, kv.Value)));
        }

        var keys = folds.SelectMany(f => f.Keys).Distinct(StringComparer.Ordinal);
        var summary = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            var values = folds.Where(f => f.ContainsKey(key)).Select(f => f[key]).ToArray();
            var mean = values.Average();
            summary[$"{prefix}{key}_mean"] = mean;
            summary[$"{prefix}{key}_std"] = Math.Sqrt(values.Average(v => (v - mean) * (v - mean)));
        }

        run.LogMetrics(summary);
        run.LogParam("cv_folds", folds.Count);
    }
}
