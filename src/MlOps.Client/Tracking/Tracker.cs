using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MlOps.Client.Configuration;
using MlOps.Client.Stores;
using MlOps.Client.Uploading;
using MlOps.Client.Validation;

namespace MlOps.Client.Tracking;

/// <summary>
/// Starts and tracks runs — the C# counterpart of Python's fluent <c>mlflow.start_run()</c>. One tracker per store
/// (tracking server or embedded database); thread-safe. Runs started while another run is active in the same async
/// flow become its children. Everything logged goes through one background uploader.
/// </summary>
public sealed class Tracker : IDisposable, IAsyncDisposable
{
    internal static readonly AsyncLocal<RunScope?> ActiveRunSlot = new();

    private readonly ConcurrentDictionary<RunScope, byte> _open = new();
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _experimentGate = new(1, 1);
    private readonly bool _ownsStore;
    private readonly ProcessHooks? _processHooks;
    private volatile string[] _validatedKeys = [];
    private string? _experimentId;
    private int _resumeConsumed;
    private int _disposed;

    /// <summary>Creates a tracker over a store.</summary>
    /// <param name="store">The tracking server or embedded store.</param>
    /// <param name="options">Options; defaults when <see langword="null"/>.</param>
    /// <param name="loggerFactory">Logging; none when <see langword="null"/>.</param>
    public Tracker(ITrackingStore store, TrackerOptions? options = null, ILoggerFactory? loggerFactory = null)
        : this(store, options, loggerFactory, ownsStore: false)
    {
    }

    /// <summary>Creates a tracker that records runs on the tracking server of <paramref name="client"/>.</summary>
    /// <param name="client">The client.</param>
    /// <param name="options">Options; defaults when <see langword="null"/>.</param>
    public Tracker(MlflowClient client, TrackerOptions? options = null)
        : this(new RestTrackingStore(client ?? throw new ArgumentNullException(nameof(client))), options, client.Options.LoggerFactory, ownsStore: true)
    {
    }

    internal Tracker(ITrackingStore store, TrackerOptions? options, ILoggerFactory? loggerFactory, bool ownsStore)
    {
        ArgumentNullException.ThrowIfNull(store);
        Store = store;
        Options = options?.Copy() ?? new TrackerOptions(); // the tracker's own: later changes to the caller's object do not reach it
        _ownsStore = ownsStore;
        _logger = loggerFactory?.CreateLogger("MlOps.Client.Tracker") ?? NullLogger.Instance;
        Uploader = new BatchUploader(store, Options.Uploader, Options.TimeProvider, loggerFactory?.CreateLogger("MlOps.Client.Uploader") ?? NullLogger.Instance);
        if (Options.OnRejected is { } onRejected)
        {
            Uploader.Rejected += onRejected;
        }

        Uploader.RunLost += OnRunLost;

        // Which exception ends a scope decides FAILED or KILLED: remember the last one thrown in each run's flow
        // (one process-wide handler for every tracker).
        FirstChanceHook.Ensure();
        if (Options.HandleProcessExit)
        {
            _processHooks = ProcessHooks.Register(this);
        }
    }

    /// <summary>
    /// Creates a tracker from the environment: <c>MLFLOW_TRACKING_URI</c> (http(s):// for a server,
    /// <c>sqlite:///path.db</c> for the embedded store), or the embedded store <c>sqlite:///mlflow.db</c> in the current
    /// directory when it is not set.
    /// </summary>
    /// <param name="options">Options; defaults when <see langword="null"/>.</param>
    /// <param name="loggerFactory">Logging; none when <see langword="null"/>.</param>
    public static Tracker FromEnvironment(TrackerOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        var clientOptions = MlflowClientOptions.FromEnvironment();
        clientOptions.LoggerFactory ??= loggerFactory;
        options = options?.Copy() ?? new TrackerOptions(); // the caller's object is not changed
        var store = TrackingStores.Open(clientOptions);
        if (Environment.GetEnvironmentVariable("MLOPS_SPOOL") is { Length: > 0 } spool)
        {
            options.Uploader.Spool.Enabled = Configuration.MlflowEnvironment.ParseBool("MLOPS_SPOOL", spool);
        }

        return new Tracker(store, options, loggerFactory, ownsStore: true);
    }

