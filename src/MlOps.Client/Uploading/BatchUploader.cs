using Microsoft.Extensions.Logging;
using MlOps.Client.Diagnostics;
using MlOps.Client.Stores;
using MlOps.Client.Uploading.Spooling;
using MlOps.Client.Validation;

namespace MlOps.Client.Uploading;

/// <summary>
/// The background uploader: it decides when and how many requests go; the <see cref="Delivery"/> decides what becomes
/// of each. Logging threads add entities to an <see cref="EntityBuffer"/>; one loop (started without the caller's
/// execution context, so no ambient run leaks into it) drains it in rounds, packs them into requests
/// (<see cref="BatchPacker"/>), and hands each round to the delivery: up to <see cref="UploaderOptions.MaxConcurrentRequests"/>
/// requests at once, a run end after its run's requests; while the spool holds records, behind them. Replay passes of
/// the spool (<see cref="SpoolQueue"/>) run beside the loop once the delivery's backoff has passed.
/// </summary>
/// <remarks>
/// Duplicates: a metric carries the timestamp taken when it was logged, so a batch sent again after an ambiguous
/// failure is stored once (the server keys metrics by run, key, timestamp, step and value); params are re-sent with
/// the same value, which the server accepts; tags are idempotent.
/// </remarks>
internal sealed class BatchUploader : IAsyncDisposable, Diagnostics.IUploaderGauges
{
    private static readonly TimeSpan WarningInterval = TimeSpan.FromSeconds(10);

    private readonly UploaderOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly EntityBuffer _buffer;
    private readonly Delivery _delivery;
    private readonly SpoolQueue? _spool;
    private readonly Task _loop;
    private readonly CancellationTokenSource _abort = new();
    private readonly List<(long Watermark, TaskCompletionSource<bool> Done)> _waiters = [];
    private readonly object _waitersGate = new();
    private readonly object _replayGate = new();
    private TaskCompletionSource<bool>? _replayWaiter;
    private TaskCompletionSource _wake = NewSignal();
    private long _drained;
    private volatile bool _flushRequested;
    private volatile bool _stopping;
    private volatile bool _inRound;
    private readonly SemaphoreSlim _slots;
    private int _inFlight;
    private long _lastWarning = long.MinValue;
    private int _lagWarned;
    private Task _replayTask = Task.CompletedTask;

    private long _spilled;
    private long _runEnds;
    private long _dropped;
    private long _waits;

    public BatchUploader(ITrackingStore store, UploaderOptions options, TimeProvider time, ILogger logger)
    {
        _options = options;
        _time = time;
        _logger = logger;
        _buffer = new EntityBuffer(options.MaxBufferedEntities, MlflowLimits.MaxMetricsPerBatch, Wake, OnWaitStarted);
        _slots = new SemaphoreSlim(Math.Max(1, options.MaxConcurrentRequests));
        if (options.Spool.Enabled ?? store.UploadsOf() is not null) // a server: the spool is on by default; the embedded store writes locally
        {
            _spool = new SpoolQueue(new DiskSpool(options.Spool, store.Uri, time, logger), replayPending: options.Spool.ReplayOnStart);
        }
        else if (options.BufferFullPolicy == BufferFullPolicy.Spill)
        {
            throw new ArgumentException("BufferFullPolicy.Spill needs the spool: set UploaderOptions.Spool.Enabled.", nameof(options));
        }

        _delivery = new Delivery(store, options, time, logger, _spool);

        UploaderMetrics.Track(this);
        using (ExecutionContext.SuppressFlow())
        {
            _loop = Task.Run(RunLoopAsync);
        }
    }

    public UploaderCounters Counters => new()
    {
        Queued = LoggedCount,
        Sent = _delivery.Sent,
        Retried = _delivery.Retried,
        Rejected = _delivery.RejectedCount,
        Dropped = Interlocked.Read(ref _dropped),
        BackpressureWaits = Interlocked.Read(ref _waits),
        Buffered = _buffer.Count,
        Requests = _delivery.Requests,
        Spooled = _spool?.Spooled ?? 0,
        Replayed = _spool?.Replayed ?? 0,
        ReplayedFromOtherProcesses = _spool?.ReplayedForeign ?? 0,
        SpoolDropped = _spool?.Disk.Dropped ?? 0,
        SpoolBytes = _spool?.Disk.Bytes ?? 0,
        SpoolMemoryBytes = _spool?.Disk.MemoryBytes ?? 0,
        SpoolDamaged = _spool?.Disk.DamagedRecords ?? 0,
        Abandoned = _delivery.Abandoned,
    };

