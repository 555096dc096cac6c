using Microsoft.Extensions.Logging;
using MlOps.Client.Diagnostics;
using MlOps.Client.Stores;
using MlOps.Client.Uploading.Spooling;
using MlOps.Client.Validation;

namespace MlOps.Client.Uploading;

/// <summary>
/// The one place that decides the fate of a batch, live or replayed from the spool:
/// <list type="bullet">
/// <item>sent once, under <see cref="UploaderOptions.RequestTimeout"/> (the client's own retries are not used here);</item>
/// <item>a live request that failed fast is sent once more (<see cref="OutagePolicy.QuickRetryDelay"/>), and so is a part
/// of a replayed record being isolated (the server has just answered); a replayed record itself is a probe: its failure
/// ends the pass, the next one follows the backoff;</item>
/// <item>a replayed record takes effect (counted, refusals reported) only when acknowledged; a record any part of which
/// the server cannot take now stays in the spool whole, in its place;</item>
/// <item>refused: split until each refused entity stands alone, so a bad entity never costs its neighbours; each is
/// counted, logged (the first <see cref="RunRefusals.LoggedPerRun"/> of a run) and reported — unless the refusal concerns
/// the whole run (deleted, not active, unknown), which is reported once as a lost run, its entities abandoned;</item>
/// <item>unreachable: the next attempt waits for the <see cref="OutagePolicy"/>'s backoff; a live batch goes to the spool
/// (said once per outage) or, without one, to the in-memory re-send list; a replayed one stays where it is.</item>
/// </list>
/// The <see cref="BatchUploader"/> decides when and how many requests go; this class decides what becomes of each. It owns
/// the outage state: nothing else changes the backoff.
/// </summary>
internal sealed class Delivery
{
    /// <summary>The pause before the next replay pass when the last one could open none of what is left (another process holds it).</summary>
    private static readonly TimeSpan BlockedReplayPause = TimeSpan.FromSeconds(1);

    private readonly ITrackingStore _store;
    private readonly IUploadStore? _once;
    private readonly IMetricRowsStore? _rows;
    private readonly UploaderOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly OutagePolicy _policy;
    private readonly RunRefusals _refusals = new();
    private readonly List<Batch> _retry = [];
    private long _requests;
    private long _sent;
    private long _sentForeign;
    private long _retried;
    private long _rejected;
    private long _abandoned;
    private int _outageWarned;
    private int _probeWarned;

    public Delivery(ITrackingStore store, UploaderOptions options, TimeProvider time, ILogger logger, SpoolQueue? spool)
    {
        _store = store;
        _once = store.UploadsOf();
        _rows = store.MetricRowsOf();
        _options = options;
        _time = time;
        _logger = logger;
        _policy = new OutagePolicy(options, time);
        Spool = spool;
    }

    /// <summary>Where unreachable batches go, when the spool is enabled.</summary>
    public SpoolQueue? Spool { get; }

    /// <summary>Called for each entity the server refused.</summary>
    public event Action<RejectedEntity>? Rejected;

    /// <summary>Called once per run that can no longer be logged to (deleted, not active, unknown on the server).</summary>
    public event Action<string, MlflowException>? RunLost;

    /// <summary>Whether batches go to the spool now, behind older records (the server is away, or records wait).</summary>
    public bool Spooling => Spool is { Active: true };

    /// <summary>Whether the backoff has passed: re-sends and replay passes may start.</summary>
    public bool IsDue => _policy.IsDue;

    /// <summary>How long until the backoff has passed (zero when due).</summary>
    public TimeSpan UntilDue => _policy.UntilDue;

    /// <summary>Batches waiting in memory for a re-send (spool off).</summary>
    public int PendingRetries
    {
        get
        {
            lock (_retry)
            {
                return _retry.Count;
            }
        }
    }

    /// <summary>Requests sent (successful or not).</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Entities logged by this process that the server accepted (directly or by replay).</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Entities kept in memory for a re-send (spool off).</summary>
    public long Retried => Interlocked.Read(ref _retried);

    /// <summary>Entities the server refused for good.</summary>
    public long RejectedCount => Interlocked.Read(ref _rejected);

    /// <summary>Entities of runs found lost, dropped without a request.</summary>
    public long Abandoned => Interlocked.Read(ref _abandoned);

    // ---- the live path ----