    /// <summary>
    /// Replays what the on-disk spool holds for this tracking URI (left by an outage, or by an earlier process) and waits
    /// for the pass: <see langword="true"/> when the spool is empty afterwards, <see langword="false"/> when the server
    /// is still unreachable (the uploader keeps trying). Does nothing without a spool.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting (the replay goes on in the background).</param>
    public Task<bool> ReplaySpoolAsync(CancellationToken cancellationToken = default) => Uploader.ReplaySpoolAsync(cancellationToken);

    /// <summary>The run active in the current async flow (the innermost open run scope), or <see langword="null"/>.</summary>
    public static RunScope? ActiveRun
    {
        get
        {
            var run = ActiveRunSlot.Value;
            while (run is not null && run.IsEnded)
            {
                run = run.PreviousActive;
            }

            return run;
        }
    }

    /// <summary>The store runs are recorded in.</summary>
    public ITrackingStore Store { get; }

    /// <summary>The options.</summary>
    public TrackerOptions Options { get; }

    /// <summary>The uploader's counters: queued, sent, retried, rejected, dropped, buffered.</summary>
    public UploaderCounters Counters => Uploader.Counters;

    internal BatchUploader Uploader { get; }

    /// <summary>The runs started by this tracker and not ended yet.</summary>
    public IReadOnlyCollection<RunScope> OpenRuns => [.. _open.Keys];

    /// <summary>Starts a run (blocking until the store created it) and makes it the active run of the current async flow.</summary>
    /// <param name="name">The run name; generated by the store when <see langword="null"/>.</param>
    /// <param name="tags">Tags to set at creation.</param>
    /// <param name="description">A description (tag <c>mlflow.note.content</c>).</param>
    public RunScope StartRun(string? name = null, IReadOnlyDictionary<string, string>? tags = null, string? description = null)
    {
        var options = new StartRunOptions { Description = description };
        if (tags is not null)
        {
            foreach (var (k, v) in tags)
            {
                options.Tags[k] = v;
            }
        }

        return StartRun(name, options);
    }

    /// <summary>Starts a run (blocking until the store created it) and makes it the active run of the current async flow.</summary>
    /// <param name="name">The run name; generated by the store when <see langword="null"/>.</param>
    /// <param name="options">Tags, description, parent, experiment, resume.</param>
    public RunScope StartRun(string? name, StartRunOptions? options)
    {
        var scope = BeginScope(options);
        try
        {
            Task.Run(() => CreateAsync(scope, name, options, CancellationToken.None)).GetAwaiter().GetResult();
        }
        catch
        {
            ActiveRunSlot.Value = scope.PreviousActive;
            throw;
        }

        return scope;
    }

