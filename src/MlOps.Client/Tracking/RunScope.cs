using System.Globalization;
using System.Runtime.InteropServices;
using MlOps.Client.Uploading;
using MlOps.Client.Validation;

namespace MlOps.Client.Tracking;

/// <summary>
/// An open MLflow run, the C# counterpart of <c>with mlflow.start_run() as run:</c>. Logging calls validate at
/// once and only queue (the batched uploader sends them). Ending the scope waits until everything logged in it has
/// been delivered, then sets the final status and end time:
/// <list type="bullet">
/// <item><c>FINISHED</c> when the scope is left normally;</item>
/// <item><c>FAILED</c> when it is left by an exception (detected for <c>using</c>/<see cref="Dispose"/>; see remarks),
/// or after <see cref="Fail(Exception?)"/>;</item>
/// <item><c>KILLED</c> when the exception is an <see cref="OperationCanceledException"/>, on Ctrl+C/SIGTERM, or after <see cref="End(RunStatus)"/> with it.</item>
/// </list>
/// </summary>
/// <remarks>
/// Exception detection: <see cref="Dispose"/> (a <c>using</c> statement or declaration, in sync or async methods)
/// asks the runtime whether an exception is unwinding through it, which is reliable. <see cref="DisposeAsync"/>
/// (<c>await using</c>) cannot know: C# catches the exception before it calls <c>DisposeAsync</c>. With
/// <c>await using</c>, call <see cref="Fail(Exception?)"/> in a catch block, or use
/// <see cref="Tracker.RunAsync(string?, Func{RunScope, Task}, StartRunOptions?, CancellationToken)"/>.
/// </remarks>
public sealed class RunScope : IDisposable, IAsyncDisposable
{
    private readonly Tracker _tracker;
    private readonly RunScope? _previousActive;
    private readonly Dictionary<string, string> _params = new(StringComparer.Ordinal);
    private readonly List<Task> _pending = [];
    private readonly TaskCompletionSource<bool> _created = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Run? _run;
    private string? _runId;
    private RunStatus? _requestedStatus;
    private int _ended;
    private Task? _endTask;
    private volatile MlflowException? _lost;

    internal RunScope(Tracker tracker, RunScope? parent, RunScope? previousActive)
    {
        _tracker = tracker;
        Parent = parent;
        _previousActive = previousActive;
    }

    /// <summary>The run id.</summary>
    public string RunId => Run.Info.RunId;

    /// <summary>The id of the experiment the run belongs to.</summary>
    public string ExperimentId => Run.Info.ExperimentId;

    /// <summary>The run's name.</summary>
    public string? Name => Run.Info.RunName;

    /// <summary>The root of the run's artifacts (e.g. <c>mlflow-artifacts:/1/&lt;run id&gt;/artifacts</c>).</summary>
    public string? ArtifactUri => Run.Info.ArtifactUri;

    /// <summary>The parent run, when this run is nested.</summary>
    public RunScope? Parent { get; }

    /// <summary>The run as the store returned it when the scope started.</summary>
    public Run Run => _run ?? throw new InvalidOperationException("The run has not been created yet: await StartRunAsync before using the scope.");

    /// <summary>Whether the run has been ended.</summary>
    public bool IsEnded => Volatile.Read(ref _ended) != 0;

    /// <summary>
    /// The status the run ended with, once ended (delivered, or spooled to be replayed with its end time).
    /// <see langword="null"/> while it runs, and also after it ended if the server had lost the run (deleted, or no
    /// longer active): then no end was recorded anywhere, and the entities logged since were dropped
    /// (<see cref="Uploading.UploaderCounters.Abandoned"/>).
    /// </summary>
    public RunStatus? FinalStatus { get; private set; }

    /// <summary>The tracker this run belongs to.</summary>
    public Tracker Tracker => _tracker;

    internal RunScope? PreviousActive => _previousActive;

    internal Exception? LastException { get; set; }

    internal Task Created => _created.Task;

    internal void SetCreated(Run run)
    {
        _run = run;
        _runId = run.Info.RunId;
        _created.TrySetResult(true);
    }

    /// <summary>The system-metrics monitor of this run, stopped when the run ends.</summary>
    internal void AttachSystemMetrics(SystemMetrics.SystemMetricsMonitor monitor) => _systemMetrics = monitor;

