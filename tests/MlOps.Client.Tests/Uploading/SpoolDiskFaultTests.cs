using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using MlOps.Client.Stores;
using NSubstitute;
using MlOps.Client.Uploading;
using MlOps.Client.Testing;
using MlOps.Client.Uploading.Spooling;

namespace MlOps.Client.Tests.Uploading;

/// <summary>
/// The spool's storage engine on a faulty disk, through the injected <see cref="SpoolFileSystem"/> seam (the operating
/// system's own errors: ENOSPC on write, EIO on fsync) and through files changed by hand (torn and flipped records,
/// files another process deletes). The same full disk on a real tmpfs runs in the reliability suite.
/// </summary>
public sealed class SpoolDiskFaultTests : IDisposable
{
    private const string Uri = "http://127.0.0.1:5000";
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-spool-faults-");
    private readonly FakeLogger _log = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);

    public void Dispose() => _dir.Delete(recursive: true);

    private SpoolOptions Options(SpoolFileSystem? fs = null, long maxMemory = 64L << 20, SpoolFlushPolicy flush = SpoolFlushPolicy.EveryRecord) =>
        new() { Enabled = true, Directory = _dir.FullName, FlushPolicy = flush, MaxMemoryBytes = maxMemory, FileSystem = fs };

    private DiskSpool Open(SpoolOptions options) => new(options, Uri, _time, _log);

    private static SpoolRecord Metric(int i) => new() { Kind = SpoolRecordKind.Batch, RunId = "r", Metrics = [new Metric("m", i, 1000 + i, i)] };

    private static double[] Values(IEnumerable<SpoolEntry> entries) => [.. entries.Select(e => e.Record.Metrics[0].Value)];

    private string SegmentFile() => Directory.EnumerateFiles(_dir.FullName, "*.seg", SearchOption.AllDirectories).Single();

    private int Logged(int eventId) => _log.Collector.GetSnapshot().Count(r => r.Id.Id == eventId);

    [Fact]
    public void A_full_disk_holds_records_in_memory_in_order_says_it_once_and_writes_them_when_space_returns()
    {
        var fs = new FaultyFileSystem();
        using var spool = Open(Options(fs));
        spool.Append(Metric(0));
        fs.Full = true;
        for (var i = 1; i < 50; i++)
        {
            Assert.True(spool.Append(Metric(i))); // taken: nothing handed over is lost
        }

        Assert.True(spool.MemoryBytes > 0);
        Assert.Equal(0, spool.Dropped);
        Assert.Equal(1, Logged(2105)); // one error for the episode, not one per batch
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (double)i), Values(spool.ReadPending())); // disk first, then memory

        fs.Full = false;
        spool.Append(Metric(50)); // too early: the retry waits its backoff, so this one queues behind the held ones
        Assert.True(spool.MemoryBytes > 0);
        _time.Advance(TimeSpan.FromSeconds(2));
        spool.Sync(force: false);
        Assert.Equal(0, spool.MemoryBytes);
        Assert.Equal(1, Logged(2106)); // recovered, said once
        Assert.Equal(1, Logged(2105));

        spool.Dispose(); // the writer lets go of its segment
        using var next = Open(Options()); // what a next process finds on disk: everything, in order, once
        Assert.Equal(Enumerable.Range(0, 51).Select(i => (double)i), Values(next.ReadPending(inspectOnly: true)));
    }

    [Fact]
    public void A_write_that_fails_half_way_leaves_no_torn_record_behind()
    {
        var fs = new FaultyFileSystem();
        using (var spool = Open(Options(fs)))
        {
            spool.Append(Metric(0));
            fs.PartialWriteThenFull = true; // ENOSPC after part of the record reached the file
            spool.Append(Metric(1));
            fs.PartialWriteThenFull = false;
            _time.Advance(TimeSpan.FromSeconds(2));
            spool.Append(Metric(2));
        }

        using var next = Open(Options());
        Assert.Equal([0.0, 1.0, 2.0], Values(next.ReadPending()));
        Assert.Equal(0, next.DamagedRecords);
    }

    [Fact]
    public void An_fsync_that_fails_with_EIO_takes_back_what_it_may_have_lost_and_nothing_is_duplicated()
    {
        var fs = new FaultyFileSystem();
        using (var spool = Open(Options(fs, flush: SpoolFlushPolicy.Interval)))
        {
            spool.Append(Metric(0));
            spool.Sync(force: true);
            spool.Append(Metric(1));
            spool.Append(Metric(2)); // written, not yet synced
            fs.SyncFails = true;
            spool.Sync(force: true); // EIO: records 1 and 2 may not be on the disk
            Assert.True(spool.MemoryBytes > 0);
            Assert.Equal(1, Logged(2105));
            fs.SyncFails = false;
            _time.Advance(TimeSpan.FromSeconds(2));
            spool.Append(Metric(3));
            Assert.Equal(0, spool.MemoryBytes);
        }

        using var next = Open(Options());
        Assert.Equal([0.0, 1.0, 2.0, 3.0], Values(next.ReadPending()));
    }

    [Fact]
    public void Beyond_the_memory_bound_entities_are_dropped_counted_and_said_once()
    {
        var fs = new FaultyFileSystem { Full = true };
        using var spool = Open(Options(fs, maxMemory: 2_000));
        var taken = 0;
        for (var i = 0; i < 500; i++)
        {
            taken += spool.Append(Metric(i)) ? 1 : 0;
        }

        Assert.InRange(taken, 1, 100);
        Assert.Equal(500 - taken, spool.Dropped);
        Assert.True(spool.MemoryBytes <= 2_000);
        Assert.Equal(1, Logged(2107));
        Assert.Equal(Enumerable.Range(0, taken).Select(i => (double)i), Values(spool.ReadPending()));
    }

    [Fact]
    public void Held_records_still_unwritten_at_disposal_are_counted_as_dropped_and_said()
    {
        var fs = new FaultyFileSystem { Full = true };
        var spool = Open(Options(fs));
        spool.Append(Metric(0));
        spool.Append(new SpoolRecord { Kind = SpoolRecordKind.Batch, RunId = "r", Params = [new Param("a", "1"), new Param("b", "2")] });
        spool.Dispose();
        Assert.Equal(3, spool.Dropped);
        Assert.Equal(1, Logged(2109));
    }

    [Fact]
    public void A_torn_last_record_read_while_the_server_is_down_changes_nothing_and_is_counted_once()
    {
        using (var spool = Open(Options()))
        {
            for (var i = 0; i < 5; i++)
            {
                spool.Append(Metric(i));
            }
        }

        var segment = SegmentFile();
        File.AppendAllBytes(segment, [40, 0, 0, 0, 1, 2, 3]); // a record cut short: the crash
        var before = File.ReadAllBytes(segment);

        using var reader = Open(Options());
        for (var pass = 0; pass < 3; pass++)
        {
            // The server is down: the replay reads, sends nothing, acknowledges nothing.
            Assert.Equal([0.0, 1.0, 2.0, 3.0, 4.0], Values(reader.ReadPending()));
        }

        Assert.Equal(before, File.ReadAllBytes(segment));
        Assert.False(File.Exists(segment + ".ack"));
        Assert.Equal(1, reader.DamagedRecords);
        Assert.Equal(1, Logged(2101)); // said once, as a torn write
        Assert.Equal([40, 0, 0, 0, 1, 2, 3], File.ReadAllBytes(Directory.EnumerateFiles(Path.Combine(reader.Folder, "damaged")).Single()));

        // The server answers: the last good record's acknowledgement covers the torn tail; the segment goes, no orphan .ack.
        var entries = reader.ReadPending().ToList();
        reader.Acknowledge(entries[^1], entries.Count);
        Assert.True(entries[^1].LastInSegment);
        Assert.Empty(reader.ReadPending());
        Assert.Empty(Directory.EnumerateFiles(reader.Folder, "*.seg*"));
        using var another = Open(Options());
        Assert.Equal(0, another.Bytes);
    }

    [Fact]
    public void A_flipped_byte_mid_segment_costs_only_its_record_and_is_reported_as_damage_not_a_torn_write()
    {
        using (var spool = Open(Options()))
        {
            for (var i = 0; i < 10; i++)
            {
                spool.Append(Metric(i));
            }
        }

        var segment = SegmentFile();
        var bytes = File.ReadAllBytes(segment);
        var recordLength = bytes.Length / 10;
        bytes[(4 * recordLength) + 20] ^= 0x10; // one bit of record 4's payload
        File.WriteAllBytes(segment, bytes);

        using var reader = Open(Options());
        var entries = reader.ReadPending().ToList();
        Assert.Equal([0.0, 1.0, 2.0, 3.0, 5.0, 6.0, 7.0, 8.0, 9.0], Values(entries));
        Assert.Equal(1, reader.DamagedRecords);
        Assert.Equal(recordLength, reader.DamagedBytes);
        Assert.Equal(1, Logged(2110));
        Assert.Equal(0, Logged(2101));
        Assert.Contains("the records after them are read", _log.Collector.GetSnapshot().Single(r => r.Id.Id == 2110).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Garbage_at_the_start_of_a_segment_is_skipped_to_the_first_valid_record()
    {
        using (var spool = Open(Options()))
        {
            for (var i = 0; i < 3; i++)
            {
                spool.Append(Metric(i));
            }
        }

        var segment = SegmentFile();
        var bytes = File.ReadAllBytes(segment);
        for (var i = 0; i < 6; i++)
        {
            bytes[i] = 0xFF; // the first record's header overwritten
        }

        File.WriteAllBytes(segment, bytes);
        using var reader = Open(Options());
        Assert.Equal([1.0, 2.0], Values(reader.ReadPending()));
        Assert.Equal(1, reader.DamagedRecords);
    }

    [Fact]
    public void An_acknowledgement_the_full_disk_refuses_is_kept_in_memory_so_nothing_is_sent_twice()
    {
        var fs = new FaultyFileSystem();
        using var spool = Open(Options(fs));
        for (var i = 0; i < 3; i++)
        {
            spool.Append(Metric(i));
        }

        fs.Full = true;
        fs.InPlaceRefused = true;
        var first = spool.ReadPending().First();
        spool.Acknowledge(first);
        Assert.Equal([1.0, 2.0], Values(spool.ReadPending()));
        spool.Acknowledge(spool.ReadPending().First());
        Assert.Equal([2.0], Values(spool.ReadPending()));
        Assert.Equal(1, Logged(2108)); // said once
        Assert.Empty(Directory.EnumerateFiles(spool.Folder, "*.tmp")); // no half-made temporary file left behind
    }

    [Fact]
    public void An_acknowledgement_on_a_full_disk_overwrites_the_existing_file_in_place()
    {
        var fs = new FaultyFileSystem();
        using (var spool = Open(Options(fs)))
        {
            for (var i = 0; i < 3; i++)
            {
                spool.Append(Metric(i));
            }

            var entries = spool.ReadPending().ToList();
            spool.Acknowledge(entries[0]); // the .ack file exists now
            fs.Full = true; // no block for a temporary file
            spool.Acknowledge(entries[1]);
        }

        using var next = Open(Options());
        Assert.Equal([2.0], Values(next.ReadPending())); // a next process does not send record 1 again
        Assert.Equal(0, Logged(2108));
    }

    [Fact]
    public void Files_another_process_deletes_are_no_error_and_orphan_acknowledgements_are_swept()
    {
        using (var spool = Open(Options()))
        {
            spool.Append(Metric(0));
        }

        var segment = SegmentFile();
        File.WriteAllBytes(segment + ".ack", new byte[8]);
        File.Delete(segment); // another process's replay deleted the segment, not yet its .ack
        using var reader = Open(Options()); // no FileNotFoundException
        Assert.Equal(0, reader.Bytes);
        Assert.False(reader.HasPending);
        Assert.Empty(reader.ReadPending());
        Assert.Empty(Directory.EnumerateFiles(reader.Folder, "*.ack*"));
    }

    [Fact]
    public void A_segment_another_process_is_replaying_is_skipped_and_the_others_are_marked_foreign()
    {
        using (var earlier = Open(Options()))
        {
            earlier.Append(Metric(0));
        }

        using var a = Open(Options());
        using var b = Open(Options());
        b.Append(Metric(1));
        using var readerA = a.ReadPending().GetEnumerator();
        Assert.True(readerA.MoveNext()); // A holds the earlier segment open while it sends its first record
        Assert.Equal(0.0, readerA.Current.Record.Metrics[0].Value);
        Assert.True(a.IsForeign(readerA.Current));

        var seenByB = b.ReadPending().ToList(); // B skips the segment A is reading
        Assert.Equal([1.0], Values(seenByB));
        Assert.False(b.IsForeign(seenByB[0]));
    }

    [Fact]
    public void A_segment_the_disk_cannot_read_is_skipped_said_once_and_read_when_the_disk_recovers()
    {
        var fs = new FaultyFileSystem();
        using (var earlier = Open(Options()))
        {
            earlier.Append(Metric(0));
            earlier.Append(Metric(1));
        }

        using var spool = Open(Options(fs));
        fs.ReadFails = true; // EIO on read
        Assert.Empty(spool.ReadPending());
        Assert.Empty(spool.ReadPending());
        Assert.Equal(1, Logged(2113)); // said once, not once per pass
        Assert.True(spool.HasPending); // nothing acknowledged, nothing deleted
        fs.ReadFails = false;
        Assert.Equal([0.0, 1.0], Values(spool.ReadPending()));
    }

    [Fact]
    public void A_failed_fsync_after_a_segment_rotation_holds_only_the_new_segments_records()
    {
        // Interval flushing: records wait for their fsync. The full segment was synced when it was closed, so a later
        // failed fsync of the next segment puts only that segment's records back in memory (not the closed one's too).
        var fs = new FaultyFileSystem();
        var options = Options(fs, flush: SpoolFlushPolicy.Interval);
        options.FlushInterval = TimeSpan.FromHours(1);
        options.SegmentBytes = 1; // one record per segment
        using (var spool = Open(options))
        {
            spool.Append(Metric(0));
            spool.Append(Metric(1)); // rotation
            fs.SyncFails = true;
            spool.Sync(force: true); // EIO: record 1 cut off and held
            Assert.True(spool.MemoryBytes > 0);
            Assert.Equal([0.0, 1.0], Values(spool.ReadPending(inspectOnly: true))); // each once, in order
            fs.SyncFails = false;
            _time.Advance(TimeSpan.FromSeconds(2));
            spool.Sync(force: true);
            Assert.Equal(0, spool.MemoryBytes);
        }

        using var next = Open(Options());
        Assert.Equal([0.0, 1.0], Values(next.ReadPending(inspectOnly: true)));
    }

    [Fact]
    public void Records_held_in_memory_are_written_while_a_replay_reads_the_segments()
    {
        var fs = new FaultyFileSystem();
        using var spool = Open(Options(fs));
        spool.Append(Metric(0));
        fs.Full = true;
        spool.Append(Metric(1)); // held in memory
        using var reader = spool.ReadPending(inspectOnly: true).GetEnumerator();
        Assert.True(reader.MoveNext()); // the pass is on the disk's segment
        Assert.Equal(0.0, reader.Current.Record.Metrics[0].Value);

        fs.Full = false;
        _time.Advance(TimeSpan.FromSeconds(2));
        spool.Sync(force: false);
        Assert.Equal(0, spool.MemoryBytes); // written at once, not after the whole pass
        Assert.False(reader.MoveNext()); // its new segment goes in the next pass, not twice in this one
        Assert.Equal([0.0, 1.0], Values(spool.ReadPending(inspectOnly: true)));
    }

    [Fact]
    public void What_memory_holds_is_not_replayed_before_a_segment_opened_during_the_pass()
    {
        var fs = new FaultyFileSystem();
        using var spool = Open(Options(fs));
        spool.Append(Metric(0));
        using var reader = spool.ReadPending(inspectOnly: true).GetEnumerator();
        Assert.True(reader.MoveNext());
        spool.Append(Metric(1)); // a new segment (the pass closed the old one's writer)
        fs.Full = true;
        spool.Append(Metric(2)); // held in memory: newer than record 1
        Assert.False(reader.MoveNext()); // not 2 before 1
        fs.Full = false;
        Assert.Equal([0.0, 1.0, 2.0], Values(spool.ReadPending(inspectOnly: true)));
    }

    [Fact]
    public async Task A_pass_that_can_open_nothing_that_is_left_says_blocked_not_go_again()
    {
        using var other = Open(Options()); // another live process: its writer holds its segment
        other.Append(Metric(0));
        using var spool = Open(Options());
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = Substitute.For<ITrackingStore>();
        var delivery = new Delivery(store, new UploaderOptions(), time, _log, new SpoolQueue(spool, replayPending: true));

        var pass = await delivery.ReplayAsync(1, CancellationToken.None);

        Assert.Equal(ReplayPass.Blocked, pass);
        Assert.False(delivery.IsDue); // the next pass waits a pause (OutagePolicy.Defer) instead of spinning
        Assert.Empty(store.ReceivedCalls());
        Assert.True(spool.HasPending);
        other.Dispose(); // the other process let go: the next pass sends its records
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(delivery.IsDue);
        Assert.Equal(ReplayPass.Drained, await delivery.ReplayAsync(1, CancellationToken.None));
        Assert.NotEmpty(store.ReceivedCalls());
    }

    [Fact]
    public async Task A_replayed_record_whose_refusal_cannot_be_isolated_now_stays_whole_in_its_place_and_is_counted_once()
    {
        // A spooled record with a valid metric and a param the server refuses, then the run's end. First pass: the record
        // is refused, and while it is split to isolate the refusal the server goes away. The record must stay in the spool
        // ahead of the run end (which must not overtake the unsent half), and nothing may be counted or reported yet.
        using var spool = Open(Options());
        spool.Append(new SpoolRecord { Kind = SpoolRecordKind.Batch, RunId = "r", Metrics = [new Metric("m", 1, 1000, 0)], Params = [new Param("bad", "x")] });
        spool.Append(new SpoolRecord { Kind = SpoolRecordKind.RunEnd, RunId = "r", Status = RunStatus.Finished, EndTimeMs = 2000 });
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = Substitute.For<ITrackingStore>();
        var calls = new List<string>();
        var away = true;
        store.LogBatchAsync("r", Arg.Any<IReadOnlyList<Metric>>(), Arg.Any<IReadOnlyList<Param>>(), Arg.Any<IReadOnlyList<RunTag>>(), Arg.Any<CancellationToken>())
            .Returns(call =>
            {
                var (metrics, parameters) = (call.ArgAt<IReadOnlyList<Metric>>(1), call.ArgAt<IReadOnlyList<Param>>(2));
                calls.Add($"batch {metrics.Count}+{parameters.Count}");
                if (parameters.Count > 0)
                {
                    throw new MlflowException(400, MlflowErrorCodes.InvalidParameterValue, "bad param");
                }

                // Retry-After beyond the quick re-send's 2 s: the pass ends at this failure.
                return away ? throw new MlflowException(503, MlflowErrorCodes.TemporarilyUnavailable, "away") { RetryAfter = TimeSpan.FromSeconds(30) } : Task.CompletedTask;
            });
        store.UpdateRunAsync("r", RunStatus.Finished, Arg.Any<DateTimeOffset?>(), null, Arg.Any<CancellationToken>())
            .Returns(_ =>
            {
                calls.Add("end");
                return new RunInfo { RunId = "r" };
            });
        var delivery = new Delivery(store, new UploaderOptions(), time, _log, new SpoolQueue(spool, replayPending: true));
        var rejected = new List<RejectedEntity>();
        delivery.Rejected += rejected.Add;

        Assert.Equal(ReplayPass.ServerAway, await delivery.ReplayAsync(1, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30))); // capped: a wait on the fake clock would hang
        Assert.Equal(["batch 1+1", "batch 1+0"], calls); // refused whole; the metric's half met the outage; the run end waited
        Assert.Empty(rejected);
        Assert.Equal(0, delivery.RejectedCount);
        Assert.True(spool.HasPendingEntities("r"));

        away = false;
        calls.Clear();
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(ReplayPass.Drained, await delivery.ReplayAsync(1, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(["batch 1+1", "batch 1+0", "batch 0+1", "end"], calls); // the end after every part of its run
        Assert.Equal("bad", Assert.Single(rejected).Key);
        Assert.Equal(1, delivery.RejectedCount);
        Assert.Equal(1, delivery.Sent);
    }

    [Fact]
    public async Task A_part_of_a_replayed_record_being_isolated_gets_one_quick_resend_so_a_storm_cannot_hold_the_record_forever()
    {
        // The record is refused whole; its valid half then meets one transient failure. The server has just answered:
        // the half is sent once more at once instead of ending the pass (which would start the isolation over next time).
        using var spool = Open(Options());
        spool.Append(new SpoolRecord { Kind = SpoolRecordKind.Batch, RunId = "r", Metrics = [new Metric("m", 1, 1000, 0)], Params = [new Param("bad", "x")] });
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = Substitute.For<ITrackingStore>();
        var calls = new List<string>();
        var halfFailures = 1;
        store.LogBatchAsync("r", Arg.Any<IReadOnlyList<Metric>>(), Arg.Any<IReadOnlyList<Param>>(), Arg.Any<IReadOnlyList<RunTag>>(), Arg.Any<CancellationToken>())
            .Returns(call =>
            {
                var parameters = call.ArgAt<IReadOnlyList<Param>>(2);
                lock (calls)
                {
                    calls.Add($"batch {call.ArgAt<IReadOnlyList<Metric>>(1).Count}+{parameters.Count}");
                }

                if (parameters.Count > 0)
                {
                    throw new MlflowException(400, MlflowErrorCodes.InvalidParameterValue, "bad param");
                }

                return Interlocked.Decrement(ref halfFailures) >= 0 ? throw new MlflowException(503, MlflowErrorCodes.TemporarilyUnavailable, "storm") : Task.CompletedTask;
            });
        var delivery = new Delivery(store, new UploaderOptions(), time, _log, new SpoolQueue(spool, replayPending: true));

        var pass = delivery.ReplayAsync(1, CancellationToken.None);
        await time.AdvanceUntilAsync(pass, TimeSpan.FromMilliseconds(100)); // the quick re-send waits 250–500 ms on this clock

        Assert.Equal(ReplayPass.Drained, await pass);
        Assert.Equal(["batch 1+1", "batch 1+0", "batch 1+0", "batch 0+1"], calls);
        Assert.Equal(1, delivery.RejectedCount);
        Assert.Equal(1, delivery.Sent);
    }

    [Fact]
    public async Task In_a_storm_the_failed_probes_of_a_replay_are_said_once_until_the_spool_drains()
    {
        // Every other request fails (a 503 storm): a pass delivers one record, the next request fails, the next pass does
        // the same. "Still unreachable" is said once for the whole episode, not after every success.
        using var spool = Open(Options());
        for (var i = 0; i < 6; i++)
        {
            // runs apart: one request each
            spool.Append(new SpoolRecord { Kind = SpoolRecordKind.Batch, RunId = "r" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), Metrics = [new Metric("m", i, 1000 + i, i)] });
        }

        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = Substitute.For<ITrackingStore>();
        var n = 0;
        store.LogBatchAsync(Arg.Any<string>(), Arg.Any<IReadOnlyList<Metric>>(), Arg.Any<IReadOnlyList<Param>>(), Arg.Any<IReadOnlyList<RunTag>>(), Arg.Any<CancellationToken>())
            .Returns(_ => Interlocked.Increment(ref n) % 2 == 0 ? throw new MlflowException(503, MlflowErrorCodes.TemporarilyUnavailable, "storm") : Task.CompletedTask);
        var delivery = new Delivery(store, new UploaderOptions(), time, _log, new SpoolQueue(spool, replayPending: true));

        var passes = 0;
        ReplayPass pass;
        do
        {
            pass = await delivery.ReplayAsync(1, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
            time.Advance(TimeSpan.FromMinutes(1));
            Assert.True(++passes < 20, "the spool never drained");
        }
        while (pass != ReplayPass.Drained);

        Assert.True(passes >= 5, $"{passes} passes: the storm was not felt");
        Assert.Equal(1, Logged(2112));
        Assert.Equal(6, delivery.Sent);
    }

    [Fact]
    public void A_deferral_pauses_without_growing_the_backoff()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var policy = new OutagePolicy(new UploaderOptions(), time);
        policy.Defer(TimeSpan.FromSeconds(1));
        Assert.False(policy.IsDue);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(policy.IsDue);
        policy.Failed(null); // the first failure's backoff: 0.25–0.5 s, as if no deferral had happened
        Assert.True(policy.UntilDue <= TimeSpan.FromMilliseconds(500));
    }

    /// <summary>Fails as Linux does: ENOSPC on writes and file creation, EIO on fsync.</summary>
    private sealed class FaultyFileSystem : SpoolFileSystem
    {
        public bool Full { get; set; }

        public bool SyncFails { get; set; }

        public bool PartialWriteThenFull { get; set; }

        public bool InPlaceRefused { get; set; }

        public bool ReadFails { get; set; }

        public override void Read(FileStream segment, byte[] buffer)
        {
            if (ReadFails)
            {
                throw new IOException("Input/output error", 5);
            }

            base.Read(segment, buffer);
        }

        private static IOException NoSpace() => new("No space left on device", 28);

        public override FileStream CreateSegment(string path) => Full ? throw NoSpace() : base.CreateSegment(path);

        public override void Append(FileStream segment, ReadOnlySpan<byte> frame)
        {
            if (PartialWriteThenFull)
            {
                segment.Write(frame[..(frame.Length / 2)]);
                throw NoSpace();
            }

            if (Full)
            {
                throw NoSpace();
            }

            base.Append(segment, frame);
        }

        public override void Sync(FileStream segment)
        {
            if (SyncFails)
            {
                throw new IOException("Input/output error", 5);
            }

            base.Sync(segment);
        }

        public override void WriteNewFile(string path, ReadOnlySpan<byte> bytes)
        {
            if (Full)
            {
                File.Create(path).Dispose(); // a full disk lets the file be created (an inode), not written
                throw NoSpace();
            }

            base.WriteNewFile(path, bytes);
        }

        public override void OverwriteInPlace(string path, ReadOnlySpan<byte> bytes)
        {
            if (InPlaceRefused)
            {
                throw NoSpace();
            }

            base.OverwriteInPlace(path, bytes);
        }

        public override bool CreateNew(string path, ReadOnlySpan<byte> bytes) => Full ? throw NoSpace() : base.CreateNew(path, bytes);
    }
}