    /// <summary>
    /// Starts a run and makes it the active run of the calling async flow (set before this method returns, so it
    /// flows to the caller's code after the <c>await</c>).
    /// </summary>
    /// <param name="name">The run name; generated by the store when <see langword="null"/>.</param>
    /// <param name="options">Tags, description, parent, experiment, resume.</param>
    /// <param name="cancellationToken">Cancels the creation.</param>
    public Task<RunScope> StartRunAsync(string? name = null, StartRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        // Not an async method on purpose: the AsyncLocal is set in the caller's context.
        var scope = BeginScope(options);
        return CreateAsync(scope, name, options, cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="body"/> in a new run and ends it <c>FINISHED</c>, <c>FAILED</c> when the body throws, or
    /// <c>KILLED</c> when it is cancelled — the reliable form for async code.
    /// </summary>
    /// <param name="name">The run name.</param>
    /// <param name="body">The training code.</param>
    /// <param name="options">Run options.</param>
    /// <param name="cancellationToken">Cancels the run creation.</param>
    public async Task RunAsync(string? name, Func<RunScope, Task> body, StartRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        var run = await StartRunAsync(name, options, cancellationToken).ConfigureAwait(false);
        try
        {
            await body(run).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            run.Fail(ex);
            await run.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        await run.EndAsync(RunStatus.Finished, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Waits until everything logged so far has been delivered.</summary>
    /// <param name="timeout">The longest wait; the uploader's flush timeout when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns><see langword="false"/> when the timeout passed first (nothing is lost; the uploader keeps trying).</returns>
    public Task<bool> FlushAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Uploader.FlushAsync(timeout ?? Options.Uploader.FlushTimeout, cancellationToken);

    /// <summary>The experiment new runs go to (resolved, and created if missing, on first use).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<string> GetExperimentIdAsync(CancellationToken cancellationToken = default)
    {
        if (_experimentId is { } id)
        {
            return id;
        }

        await _experimentGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_experimentId is { } again)
            {
                return again;
            }

            var byId = Options.ExperimentId ?? (Options.ExperimentName is null ? Environment.GetEnvironmentVariable(MlflowEnvironment.ExperimentId) : null);
            var byName = Options.ExperimentName ?? (byId is null ? Environment.GetEnvironmentVariable(MlflowEnvironment.ExperimentName) : null);
            if (!string.IsNullOrEmpty(byId))
            {
                var experiment = await Store.GetExperimentAsync(byId, cancellationToken).ConfigureAwait(false);
                _experimentId = experiment.ExperimentId;
            }
            else if (!string.IsNullOrEmpty(byName))
            {
                var experiment = await Store.FindExperimentByNameAsync(byName, cancellationToken).ConfigureAwait(false);
                if (experiment is null)
                {
                    try
                    {
                        _experimentId = await Store.CreateExperimentAsync(byName, null, null, cancellationToken).ConfigureAwait(false);
                    }
                    catch (MlflowException ex) when (ex.ErrorCode == MlflowErrorCodes.ResourceAlreadyExists)
                    {
                        // Another process created it meanwhile.
                        _experimentId = (await Store.FindExperimentByNameAsync(byName, cancellationToken).ConfigureAwait(false))!.ExperimentId;
                    }
                }
                else
                {
                    _experimentId = experiment.ExperimentId;
                }
            }
            else
            {
                _experimentId = "0"; // MLflow's default experiment
            }

            return _experimentId;
        }
        finally
        {
            _experimentGate.Release();
        }
    }

    /// <summary>Ends every open run (<c>FINISHED</c>), delivers what is queued, and stops the uploader.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _processHooks?.Dispose();
        await EndOpenRunsAsync(RunStatus.Finished, Options.Uploader.ShutdownTimeout).ConfigureAwait(false);
        await Uploader.DisposeAsync().ConfigureAwait(false);
        if (_ownsStore)
        {
            await Store.DisposeAsync().ConfigureAwait(false);
        }

        _experimentGate.Dispose();
    }

    /// <summary>Ends every open run (<c>FINISHED</c>), delivers what is queued, and stops the uploader (blocking).</summary>
    public void Dispose() => Task.Run(async () => await DisposeAsync().ConfigureAwait(false)).GetAwaiter().GetResult();

    /// <inheritdoc />
    public override string ToString() => $"Tracker({Store.Uri})";

    /// <summary>
    /// Wall-clock milliseconds for metric timestamps. With the system clock: an anchor (wall clock, refreshed every
    /// minute) plus <see cref="Environment.TickCount64"/>, which costs a few ns where reading the wall clock can
    /// cost 30 ns or more on virtual machines; MLflow keeps milliseconds anyway. With another
    /// <see cref="TimeProvider"/> (tests), that provider's clock.
    /// </summary>
    internal long NowMilliseconds()
    {
        var time = Options.TimeProvider;
        if (!ReferenceEquals(time, TimeProvider.System))
        {
            return time.GetUtcNow().ToUnixTimeMilliseconds();
        }

        var ticks = Environment.TickCount64;
        var anchor = _clockAnchor;
        var elapsed = ticks - anchor.TickCount;
        if (elapsed < 0 || elapsed > 60_000)
        {
            anchor = new ClockAnchor(ticks, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            _clockAnchor = anchor;
            return anchor.UnixMilliseconds;
        }

        return anchor.UnixMilliseconds + elapsed;
    }

    private volatile ClockAnchor _clockAnchor = new(long.MinValue / 2, 0);

    private sealed record ClockAnchor(long TickCount, long UnixMilliseconds);

    /// <summary>Validates a metric key once per distinct string instance (a reference check on the hot path).</summary>
    internal void ValidateMetricKey(string key)
    {
        var known = _validatedKeys;
        for (var i = 0; i < known.Length; i++)
        {
            if (ReferenceEquals(known[i], key))
            {
                return;
            }
        }

        MlflowValidator.ValidateMetricKey(key);
        if (known.Length < 256)
        {
            _validatedKeys = [.. known, key];
        }
    }

    internal void Forget(RunScope scope) => _open.TryRemove(scope, out _);

    /// <summary>The server refused a run as a whole: its open scopes throw at the next logging call.</summary>
    private void OnRunLost(string runId, MlflowException error)
    {
        foreach (var scope in _open.Keys)
        {
            if (scope.Run.Info.RunId == runId)
            {
                scope.MarkLost(error);
            }
        }
    }

    internal void ReportUndelivered(RunScope scope) =>
        TrackerLog.RunNotEnded(_logger, scope.RunId, Options.Uploader.FlushTimeout.TotalSeconds);

    internal async Task EndOpenRunsAsync(RunStatus status, TimeSpan timeout)
    {
        var runs = _open.Keys.ToArray();
        if (runs.Length == 0)
        {
            return;
        }

        using var cts = new CancellationTokenSource(timeout);
        // Children first, so a parent never ends before its children.
        foreach (var run in runs.OrderByDescending(Depth))
        {
            try
            {
                await run.EndCoreAsync(status, throwOnRejected: false, cts.Token).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // shutdown must go on with the other runs
            catch (Exception ex)
#pragma warning restore CA1031
            {
                TrackerLog.EndFailed(_logger, run.RunId, ex);
            }
        }

        static int Depth(RunScope r)
        {
            var d = 0;
            for (var p = r.Parent; p is not null; p = p.Parent)
            {
                d++;
            }

            return d;
        }
    }

    /// <summary>One first-chance handler for the process: it notes the exception in the run active in the throwing flow.</summary>
    private static class FirstChanceHook
    {
        private static int s_installed;

        public static void Ensure()
        {
            if (Interlocked.Exchange(ref s_installed, 1) == 0)
            {
                AppDomain.CurrentDomain.FirstChanceException += static (_, e) =>
                {
                    if (ActiveRunSlot.Value is { IsEnded: false } run)
                    {
                        run.LastException = e.Exception;
                    }
                };
            }
        }
    }

    private RunScope BeginScope(StartRunOptions? options)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

        var previous = ActiveRun;
        var parent = options?.Parent ?? (options?.Nested == false ? null : previous);
        var scope = new RunScope(this, parent, previous);
        ActiveRunSlot.Value = scope;
        return scope;
    }

    private async Task<RunScope> CreateAsync(RunScope scope, string? name, StartRunOptions? options, CancellationToken cancellationToken)
    {
        name = string.IsNullOrEmpty(name) ? null : name; // Python's start_run(run_name=""): the store generates a name
        try
        {
            var resumeId = options?.ResumeRunId;
            if (resumeId is null && scope.Parent is null && Interlocked.Exchange(ref _resumeConsumed, 1) == 0)
            {
                resumeId = Environment.GetEnvironmentVariable(MlflowEnvironment.RunId);
            }

            Run run;
            if (!string.IsNullOrEmpty(resumeId))
            {
                run = await Store.GetRunAsync(resumeId, cancellationToken).ConfigureAwait(false);
                if (run.Info.Status != RunStatus.Running)
                {
                    await Store.UpdateRunAsync(resumeId, RunStatus.Running, null, null, cancellationToken).ConfigureAwait(false);
                }
            }
            else
            {
                var experimentId = options?.ExperimentId ?? scope.Parent?.ExperimentId ?? await GetExperimentIdAsync(cancellationToken).ConfigureAwait(false);
                var create = new CreateRunOptions { RunName = name, StartTime = Options.TimeProvider.GetUtcNow() };
                if (Options.SetSystemTags)
                {
                    foreach (var (k, v) in SystemTags.Create(Options.SourceName, Options.WorkingDirectory))
                    {
                        create.Tags[k] = v;
                    }

                    create.UserId = create.Tags[MlflowTags.User];
                }

                if (name is not null)
                {
                    create.Tags[MlflowTags.RunName] = name;
                }

                if (scope.Parent is { } parent)
                {
                    create.Tags[MlflowTags.ParentRunId] = parent.RunId;
                }

                if (options?.Description is { } description)
                {
                    create.Tags[MlflowTags.NoteContent] = description;
                }

                if (options is not null)
                {
                    foreach (var (k, v) in options.Tags)
                    {
                        create.Tags[k] = v;
                    }
                }

                run = await Store.CreateRunAsync(experimentId, create, cancellationToken).ConfigureAwait(false);
            }

            scope.SetCreated(run);
            _open.TryAdd(scope, 0);
            return scope;
        }
        catch (Exception ex)
        {
            scope.SetCreationFailed(ex);
            throw;
        }
    }

    /// <summary>Process-wide hooks: Ctrl+C/SIGTERM end open runs KILLED, an unhandled exception FAILED, process exit FINISHED.</summary>
    private sealed class ProcessHooks : IDisposable
    {
        private readonly Tracker _tracker;
        private readonly PosixSignalRegistration? _sigint;
        private readonly PosixSignalRegistration? _sigterm;

        private ProcessHooks(Tracker tracker)
        {
            _tracker = tracker;
            AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
            AppDomain.CurrentDomain.UnhandledException += OnUnhandledException;
            if (!OperatingSystem.IsBrowser() && !OperatingSystem.IsIOS() && !OperatingSystem.IsTvOS())
            {
                _sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
                _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
            }
        }

        public static ProcessHooks Register(Tracker tracker) => new(tracker);

        public void Dispose()
        {
            AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
            AppDomain.CurrentDomain.UnhandledException -= OnUnhandledException;
            _sigint?.Dispose();
            _sigterm?.Dispose();
        }

        // The signal is not cancelled: after the runs are ended, the process stops as it would have.
        private void OnSignal(PosixSignalContext context) => Shutdown(RunStatus.Killed, "signal " + context.Signal);

        private void OnUnhandledException(object? sender, UnhandledExceptionEventArgs e) => Shutdown(RunStatus.Failed, "unhandled exception");

        private void OnProcessExit(object? sender, EventArgs e) => Shutdown(RunStatus.Finished, "process exit");

        private void Shutdown(RunStatus status, string reason)
        {
            var timeout = _tracker.Options.Uploader.ShutdownTimeout;
            var work = Task.Run(async () =>
            {
                await _tracker.EndOpenRunsAsync(status, timeout).ConfigureAwait(false);
                return await _tracker.Uploader.FlushAsync(timeout, CancellationToken.None).ConfigureAwait(false);
            });
            var completed = work.Wait(timeout + TimeSpan.FromSeconds(1)) && work.Result;
            if (!completed)
            {
                TrackerLog.ShutdownIncomplete(_tracker._logger, reason, timeout.TotalSeconds, _tracker.Uploader.Counters.Buffered);
                Console.Error.WriteLine($"MlOps.Client: on {reason}, not everything logged could be delivered within {timeout.TotalSeconds:0.#} s ({_tracker.Uploader.Counters.Buffered} entities still buffered).");
            }
        }
    }
}

/// <summary>Log events of the tracker.</summary>
internal static partial class TrackerLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Error, Message = "Run {RunId}: its entities and its end were not delivered within {TimeoutSeconds} s (spool off); the uploader keeps trying.")]
    public static partial void RunNotEnded(ILogger logger, string runId, double timeoutSeconds);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Error, Message = "Ending run {RunId} failed.")]
    public static partial void EndFailed(ILogger logger, string runId, Exception exception);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Error, Message = "On {Reason}, delivery did not complete within {TimeoutSeconds} s; {Buffered} entities are still buffered.")]
    public static partial void ShutdownIncomplete(ILogger logger, string reason, double timeoutSeconds, long buffered);
}
