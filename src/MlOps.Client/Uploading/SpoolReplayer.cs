using Microsoft.Extensions.Logging;
using MlOps.Client.Uploading.Spooling;
using MlOps.Client.Validation;

namespace MlOps.Client.Uploading;

/// <summary>
/// The uploader's side of the on-disk spool: writes the batches the server could not take (and every later one, while
/// older records wait, so that the order holds) and replays them in order when the server answers again — consecutive
/// records of one run re-packed into full <c>log-batch</c> requests, a run end sent after its run's records, each record
/// acknowledged once delivered or refused for good. What a killed process left is replayed by the next one.
/// </summary>
internal sealed class SpoolReplayer(DiskSpool spool, BatchSender sender, OutagePolicy policy, RunRefusals refusals, ILogger logger, bool replayPending)
{
    private readonly object _gate = new();
    private long _appends;
    private volatile bool _active = replayPending && spool.HasPending;
    private long _spooled;
    private long _replayed;
    private long _replayedForeign;
    private bool _probeWarned;

    /// <summary>Whether batches go to the spool now (it holds records not yet replayed).</summary>
    public bool Active => _active;

    /// <summary>Entities written to the spool.</summary>
    public long Spooled => Interlocked.Read(ref _spooled);

    /// <summary>Entities this process spooled and delivered (or saw refused for good) by replay.</summary>
    public long Replayed => Interlocked.Read(ref _replayed);

    /// <summary>Entities other processes spooled (an earlier one, killed or stopped during an outage) that this one delivered.</summary>
    public long ReplayedForeign => Interlocked.Read(ref _replayedForeign);

    public DiskSpool Spool => spool;

    /// <summary>Whether this process spooled entities of <paramref name="runId"/> not yet replayed.</summary>
    public bool HasPendingEntities(string runId) => spool.HasPendingEntities(runId);

    /// <summary>Writes <paramref name="batches"/> to the spool, in order; the uploader spools until a replay drains it.</summary>
    public void Append(IEnumerable<Batch> batches)
    {
        var anyEnd = false;
        foreach (var b in batches)
        {
            if (spool.Append(ToRecord(b)))
            {
                Interlocked.Add(ref _spooled, b.Count);
            }

            anyEnd |= b.IsRunEnd;
        }

        if (anyEnd)
        {
            spool.Sync(force: true); // a run end is rare and final: on disk at once
        }

        lock (_gate)
        {
            _appends++;
            _active = true;
        }
    }

    /// <summary>Marks the spool active (an explicit replay request, or records left by an earlier process).</summary>
    public void Activate() => _active = true;

    /// <summary>
    /// Sends spooled records in order, up to <paramref name="parallelism"/> requests at once (acknowledged strictly in
    /// order, so a failure leaves every record from the first unsent one on for the next pass); stops at the first the
    /// server cannot take yet.
    /// </summary>
    public async Task<ReplayPass> ReplayAsync(IDeliveryReport report, CancellationToken abort, int parallelism = 1)
    {
        spool.Sync(force: false);
        long appendsBefore;
        lock (_gate)
        {
            appendsBefore = _appends;
        }

        long replayed = 0;
        var complete = true;
        Batch? combined = null; // consecutive batch records of one run are re-packed into full log-batch requests
        SpoolEntry? last = null;
        var combinedRecords = 0;
        var inFlight = new List<(Task<ReplayOutcome> Send, Batch Batch, SpoolEntry Last, int Records)>();

        // Settles the oldest requests (all of them with drain), acknowledging in order while they succeed.
        async Task<bool> SettleAsync(bool drain)
        {
            while (inFlight.Count > 0 && (drain || inFlight.Count >= Math.Max(1, parallelism)))
            {
                var (send, batch, entry, records) = inFlight[0];
                var sent = await send.ConfigureAwait(false);
                if (sent == ReplayOutcome.Unavailable)
                {
                    // Later requests may have gone through: they are not acknowledged (nor counted) and go again.
                    await Task.WhenAll(inFlight.Select(f => f.Send)).ConfigureAwait(false);
                    inFlight.Clear();
                    return false;
                }

                if (sent == ReplayOutcome.Delivered)
                {
                    Interlocked.Add(ref batch.Foreign ? ref _replayedForeign : ref _replayed, batch.Count);
                    report.Delivered(batch);
                }

                spool.Acknowledge(entry, records);
                replayed += records;
                inFlight.RemoveAt(0);
            }

            return true;
        }

        async Task<bool> DispatchCombinedAsync()
        {
            if (!await SettleAsync(drain: false).ConfigureAwait(false))
            {
                return false;
            }

            var batch = combined!;
            inFlight.Add((SendAsync(batch, report, abort), batch, last!, combinedRecords));
            combined = null;
            return true;
        }

        foreach (var entry in spool.ReadPending())
        {
            if (abort.IsCancellationRequested)
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
                if (combined is not null && !await DispatchCombinedAsync().ConfigureAwait(false))
                {
                    complete = false;
                    break;
                }

                if (record.Kind == SpoolRecordKind.Batch)
                {
                    combined = ToBatch(record, spool.IsForeign(entry));
                    last = entry;
                    combinedRecords = 1;
                }
                else
                {
                    // A run end goes after every request of its run (and of the others before it) has settled.
                    if (!await SettleAsync(drain: true).ConfigureAwait(false)
                        || await SendAsync(Batch.ForRunEnd(record.RunId, record.Status, record.EndTimeMs), report, abort).ConfigureAwait(false) == ReplayOutcome.Unavailable)
                    {
                        complete = false;
                        break;
                    }

                    spool.Acknowledge(entry, 0);
                    replayed++;
                    continue;
                }
            }

            // Acknowledge before the reader moves on, so that a finished segment is deleted in this pass.
            if (entry.LastInSegment && (!await DispatchCombinedAsync().ConfigureAwait(false) || !await SettleAsync(drain: true).ConfigureAwait(false)))
            {
                complete = false;
                break;
            }
        }

