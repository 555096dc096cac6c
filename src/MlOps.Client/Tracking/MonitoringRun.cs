using MlOps.Client.Monitoring;

namespace MlOps.Client.Tracking;

/// <summary>
/// Drift over time in MLflow: one run per served model (version), named <c>monitoring: &lt;model URI&gt;</c> and tagged
/// <see cref="ModelUriTag"/>, whose metrics have one step per window — so MLflow's UI plots each feature's drift score,
/// the drifted share and the model's live metrics against the window. A host that restarts continues the same run (found
/// by its tag), its steps after the last one logged. Metrics (through the tracker's batched uploader, never waiting):
/// <c>drift_share</c>, <c>dataset_drift</c> (1/0), <c>window_rows</c>, <c>labeled_rows</c>,
/// <c>drift_score.&lt;feature&gt;</c> (p-value or distance), <c>drift_detected.&lt;feature&gt;</c> (1/0),
/// <c>psi.&lt;feature&gt;</c>, the same for predictions as <c>prediction.&lt;output&gt;</c>, and the window's
/// performance as <c>live.&lt;metric&gt;</c>.
/// </summary>
public sealed class MonitoringRun : IAsyncDisposable
{
    /// <summary>The tag that names the monitored model on its monitoring run.</summary>
    public const string ModelUriTag = "mlops.monitoring.model_uri";

    private readonly long _firstStep;

    private MonitoringRun(RunScope run, string modelUri, long firstStep)
    {
        Run = run;
        ModelUri = modelUri;
        _firstStep = firstStep;
    }

    /// <summary>The run.</summary>
    public RunScope Run { get; }

    /// <summary>The monitored model.</summary>
    public string ModelUri { get; }

    /// <summary>Opens the monitoring run of <paramref name="modelUri"/> in the tracker's experiment: the existing one, else a new one.</summary>
    /// <param name="tracker">The tracker (its experiment, its uploader).</param>
    /// <param name="modelUri">The served model (<c>models:/iris/3</c>: one run per version).</param>
    /// <param name="cancellationToken">Cancels the look-up.</param>
    public static async Task<MonitoringRun> StartAsync(Tracker tracker, string modelUri, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tracker);
        ArgumentException.ThrowIfNullOrEmpty(modelUri);
        var experimentId = await tracker.GetExperimentIdAsync(cancellationToken).ConfigureAwait(false);
        var query = new SearchRunsOptions
        {
            Filter = $"tags.`{ModelUriTag}` = '{modelUri.Replace("'", "\\'", StringComparison.Ordinal)}'",
            MaxResults = 1,
        };
        query.ExperimentIds.Add(experimentId);
        query.OrderBy.Add("attributes.start_time DESC");
        var found = (await tracker.Store.SearchRunsPageAsync(query, null, cancellationToken).ConfigureAwait(false)).Values;
        var existing = found.Count > 0 ? found[0] : null;
        var options = new StartRunOptions { ExperimentId = experimentId, Nested = false, ResumeRunId = existing?.Info.RunId, LogSystemMetrics = false };
        long firstStep = 0;
        if (existing is not null)
        {
            var history = await tracker.Store.GetMetricHistoryAsync(existing.Info.RunId, "window_rows", cancellationToken).ConfigureAwait(false);
            firstStep = history.Count == 0 ? 0 : history.Max(m => m.Step) + 1;
        }
        else
        {
            options.Tags[ModelUriTag] = modelUri;
            options.Description = $"Drift of the data served to {modelUri}, one step per window (MlOps.Client monitoring).";
        }

        var run = await tracker.StartRunAsync("monitoring: " + modelUri, options, cancellationToken).ConfigureAwait(false);
        return new MonitoringRun(run, modelUri, firstStep);
    }

    /// <summary>Logs a window's report at step = the run's next window (queued, never waits).</summary>
    /// <param name="report">The window's report.</param>
    public void Record(DriftReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var step = _firstStep + report.Window;
        var at = report.End;
        Run.LogMetric("window_rows", report.Rows, step, at);
        Run.LogMetric("drift_share", report.DriftedShare, step, at);
        Run.LogMetric("dataset_drift", report.DatasetDrift ? 1 : 0, step, at);
        Run.LogMetric("labeled_rows", report.LabeledRows, step, at);
        foreach (var (f, name) in report.Features.Select(f => (f, f.Name)).Concat(report.Predictions.Select(p => (p, "prediction." + p.Name))))
        {
            if (!f.Tested)
            {
                continue;
            }

            var key = MetricName(name);
            Run.LogMetric("drift_score." + key, double.IsFinite(f.Score) ? f.Score : 0, step, at);
            Run.LogMetric("drift_detected." + key, f.Drifted ? 1 : 0, step, at);
            if (double.IsFinite(f.Psi))
            {
                Run.LogMetric("psi." + key, f.Psi, step, at);
            }
        }

        foreach (var (metric, value) in report.Performance)
        {
            if (double.IsFinite(value))
            {
                Run.LogMetric("live." + metric, value, step, at);
            }
        }
    }

    /// <summary>Ends the run (it is resumed by the next <see cref="StartAsync"/> for the same model).</summary>
    public ValueTask DisposeAsync() => Run.DisposeAsync();

    /// <summary>A column name as an MLflow metric key: letters, digits and <c>_ - . / space</c> kept, anything else <c>_</c>.</summary>
    internal static string MetricName(string name) =>
        string.Concat(name.Select(c => char.IsLetterOrDigit(c) || c is '_' or '-' or '.' or '/' or ' ' ? c : '_'));
}
