namespace MlOps.Client.XGBoost;

/// <summary>
/// The evaluation history of a training (Python's <c>evals_result</c>): for each evaluation set and metric, the value at
/// each iteration.
/// </summary>
public sealed class EvaluationLog
{
    private readonly Dictionary<string, Dictionary<string, List<double>>> _log = new(StringComparer.Ordinal);
    private readonly List<string> _dataNames = [];

    /// <summary>The evaluation sets, in the order they were given.</summary>
    public IReadOnlyList<string> DataNames => _dataNames;

    /// <summary>The results of the latest iteration, in XGBoost's order.</summary>
    public IReadOnlyList<EvalSetMetric> Latest { get; private set; } = [];

    /// <summary>The metrics recorded for <paramref name="dataName"/>.</summary>
    /// <param name="dataName">The evaluation set.</param>
    public IReadOnlyList<string> Metrics(string dataName) => _log.TryGetValue(dataName, out var m) ? [.. m.Keys] : [];

    /// <summary>The values of <paramref name="metric"/> on <paramref name="dataName"/>, one per iteration.</summary>
    /// <param name="dataName">The evaluation set.</param>
    /// <param name="metric">The metric.</param>
    public IReadOnlyList<double> this[string dataName, string metric] =>
        _log.TryGetValue(dataName, out var m) && m.TryGetValue(metric, out var v) ? v : throw new KeyNotFoundException($"No metric '{metric}' for '{dataName}'.");

    /// <summary>Whether anything has been recorded.</summary>
    public bool IsEmpty => _log.Count == 0;

    internal void Add(IReadOnlyList<EvalSetMetric> results)
    {
        foreach (var r in results)
        {
            if (!_log.TryGetValue(r.DataName, out var metrics))
            {
                _log[r.DataName] = metrics = new Dictionary<string, List<double>>(StringComparer.Ordinal);
                _dataNames.Add(r.DataName);
            }

            if (!metrics.TryGetValue(r.MetricName, out var values))
            {
                metrics[r.MetricName] = values = [];
            }

            values.Add(r.Value);
        }

        Latest = results;
    }
}