        if (complete && combined is not null && !await DispatchCombinedAsync().ConfigureAwait(false))
        {
            complete = false;
        }

        if (!await SettleAsync(drain: true).ConfigureAwait(false))
        {
            complete = false;
        }

        if (replayed > 0)
        {
            SpoolLog.Replayed(logger, replayed);
        }

        if (!complete)
        {
            return ReplayPass.ServerAway;
        }

        lock (_gate)
        {
            if (_appends == appendsBefore)
            {
                if (!spool.HasPending)
                {
                    _active = false;
                    return ReplayPass.Drained;
                }

                if (replayed == 0)
                {
                    return ReplayPass.Blocked; // only what this pass could not open or read is left
                }
            }
        }

        return ReplayPass.GoAgain; // appended to while replaying (or a segment left for the next pass): behind the new records, the order holds
    }

    /// <summary>Sends a replayed batch once. A refused batch is isolated and reported here; a delivered one is counted when acknowledged.</summary>
    private async Task<ReplayOutcome> SendAsync(Batch batch, IDeliveryReport report, CancellationToken abort)
    {
        if (refusals.IsLost(batch.RunId, out var lostError))
        {
            report.RunLost(batch, lostError);
            return ReplayOutcome.Handled;
        }

        var outcome = await sender.SendOnceAsync(batch, abort).ConfigureAwait(false);
        switch (outcome.Status)
        {
            case SendStatus.Delivered:
                policy.Succeeded();
                _probeWarned = false;
                return ReplayOutcome.Delivered;
            case SendStatus.Refused:
                _probeWarned = false;
                await sender.DeliverAsync(batch, report, abort).ConfigureAwait(false); // isolates the refused entities
                Interlocked.Add(ref batch.Foreign ? ref _replayedForeign : ref _replayed, batch.Count);
                return ReplayOutcome.Handled;
            case SendStatus.Unavailable:
                // One line per outage, not one per probe: the spool keeps the records, the next probe follows the backoff.
                if (!_probeWarned)
                {
                    _probeWarned = true;
                    SpoolLog.StillUnreachable(logger, outcome.Error?.Message ?? "unavailable");
                }

                policy.Failed(outcome.RetryAfter);
                return ReplayOutcome.Unavailable;
            default:
                return ReplayOutcome.Unavailable;
        }
    }

    /// <summary>What a replay pass left.</summary>
    public enum ReplayPass
    {
        /// <summary>Nothing is left: spooling stops.</summary>
        Drained,

        /// <summary>The server could not take a request (or the pass was aborted): the backoff decides the next pass.</summary>
        ServerAway,

        /// <summary>Records were appended during the pass, or it left a segment for the next one: go again at once.</summary>
        GoAgain,

        /// <summary>
        /// Nothing was sent and nothing was appended: what is left is in segments this process cannot open now (another
        /// live process writes or replays them) or cannot read (said once). Tried again after a pause, not at once.
        /// </summary>
        Blocked,
    }

    /// <summary>What became of one replayed request.</summary>
    private enum ReplayOutcome
    {
        Delivered,
        Handled,
        Unavailable,
    }

    private static bool Fits(Batch batch, SpoolRecord record) =>
        batch.CanTake(record.Metrics.Count, record.Params.Count, record.Tags.Count)
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

    internal static SpoolRecord ToRecord(Batch batch) => batch.End is { } end
        ? new SpoolRecord { Kind = SpoolRecordKind.RunEnd, RunId = batch.RunId, Status = end.Status, EndTimeMs = end.EndTimeMs }
        : new SpoolRecord { Kind = SpoolRecordKind.Batch, RunId = batch.RunId, Metrics = [.. batch.Metrics], Params = [.. batch.Params], Tags = [.. batch.Tags] };

    internal static Batch ToBatch(SpoolRecord record, bool foreign = false)
    {
        var batch = new Batch(record.RunId) { Foreign = foreign };
        batch.Metrics.AddRange(record.Metrics);
        batch.Params.AddRange(record.Params);
        batch.Tags.AddRange(record.Tags);
        return batch;
    }
}
