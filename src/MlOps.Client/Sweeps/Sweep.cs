using System.Globalization;
using MlOps.Client.Projects;
using MlOps.Client.Tracking;

namespace MlOps.Client.Sweeps;

/// <summary>Whether the sweep looks for the smallest or the largest objective value.</summary>
public enum SweepGoal
{
    /// <summary>Smaller is better (a loss).</summary>
    Minimize,

    /// <summary>Larger is better (an accuracy).</summary>
    Maximize,
}

/// <summary>How a sweep runs.</summary>
public sealed class SweepOptions
{
    /// <summary>The objective's metric key, logged on each trial and (the best value) on the parent. Default <c>objective</c>.</summary>
    public string Metric { get; set; } = "objective";

    /// <summary>Minimize (default) or maximize <see cref="Metric"/>.</summary>
    public SweepGoal Goal { get; set; } = SweepGoal.Minimize;

    /// <summary>Trials run at once (each is a child run). Default 1.</summary>
    public int MaxParallelTrials { get; set; } = 1;

    /// <summary>The parent run's name. Default <c>sweep</c>.</summary>
    public string ParentRunName { get; set; } = "sweep";

    /// <summary>The search; <see cref="Sweep.SweepAsync"/> uses a <see cref="GridTuner"/> over the space when <see langword="null"/>.</summary>
    public ITuner? Tuner { get; set; }
}

/// <summary>A trial's outcome.</summary>
/// <param name="Number">The trial number.</param>
/// <param name="RunId">Its child run.</param>
/// <param name="Parameters">Its parameters.</param>
/// <param name="Value">The objective's value; <see langword="null"/> when the trial failed.</param>
/// <param name="Status">The child run's final status (<c>FAILED</c> for a trial that threw, <c>KILLED</c> when cancelled).</param>
/// <param name="Error">What the trial threw, if it failed.</param>
public sealed record TrialResult(int Number, string RunId, IReadOnlyDictionary<string, object> Parameters, double? Value, RunStatus Status, Exception? Error);

/// <summary>A finished sweep.</summary>
/// <param name="ParentRunId">The parent run.</param>
/// <param name="Trials">Every trial, by number.</param>
/// <param name="Best">The best trial (by <see cref="SweepOptions.Goal"/>), or <see langword="null"/> when every trial failed.</param>
public sealed record SweepResult(string ParentRunId, IReadOnlyList<TrialResult> Trials, TrialResult? Best);

/// <summary>
/// Hyperparameter sweeps as nested runs, the way MLflow users organise Optuna or Ray Tune searches: a parent run, one
/// child run per trial (its parameters logged as params, the objective as a metric), trials in parallel up to a bound,
/// a failing trial recorded as a <c>FAILED</c> child without stopping the sweep, and the best trial recorded on the
/// parent: its params, the metric, and the tags <c>best_trial_run_id</c> and <c>best_trial_number</c>.
/// </summary>
public static class Sweep
{
    /// <summary>The objective: trains with the trial's parameters in the trial's run scope and returns the metric's value.</summary>
    /// <param name="run">The trial's child run (log more there if you like).</param>
    /// <param name="parameters">The trial's parameters.</param>
    /// <param name="cancellationToken">Cancelled when the sweep is.</param>
    public delegate Task<double> Objective(RunScope run, IReadOnlyDictionary<string, object> parameters, CancellationToken cancellationToken);

    /// <summary>Runs a sweep under a new parent run.</summary>
    /// <param name="tracker">The tracker.</param>
    /// <param name="space">The parameters.</param>
    /// <param name="objective">The objective.</param>
    /// <param name="options">Metric, goal, parallelism, tuner.</param>
    /// <param name="cancellationToken">Stops launching trials and cancels the running ones (their runs end <c>KILLED</c>, the parent too).</param>
    public static Task<SweepResult> SweepAsync(this Tracker tracker, SearchSpace space, Objective objective, SweepOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(objective);
        options ??= new SweepOptions();
        var o = options;
        return RunSweepAsync(tracker, space, o, (parent, number, parameters, ct) => RunTrialAsync(tracker, parent, number, parameters, objective, o, ct), cancellationToken);
    }

