using MlOps.Client.Uploading;

namespace MlOps.Client.Tracking;

/// <summary>Options of a <see cref="Tracker"/>.</summary>
public sealed class TrackerOptions
{
    /// <summary>
    /// The experiment runs go to, by name (created if missing). When neither this nor <see cref="ExperimentId"/>
    /// is set, <c>MLFLOW_EXPERIMENT_NAME</c> / <c>MLFLOW_EXPERIMENT_ID</c> are read, else MLflow's default experiment.
    /// </summary>
    public string? ExperimentName { get; set; }

    /// <summary>The experiment runs go to, by id.</summary>
    public string? ExperimentId { get; set; }

    /// <summary>The value of the <c>mlflow.source.name</c> tag; the entry assembly's path when <see langword="null"/>.</summary>
    public string? SourceName { get; set; }

    /// <summary>Where to look for a git checkout for the <c>mlflow.source.git.*</c> tags; the current directory when <see langword="null"/>.</summary>
    public string? WorkingDirectory { get; set; }

    /// <summary>Whether to set the system tags (<c>mlflow.user</c>, <c>mlflow.source.*</c>). Default <see langword="true"/>.</summary>
    public bool SetSystemTags { get; set; } = true;

    /// <summary>
    /// Whether the tracker ends open runs on Ctrl+C / SIGTERM (as <c>KILLED</c>), on an unhandled exception (as
    /// <c>FAILED</c>) and at process exit (as <c>FINISHED</c>), after delivering what was logged. Default <see langword="true"/>.
    /// </summary>
    public bool HandleProcessExit { get; set; } = true;

    /// <summary>Uploader settings: buffer size, full-buffer policy, batching delay, concurrency, timeouts.</summary>
    public UploaderOptions Uploader { get; private set; } = new();

    /// <summary>Called (on the uploader's thread) for each entity the server refused permanently.</summary>
    public Action<RejectedEntity>? OnRejected { get; set; }

    /// <summary>The clock (replace it in tests). Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// System metrics (<c>system/cpu_utilization_percentage</c>, memory, disk, network, GPU, and the .NET process's
    /// figures), read from <c>MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING</c>, <c>MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL</c>,
    /// <c>MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING</c> and <c>MLFLOW_SYSTEM_METRICS_NODE_ID</c> when the options are made.
    /// </summary>
    public SystemMetrics.SystemMetricsOptions SystemMetrics { get; private set; } = MlOps.Client.SystemMetrics.SystemMetricsOptions.FromEnvironment();

    /// <summary>A copy (the uploader and spool options too): a tracker keeps its own, so changing these later does not reach it.</summary>
    internal TrackerOptions Copy()
    {
        var copy = (TrackerOptions)MemberwiseClone();
        copy.Uploader = Uploader.Copy();
        copy.SystemMetrics = SystemMetrics.Copy();
        return copy;
    }
}

/// <summary>Options of <see cref="Tracker.StartRun(string?, StartRunOptions?)"/>.</summary>
public sealed class StartRunOptions
{
    /// <summary>Tags set at creation.</summary>
    public IDictionary<string, string> Tags { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>A description, shown in MLflow's UI (tag <c>mlflow.note.content</c>).</summary>
    public string? Description { get; set; }

    /// <summary>
    /// Log system metrics for this run while it is open (Python's <c>start_run(log_system_metrics=True)</c>); when
    /// <see langword="null"/>, <see cref="TrackerOptions.SystemMetrics"/> decides (<c>MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING</c>).
    /// </summary>
    public bool? LogSystemMetrics { get; set; }

    /// <summary>
    /// The parent run. <see langword="null"/> (default) nests the run under the active run of the current async
    /// flow, if any; set <see cref="Nested"/> to <see langword="false"/> to start a top-level run anyway.
    /// </summary>
    public RunScope? Parent { get; set; }

    /// <summary>Whether to nest under the active run when <see cref="Parent"/> is not given. Default <see langword="true"/>.</summary>
    public bool Nested { get; set; } = true;

    /// <summary>An experiment for this run only (id), overriding the tracker's.</summary>
    public string? ExperimentId { get; set; }

    /// <summary>Resume this existing run instead of creating one (as <c>MLFLOW_RUN_ID</c> does for the first run).</summary>
    public string? ResumeRunId { get; set; }
}
