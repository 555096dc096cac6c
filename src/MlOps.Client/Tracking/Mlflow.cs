namespace MlOps.Client.Tracking;

/// <summary>
/// Python's module-level fluent API for scripts and notebooks (Polyglot Notebooks / .NET Interactive):
/// <c>Mlflow.LogMetric("loss", 0.3)</c> with no run object, as <c>mlflow.log_metric</c> — a thin layer over one
/// process-wide <see cref="Tracking.Tracker"/> (created from the environment on first use, as Python reads
/// <c>MLFLOW_TRACKING_URI</c>) and its active run. Logging without an active run starts one, as Python does; end it with
/// <see cref="EndRun"/> (or let the process end it: FINISHED, or FAILED after an unhandled exception). Applications
/// that own their tracker use <see cref="Tracking.Tracker"/> and <see cref="RunScope"/> directly.
/// </summary>
public static class Mlflow
{
    private static readonly object s_gate = new();
    private static Tracker? s_tracker;
    private static RunScope? s_fluentRun;
    private static RunScope? s_lastRun;

    /// <summary>The tracker the fluent calls use: <see cref="Tracking.Tracker.FromEnvironment"/> on first use, or the one set here.</summary>
    public static Tracker Tracker
    {
        get
        {
            lock (s_gate)
            {
                return s_tracker ??= Tracker.FromEnvironment();
            }
        }

        set
        {
            ArgumentNullException.ThrowIfNull(value);
            lock (s_gate)
            {
                s_tracker = value;
            }
        }
    }

    /// <summary>As <c>mlflow.set_tracking_uri</c>: later fluent calls go to <paramref name="uri"/> (<c>http(s)://…</c> or <c>sqlite:///…</c>).</summary>
    /// <param name="uri">The tracking URI.</param>
    public static void SetTrackingUri(string uri)
    {
        ArgumentException.ThrowIfNullOrEmpty(uri);
        var options = MlflowClientOptions.FromEnvironment();
        options.TrackingUri = uri;
        Tracker = Tracker.FromClientOptions(options);
    }

    /// <summary>As <c>mlflow.set_experiment(name)</c>: later runs go to that experiment, created when missing.</summary>
    /// <param name="name">The experiment's name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public static Task<Experiment> SetExperimentAsync(string name, CancellationToken cancellationToken = default) =>
        Tracker.SetExperimentAsync(name, cancellationToken);

    /// <summary>As <c>mlflow.start_run</c>: starts a run (a child of the active one, if any) and makes it active; dispose it or call <see cref="EndRun"/>.</summary>
    /// <param name="runName">The run's name; generated as Python's when <see langword="null"/>.</param>
    public static RunScope StartRun(string? runName = null)
    {
        var run = Tracker.StartRun(runName);
        lock (s_gate)
        {
            s_lastRun = run;
        }

        return run;
    }

    /// <summary>
    /// As <c>mlflow.active_run()</c>: the run active in the current flow, else the open run the fluent calls started
    /// (a notebook's next cell is another flow), or <see langword="null"/>.
    /// </summary>
    public static RunScope? ActiveRun
    {
        get
        {
            if (Tracker.ActiveRun is { } active)
            {
                return active;
            }

            lock (s_gate)
            {
                return s_fluentRun is { IsEnded: false } open ? open : null;
            }
        }
    }

    /// <summary>As <c>mlflow.last_active_run()</c>: the active run, else the last run started through this class (ended or not).</summary>
    public static RunScope? LastActiveRun
    {
        get
        {
            lock (s_gate)
            {
                return ActiveRun ?? s_lastRun;
            }
        }
    }

    /// <summary>As <c>mlflow.end_run</c>: ends the active run with <paramref name="status"/>; nothing when none is active.</summary>
    /// <param name="status">The final status.</param>
    public static void EndRun(RunStatus status = RunStatus.Finished)
    {
        if (ActiveRun is { } run)
        {
            run.End(status);
            lock (s_gate)
            {
                if (ReferenceEquals(s_fluentRun, run))
                {
                    s_fluentRun = null;
                }
            }
        }
    }

    /// <summary>As <c>mlflow.log_metric</c>.</summary>
    /// <param name="key">The metric's key.</param>
    /// <param name="value">The value.</param>
    /// <param name="step">The step.</param>
    public static void LogMetric(string key, double value, long step = 0) => Run().LogMetric(key, value, step);

    /// <summary>As <c>mlflow.log_metrics</c>.</summary>
    /// <param name="metrics">The metrics.</param>
    /// <param name="step">The step.</param>
    public static void LogMetrics(IEnumerable<KeyValuePair<string, double>> metrics, long step = 0) => Run().LogMetrics(metrics, step);

    /// <summary>As <c>mlflow.log_param</c> (the value formatted as Python's <c>str()</c>).</summary>
    /// <param name="key">The parameter's key.</param>
    /// <param name="value">The value.</param>
    public static void LogParam(string key, object? value) => Run().LogParam(key, value);

    /// <summary>As <c>mlflow.log_params</c>.</summary>
    /// <typeparam name="TValue">The values' type.</typeparam>
    /// <param name="parameters">The parameters.</param>
    public static void LogParams<TValue>(IEnumerable<KeyValuePair<string, TValue>> parameters) => Run().LogParams(parameters);

    /// <summary>As <c>mlflow.set_tag</c>.</summary>
    /// <param name="key">The tag's key.</param>
    /// <param name="value">The value.</param>
    public static void SetTag(string key, object? value) => Run().SetTag(key, value);

    /// <summary>As <c>mlflow.set_tags</c>.</summary>
    /// <typeparam name="TValue">The values' type.</typeparam>
    /// <param name="tags">The tags.</param>
    public static void SetTags<TValue>(IEnumerable<KeyValuePair<string, TValue>> tags) => Run().SetTags(tags);

    /// <summary>The active run, or one started for the fluent calls (as Python's fluent API starts one).</summary>
    private static RunScope Run()
    {
        if (ActiveRun is { } active)
        {
            return active; // or the one started by an earlier call in another flow: Python's one active run
        }

        var run = StartRun();
        lock (s_gate)
        {
            s_fluentRun = run;
        }

        return run;
    }

    /// <summary>Forgets the tracker and the runs (tests).</summary>
    internal static void Reset()
    {
        lock (s_gate)
        {
            s_tracker = null;
            s_fluentRun = null;
            s_lastRun = null;
        }
    }
}
