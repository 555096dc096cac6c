using System.Text;
using MlOps.Client.Evaluation;

namespace MlOps.Client.Tracking;

/// <summary>Logging an evaluation into a run, as <c>mlflow.evaluate</c> does.</summary>
public static class RunScopeEvaluationExtensions
{
    /// <summary>
    /// Logs the evaluation's metrics (Python's names; <paramref name="prefix"/> before each, as the evaluator's
    /// <c>metric_prefix</c>) and, for a multiclass classifier, <c>per_class_metrics.csv</c> (the artifact
    /// <c>mlflow.evaluate</c> writes), and the evaluated data's profile when it has one (<see cref="EvaluationResult.Profile"/>,
    /// as <c>{prefix}reference_profile.json</c>). The PNG plots (<c>confusion_matrix.png</c>, <c>roc_curve_plot.png</c>,
    /// <c>precision_recall_curve_plot.png</c>) come with the <c>MlOps.Client.Figures</c> package's <c>LogEvaluationPlotsAsync</c>.
    /// </summary>
    /// <param name="run">The run.</param>
    /// <param name="result">The evaluation.</param>
    /// <param name="prefix">A prefix for the metric names and the artifact (e.g. <c>test_</c>).</param>
    /// <param name="cancellationToken">Cancels the artifact upload.</param>
    public static Task LogEvaluationAsync(this RunScope run, EvaluationResult result, string prefix = "", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(prefix);
        run.LogMetrics(result.Metrics.Select(m => new KeyValuePair<string, double>(prefix + m.Key, m.Value)));
        var profile = result.Profile is { } p ? run.LogTextAsync(p.ToJson(), prefix + Monitoring.ReferenceProfile.FileName, cancellationToken) : Task.CompletedTask;
        if (result.PerClassMetrics.Count == 0)
        {
            return profile;
        }

        // pandas' to_csv(index=False): the union of the rows' columns, in first-seen order; empty where a row has none.
        var columns = result.PerClassMetrics.SelectMany(r => r.Select(c => c.Key)).Distinct(StringComparer.Ordinal).ToList();
        var csv = new StringBuilder(string.Join(",", columns)).Append('\n');
        foreach (var row in result.PerClassMetrics)
        {
            var values = row.ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal);
            csv.Append(string.Join(",", columns.Select(c => Quote(values.GetValueOrDefault(c, ""))))).Append('\n');
        }

        return Task.WhenAll(profile, run.LogTextAsync(csv.ToString(), prefix + "per_class_metrics.csv", cancellationToken));
    }

    private static string Quote(string value) =>
        value.IndexOfAny([',', '"', '\n', '\r']) < 0 ? value : "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