    private SystemMetrics.SystemMetricsMonitor? _systemMetrics;

    /// <summary>The run's system-metrics monitor while it has one (tests observe it instead of waiting).</summary>
    internal SystemMetrics.SystemMetricsMonitor? SystemMetricsMonitor => Volatile.Read(ref _systemMetrics);

    internal void SetCreationFailed(Exception ex)
    {
        Volatile.Write(ref _ended, 1);
        _created.TrySetException(ex);
    }

    /// <summary>Logs a metric at step 0, timestamped now.</summary>
    /// <param name="key">The metric name.</param>
    /// <param name="value">The value (NaN and infinities allowed).</param>
    public void LogMetric(string key, double value) => LogMetric(key, value, 0);

    /// <summary>Logs a metric at <paramref name="step"/>, timestamped now. The hot path: no allocation in steady state.</summary>
    /// <param name="key">The metric name (validated once per distinct key instance).</param>
    /// <param name="value">The value (NaN and infinities allowed).</param>
    /// <param name="step">The step.</param>
    public void LogMetric(string key, double value, long step)
    {
        var runId = _runId;
        if (runId is null || _ended != 0 || _lost is not null)
        {
            EnsureOpen();
        }

        _tracker.ValidateMetricKey(key);
        var entity = new PendingEntity { RunId = runId!, Key = key, Value = value, Timestamp = _tracker.NowMilliseconds(), Step = step };
        _tracker.Uploader.Enqueue(ref entity);
    }

    /// <summary>Logs a metric at <paramref name="step"/> with an explicit timestamp.</summary>
    /// <param name="key">The metric name.</param>
    /// <param name="value">The value.</param>
    /// <param name="step">The step.</param>
    /// <param name="timestamp">When the value was measured.</param>
    public void LogMetric(string key, double value, long step, DateTimeOffset timestamp)
    {
        EnsureOpen();
        _tracker.ValidateMetricKey(key);
        var ms = timestamp.ToUnixTimeMilliseconds();
        if (ms < 0)
        {
            throw new MlflowValidationException("timestamp", $"Metric '{key}' has timestamp {timestamp:O}, before the Unix epoch.");
        }

        var entity = PendingEntity.ForMetric(RunId, key, value, ms, step);
        _tracker.Uploader.Enqueue(ref entity);
    }

    /// <summary>
    /// Logs a metric linked to an MLflow 3 logged model and/or the dataset it was measured on (Python's
    /// <c>log_metric(key, value, step, model_id=, dataset=)</c>): the value shows on the run and on the model. MLflow
    /// 2.x servers and 2.x-schema files keep the value and ignore the links.
    /// </summary>
    /// <param name="key">The metric name.</param>
    /// <param name="value">The value.</param>
    /// <param name="step">The step.</param>
    /// <param name="modelId">The logged model (<c>m-…</c>, e.g. <see cref="Models.LoggedModelInfo.LoggedModelId"/>), or <see langword="null"/>.</param>
    /// <param name="dataset">The dataset (its name and digest are sent), or <see langword="null"/>.</param>
    public void LogMetric(string key, double value, long step, string? modelId, Dataset? dataset = null)
    {
        EnsureOpen();
        _tracker.ValidateMetricKey(key);
        var link = modelId is null && dataset is null ? null : new MetricLink(modelId, dataset?.Name, dataset?.Digest);
        var entity = PendingEntity.ForMetric(RunId, key, value, _tracker.NowMilliseconds(), step, link);
        _tracker.Uploader.Enqueue(ref entity);
    }