    /// <summary>
    /// Runs a sweep whose trials are project runs (<c>mlops run</c>) — local processes (at most
    /// <see cref="SweepOptions.MaxParallelTrials"/> at once) or Kubernetes Jobs, as <paramref name="project"/>'s
    /// <see cref="ProjectRunOptions.Backend"/> says: each trial runs the entry point with <paramref name="project"/>'s
    /// parameters and the trial's (<c>-P name=value</c>) as a child run of the sweep's parent run, and its value is the
    /// <see cref="SweepOptions.Metric"/> the trial's run logged (its last value). A trial whose command fails, or whose run
    /// logged no such metric, is a failed trial.
    /// </summary>
    /// <param name="tracker">The tracker (its store records the runs; the trials' commands get its tracking URI).</param>
    /// <param name="space">The parameters.</param>
    /// <param name="project">The project, entry point, fixed parameters and backend of every trial.</param>
    /// <param name="options">Metric, goal, parallelism, tuner.</param>
    /// <param name="cancellationToken">Stops launching trials and cancels the running ones (their commands are stopped, their runs end <c>KILLED</c>).</param>
    public static Task<SweepResult> SweepProjectAsync(this Tracker tracker, SearchSpace space, ProjectRunOptions project, SweepOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tracker);
        ArgumentNullException.ThrowIfNull(project);
        options ??= new SweepOptions();
        var o = options;
        return RunSweepAsync(tracker, space, o, (parent, number, parameters, ct) => RunProjectTrialAsync(tracker, parent, number, parameters, project, o, ct), cancellationToken);
    }

    private static async Task<SweepResult> RunSweepAsync(
        Tracker tracker, SearchSpace space, SweepOptions options, Func<RunScope, int, IReadOnlyDictionary<string, object>, CancellationToken, Task<TrialResult>> trial, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tracker);
        ArgumentNullException.ThrowIfNull(space);
        ArgumentException.ThrowIfNullOrEmpty(options.Metric);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxParallelTrials, 1);
        var tuner = options.Tuner ?? new GridTuner(space);

        var parent = await tracker.StartRunAsync(options.ParentRunName, cancellationToken: cancellationToken).ConfigureAwait(false);
        var results = new List<TrialResult>();
        var completed = new List<CompletedTrial>();
        var gate = new object();
        var running = new List<Task>();
        using var slots = new SemaphoreSlim(options.MaxParallelTrials);
        try
        {
            for (var number = 0; ; number++)
            {
                await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
                IReadOnlyDictionary<string, object>? parameters;
                lock (gate)
                {
                    parameters = tuner.Next(number, [.. completed]);
                }

                if (parameters is null)
                {
                    slots.Release();
                    break;
                }

                var trialNumber = number;
                running.Add(Task.Run(async () =>
                {
                    try
                    {
                        var result = await trial(parent, trialNumber, parameters, cancellationToken).ConfigureAwait(false);
                        lock (gate)
                        {
                            results.Add(result);
                            completed.Add(new CompletedTrial(result.Number, result.Parameters, result.Value));
                        }
                    }
                    finally
                    {
                        slots.Release();
                    }
                }, CancellationToken.None));
            }

            await Task.WhenAll(running).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();

            var ordered = results.OrderBy(r => r.Number).ToList();
            var succeeded = ordered.Where(r => r.Value is { } v && !double.IsNaN(v)).ToList();
            var best = succeeded.Count == 0 ? null
                : options.Goal == SweepGoal.Minimize ? succeeded.MinBy(r => r.Value) : succeeded.MaxBy(r => r.Value);
            if (best is not null)
            {
                parent.LogParams(best.Parameters.ToDictionary(p => p.Key, p => (object?)p.Value, StringComparer.Ordinal));
                parent.LogMetric(options.Metric, best.Value!.Value);
                parent.SetTag("best_trial_run_id", best.RunId);
                parent.SetTag("best_trial_number", best.Number.ToString(CultureInfo.InvariantCulture));
            }

            parent.SetTag("sweep_trials", ordered.Count.ToString(CultureInfo.InvariantCulture));
            parent.SetTag("sweep_failed_trials", ordered.Count(r => r.Status != RunStatus.Finished).ToString(CultureInfo.InvariantCulture));
            await parent.EndAsync(RunStatus.Finished, CancellationToken.None).ConfigureAwait(false);
            return new SweepResult(parent.RunId, ordered, best);
        }
        catch (OperationCanceledException)
        {
            await Task.WhenAll(running).ConfigureAwait(false); // the running trials end (KILLED) before their parent does
            await parent.EndAsync(RunStatus.Killed, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        catch
        {
            await Task.WhenAll(running).ConfigureAwait(false);
            await parent.EndAsync(RunStatus.Failed, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    private static async Task<TrialResult> RunTrialAsync(
        Tracker tracker, RunScope parent, int number, IReadOnlyDictionary<string, object> parameters, Objective objective, SweepOptions options, CancellationToken cancellationToken)
    {
        var run = await tracker.StartRunAsync($"trial-{number}", new StartRunOptions { Parent = parent, Tags = { ["trial_number"] = number.ToString(CultureInfo.InvariantCulture) } }, CancellationToken.None).ConfigureAwait(false);
        try
        {
            run.LogParams(parameters.ToDictionary(p => p.Key, p => (object?)p.Value, StringComparer.Ordinal));
            var value = await objective(run, parameters, cancellationToken).ConfigureAwait(false);
            run.LogMetric(options.Metric, value);
            await run.EndAsync(RunStatus.Finished, CancellationToken.None).ConfigureAwait(false);
            return new TrialResult(number, run.RunId, parameters, value, RunStatus.Finished, null);
        }
        catch (Exception ex) when (!run.IsEnded)
        {
            var status = ex is OperationCanceledException && cancellationToken.IsCancellationRequested ? RunStatus.Killed : RunStatus.Failed;
            var message = ex.GetType().Name + ": " + ex.Message.Split('\n')[0];
            run.SetTag("error", message.Length > 1000 ? message[..1000] : message);
            await run.EndAsync(status, CancellationToken.None).ConfigureAwait(false);
            return new TrialResult(number, run.RunId, parameters, null, status, ex);
        }
    }

    private static async Task<TrialResult> RunProjectTrialAsync(
        Tracker tracker, RunScope parent, int number, IReadOnlyDictionary<string, object> parameters, ProjectRunOptions project, SweepOptions options, CancellationToken cancellationToken)
    {
        var trialOptions = new ProjectRunOptions
        {
            Uri = project.Uri,
            EntryPoint = project.EntryPoint,
            Version = project.Version,
            ExperimentId = parent.ExperimentId,
            RunName = $"trial-{number}",
            ParentRunId = parent.RunId,
            StorageDirectory = project.StorageDirectory,
            Backend = project.Backend,
            RecordDvcDigests = project.RecordDvcDigests,
            Messages = project.Messages,
        };
        foreach (var (key, value) in project.Tags)
        {
            trialOptions.Tags[key] = value;
        }

        trialOptions.Tags["trial_number"] = number.ToString(CultureInfo.InvariantCulture);
        foreach (var (key, value) in project.Parameters.Where(p => !parameters.ContainsKey(p.Key)))
        {
            trialOptions.Parameters.Add(new(key, value));
        }

        foreach (var (key, value) in parameters)
        {
            trialOptions.Parameters.Add(new(key, Formatting.PythonFormat.Value(value)));
        }

        await using var runner = new ProjectRunner(new MlflowClientOptions { TrackingUri = tracker.Store.Uri }, tracker.Store);
        ProjectRunResult result;
        try
        {
            result = await runner.RunAsync(trialOptions, cancellationToken).ConfigureAwait(false);
        }
        catch (ProjectExecutionException ex)
        {
            return new TrialResult(number, string.Empty, parameters, null, RunStatus.Failed, ex);
        }

        if (result.Status != RunStatus.Finished)
        {
            return new TrialResult(number, result.RunId, parameters, null, result.Status, new ProjectExecutionException($"Run (ID '{result.RunId}') {result.Status.ToString().ToUpperInvariant()}"));
        }

        var run = await tracker.Store.GetRunAsync(result.RunId, CancellationToken.None).ConfigureAwait(false);
        var metric = run.Data.Metrics.FirstOrDefault(m => m.Key == options.Metric);
        return metric is null
            ? new TrialResult(number, result.RunId, parameters, null, RunStatus.Failed, new ProjectExecutionException($"The trial's run {result.RunId} logged no metric '{options.Metric}'."))
            : new TrialResult(number, result.RunId, parameters, metric.Value, RunStatus.Finished, null);
    }
}
