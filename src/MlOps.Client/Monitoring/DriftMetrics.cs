using System.Diagnostics.Metrics;

namespace MlOps.Client.Monitoring;

/// <summary>
/// Drift as OpenTelemetry metrics, meter <c>MlOps.Client.Monitoring</c> (export with <c>AddMeter("MlOps.Client.Monitoring")</c>),
/// each tagged with <c>model</c>; gauges report the last closed window:
/// <list type="bullet">
/// <item><c>mlops.monitoring.drift.score</c>: each column's score (p-value or distance), by <c>feature</c> and <c>method</c>;</item>
/// <item><c>mlops.monitoring.drift.detected</c>: 1 when the column drifted, else 0, by <c>feature</c>;</item>
/// <item><c>mlops.monitoring.drift.share</c>: the share of features that drifted;</item>
/// <item><c>mlops.monitoring.dataset_drift</c>: 1 when the dataset drifted;</item>
/// <item><c>mlops.monitoring.windows</c>: windows tested, by <c>dataset_drift</c> (a counter).</item>
/// </list>
/// Prediction outputs are reported as features named <c>prediction:&lt;output&gt;</c>.
/// </summary>
public sealed class DriftMetrics : IDisposable
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "MlOps.Client.Monitoring";

    private readonly Meter _meter = new(MeterName);
    private readonly KeyValuePair<string, object?> _model;
    private readonly Counter<long> _windows;
    private volatile DriftReport? _last;

    internal DriftMetrics(string model)
    {
        _model = new("model", model);
        _windows = _meter.CreateCounter<long>("mlops.monitoring.windows", "{window}", "Windows of served data tested for drift.");
        _meter.CreateObservableGauge("mlops.monitoring.drift.score", () => Columns(f => f.Score, withMethod: true), "1", "Drift score of each column in the last window: its p-value or distance.");
        _meter.CreateObservableGauge("mlops.monitoring.drift.detected", () => Columns(f => f.Drifted ? 1 : 0, withMethod: false), "1", "Whether each column drifted in the last window.");
        _meter.CreateObservableGauge("mlops.monitoring.drift.share", () => _last is { } r ? [new Measurement<double>(r.DriftedShare, _model)] : Array.Empty<Measurement<double>>(), "1", "Share of features that drifted in the last window.");
        _meter.CreateObservableGauge("mlops.monitoring.dataset_drift", () => _last is { } r ? [new Measurement<int>(r.DatasetDrift ? 1 : 0, _model)] : Array.Empty<Measurement<int>>(), "1", "Whether the dataset drifted in the last window.");
    }

    internal void Record(DriftReport report)
    {
        _last = report;
        _windows.Add(1, _model, new("dataset_drift", report.DatasetDrift));
    }

    private IEnumerable<Measurement<double>> Columns(Func<FeatureDrift, double> value, bool withMethod)
    {
        if (_last is not { } report)
        {
            yield break;
        }

        foreach (var (f, name) in report.Features.Select(f => (f, f.Name)).Concat(report.Predictions.Select(p => (p, "prediction:" + p.Name))))
        {
            if (!f.Tested)
            {
                continue;
            }

            yield return withMethod
                ? new Measurement<double>(value(f), _model, new("feature", name), new("method", f.Method.ToString()))
                : new Measurement<double>(value(f), _model, new("feature", name));
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _meter.Dispose();
}