    /// <summary>The spool folder, when the spool is enabled.</summary>
    public string? SpoolFolder => _spool?.Disk.Folder;

    /// <summary>Called for each entity the server refused.</summary>
    public event Action<RejectedEntity>? Rejected
    {
        add => _delivery.Rejected += value;
        remove => _delivery.Rejected -= value;
    }

    /// <summary>Called once per run that can no longer be logged to (deleted, not active, unknown on the server).</summary>
    public event Action<string, MlflowException>? RunLost
    {
        add => _delivery.RunLost += value;
        remove => _delivery.RunLost -= value;
    }

    /// <summary>Queues an entity (the hot path: no allocation unless the buffer is full).</summary>
    public void Enqueue(ref PendingEntity entity)
    {
        if (_stopping)
        {
            throw new ObjectDisposedException(nameof(BatchUploader), "The tracker was disposed: nothing more can be logged.");
        }

        var policy = _options.BufferFullPolicy == BufferFullPolicy.Wait && _delivery.Spooling ? BufferFullPolicy.Spill : _options.BufferFullPolicy;
        switch (_buffer.Add(ref entity, policy))
        {
            case AddResult.Dropped:
                Interlocked.Increment(ref _dropped);
                UploaderMetrics.Dropped.Add(1);
                Warn("an entity was dropped (DropNewest policy)");
                return;
            case AddResult.Full:
                Interlocked.Increment(ref _spilled); // accepted: straight to the spool instead of the ring
                Warn("entities are spilled to the spool");
                var batch = new Batch(entity.RunId);
                batch.Add(in entity);
                _delivery.ToSpool([batch]);
                batch.Release(); // the spool keeps a record of its own: the row's pooled array goes back at once
                Wake();
                return;
        }
    }

    /// <summary>
    /// Queues the end of a run behind everything logged in it: it reaches the server (or the spool) after the run's
    /// entities, with <paramref name="endTime"/> as the end time whenever it is delivered.
    /// </summary>
    public void EnqueueRunEnd(string runId, RunStatus status, DateTimeOffset endTime)
    {
        var entity = PendingEntity.ForRunEnd(runId, status, endTime.ToUnixTimeMilliseconds());
        Interlocked.Increment(ref _runEnds);
        _buffer.Add(ref entity, BufferFullPolicy.Wait); // never dropped nor spilled ahead of the run's entities
        Wake();
    }

    /// <summary>Whether <paramref name="runId"/> was found lost on the server, and why.</summary>
    public bool IsRunLost(string runId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out MlflowException? error) => _delivery.IsRunLost(runId, out error);

    /// <summary>Takes (and forgets) the entities of <paramref name="runId"/> refused so far: the first ones kept, and how many in all.</summary>
    public (IReadOnlyList<RejectedEntity> Kept, long Total) TakeRejected(string runId) => _delivery.TakeRejected(runId);

    /// <summary>
    /// Waits until every entity queued before the call has been delivered, spooled or refused. Returns
    /// <see langword="false"/> when <paramref name="timeout"/> passes first (nothing is lost: the uploader keeps trying).
    /// </summary>
    public async Task<bool> FlushAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var watermark = _buffer.EnqueuedCount;
        var started = _time.GetTimestamp();
        TaskCompletionSource<bool> done;
        lock (_waitersGate)
        {
            if (IsDelivered(watermark))
            {
                return true;
            }

            done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((watermark, done));
        }

