using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using MlOps.Client.Diagnostics;
using MlOps.Client.Stores;
using MlOps.Client.Uploading.Spooling;
using MlOps.Client.Validation;

namespace MlOps.Client.Uploading;

/// <summary>
/// The background uploader: logging threads add entities to an <see cref="EntityBuffer"/>; one loop (started
/// without the caller's execution context, so no ambient run leaks into it) drains it in rounds, packs
/// <c>log-batch</c> requests per run within MLflow's limits, sends up to <see cref="UploaderOptions.MaxConcurrentRequests"/>
/// at once, re-sends batches whose failure outlasted the client's retries, and isolates entities the server refuses
/// by splitting their batch until each refused entity stands alone.
/// </summary>
/// <remarks>
/// Duplicates: a metric carries the timestamp taken when it was logged, so a batch sent again after an ambiguous
/// failure is stored once (the server keys metrics by run, key, timestamp, step and value); params are re-sent with
/// the same value, which the server accepts; tags are idempotent.
/// </remarks>
internal sealed class BatchUploader : IAsyncDisposable
{
    private readonly ITrackingStore _store;
    private readonly UploaderOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly EntityBuffer _buffer;
    private readonly Task _loop;
    private readonly CancellationTokenSource _abort = new();
    private readonly List<Batch> _retry = [];
    private readonly List<(long Watermark, TaskCompletionSource<bool> Done)> _waiters = [];
    private readonly object _waitersGate = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<RejectedEntity>> _rejectedByRun = new(StringComparer.Ordinal);
    private TaskCompletionSource _wake = NewSignal();
    private long _drained;
    private volatile bool _flushRequested;
    private volatile bool _stopping;
    private int _fullWarningIssued;
    private int _retryAttempt;
    private DateTimeOffset _retryNotBefore;

    private readonly DiskSpool? _spool;
    private readonly object _degradedGate = new();
    private long _spoolAppends;
    private volatile bool _degraded;
    private TaskCompletionSource<bool>? _replayWaiter;
    private readonly object _replayGate = new();
    private long _spooled;
    private long _replayed;

    private long _sent;
    private long _retried;
    private long _rejected;
    private long _dropped;
    private long _waits;
    private long _requests;

    public BatchUploader(ITrackingStore store, UploaderOptions options, TimeProvider time, ILogger logger)
    {
        _store = store;
        _options = options;
        _time = time;
        _logger = logger;
        _buffer = new EntityBuffer(options.MaxBufferedEntities, MlflowLimits.MaxMetricsPerBatch, Wake);
        if (options.Spool.Enabled ?? store is RestTrackingStore)
        {
            _spool = new DiskSpool(options.Spool, store.Uri, time, logger);
            _degraded = options.Spool.ReplayOnStart && _spool.HasPending;
        }
        else if (options.BufferFullPolicy == BufferFullPolicy.Spill)
        {
            throw new ArgumentException("BufferFullPolicy.Spill needs the spool: set UploaderOptions.Spool.Enabled.", nameof(options));
        }

        UploaderMetrics.Track(this);
        using (ExecutionContext.SuppressFlow())
        {
            _loop = Task.Run(RunLoopAsync);
        }
    }

    public UploaderCounters Counters => new()
    {
        Queued = _buffer.EnqueuedCount,
        Sent = Interlocked.Read(ref _sent),
        Retried = Interlocked.Read(ref _retried),
        Rejected = Interlocked.Read(ref _rejected),
        Dropped = Interlocked.Read(ref _dropped),
        BackpressureWaits = Interlocked.Read(ref _waits),
        Buffered = _buffer.Count,
        Requests = Interlocked.Read(ref _requests),
        Spooled = Interlocked.Read(ref _spooled),
        Replayed = Interlocked.Read(ref _replayed),
        SpoolDropped = _spool?.Dropped ?? 0,
        SpoolBytes = _spool?.Bytes ?? 0,
    };

    /// <summary>The spool folder, when the spool is enabled.</summary>
    public string? SpoolFolder => _spool?.Folder;

