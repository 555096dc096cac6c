namespace MlOps.Client.OpenTelemetry;

/// <summary>Where <c>AddMlflowExporter</c> sends traces.</summary>
public sealed class MlflowTraceExporterOptions
{
    /// <summary>The tracking server and its credentials; the <c>MLFLOW_*</c> environment when not set (as every client of this SDK).</summary>
    public MlflowClientOptions? Client { get; set; }

    /// <summary>The experiment the traces go to; else <see cref="ExperimentName"/>; else <c>MLFLOW_EXPERIMENT_ID</c> / <c>MLFLOW_EXPERIMENT_NAME</c>; else the default experiment (0).</summary>
    public string? ExperimentId { get; set; }

    /// <summary>The experiment by name (created if missing).</summary>
    public string? ExperimentName { get; set; }

    /// <summary>How long one export (a batch of spans, or a trace's info) may take.</summary>
    public TimeSpan ExportTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>What the exporter has done (read it at any time).</summary>
    public MlflowTraceExportStatistics Statistics { get; } = new();
}

/// <summary>
/// What the MLflow trace exporter has done. A batch the server did not take after OpenTelemetry's own retries
/// (transient answers and connection failures are retried with back-off) is dropped: its spans are counted in
/// <see cref="SpansFailed"/> and the failure is logged once until an export succeeds again.
/// </summary>
public sealed class MlflowTraceExportStatistics
{
    private long _spansExported, _spansFailed, _tracesWritten, _traceInfoFailed;

    /// <summary>Spans the server took.</summary>
    public long SpansExported => Interlocked.Read(ref _spansExported);

    /// <summary>Spans dropped because their batch failed.</summary>
    public long SpansFailed => Interlocked.Read(ref _spansFailed);

    /// <summary>Traces whose info (run, model, user, session, tags) was written after their spans.</summary>
    public long TracesWritten => Interlocked.Read(ref _tracesWritten);

    /// <summary>Traces whose spans arrived but whose info could not be written (they show without that metadata).</summary>
    public long TraceInfoFailed => Interlocked.Read(ref _traceInfoFailed);

    internal void Exported(long spans) => Interlocked.Add(ref _spansExported, spans);

    internal void Failed(long spans) => Interlocked.Add(ref _spansFailed, spans);

    internal void TraceWritten() => Interlocked.Increment(ref _tracesWritten);

    internal void TraceInfoFailure() => Interlocked.Increment(ref _traceInfoFailed);

    /// <inheritdoc/>
    public override string ToString() => $"spans exported {SpansExported}, failed {SpansFailed}; traces written {TracesWritten}, info failed {TraceInfoFailed}";
}