        _flushRequested = true;
        Wake();
        try
        {
            await done.Task.WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            UploaderLog.FlushTimedOut(_logger, timeout.TotalSeconds, _buffer.Count + _delivery.PendingRetries);
            return false;
        }
        finally
        {
            UploaderMetrics.FlushDuration.Record(_time.GetElapsedTime(started).TotalSeconds);
        }
    }

    /// <summary>
    /// Replays the spool now (what earlier processes left too) and waits for the pass to finish: <see langword="true"/>
    /// when the spool is empty afterwards, <see langword="false"/> when the server is still unreachable.
    /// </summary>
    public async Task<bool> ReplaySpoolAsync(CancellationToken cancellationToken)
    {
        if (_spool is null)
        {
            return true;
        }

        TaskCompletionSource<bool> waiter;
        lock (_replayGate)
        {
            waiter = _replayWaiter ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        _delivery.ReplayNow();
        _flushRequested = true;
        Wake();
        return await waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Stops accepting entities, delivers what is queued, then stops the loop — all within <paramref name="timeout"/>
    /// (a small part of it is kept for stopping, so that the whole takes no longer than asked).
    /// </summary>
    public async Task<bool> ShutdownAsync(TimeSpan timeout)
    {
        var started = _time.GetTimestamp();
        var stopReserve = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(2).Ticks, timeout.Ticks / 10));
        TimeSpan Left(TimeSpan reserve)
        {
            var left = timeout - reserve - _time.GetElapsedTime(started);
            return left > TimeSpan.Zero ? left : TimeSpan.Zero;
        }

        var delivered = await FlushAsync(Left(stopReserve), CancellationToken.None).ConfigureAwait(false);
        if (_delivery.Spooling && Left(stopReserve) > TimeSpan.Zero)
        {
            // One last replay if the server is back; what stays spooled is replayed by the next process.
            using var cts = new CancellationTokenSource(Left(stopReserve), _time);
            try
            {
                await ReplaySpoolAsync(cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                await _abort.CancelAsync().ConfigureAwait(false); // the pass stops at its next request; the rest stays spooled
            }
        }

        _stopping = true;
        if (!delivered)
        {
            await _abort.CancelAsync().ConfigureAwait(false);
        }

        Wake();
        try
        {
            var wait = Left(TimeSpan.Zero);
            await _loop.WaitAsync(wait > TimeSpan.Zero ? wait : TimeSpan.FromMilliseconds(1), _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            delivered = false;
            await _abort.CancelAsync().ConfigureAwait(false); // requests in flight hand their batches back
            try
            {
                await _loop.WaitAsync(TimeSpan.FromSeconds(1), _time).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
        }

        return delivered;
    }

    public ValueTask DisposeAsync() => DisposeAsync(_options.ShutdownTimeout);

    /// <summary>Shuts down within <paramref name="timeout"/>; whatever is still in memory then goes to the spool.</summary>
    public async ValueTask DisposeAsync(TimeSpan timeout)
    {
        if (!_stopping)
        {
            await ShutdownAsync(timeout).ConfigureAwait(false);
        }

        UploaderMetrics.Untrack(this);
        if (_spool is not null)
        {
            // Whatever could not be delivered in time goes to the spool: a graceful exit loses nothing.
            var rest = new PendingEntity[MlflowLimits.MaxEntitiesPerBatch];
            int n;
            while ((n = _buffer.Drain(rest)) > 0)
            {
                _delivery.ToSpool(BatchPacker.Pack(rest.AsSpan(0, n)));
            }

            _delivery.ToSpool(_delivery.TakeRetries(now: true));
            _spool.Disk.Dispose();
        }

        _abort.Dispose();
        _buffer.Dispose();
    }

    // ---- the loop ----

    private async Task RunLoopAsync()
    {
        var round = new PendingEntity[_options.MaxConcurrentRequests * MlflowLimits.MaxEntitiesPerBatch];
        while (true)
        {
            await WaitForWorkAsync().ConfigureAwait(false);
            var wake = Interlocked.Exchange(ref _wake, NewSignal());
            wake.TrySetResult();
            _flushRequested = false;

            try
            {
                await RunRoundsAsync(round).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // the loop must survive anything; failures are kept for retry and logged
            catch (Exception ex)
#pragma warning restore CA1031
            {
                UploaderLog.LoopError(_logger, ex);
            }

            CompleteWaiters();
            if (_stopping && (_buffer.Count == 0 && _delivery.PendingRetries == 0 && Volatile.Read(ref _inFlight) == 0 || _abort.IsCancellationRequested))
            {
                await WaitForInFlightAsync().ConfigureAwait(false); // aborted requests hand their batches back first
                await _replayTask.ConfigureAwait(false); // a replay pass ends at its next request once aborted
                return;
            }
        }
    }

    private bool Waiting => _delivery.PendingRetries > 0 || _delivery.Spooling;

    private async Task WaitForWorkAsync()
    {
        var waiting = Waiting;
        var onlyInFlight = _buffer.Count == 0 && !waiting && Volatile.Read(ref _inFlight) > 0; // nothing to do until they settle
        if (!onlyInFlight && (_stopping || _flushRequested || _buffer.Count >= MlflowLimits.MaxMetricsPerBatch))
        {
            if (!waiting || (_delivery.IsDue && _replayTask.IsCompleted) || _abort.IsCancellationRequested || _buffer.Count > 0)
            {
                return;
            }
        }

        var delay = _options.MaxBatchDelay;
        if (waiting && _replayTask.IsCompleted && _delivery.UntilDue < delay)
        {
            delay = _delivery.UntilDue;
        }

        if (delay <= TimeSpan.Zero)
        {
            return;
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(_abort.Token);
        var delayTask = Task.Delay(delay, _time, cts.Token);
        await Task.WhenAny(Volatile.Read(ref _wake).Task, delayTask).ConfigureAwait(false);
        await cts.CancelAsync().ConfigureAwait(false);
    }

    private async Task RunRoundsAsync(PendingEntity[] round)
    {
        while (true)
        {
            var batches = _delivery.TakeRetries(now: _abort.IsCancellationRequested);

            _inRound = true;
            var n = _buffer.Drain(round);
            try
            {
                if (n == 0 && batches.Count == 0)
                {
                    if (_delivery.Spooling && (_delivery.IsDue || _stopping))
                    {
                        StartReplay();
                    }

                    return;
                }

                batches.AddRange(BatchPacker.Pack(round.AsSpan(0, n)));
                Interlocked.Add(ref _drained, n);
                _delivery.DropLostRuns(batches);
                if (_abort.IsCancellationRequested)
                {
                    _delivery.KeepForRetry(batches);
                    return;
                }

                if (_delivery.Spooling)
                {
                    // The server is away (or the spool has older records): keep the order by spooling behind them. A run
                    // end also waits for the requests still in flight, which go to the spool when they fail.
                    if (batches.Exists(b => b.IsRunEnd))
                    {
                        await WaitForInFlightAsync().ConfigureAwait(false);
                    }

                    _delivery.ToSpool(batches);
                    if (_delivery.IsDue)
                    {
                        StartReplay(); // beside the loop, which keeps moving what is logged to the disk meanwhile
                    }
                }
                else
                {
                    await SendAllAsync(batches).ConfigureAwait(false);
                }
            }
            finally
            {
                _inRound = false;
            }

            CompleteWaiters();
            if (n < round.Length && (_delivery.PendingRetries > 0 || _buffer.Count < MlflowLimits.MaxMetricsPerBatch) && !_stopping && !_flushRequested)
            {
                return;
            }

            if (n == 0 && Waiting)
            {
                return; // only re-sends (or spooled records) left: wait for the backoff
            }
        }
    }

    /// <summary>
    /// Dispatches a round: each log-batch starts as soon as one of the <see cref="UploaderOptions.MaxConcurrentRequests"/>
    /// slots is free and the loop moves on without waiting for it (the server always has requests to work on); a run end
    /// first waits for the requests in flight, so it reaches the server after its run's batches.
    /// </summary>
    private async Task SendAllAsync(List<Batch> batches)
    {
        for (var i = 0; i < batches.Count; i++)
        {
            var batch = batches[i];
            if (batch.IsRunEnd)
            {
                await WaitForInFlightAsync().ConfigureAwait(false);
                await _delivery.DeliverRunEndAsync(batch, _abort.Token).ConfigureAwait(false);
                continue;
            }

            if (!await AcquireSlotAsync().ConfigureAwait(false))
            {
                // The server falls behind: what would wait longer in memory goes to the disk, so that a crash costs at
                // most the last MaxBatchDelay of logging and the requests in flight. The replay sends it in order.
                var rest = batches.GetRange(i, batches.Count - i);
                if (Interlocked.Exchange(ref _lagWarned, 1) == 0)
                {
                    UploaderLog.Lagging(_logger, _options.MaxBatchDelay.TotalMilliseconds, _options.MaxConcurrentRequests, _buffer.Count + rest.Sum(b => b.Count));
                }

                if (rest.Exists(b => b.IsRunEnd))
                {
                    await WaitForInFlightAsync().ConfigureAwait(false);
                }

                _delivery.ToSpool(rest);
                return;
            }

            Interlocked.Increment(ref _inFlight);
            _ = DeliverInFlightAsync(batch);
        }
    }

    /// <summary>
    /// A request slot: at once when one is free; with the spool, within <see cref="UploaderOptions.MaxBatchDelay"/> or
    /// <see langword="false"/> (the server is falling behind); without it, as long as it takes (backpressure).
    /// </summary>
    private async Task<bool> AcquireSlotAsync()
    {
        if (_slots.Wait(0))
        {
            return true;
        }

        if (_spool is null)
        {
            await _slots.WaitAsync().ConfigureAwait(false);
            return true;
        }

        using var window = new CancellationTokenSource(_options.MaxBatchDelay, _time);
        try
        {
            await _slots.WaitAsync(window.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (window.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>One request in flight: releases its slot when settled and lets flush waiters check again.</summary>
    private async Task DeliverInFlightAsync(Batch batch)
    {
        await Task.Yield(); // the loop goes on while this request travels
        try
        {
            await _delivery.DeliverAsync(batch, _abort.Token).ConfigureAwait(false); // never throws: the delivery keeps what it could not settle
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
            _slots.Release();
        }

        CompleteWaiters();
        if (Waiting || _stopping)
        {
            Wake(); // a failure (spool, backoff) or a shutdown: the loop re-plans
        }
    }

    /// <summary>Waits until no request is in flight (takes every slot, then gives them back).</summary>
    private async Task WaitForInFlightAsync()
    {
        var slots = Math.Max(1, _options.MaxConcurrentRequests);
        for (var i = 0; i < slots; i++)
        {
            await _slots.WaitAsync().ConfigureAwait(false);
        }

        _slots.Release(slots);
    }

    /// <summary>Starts a replay pass beside the loop (one at a time): a long pass to a slow server never keeps the loop from draining the ring to the disk.</summary>
    private void StartReplay()
    {
        if (_replayTask.IsCompleted)
        {
            _replayTask = ReplayInBackgroundAsync();
        }
    }

    private async Task ReplayInBackgroundAsync()
    {
        await Task.Yield();
        try
        {
            await ReplayAsync().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // a replay pass must never take the uploader down; what it did not acknowledge stays spooled
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _delivery.ReplayFailed(ex); // the next pass after the backoff, not at once
            CompleteReplayWaiter(false);
        }
        finally
        {
            Wake();
        }
    }

    private async Task ReplayAsync()
    {
        var pass = await _delivery.ReplayAsync(Math.Max(1, _options.MaxConcurrentRequests), _abort.Token).ConfigureAwait(false);
        if (pass == ReplayPass.Drained)
        {
            Interlocked.Exchange(ref _lagWarned, 0); // the spool drained: the next lag is said again
            CompleteReplayWaiter(true);
        }
        else if (pass != ReplayPass.GoAgain)
        {
            CompleteReplayWaiter(false);
        }
    }

    // ---- helpers ----

    private bool IsDelivered(long watermark) =>
        Interlocked.Read(ref _drained) >= watermark && _delivery.PendingRetries == 0 && !_inRound && Volatile.Read(ref _inFlight) == 0;

    private void CompleteWaiters()
    {
        lock (_waitersGate)
        {
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (IsDelivered(_waiters[i].Watermark))
                {
                    _waiters[i].Done.TrySetResult(true);
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    private void CompleteReplayWaiter(bool result)
    {
        TaskCompletionSource<bool>? waiter;
        lock (_replayGate)
        {
            waiter = _replayWaiter;
            _replayWaiter = null;
        }

        waiter?.TrySetResult(result);
    }

    private void Wake() => Volatile.Read(ref _wake).TrySetResult();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A logging thread started waiting for room: counted at once, and warned about (at most every 10 s).</summary>
    private void OnWaitStarted()
    {
        Interlocked.Increment(ref _waits);
        Warn("logging waits for room (backpressure)");
    }

    private void Warn(string what)
    {
        var now = _time.GetTimestamp();
        var last = Interlocked.Read(ref _lastWarning);
        if ((last == long.MinValue || _time.GetElapsedTime(last, now) >= WarningInterval)
            && Interlocked.CompareExchange(ref _lastWarning, now, last) == last)
        {
            UploaderLog.BufferFull(_logger, _buffer.Capacity, what);
        }
    }

    /// <inheritdoc/>
    long Diagnostics.IUploaderGauges.Queued => LoggedCount;

    /// <summary>Entities logged: through the ring or spilled past it, run ends (not entities) left out.</summary>
    private long LoggedCount => _buffer.EnqueuedCount + Interlocked.Read(ref _spilled) - Interlocked.Read(ref _runEnds);

    /// <inheritdoc/>
    long Diagnostics.IUploaderGauges.Buffered => _buffer.Count;

    /// <inheritdoc/>
    long Diagnostics.IUploaderGauges.SpoolBytes => _spool?.Disk.Bytes ?? 0;
}