    /// <summary>Logs several metrics at one step, with one timestamp.</summary>
    /// <param name="metrics">Name → value.</param>
    /// <param name="step">The step. Default 0.</param>
    public void LogMetrics(IEnumerable<KeyValuePair<string, double>> metrics, long step = 0)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        EnsureOpen();
        var now = _tracker.NowMilliseconds();
        foreach (var (key, value) in metrics)
        {
            _tracker.ValidateMetricKey(key);
            var entity = PendingEntity.ForMetric(RunId, key, value, now, step);
            _tracker.Uploader.Enqueue(ref entity);
        }
    }

    /// <summary>
    /// Logs a param. Values are formatted as Python MLflow would (<c>0.1</c>, <c>True</c>, <c>None</c>), with the
    /// invariant culture. Logging the same value again does nothing; another value throws (params are immutable).
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <exception cref="MlflowValidationException">Bad key, value over 6000 characters, or a different value for a logged key.</exception>
    public void LogParam(string key, object? value)
    {
        EnsureOpen();
        var text = FormatParam(value);
        MlflowValidator.ValidateParam(key, text);
        lock (_params)
        {
            if (_params.TryGetValue(key, out var existing))
            {
                if (existing == text)
                {
                    return;
                }

                throw new MlflowValidationException("Param value",
                    $"Param '{key}' was already logged with value '{Truncate(existing)}' in run {RunId}; params are immutable and cannot be changed to '{Truncate(text)}'. Start a nested run to log another value.");
            }

            _params[key] = text;
        }

        var entity = PendingEntity.ForParam(RunId, key, text);
        _tracker.Uploader.Enqueue(ref entity);
    }

    /// <summary>
    /// Logs several params (see <see cref="LogParam"/>): any dictionary, e.g. <c>Dictionary&lt;string, double&gt;</c> or
    /// <c>Dictionary&lt;string, object&gt;</c>; for an anonymous object use <see cref="MlflowValues.From(object)"/>.
    /// </summary>
    /// <typeparam name="TValue">The value type.</typeparam>
    /// <param name="parameters">Key → value.</param>
    public void LogParams<TValue>(IEnumerable<KeyValuePair<string, TValue>> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        foreach (var (key, value) in parameters)
        {
            LogParam(key, value);
        }
    }

    /// <summary>Sets a tag (tags may be overwritten; the last value wins).</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value (at most 8000 characters).</param>
    public void SetTag(string key, string value)
    {
        EnsureOpen();
        MlflowValidator.ValidateTag(key, value);
        var entity = PendingEntity.ForTag(RunId, key, value);
        _tracker.Uploader.Enqueue(ref entity);
    }

    /// <summary>Sets a tag from any value, formatted as Python's <c>str()</c> (as <c>mlflow.set_tag</c> stores it: <c>True</c>, <c>0.1</c>, <c>None</c>).</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    public void SetTag(string key, object? value) => SetTag(key, FormatParam(value));

    /// <summary>Sets several tags (values formatted as Python's <c>str()</c> when they are not strings).</summary>
    /// <typeparam name="TValue">The value type.</typeparam>
    /// <param name="tags">Key → value.</param>
    public void SetTags<TValue>(IEnumerable<KeyValuePair<string, TValue>> tags)
    {
        ArgumentNullException.ThrowIfNull(tags);
        foreach (var (key, value) in tags)
        {
            SetTag(key, FormatParam(value));
        }
    }

    /// <summary>Records a dataset used by the run (sent in the background; the run end waits for it).</summary>
    /// <param name="dataset">The dataset.</param>
    /// <param name="context">The <c>mlflow.data.context</c> input tag, e.g. <c>train</c> or <c>eval</c>.</param>
    public void LogInput(Dataset dataset, string? context = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var input = new DatasetInput
        {
            Dataset = dataset,
            Tags = context is null ? [] : [new InputTag(MlflowTags.DatasetContext, context)],
        };
        LogInput(input);
    }

    /// <summary>Records a dataset input with its tags (sent in the background; the run end waits for it).</summary>
    /// <param name="input">The dataset input.</param>
    public void LogInput(DatasetInput input)
    {
        EnsureOpen();
        MlflowValidator.ValidateDatasetInput(input);
        lock (_inputGate)
        {
            // One after the other, in call order, as Python's synchronous log_input: the server keeps the first context
            // of a dataset logged twice ("train" then "eval" stays "train"), and two concurrent inserts of one dataset race.
            _inputs = SendAfterAsync(_inputs, input);
            TrackPending(_inputs);
        }
    }

    private readonly object _inputGate = new();
    private Task _inputs = Task.CompletedTask;

    private async Task SendAfterAsync(Task previous, DatasetInput input)
    {
        await Task.WhenAny(previous).ConfigureAwait(false); // its failure is surfaced by its own pending entry
        await _tracker.Store.LogInputsAsync(RunId, [input], CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>
    /// Registers background work of this run (a dataset, an artifact upload) that must complete before the run
    /// ends; the run end awaits it and surfaces its failure.
    /// </summary>
    internal void TrackPending(Task task)
    {
        EnsureOpen();
        lock (_pending)
        {
            _pending.Add(task);
        }
    }

    /// <summary>
    /// Waits until everything logged so far (in any run of the tracker) has been delivered (or spooled). Throws
    /// <see cref="MlflowUploadException"/> when the server refused some of this run's entities, and
    /// <see cref="MlflowException"/> when the server lost the run (deleted, or no longer active): its entities were
    /// dropped, not delivered.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait (not the upload).</param>
    /// <returns><see langword="false"/> when the flush timeout passed first.</returns>
    public async Task<bool> FlushAsync(CancellationToken cancellationToken = default)
    {
        var delivered = await _tracker.Uploader.FlushAsync(_tracker.Options.Uploader.FlushTimeout, cancellationToken).ConfigureAwait(false);
        await AwaitPendingAsync().ConfigureAwait(false);
        if (_tracker.Uploader.IsRunLost(RunId, out var lostError))
        {
            throw LostException(lostError);
        }

        ThrowIfRejected();
        return delivered;
    }

    /// <summary>Marks the run failed: it ends <c>FAILED</c> when the scope is left.</summary>
    /// <param name="exception">The cause (optional; not sent to the server).</param>
    public void Fail(Exception? exception = null)
    {
        LastException = exception;
        _requestedStatus = exception is OperationCanceledException ? RunStatus.Killed : RunStatus.Failed;
    }

    /// <summary>Ends the run now with <paramref name="status"/> (blocking until delivered; prefer <see cref="EndAsync"/> in async code).</summary>
    /// <param name="status">The final status.</param>
    public void End(RunStatus status = RunStatus.Finished)
    {
        RestoreActive();
        Task.Run(() => EndCoreAsync(status, throwOnRejected: true, CancellationToken.None)).GetAwaiter().GetResult();
    }

    /// <summary>Ends the run with <paramref name="status"/> after everything logged in it has been delivered.</summary>
    /// <param name="status">The final status.</param>
    /// <param name="cancellationToken">Cancels the wait for delivery (the end stays queued: the uploader still delivers it).</param>
    /// <exception cref="MlflowUploadException">The server refused some entities of this run (the run is ended anyway).</exception>
    public Task EndAsync(RunStatus status = RunStatus.Finished, CancellationToken cancellationToken = default)
    {
        RestoreActive();
        return EndCoreAsync(status, throwOnRejected: true, cancellationToken);
    }

    /// <summary>
    /// Ends the run: <c>FAILED</c> (or <c>KILLED</c> for a cancellation) when an exception is unwinding through the
    /// <c>using</c>, the status given to <see cref="Fail"/> if called, else <c>FINISHED</c>. Blocks until delivered.
    /// Never throws for refused entities: they are logged and reported through <see cref="TrackerOptions.OnRejected"/>.
    /// </summary>
    public void Dispose()
    {
        var status = DetermineStatus(Marshal.GetExceptionPointers() != IntPtr.Zero);
        RestoreActive();
        if (IsEnded)
        {
            return;
        }

        Task.Run(() => EndCoreAsync(status, throwOnRejected: false, CancellationToken.None)).GetAwaiter().GetResult();
    }

    /// <summary>Ends the run asynchronously: the status given to <see cref="Fail"/> if called, else <c>FINISHED</c> (see remarks of the class).</summary>
    public ValueTask DisposeAsync()
    {
        var status = DetermineStatus(Marshal.GetExceptionPointers() != IntPtr.Zero);
        RestoreActive();
        return IsEnded ? ValueTask.CompletedTask : new ValueTask(EndCoreAsync(status, throwOnRejected: false, CancellationToken.None));
    }

    /// <inheritdoc />
    public override string ToString() => _run is null ? "RunScope(pending)" : $"RunScope({RunId}, '{Name}', experiment {ExperimentId})";

    internal RunStatus DetermineStatus(bool exceptionUnwinding)
    {
        if (_requestedStatus is { } requested)
        {
            return requested;
        }

        if (exceptionUnwinding)
        {
            return LastException is OperationCanceledException ? RunStatus.Killed : RunStatus.Failed;
        }

        return RunStatus.Finished;
    }

    internal Task EndCoreAsync(RunStatus status, bool throwOnRejected, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _ended, 1) != 0)
        {
            return _endTask ?? Task.CompletedTask;
        }

        _endTask = EndOnceAsync(status, throwOnRejected, cancellationToken);
        return _endTask;
    }

    /// <summary>The server refused this run as a whole (deleted, not active, unknown): logging in it throws from now on.</summary>
    internal void MarkLost(MlflowException error) => _lost ??= error;

    private async Task EndOnceAsync(RunStatus status, bool throwOnRejected, CancellationToken cancellationToken)
    {
        _tracker.Forget(this);
        if (Interlocked.Exchange(ref _systemMetrics, null) is { } monitor)
        {
            await monitor.DisposeAsync().ConfigureAwait(false); // sampling stops before the run's last entities are sent
        }

        Exception? pendingFailure = null;
        try
        {
            await AwaitPendingAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            pendingFailure = ex; // an artifact or model upload failed: the run still ends, then the caller hears of it
        }

        // The end is an entity like any other: queued behind the run's entities, it reaches the server after them — or,
        // while the server is away, the spool, whose replay (in this process or the next) sets it with this end time.
        var endTime = _tracker.Options.TimeProvider.GetUtcNow();
        var lost = _tracker.Uploader.IsRunLost(RunId, out var lostError);
        if (!lost)
        {
            _tracker.Uploader.EnqueueRunEnd(RunId, status, endTime);
        }

        var delivered = await _tracker.Uploader.FlushAsync(_tracker.Options.Uploader.FlushTimeout, cancellationToken).ConfigureAwait(false);
        // The truth: a run the server lost has no end anywhere, so it has no final status.
        FinalStatus = lost || _tracker.Uploader.IsRunLost(RunId, out _) ? null : status;
        if (!delivered)
        {
            _tracker.ReportUndelivered(this);
            throw new MlflowException(
                $"Run {RunId} ended {status.ToString().ToUpperInvariant()}, but the tracking server did not take its entities and its end within {_tracker.Options.Uploader.FlushTimeout.TotalSeconds:0.#} s and the spool is off. " +
                "The uploader keeps them and sends them, end last, when the server answers (until the tracker is disposed).");
        }

        if (pendingFailure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(pendingFailure);
        }

        if (throwOnRejected && (lost || _tracker.Uploader.IsRunLost(RunId, out lostError)))
        {
            _tracker.Uploader.TakeRejected(RunId);
            throw LostException(lostError!);
        }

        if (throwOnRejected)
        {
            ThrowIfRejected();
        }
    }

    private MlflowException LostException(MlflowException error) => new(
        error.Status,
        error.ErrorCode,
        $"Run {RunId} can no longer be logged to: the tracking server refused it ({error.ServerMessage ?? error.Message}). " +
        "It was deleted, or is not active, on the server; entities logged in it since were dropped.",
        error);

    private void ThrowIfRejected()
    {
        var (rejected, total) = _tracker.Uploader.TakeRejected(RunId);
        if (total > 0)
        {
            throw new MlflowUploadException(
                $"The server refused {total} entities of run {RunId}; every other entity was delivered. First: {rejected[0]}",
                rejected,
                total);
        }
    }

    private async Task AwaitPendingAsync()
    {
        Task[] pending;
        lock (_pending)
        {
            pending = [.. _pending];
            _pending.Clear();
        }

        if (pending.Length > 0)
        {
            await Task.WhenAll(pending).ConfigureAwait(false);
        }
    }

    private void RestoreActive()
    {
        if (ReferenceEquals(Tracker.ActiveRunSlot.Value, this))
        {
            Tracker.ActiveRunSlot.Value = _previousActive;
        }
    }

    private void EnsureOpen()
    {
        if (_lost is { } lost && !IsEnded)
        {
            throw LostException(lost);
        }

        if (IsEnded)
        {
            throw new InvalidOperationException($"Run {_run?.Info.RunId ?? "(not created)"} has ended: nothing more can be logged in it.");
        }

        if (_run is null)
        {
            throw new InvalidOperationException("The run has not been created yet: await StartRunAsync before logging.");
        }
    }

    internal static string FormatParam(object? value) => Formatting.PythonFormat.Value(value);

    private static string Truncate(string s) => s.Length <= 100 ? s : s[..100] + "…";
}