    /// <summary>Whether entities of <paramref name="runId"/> wait in the spool.</summary>
    public bool HasSpooledEntities(string runId) => _spool?.HasPendingEntities(runId) ?? false;

    /// <summary>Records the end of a run whose entities are spooled: the status is sent after them, by the replay.</summary>
    public bool SpoolRunEnd(string runId, RunStatus status, DateTimeOffset endTime)
    {
        if (_spool is null)
        {
            return false;
        }

        var spooled = _spool.Append(new SpoolRecord { Kind = SpoolRecordKind.RunEnd, RunId = runId, Status = status, EndTimeMs = endTime.ToUnixTimeMilliseconds() });
        _spool.Sync(force: true);
        MarkSpooled();
        Wake();
        return spooled;
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

        lock (_retry)
        {
            _retryNotBefore = _time.GetUtcNow();
        }

        _degraded = true;
        _flushRequested = true;
        Wake();
        return await waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Called for each entity the server refused.</summary>
    public event Action<RejectedEntity>? Rejected;

    /// <summary>Queues an entity (the hot path: no allocation unless the buffer is full).</summary>
    public void Enqueue(ref PendingEntity entity)
    {
        if (_stopping)
        {
            throw new ObjectDisposedException(nameof(BatchUploader), "The tracker was disposed: nothing more can be logged.");
        }

        switch (_buffer.Add(ref entity, _options.BufferFullPolicy))
        {
            case AddResult.Added:
                break;
            case AddResult.AddedAfterWait:
                Interlocked.Increment(ref _waits);
                WarnFull("logging waited for room (backpressure)");
                break;
            case AddResult.Dropped:
                Interlocked.Increment(ref _dropped);
                UploaderMetrics.Dropped.Add(1);
                WarnFull("an entity was dropped (DropNewest policy)");
                return;
            case AddResult.Full:
                WarnFull("entities are spilled to the spool (Spill policy)");
                var batch = new Batch(entity.RunId);
                batch.Add(in entity);
                SpoolBatches([batch]);
                Wake();
                return;
        }

    }

    /// <summary>Takes (and forgets) the entities of <paramref name="runId"/> refused so far.</summary>
    public IReadOnlyList<RejectedEntity> TakeRejected(string runId)
    {
        if (!_rejectedByRun.TryGetValue(runId, out var queue))
        {
            return [];
        }

        var list = new List<RejectedEntity>();
        while (queue.TryDequeue(out var r))
        {
            list.Add(r);
        }

        return list;
    }

    /// <summary>
    /// Waits until every entity queued before the call has been delivered or refused. Returns <see langword="false"/>
    /// when <paramref name="timeout"/> passes first (nothing is lost: the uploader keeps trying).
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
            UploaderLog.FlushTimedOut(_logger, timeout.TotalSeconds, _buffer.Count + PendingRetryCount());
            return false;
        }
        finally
        {
            UploaderMetrics.FlushDuration.Record(_time.GetElapsedTime(started).TotalSeconds);
        }
    }

    /// <summary>Stops accepting entities, delivers what is queued within <paramref name="timeout"/>, then stops the loop.</summary>
    public async Task<bool> ShutdownAsync(TimeSpan timeout)
    {
        var delivered = await FlushAsync(timeout, CancellationToken.None).ConfigureAwait(false);
        if (_spool is not null && _degraded)
        {
            // One last replay if the server is back; what stays spooled is replayed by the next process.
            using var cts = new CancellationTokenSource(timeout, _time);
            try
            {
                await ReplaySpoolAsync(cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
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
            await _loop.WaitAsync(delivered ? timeout : TimeSpan.FromSeconds(5), _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            delivered = false;
        }

        return delivered;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopping)
        {
            await ShutdownAsync(_options.ShutdownTimeout).ConfigureAwait(false);
        }

        UploaderMetrics.Untrack(this);
        if (_spool is not null)
        {
            // Whatever could not be delivered in time goes to the spool: a graceful exit loses nothing.
            var rest = new PendingEntity[MlflowLimits.MaxEntitiesPerBatch];
            int n;
            while ((n = _buffer.Drain(rest)) > 0)
            {
                SpoolBatches(Pack(rest.AsSpan(0, n)));
            }

            List<Batch> retry;
            lock (_retry)
            {
                retry = [.. _retry];
                _retry.Clear();
            }

            SpoolBatches(retry);
            _spool.Dispose();
        }

        _abort.Dispose();
        _buffer.Dispose();
    }

    private bool IsDelivered(long watermark) =>
        Interlocked.Read(ref _drained) >= watermark && PendingRetryCount() == 0 && !_inRound;

    private volatile bool _inRound;

    private int PendingRetryCount()
    {
        lock (_retry)
        {
            return _retry.Count;
        }
    }

    private void Wake() => Volatile.Read(ref _wake).TrySetResult();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void WarnFull(string what)
    {
        if (Interlocked.Exchange(ref _fullWarningIssued, 1) == 0)
        {
            UploaderLog.BufferFull(_logger, _buffer.Capacity, what);
        }
    }

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
            if (_stopping && (_buffer.Count == 0 && PendingRetryCount() == 0 || _abort.IsCancellationRequested))
            {
                return;
            }
        }
    }

    private async Task WaitForWorkAsync()
    {
        var waitingRetry = PendingRetryCount() > 0 || _degraded;
        if (_stopping || _flushRequested || _buffer.Count >= MlflowLimits.MaxMetricsPerBatch)
        {
            if (!waitingRetry || _time.GetUtcNow() >= _retryNotBefore || _abort.IsCancellationRequested || _buffer.Count > 0)
            {
                return;
            }
        }

        var delay = _options.MaxBatchDelay;
        if (waitingRetry)
        {
            var untilRetry = _retryNotBefore - _time.GetUtcNow();
            delay = untilRetry < delay ? (untilRetry < TimeSpan.Zero ? TimeSpan.Zero : untilRetry) : delay;
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
            List<Batch> batches;
            lock (_retry)
            {
                batches = _time.GetUtcNow() >= _retryNotBefore || _abort.IsCancellationRequested ? [.. _retry] : [];
                if (batches.Count > 0)
                {
                    _retry.Clear();
                }
            }

            _inRound = true;
            var n = _buffer.Drain(round);
            try
            {
                if (n == 0 && batches.Count == 0)
                {
                    if (_degraded && _spool is not null && (_time.GetUtcNow() >= _retryNotBefore || _stopping))
                    {
                        await ReplayAsync().ConfigureAwait(false);
                    }

                    return;
                }

                batches.AddRange(Pack(round.AsSpan(0, n)));
                Interlocked.Add(ref _drained, n);
                if (_abort.IsCancellationRequested)
                {
                    KeepForRetry(batches);
                    return;
                }

                if (_degraded && _spool is not null)
                {
                    // The server is away (or the spool has older records): keep the order by spooling behind them.
                    SpoolBatches(batches);
                    if (_time.GetUtcNow() >= _retryNotBefore)
                    {
                        await ReplayAsync().ConfigureAwait(false);
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
            if (n < round.Length && (PendingRetryCount() > 0 || _buffer.Count < MlflowLimits.MaxMetricsPerBatch) && !_stopping && !_flushRequested)
            {
                return;
            }

            if (n == 0 && (PendingRetryCount() > 0 || _degraded))
            {
                return; // only retries (or spooled records) left, wait for their backoff
            }
        }
    }

    /// <summary>Groups entities by run and packs them into batches within MLflow's limits, oldest first.</summary>
    internal static List<Batch> Pack(ReadOnlySpan<PendingEntity> entities)
    {
        var open = new Dictionary<string, Batch>(StringComparer.Ordinal);
        var result = new List<Batch>();
        foreach (ref readonly var e in entities)
        {
            if (!open.TryGetValue(e.RunId, out var batch) || !batch.CanAdd(e.Kind))
            {
                batch = new Batch(e.RunId);
                open[e.RunId] = batch;
                result.Add(batch);
            }

            batch.Add(in e);
        }

        return result;
    }

    private async Task SendAllAsync(List<Batch> batches)
    {
        if (batches.Count == 1)
        {
            await SendAsync(batches[0]).ConfigureAwait(false);
            return;
        }

        await Parallel.ForEachAsync(
            batches,
            new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrentRequests },
            async (batch, _) => await SendAsync(batch).ConfigureAwait(false)).ConfigureAwait(false);
    }

    private async Task SendAsync(Batch batch)
    {
        try
        {
            Interlocked.Increment(ref _requests);
            await _store.LogBatchAsync(batch.RunId, batch.Metrics, batch.Params, batch.Tags, _abort.Token).ConfigureAwait(false);
            Interlocked.Add(ref _sent, batch.Count);
            UploaderMetrics.Sent.Add(batch.Count);
            Interlocked.Exchange(ref _retryAttempt, 0);
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            KeepForRetry([batch]);
        }
        catch (MlflowException ex) when (IsRetriable(ex))
        {
            UploaderLog.BatchFailed(_logger, batch.Count, batch.RunId, ex.Message);
            Unreachable(batch);
        }
        catch (MlflowException ex)
        {
            await IsolateRejectedAsync(batch, ex).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or TimeoutException)
        {
            UploaderLog.BatchFailed(_logger, batch.Count, batch.RunId, ex.Message);
            Unreachable(batch);
        }
    }

    /// <summary>A batch failed after the client's retries: to the spool when there is one (and the uploader turns to spooling), else kept in memory for a re-send.</summary>
    private void Unreachable(Batch batch)
    {
        if (_spool is null)
        {
            KeepForRetry([batch]);
            return;
        }

        SpoolBatches([batch]);
        SpoolLog.Spooled(_logger, batch.Count, batch.RunId);
        Backoff();
    }

    private void SpoolBatches(List<Batch> batches)
    {
        foreach (var b in batches)
        {
            if (_spool!.Append(SpoolRecord.FromBatch(b)))
            {
                Interlocked.Add(ref _spooled, b.Count);
            }
        }

        MarkSpooled();
    }

    /// <summary>After an append: the uploader spools (and replays) until the spool is empty. Paired with the check in <see cref="ReplayAsync"/> under one lock, so no append is missed.</summary>
    private void MarkSpooled()
    {
        lock (_degradedGate)
        {
            _spoolAppends++;
            _degraded = true;
        }
    }

    /// <summary>Pushes the next re-send (or replay) back: 0.5 s × 2^(attempt−1), at most <see cref="UploaderOptions.MaxRetryBackoff"/>.</summary>
    private void Backoff()
    {
        lock (_retry)
        {
            var attempt = Interlocked.Increment(ref _retryAttempt);
            var backoff = TimeSpan.FromMilliseconds(Math.Min(_options.MaxRetryBackoff.TotalMilliseconds, 500 * Math.Pow(2, Math.Min(attempt - 1, 16))));
            _retryNotBefore = _time.GetUtcNow() + backoff;
        }
    }

    /// <summary>Sends spooled records in order; stops at the first that the server cannot take yet (backoff), acknowledging each one delivered or refused for good.</summary>
    private async Task ReplayAsync()
    {
        var spool = _spool!;
        spool.Sync(force: false);
        long appendsBefore;
        lock (_degradedGate)
        {
            appendsBefore = _spoolAppends;
        }

        long replayed = 0;
        var complete = true;
        Batch? combined = null; // consecutive batch records of one run are re-packed into full log-batch requests
        SpoolEntry? last = null;
        var combinedRecords = 0;
        foreach (var entry in spool.ReadPending())
        {
            if (_abort.IsCancellationRequested)
            {
                complete = false;
                break;
            }

            var record = entry.Record;
            if (record.Kind == SpoolRecordKind.Batch && combined is not null && last!.Segment == entry.Segment && combined.RunId == record.RunId && Fits(combined, record))
            {
                Append(combined, record);
                last = entry;
                combinedRecords++;
            }
            else
            {
                if (combined is not null)
                {
                    if (!await SendReplayedAsync(combined).ConfigureAwait(false))
                    {
                        complete = false;
                        break;
                    }

                    spool.Acknowledge(last!, combinedRecords);
                    replayed += combinedRecords;
                    combined = null;
                }

                if (record.Kind == SpoolRecordKind.Batch)
                {
                    combined = record.ToBatch();
                    last = entry;
                    combinedRecords = 1;
                }
                else
                {
                    if (!await SendRunEndAsync(record).ConfigureAwait(false))
                    {
                        complete = false;
                        break;
                    }

                    spool.Acknowledge(entry, 0);
                    replayed++;
                    continue;
                }
            }

            if (entry.LastInSegment)
            {
                // Acknowledge before the reader moves on, so that a finished segment is deleted in this pass.
                if (!await SendReplayedAsync(combined!).ConfigureAwait(false))
                {
                    complete = false;
                    break;
                }

                spool.Acknowledge(last!, combinedRecords);
                replayed += combinedRecords;
                combined = null;
            }
        }

        if (complete && combined is not null)
        {
            if (await SendReplayedAsync(combined).ConfigureAwait(false))
            {
                spool.Acknowledge(last!, combinedRecords);
                replayed += combinedRecords;
            }
            else
            {
                complete = false;
            }
        }

        if (replayed > 0)
        {
            SpoolLog.Replayed(_logger, replayed);
        }

        var drained = false;
        var appended = false;
        if (complete)
        {
            lock (_degradedGate)
            {
                appended = _spoolAppends != appendsBefore;
                if (!appended && !spool.HasPending)
                {
                    _degraded = false;
                    drained = true;
                }
            }
        }

        if (drained)
        {
            Interlocked.Exchange(ref _retryAttempt, 0);
            CompleteReplayWaiter(true);
        }
        else if (appended)
        {
            // Appended to while replaying: go again at once (behind the new records, the order holds).
            lock (_retry)
            {
                _retryNotBefore = _time.GetUtcNow();
            }
        }
        else
        {
            Backoff();
            CompleteReplayWaiter(false);
        }
    }

    private static bool Fits(Batch batch, SpoolRecord record) =>
        batch.Count + record.EntityCount <= MlflowLimits.MaxEntitiesPerBatch
        && batch.Metrics.Count + record.Metrics.Count <= MlflowLimits.MaxMetricsPerBatch
        && batch.Params.Count + record.Params.Count <= MlflowLimits.MaxParamsPerBatch
        && batch.Tags.Count + record.Tags.Count <= MlflowLimits.MaxTagsPerBatch
        && !record.Params.Any(p => batch.Params.Exists(q => q.Key == p.Key)); // one value per param key in a request

    private static void Append(Batch batch, SpoolRecord record)
    {
        batch.Metrics.AddRange(record.Metrics);
        batch.Params.AddRange(record.Params);
        foreach (var tag in record.Tags)
        {
            var i = batch.Tags.FindIndex(t => t.Key == tag.Key);
            if (i >= 0)
            {
                batch.Tags[i] = tag; // the later value wins, as on the server
            }
            else
            {
                batch.Tags.Add(tag);
            }
        }
    }

    /// <summary>Sends a replayed batch: <see langword="false"/> when the server is still away; a refused batch is split and its refused entities reported.</summary>
    private async Task<bool> SendReplayedAsync(Batch batch)
    {
        try
        {
            Interlocked.Increment(ref _requests);
            await _store.LogBatchAsync(batch.RunId, batch.Metrics, batch.Params, batch.Tags, _abort.Token).ConfigureAwait(false);
            Interlocked.Add(ref _sent, batch.Count);
            Interlocked.Add(ref _replayed, batch.Count);
            return true;
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            UploaderLog.BatchFailed(_logger, batch.Count, batch.RunId, ex.Message);
            return false;
        }
        catch (MlflowException ex)
        {
            await IsolateRejectedAsync(batch, ex).ConfigureAwait(false);
            Interlocked.Add(ref _replayed, batch.Count);
            return true;
        }
    }

    private async Task<bool> SendRunEndAsync(SpoolRecord record)
    {
        try
        {
            await _store.UpdateRunAsync(record.RunId, record.Status, DateTimeOffset.FromUnixTimeMilliseconds(record.EndTimeMs), null, _abort.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            UploaderLog.BatchFailed(_logger, 0, record.RunId, ex.Message);
            return false;
        }
        catch (MlflowException ex)
        {
            UploaderLog.BatchFailed(_logger, 0, record.RunId, "the spooled run end was refused: " + ex.Message);
        }

        return true;
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

    private bool IsUnavailable(Exception ex) =>
        ex is HttpRequestException or IOException or TimeoutException
        || (ex is OperationCanceledException && _abort.IsCancellationRequested)
        || (ex is MlflowException m && IsRetriable(m));

    private static bool IsRetriable(MlflowException ex) => ex is not MlflowValidationException && (ex.Status == 0 || ex.IsTransient);

    /// <summary>Splits a refused batch until each refused entity stands alone; every valid entity still lands.</summary>
    private async Task IsolateRejectedAsync(Batch batch, MlflowException error)
    {
        if (batch.Count == 1 || IsRunLevel(error))
        {
            Reject(batch, error);
            return;
        }

        var (left, right) = batch.Split();
        await SendAsync(left).ConfigureAwait(false);
        await SendAsync(right).ConfigureAwait(false);
    }

    private static bool IsRunLevel(MlflowException error) =>
        error.ErrorCode == MlflowErrorCodes.ResourceDoesNotExist
        || (error.ServerMessage?.Contains("must be in the 'active' state", StringComparison.Ordinal) ?? false);

    private void Reject(Batch batch, MlflowException error)
    {
        Interlocked.Add(ref _rejected, batch.Count);
        UploaderMetrics.Rejected.Add(batch.Count);
        var queue = _rejectedByRun.GetOrAdd(batch.RunId, static _ => new ConcurrentQueue<RejectedEntity>());
        foreach (var r in batch.Describe(error))
        {
            queue.Enqueue(r);
            UploaderLog.EntityRejected(_logger, r.Kind, r.Key, r.RunId, error.Message);
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

    private void KeepForRetry(List<Batch> batches)
    {
        var count = 0;
        foreach (var b in batches)
        {
            count += b.Count;
        }

        Interlocked.Add(ref _retried, count);
        UploaderMetrics.Retried.Add(count);
        lock (_retry)
        {
            _retry.AddRange(batches);
            Backoff();
        }
    }

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

    /// <summary>One <c>log-batch</c> request for one run.</summary>
    internal sealed class Batch(string runId)
    {
        private HashSet<string>? _paramKeys;
        private Dictionary<string, int>? _tagIndex;

        public string RunId { get; } = runId;

        public List<Metric> Metrics { get; } = [];

        public List<Param> Params { get; } = [];

        public List<RunTag> Tags { get; } = [];

        public int Count => Metrics.Count + Params.Count + Tags.Count;

        public bool CanAdd(EntityKind kind) =>
            Count < MlflowLimits.MaxEntitiesPerBatch && kind switch
            {
                EntityKind.Metric => Metrics.Count < MlflowLimits.MaxMetricsPerBatch,
                EntityKind.Param => Params.Count < MlflowLimits.MaxParamsPerBatch,
                _ => Tags.Count < MlflowLimits.MaxTagsPerBatch,
            };

        public void Add(in PendingEntity e)
        {
            switch (e.Kind)
            {
                case EntityKind.Metric:
                    Metrics.Add(new Metric(e.Key, e.Value, e.Timestamp, e.Step));
                    break;
                case EntityKind.Param:
                    // One value per key in a batch (the server refuses duplicates); the run scope already refused conflicts.
                    if ((_paramKeys ??= new HashSet<string>(StringComparer.Ordinal)).Add(e.Key))
                    {
                        Params.Add(new Param(e.Key, e.Text!));
                    }

                    break;
                default:
                    // The last value of a tag wins, as it would on the server.
                    _tagIndex ??= new Dictionary<string, int>(StringComparer.Ordinal);
                    if (_tagIndex.TryGetValue(e.Key, out var i))
                    {
                        Tags[i] = new RunTag(e.Key, e.Text!);
                    }
                    else
                    {
                        _tagIndex[e.Key] = Tags.Count;
                        Tags.Add(new RunTag(e.Key, e.Text!));
                    }

                    break;
            }
        }

        public (Batch Left, Batch Right) Split()
        {
            var left = new Batch(RunId);
            var right = new Batch(RunId);
            var half = Count / 2;
            var i = 0;
            foreach (var m in Metrics)
            {
                (i++ < half ? left : right).Metrics.Add(m);
            }

            foreach (var p in Params)
            {
                (i++ < half ? left : right).Params.Add(p);
            }

            foreach (var t in Tags)
            {
                (i++ < half ? left : right).Tags.Add(t);
            }

            return (left, right);
        }

        public IEnumerable<RejectedEntity> Describe(MlflowException error)
        {
            foreach (var m in Metrics)
            {
                yield return new RejectedEntity(RunId, "metric", m.Key, error);
            }

            foreach (var p in Params)
            {
                yield return new RejectedEntity(RunId, "param", p.Key, error);
            }

            foreach (var t in Tags)
            {
                yield return new RejectedEntity(RunId, "tag", t.Key, error);
            }
        }
    }
}

/// <summary>Settings of the batched uploader (part of the tracker's options).</summary>
public sealed class UploaderOptions
{
    /// <summary>Entities the buffer holds before <see cref="BufferFullPolicy"/> applies. Default 100,000 (about 6 MB).</summary>
    public int MaxBufferedEntities { get; set; } = 100_000;

    /// <summary>What logging does when the buffer is full. Default <see cref="BufferFullPolicy.Wait"/>.</summary>
    public BufferFullPolicy BufferFullPolicy { get; set; } = BufferFullPolicy.Wait;

    /// <summary>The longest an entity waits in the buffer before it is sent. Default 500 ms.</summary>
    public TimeSpan MaxBatchDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>log-batch requests in flight at once. Default 4.</summary>
    public int MaxConcurrentRequests { get; set; } = 4;

    /// <summary>The longest wait between two re-sends of batches that failed after the client's retries. Default 30 s.</summary>
    public TimeSpan MaxRetryBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The on-disk spool for outages (off by default).</summary>
    public SpoolOptions Spool { get; set; } = new();

    /// <summary>How long ending a run waits for its entities to be delivered. Default 2 minutes.</summary>
    public TimeSpan FlushTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long disposal, host shutdown and process exit wait for delivery. Default 30 seconds.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Log events of the uploader.</summary>
internal static partial class UploaderLog
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "The MLflow upload buffer ({Capacity} entities) is full: {What}. The tracking server is slow or unreachable.")]
    public static partial void BufferFull(ILogger logger, int capacity, string what);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "A batch of {Count} entities for run {RunId} failed and will be sent again: {Reason}")]
    public static partial void BatchFailed(ILogger logger, int count, string runId, string reason);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Error, Message = "MLflow refused {Kind} '{Key}' of run {RunId}: {Reason}")]
    public static partial void EntityRejected(ILogger logger, string kind, string key, string runId, string reason);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Error, Message = "Flush did not complete within {TimeoutSeconds} s: {Pending} entities are still waiting for the tracking server.")]
    public static partial void FlushTimedOut(ILogger logger, double timeoutSeconds, long pending);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Error, Message = "The MLflow uploader loop hit an unexpected error; it keeps running.")]
    public static partial void LoopError(ILogger logger, Exception exception);
}
