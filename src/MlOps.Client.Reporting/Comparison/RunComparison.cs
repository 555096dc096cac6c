using MlOps.Client;
using MlOps.Client.Formatting;

namespace MlOps.Client.Reporting;

/// <summary>One compared value: a param or metric key and its value in each run.</summary>
/// <param name="Section"><c>params</c> or <c>metrics</c>.</param>
/// <param name="Key">The key.</param>
/// <param name="Values">The value in each run (<see langword="null"/> = absent), in the order of <see cref="RunComparison.Runs"/>.</param>
public sealed record ComparedValue(string Section, string Key, IReadOnlyList<string?> Values)
{
    /// <summary>Whether the runs disagree (a value differs or is absent in some run).</summary>
    public bool Differs => Values.Distinct(StringComparer.Ordinal).Skip(1).Any();
}

/// <summary>Runs side by side, as the MLflow UI's compare view: params, then metrics (latest values), differences marked.</summary>
public sealed class RunComparison
{
    private RunComparison(IReadOnlyList<Run> runs, IReadOnlyList<ComparedValue> values)
    {
        Runs = runs;
        Values = values;
    }

    /// <summary>The compared runs.</summary>
    public IReadOnlyList<Run> Runs { get; }

    /// <summary>Params (sorted by key), then metrics (sorted by key).</summary>
    public IReadOnlyList<ComparedValue> Values { get; }

    /// <summary>Compares <paramref name="runs"/> (at least two).</summary>
    /// <param name="runs">The runs.</param>
    public static RunComparison Create(IReadOnlyList<Run> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        if (runs.Count < 2)
        {
            throw new ArgumentException("Comparing needs at least two runs.", nameof(runs));
        }

        var values = new List<ComparedValue>();
        foreach (var key in runs.SelectMany(r => r.Data.Params.Select(p => p.Key)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            values.Add(new ComparedValue("params", key, runs.Select(r => r.Data.GetParam(key)).ToList()));
        }

        foreach (var key in runs.SelectMany(r => r.Data.Metrics.Select(m => m.Key)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            values.Add(new ComparedValue("metrics", key, runs.Select(r => r.Data.Metrics.LastOrDefault(m => m.Key == key) is { } m ? PythonFormat.Float(m.Value) : null).ToList()));
        }

        return new RunComparison(runs, values);
    }

    /// <summary>A short label for each run: its name and the first 8 characters of its id.</summary>
    public IReadOnlyList<string> RunLabels => Runs.Select(r => $"{r.Info.RunName ?? "run"} ({r.Info.RunId[..Math.Min(8, r.Info.RunId.Length)]})").ToList();

    /// <summary>Writes a markdown table: <c>key | run… | ≠</c>, the last column marking differences with <c>≠</c>.</summary>
    /// <param name="writer">The destination.</param>
    /// <param name="onlyDifferences">Leave out the keys on which the runs agree.</param>
    public void WriteMarkdown(TextWriter writer, bool onlyDifferences = false)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var header = new List<string> { "key" };
        header.AddRange(RunLabels);
        header.Add("≠");
        Markdown.WriteTable(writer, header, Values.Where(v => !onlyDifferences || v.Differs)
            .Select(v => (IReadOnlyList<string?>)[$"{v.Section}.{v.Key}", .. v.Values, v.Differs ? "≠" : ""]));
    }
}
