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
public sealed partial class Tracker : IDisposable, IAsyncDisposable
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
    /// <param name="loggerFactory">Logging; when <see langword="null"/>, warnings go to standard error (<c>MLFLOW_LOGGING_LEVEL</c>, <c>MLFLOW_CONFIGURE_LOGGING</c>).</param>
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
        loggerFactory = Diagnostics.ConsoleLogging.Or(loggerFactory); // warnings on standard error when the application configured no logging
        _logger = loggerFactory.CreateLogger("MlOps.Client.Tracker");
        Uploader = new BatchUploader(store, Options.Uploader, Options.TimeProvider, loggerFactory.CreateLogger("MlOps.Client.Uploader"));
        SystemMetricsSources = () => MlOps.Client.SystemMetrics.SystemMetricsSources.ForThisMachine(Options.SystemMetrics.IncludeDotNet);
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
    public static Tracker FromEnvironment(TrackerOptions? options = null, ILoggerFactory? loggerFactory = null) =>
        FromClientOptions(MlflowClientOptions.FromEnvironment(), options, loggerFactory);

    /// <summary>A tracker over the store <paramref name="clientOptions"/> name (the environment's settings otherwise, as <see cref="FromEnvironment"/>).</summary>
    internal static Tracker FromClientOptions(MlflowClientOptions clientOptions, TrackerOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        clientOptions.LoggerFactory ??= loggerFactory;
        options = options?.Copy() ?? new TrackerOptions(); // the caller's object is not changed
        var store = TrackingStores.Open(clientOptions);
        if (Environment.GetEnvironmentVariable(Configuration.MlflowEnvironment.Spool) is { Length: > 0 } spool)
        {
            options.Uploader.Spool.Enabled = Configuration.MlflowEnvironment.ParseBool(Configuration.MlflowEnvironment.Spool, spool);
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

    /// <summary>The sources a system-metrics monitor samples (this machine's; tests put fakes here).</summary>
    internal Func<IReadOnlyList<SystemMetrics.ISystemMetricsSource>> SystemMetricsSources { get; set; }

    /// <summary>The runs started by this tracker and not ended yet.</summary>
    public IReadOnlyCollection<RunScope> OpenRuns => [.. _open.Keys];

    /// <summary>
    /// Waits until nothing logged so far waits in memory any more: each entity delivered, spooled, or accounted for in
    /// <see cref="Counters"/> (<c>Rejected</c> by the server, <c>Abandoned</c> with a run the server lost, <c>Dropped</c>).
    /// A run's own <see cref="RunScope.FlushAsync"/> throws when its entities were refused or dropped.
    /// </summary>
    /// <param name="timeout">The longest wait; the uploader's flush timeout when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns><see langword="false"/> when the timeout passed first (nothing is lost; the uploader keeps trying).</returns>
    public Task<bool> FlushAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Uploader.FlushAsync(timeout ?? Options.Uploader.FlushTimeout, cancellationToken);

    /// <summary>Ends every open run (<c>FINISHED</c>), delivers what is queued, and stops the uploader.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _processHooks?.Dispose();
        // One deadline for the whole disposal (ending the runs, delivering, stopping the uploader): ShutdownTimeout.
        var started = Options.TimeProvider.GetTimestamp();
        var timeout = Options.Uploader.ShutdownTimeout;
        await EndOpenRunsAsync(RunStatus.Finished, timeout).ConfigureAwait(false);
        var left = timeout - Options.TimeProvider.GetElapsedTime(started);
        await Uploader.DisposeAsync(left < TimeSpan.Zero ? TimeSpan.Zero : left).ConfigureAwait(false);
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