    /// <summary>Settles a live batch: delivered, refused (isolated), abandoned with its lost run, spooled or kept for a re-send.</summary>
    public async Task DeliverAsync(Batch batch, CancellationToken abort)
    {
        try
        {
            await SettleAsync(batch, effects: null, abort).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // a request must never take the uploader down; its batch is kept
        catch (Exception ex)
#pragma warning restore CA1031
        {
            UploaderLog.LoopError(_logger, ex);
            Unreachable(batch, new SendOutcome(SendStatus.Unavailable, ex), effects: null);
        }
    }

    /// <summary>
    /// Settles a run end once its run's requests are settled: behind the run's spooled or re-sent batches when there are
    /// any (so it reaches the server after them), else sent now.
    /// </summary>
    public Task DeliverRunEndAsync(Batch end, CancellationToken abort)
    {
        if (Spool is not null && (Spool.Active || Spool.HasPendingEntities(end.RunId)))
        {
            Spool.Append([end]);
            return Task.CompletedTask;
        }

        lock (_retry)
        {
            if (_retry.Exists(b => b.RunId == end.RunId))
            {
                _retry.Add(end); // not counted: a run end is not an entity
                return Task.CompletedTask;
            }
        }

        return DeliverAsync(end, abort);
    }

    /// <summary>Writes batches to the spool behind older records (the server is away, falling behind, or the buffer is full under Spill).</summary>
    public void ToSpool(IEnumerable<Batch> batches) => Spool!.Append(batches);

    /// <summary>Keeps batches in memory for a re-send after the backoff (<paramref name="count"/> them as retried unless they were only interrupted).</summary>
    public void KeepForRetry(List<Batch> batches, bool count = true)
    {
        if (count)
        {
            var n = batches.Sum(b => b.Count);
            Interlocked.Add(ref _retried, n);
            UploaderMetrics.Retried.Add(n);
        }

        lock (_retry)
        {
            _retry.AddRange(batches);
        }
    }

    /// <summary>Takes the batches waiting for a re-send once the backoff has passed (or at once when <paramref name="now"/>).</summary>
    public List<Batch> TakeRetries(bool now)
    {
        lock (_retry)
        {
            if (_retry.Count == 0 || !(now || _policy.IsDue))
            {
                return [];
            }

            List<Batch> batches = [.. _retry];
            _retry.Clear();
            return batches;
        }
    }

    /// <summary>Abandons (and counts) the batches of runs found lost, without a request.</summary>
    public void DropLostRuns(List<Batch> batches)
    {
        if (!_refusals.AnyLost)
        {
            return;
        }

        batches.RemoveAll(b =>
        {
            if (!_refusals.IsLost(b.RunId, out _))
            {
                return false;
            }

            Interlocked.Add(ref _abandoned, b.Count);
            return true;
        });
    }

    /// <summary>Whether <paramref name="runId"/> was found lost on the server, and why.</summary>
    public bool IsRunLost(string runId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out MlflowException? error) => _refusals.IsLost(runId, out error);

    /// <summary>Takes (and forgets) the entities of <paramref name="runId"/> refused so far: the first ones kept, and how many in all.</summary>
    public (IReadOnlyList<RejectedEntity> Kept, long Total) TakeRejected(string runId) => _refusals.Take(runId);

    // ---- the spool path ----

    /// <summary>Makes the next replay pass due now (an explicit replay request).</summary>
    public void ReplayNow()
    {
        _policy.DueNow();
        Spool?.Activate();
    }

    /// <summary>
    /// One replay pass: spooled requests in order, up to <paramref name="parallelism"/> at once, each acknowledged strictly
    /// in order once settled, so a failure leaves every record from the first unsettled one on for the next pass; stops
    /// at the first the server cannot take yet. Sets when the next pass may start.
    /// </summary>
    public async Task<ReplayPass> ReplayAsync(int parallelism, CancellationToken abort)
    {
        var spool = Spool!;
        var mark = spool.BeginPass();
        long acknowledged = 0;
        var complete = true;
        var inFlight = new List<(Task<Fate> Settle, SpooledRequest Request, List<Action> Effects)>();

        // Acknowledges the oldest settled requests (all of them with drain), in order, while they did not stay spooled;
        // what a request's settlement counts and reports takes effect then, once — never for a request that goes again.
        async Task<bool> AcknowledgeAsync(bool drain)
        {
            while (inFlight.Count > 0 && (drain || inFlight.Count >= parallelism))
            {
                var (settle, request, effects) = inFlight[0];
                var fate = await settle.ConfigureAwait(false);
                if (fate == Fate.Kept)
                {
                    // Later requests may have gone through: they are not acknowledged (nor counted) and go again.
                    await Task.WhenAll(inFlight.Select(f => f.Settle)).ConfigureAwait(false);
                    inFlight.Clear();
                    return false;
                }

                foreach (var effect in effects)
                {
                    effect();
                }

                spool.Acknowledge(request, counted: fate is Fate.Delivered or Fate.Refused);
                acknowledged += Math.Max(1, request.Records);
                inFlight.RemoveAt(0);
            }

            return true;
        }

        foreach (var request in spool.ReadInOrder())
        {
            if (abort.IsCancellationRequested)
            {
                complete = false;
                break;
            }

            // A run end goes after every request of its run (and of the others before it) has settled.
            if (!await AcknowledgeAsync(drain: request.Batch.IsRunEnd).ConfigureAwait(false))
            {
                complete = false;
                break;
            }

            var effects = new List<Action>();
            inFlight.Add((SettleAsync(request.Batch, effects, abort), request, effects));

            // A run end, and the end of a segment, are settled before the reader moves on (a finished segment is deleted in this pass).
            if ((request.Batch.IsRunEnd || request.EndsSegment) && !await AcknowledgeAsync(drain: true).ConfigureAwait(false))
            {
                complete = false;
                break;
            }
        }

        if (!await AcknowledgeAsync(drain: true).ConfigureAwait(false))
        {
            complete = false;
        }

        if (acknowledged > 0)
        {
            SpoolLog.Replayed(_logger, acknowledged);
        }

        var pass = complete ? spool.EndPass(mark, acknowledged) : ReplayPass.ServerAway;
        switch (pass)
        {
            case ReplayPass.Drained:
                _policy.Succeeded();
                Interlocked.Exchange(ref _outageWarned, 0); // the spool drained: the next outage is said again
                Interlocked.Exchange(ref _probeWarned, 0);
                break;
            case ReplayPass.GoAgain:
                _policy.DueNow(); // appended to while replaying: go again at once
                break;
            case ReplayPass.Blocked:
                _policy.Defer(BlockedReplayPause); // not an outage: no backoff growth, no back-to-back passes either
                break;
        }

        return pass;
    }

    /// <summary>A replay pass failed unexpectedly: what it did not acknowledge stays spooled; the next pass waits for the backoff.</summary>
    public void ReplayFailed(Exception error)
    {
        UploaderLog.LoopError(_logger, error);
        _policy.Failed(null);
    }

    // ---- the fate of one batch ----

    /// <summary>What became of one batch.</summary>
    private enum Fate
    {
        /// <summary>The server took it.</summary>
        Delivered,

        /// <summary>Refused, entity by entity where the server allowed (the other entities delivered): settled for good.</summary>
        Refused,

        /// <summary>Its run can no longer be logged to: abandoned.</summary>
        RunLost,

        /// <summary>Unreachable or interrupted: spooled, kept for a re-send, or (replayed) left in the spool whole.</summary>
        Kept,
    }

    /// <summary>
    /// Settles one batch. A live one (<paramref name="effects"/> <see langword="null"/>) takes effect at once: counted,
    /// refusals reported, and what the server cannot take now spooled or kept for a re-send. A replayed one (from a spool
    /// record) only collects its effects, run when its record is acknowledged; if any part cannot be sent now (even a half
    /// while isolating a refusal) the whole record stays in the spool, in its place, and goes again in the next pass —
    /// its effects dropped, so nothing is counted or reported twice.
    /// </summary>
    private async Task<Fate> SettleAsync(Batch batch, List<Action>? effects, CancellationToken abort, bool isolating = false)
    {
        if (_refusals.IsLost(batch.RunId, out var lost))
        {
            Effect(effects, () => Lose(batch, lost));
            return Fate.RunLost;
        }

        var outcome = await SendOnceAsync(batch, abort).ConfigureAwait(false);
        // A live request, or a part of a replayed record being isolated (the server has just answered), gets one quick
        // re-send; a replayed record itself is a probe: its failure ends the pass.
        if (outcome.Status == SendStatus.Unavailable && (effects is null || isolating) && OutagePolicy.QuickRetryDelay(outcome) is { } delay)
        {
            try
            {
                await Task.Delay(delay, _time, abort).ConfigureAwait(false);
                outcome = await SendOnceAsync(batch, abort).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (abort.IsCancellationRequested)
            {
                outcome = new SendOutcome(SendStatus.Aborted);
            }
        }

        switch (outcome.Status)
        {
            case SendStatus.Delivered:
                _policy.Succeeded();
                if (effects is null)
                {
                    CountDelivered(batch);
                    batch.Release(); // a live batch delivered is settled for good: its rows' array goes back to the pool
                }
                else
                {
                    effects.Add(() => CountDelivered(batch));
                }

                return Fate.Delivered;
            case SendStatus.Unavailable:
                return Unreachable(batch, outcome, effects);
            case SendStatus.Aborted:
                if (effects is null)
                {
                    KeepForRetry([batch], count: false); // the uploader is stopping: spooled at disposal
                }

                return Fate.Kept;
            default:
                var error = (MlflowException)outcome.Error!;
                if (IsRunLevel(error))
                {
                    Effect(effects, () => Lose(batch, error));
                    return Fate.RunLost;
                }

                if (batch.Count <= 1)
                {
                    Effect(effects, () => Refuse(batch, error));
                    return Fate.Refused;
                }

                // Poison isolation: halves until each refused entity stands alone, so a bad entity never costs its neighbours.
                var (left, right) = batch.Split();
                if (effects is null)
                {
                    await SettleAsync(left, null, abort).ConfigureAwait(false);
                    await SettleAsync(right, null, abort).ConfigureAwait(false);
                    return Fate.Refused;
                }

                return await SettleAsync(left, effects, abort, isolating: true).ConfigureAwait(false) == Fate.Kept
                    || await SettleAsync(right, effects, abort, isolating: true).ConfigureAwait(false) == Fate.Kept
                    ? Fate.Kept
                    : Fate.Refused;
        }
    }

    /// <summary>Runs <paramref name="effect"/> now (a live batch) or when the replayed record is acknowledged.</summary>
    private static void Effect(List<Action>? effects, Action effect)
    {
        if (effects is null)
        {
            effect();
        }
        else
        {
            effects.Add(effect);
        }
    }

    private Fate Unreachable(Batch batch, in SendOutcome outcome, List<Action>? effects)
    {
        var reason = outcome.Error?.Message ?? "no answer";
        _policy.Failed(outcome.RetryAfter);
        if (effects is not null)
        {
            // One line until the spool drains, not one per probe (nor per success in a storm): the spool keeps the record,
            // the next probe follows the backoff.
            if (Interlocked.Exchange(ref _probeWarned, 1) == 0)
            {
                SpoolLog.StillUnreachable(_logger, reason);
            }
        }
        else if (Spool is null)
        {
            UploaderLog.BatchFailed(_logger, batch.Count, batch.RunId, reason);
            KeepForRetry([batch]);
        }
        else
        {
            Spool.Append([batch]);
            if (Interlocked.Exchange(ref _outageWarned, 1) == 0)
            {
                SpoolLog.Spooled(_logger, batch.Count, batch.RunId, reason); // once per outage, not once per batch
            }
        }

        return Fate.Kept;
    }

    private void CountDelivered(Batch batch)
    {
        Interlocked.Add(ref batch.Foreign ? ref _sentForeign : ref _sent, batch.Count);
        UploaderMetrics.Sent.Add(batch.Count);
    }

    private void Refuse(Batch batch, MlflowException error)
    {
        Interlocked.Add(ref _rejected, Math.Max(1, batch.Count));
        UploaderMetrics.Rejected.Add(Math.Max(1, batch.Count));
        foreach (var r in batch.Describe(error))
        {
            var total = _refusals.Add(r);
            if (total <= RunRefusals.LoggedPerRun)
            {
                UploaderLog.EntityRejected(_logger, r.Kind, r.Key, r.RunId, error.Message);
            }
            else if (total == RunRefusals.LoggedPerRun + 1)
            {
                UploaderLog.MoreRejected(_logger, r.RunId);
            }

            try
            {
                Rejected?.Invoke(r);
            }
#pragma warning disable CA1031 // a user callback must not stop the uploader
            catch (Exception ex)
#pragma warning restore CA1031
            {
                UploaderLog.LoopError(_logger, ex);
            }
        }
    }

    private void Lose(Batch batch, MlflowException error)
    {
        Interlocked.Add(ref _abandoned, batch.Count);
        if (!_refusals.MarkLost(batch.RunId, error))
        {
            return;
        }

        UploaderLog.RunLost(_logger, batch.RunId, error.Message);
        try
        {
            RunLost?.Invoke(batch.RunId, error);
        }
#pragma warning disable CA1031 // a callback must not stop the uploader
        catch (Exception ex)
#pragma warning restore CA1031
        {
            UploaderLog.LoopError(_logger, ex);
        }
    }

    // ---- one request ----

    /// <summary>One attempt, classified.</summary>
    private async Task<SendOutcome> SendOnceAsync(Batch batch, CancellationToken abort)
    {
        Interlocked.Increment(ref _requests);
        using var timeout = new CancellationTokenSource(_options.RequestTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(abort, timeout.Token);
        try
        {
            if (batch.End is { } end)
            {
                var endTime = DateTimeOffset.FromUnixTimeMilliseconds(end.EndTimeMs);
                await (_once?.EndRunOnceAsync(batch.RunId, end.Status, endTime, linked.Token)
                    ?? _store.UpdateRunAsync(batch.RunId, end.Status, endTime, null, linked.Token)).ConfigureAwait(false);
            }
            else
            {
                // The built-in stores take the batch's rows as they are; another store gets Metric objects.
                await (_once?.LogBatchOnceAsync(batch.RunId, batch.Metrics.Memory, batch.Params, batch.Tags, linked.Token)
                    ?? _rows?.LogBatchAsync(batch.RunId, batch.Metrics.Memory, batch.Params, batch.Tags, linked.Token)
                    ?? _store.LogBatchAsync(batch.RunId, batch.Metrics.ToMetrics(), batch.Params, batch.Tags, linked.Token)).ConfigureAwait(false);
            }

            return SendOutcome.Delivered;
        }
        catch (Exception) when (abort.IsCancellationRequested)
        {
            return new SendOutcome(SendStatus.Aborted);
        }
        catch (Exception ex) when (timeout.IsCancellationRequested)
        {
            return new SendOutcome(SendStatus.Unavailable, new TimeoutException($"The {batch} got no answer within {_options.RequestTimeout.TotalSeconds:0.#} s.", ex), TimedOut: true);
        }
        catch (MlflowException ex) when (Transience.IsTransient(ex))
        {
            return new SendOutcome(SendStatus.Unavailable, ex, RetryAfter: ex.RetryAfter);
        }
        catch (MlflowException ex)
        {
            return new SendOutcome(SendStatus.Refused, ex);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or TimeoutException or OperationCanceledException)
        {
            return new SendOutcome(SendStatus.Unavailable, ex, TimedOut: ex is TimeoutException or OperationCanceledException);
        }
    }

    /// <summary>
    /// Whether a refusal concerns the run rather than the entities: the run does not exist (or was deleted for good), or
    /// it is not active (deleted in the UI: MLflow answers <c>INVALID_PARAMETER_VALUE</c> "The run … must be in the
    /// 'active' state"), or <c>INVALID_STATE</c>.
    /// </summary>
    internal static bool IsRunLevel(MlflowException error) =>
        error is not MlflowValidationException
        && (error.ErrorCode is MlflowErrorCodes.ResourceDoesNotExist or MlflowErrorCodes.InvalidState
            || (error.ServerMessage?.Contains("must be in the 'active' state", StringComparison.Ordinal) ?? false));
}

/// <summary>What happened to one request.</summary>
internal enum SendStatus
{
    /// <summary>The server took it.</summary>
    Delivered,

    /// <summary>No answer, a timeout, or a transient status (408, 429, 5xx): the server is (for now) away.</summary>
    Unavailable,

    /// <summary>The server answered with a permanent refusal.</summary>
    Refused,

    /// <summary>The uploader is being stopped.</summary>
    Aborted,
}

/// <summary>The outcome of one request: its status, the error, whether it timed out, and the server's <c>Retry-After</c>.</summary>
internal readonly record struct SendOutcome(SendStatus Status, Exception? Error = null, bool TimedOut = false, TimeSpan? RetryAfter = null)
{
    public static readonly SendOutcome Delivered = new(SendStatus.Delivered);
}
