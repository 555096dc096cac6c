using MlOps.Client.Uploading.Spooling;

namespace MlOps.Client.Uploading;

/// <summary>
/// The on-disk spool seen as the uploader's queue of requests: batches the server could not take go in at the back (and
/// every later one too while older records wait, so that the order holds); they come out in order — consecutive records
/// of one run re-packed into full <c>log-batch</c> requests, a run end after its run's records — and each is
/// acknowledged once its fate is settled. What a killed process left comes out too. It sends nothing: the
/// <see cref="Delivery"/> does, and decides each request's fate.
/// </summary>
internal sealed class SpoolQueue(DiskSpool spool, bool replayPending)
{
    private readonly object _gate = new();
    private long _appends;
    private volatile bool _active = replayPending && spool.HasPending;
    private long _spooled;
    private long _replayed;
    private long _replayedForeign;

    /// <summary>Whether batches go to the spool now (it holds records not yet replayed).</summary>
    public bool Active => _active;

    /// <summary>Entities written to the spool.</summary>
    public long Spooled => Interlocked.Read(ref _spooled);

    /// <summary>Entities this process spooled and delivered (or saw refused for good) by replay.</summary>
    public long Replayed => Interlocked.Read(ref _replayed);

    /// <summary>Entities other processes spooled (an earlier one, killed or stopped during an outage) that this one delivered.</summary>
    public long ReplayedForeign => Interlocked.Read(ref _replayedForeign);

    /// <summary>The records on disk (and held in memory while the disk fails).</summary>
    public DiskSpool Disk => spool;

    /// <summary>Whether this process spooled entities of <paramref name="runId"/> not yet replayed.</summary>
    public bool HasPendingEntities(string runId) => spool.HasPendingEntities(runId);

    /// <summary>Writes <paramref name="batches"/> to the spool, in order; the queue stays active until a pass drains it.</summary>
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

    /// <summary>Marks the queue active (an explicit replay request, or records left by an earlier process).</summary>
    public void Activate() => _active = true;

    /// <summary>Starts a replay pass: what was written so far is made readable; the mark tells <see cref="EndPass"/> whether anything was appended since.</summary>
    public long BeginPass()
    {
        spool.Sync(force: false);
        lock (_gate)
        {
            return _appends;
        }
    }

    /// <summary>
    /// The requests to replay, in order. Lazy: the reader moves on only when the next one is asked for, so a request
    /// marked <see cref="SpooledRequest.EndsSegment"/> must be acknowledged first for its segment to be deleted in this pass.
    /// </summary>
    public IEnumerable<SpooledRequest> ReadInOrder()
    {
        Batch? combined = null;
        SpoolEntry? last = null;
        var records = 0;
        foreach (var entry in spool.ReadPending())
        {
            var record = entry.Record;
            if (record.Kind == SpoolRecordKind.Batch && combined is not null && last!.Segment == entry.Segment && combined.RunId == record.RunId && Fits(combined, record))
            {
                Append(combined, record);
                last = entry;
                records++;
            }
            else
            {
                if (combined is not null)
                {
                    yield return new SpooledRequest(combined, last!, records, EndsSegment: false);
                    combined = null;
                }

                if (record.Kind != SpoolRecordKind.Batch)
                {
                    yield return new SpooledRequest(Batch.ForRunEnd(record.RunId, record.Status, record.EndTimeMs), entry, 0, EndsSegment: entry.LastInSegment);
                    continue;
                }

                combined = ToBatch(record, spool.IsForeign(entry));
                last = entry;
                records = 1;
            }

            if (entry.LastInSegment)
            {
                yield return new SpooledRequest(combined, last, records, EndsSegment: true);
                combined = null;
            }
        }

        if (combined is not null)
        {
            yield return new SpooledRequest(combined, last!, records, EndsSegment: false);
        }
    }

    /// <summary>Acknowledges a request whose fate is settled; <paramref name="counted"/> when its entities count as replayed (delivered or refused for good).</summary>
    public void Acknowledge(SpooledRequest request, bool counted)
    {
        if (counted)
        {
            Interlocked.Add(ref request.Batch.Foreign ? ref _replayedForeign : ref _replayed, request.Batch.Count);
        }

        spool.Acknowledge(request.Last, request.Records);
    }

    /// <summary>What a complete pass (every request it read was settled) left, given the mark from <see cref="BeginPass"/> and the records it acknowledged.</summary>
    public ReplayPass EndPass(long mark, long acknowledged)
    {
        lock (_gate)
        {
            if (_appends == mark)
            {
                if (!spool.HasPending)
                {
                    _active = false;
                    return ReplayPass.Drained;
                }

                if (acknowledged == 0)
                {
                    return ReplayPass.Blocked; // only what this pass could not open or read is left
                }
            }
        }

        return ReplayPass.GoAgain; // appended to while replaying (or a segment left for the next pass): behind the new records, the order holds
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
        : new SpoolRecord { Kind = SpoolRecordKind.Batch, RunId = batch.RunId, Metrics = batch.Metrics.ToMetrics(), Params = [.. batch.Params], Tags = [.. batch.Tags] };

    internal static Batch ToBatch(SpoolRecord record, bool foreign = false)
    {
        var batch = new Batch(record.RunId) { Foreign = foreign };
        batch.Metrics.AddRange(record.Metrics);
        batch.Params.AddRange(record.Params);
        batch.Tags.AddRange(record.Tags);
        return batch;
    }
}

/// <summary>One request read back from the spool: the batch (or run end), the last record it covers, how many records, and whether it ends its segment.</summary>
internal sealed record SpooledRequest(Batch Batch, SpoolEntry Last, int Records, bool EndsSegment);

/// <summary>What a replay pass left.</summary>
internal enum ReplayPass
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
