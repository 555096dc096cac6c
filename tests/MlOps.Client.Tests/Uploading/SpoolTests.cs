using Microsoft.Extensions.Time.Testing;
using MlOps.Client.Tests.Fixtures;
using MlOps.Client.Tracking;
using MlOps.Client.Uploading;
using MlOps.Client.Uploading.Spooling;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MlOps.Client.Testing;

namespace MlOps.Client.Tests.Uploading;

public sealed class SpoolTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-spool-");

    public void Dispose() => _dir.Delete(recursive: true);

    private Tracker NewTracker(FakeTrackingStore store, FakeTimeProvider time, Action<TrackerOptions>? configure = null)
    {
        var options = new TrackerOptions { HandleProcessExit = false, SetSystemTags = false, TimeProvider = time };
        options.Uploader.Spool.Enabled = true;
        options.Uploader.Spool.Directory = _dir.FullName;
        options.Uploader.MaxRetryBackoff = TimeSpan.FromSeconds(1);
        configure?.Invoke(options);
        return new Tracker(store, options, Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.AddProvider(_logs)));
    }

    private readonly Microsoft.Extensions.Logging.Testing.FakeLoggerProvider _logs = new();

    private static SpoolOptions Options(string dir, long maxBytes = 1L << 30) => new() { Enabled = true, Directory = dir, MaxBytes = maxBytes, FlushPolicy = SpoolFlushPolicy.EveryRecord };

    [Fact]
    public async Task An_outage_spools_then_replays_in_order_and_the_run_ends_after_its_entities()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new FakeTrackingStore();
        var down = true;
        store.BatchFault = (_, _, _, _) => down ? new HttpRequestException("connection refused") : null;
        await using var tracker = NewTracker(store, time);
        var run = await tracker.StartRunAsync("outage");
        for (var i = 0; i < 3000; i++)
        {
            run.LogMetric("loss", 1.0 / (i + 1), i);
        }

        run.LogParam("lr", 0.1);
        run.SetTag("phase", "one");
        run.SetTag("phase", "two");
        await Eventually.OnFakeClockAsync(time, () => tracker.Counters.Spooled >= 3002, "everything (the two values of one tag packed into one) reaches the spool while the server is down");

        await run.EndAsync(); // durable: returns without the server
        Assert.Equal(RunStatus.Finished, run.FinalStatus);
        Assert.Equal(RunStatus.Running, store.Info(run.RunId).Status); // what the user sees meanwhile
        Assert.True(tracker.Counters.SpoolBytes > 0);

        down = false;
        await Eventually.OnFakeClockAsync(time, () => store.Info(run.RunId).Status == RunStatus.Finished, "the spooled end reaches the server after the entities");
        await Eventually.OnFakeClockAsync(time, () => tracker.Counters.SpoolBytes == 0 && !Directory.EnumerateFiles(_dir.FullName, "*.seg", SearchOption.AllDirectories).Any(), "the spool is emptied");
        Assert.Equal(3000, store.MetricCount(run.RunId));
        Assert.Equal(Enumerable.Range(0, 3000).Select(i => (long)i), store.Metrics(run.RunId).Select(m => m.Step).Order());
        Assert.Equal("0.1", store.Params(run.RunId)["lr"]);
        Assert.Equal("two", store.Tags(run.RunId)["phase"]);
        Assert.Equal(tracker.Counters.Spooled, tracker.Counters.Replayed);
        Assert.Equal(0, tracker.Counters.SpoolBytes);
        Assert.Empty(Directory.EnumerateFiles(_dir.FullName, "*.seg", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task What_one_process_spooled_the_next_one_replays()
    {
        var store = new FakeTrackingStore();
        var down = true;
        store.BatchFault = (_, _, _, _) => down ? new HttpRequestException("connection refused") : null;
        string runId;
        var time1 = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using (var first = NewTracker(store, time1, o => o.Uploader.ShutdownTimeout = TimeSpan.FromSeconds(1)))
        {
            var run = await first.StartRunAsync("first");
            runId = run.RunId;
            for (var i = 0; i < 1500; i++)
            {
                run.LogMetric("m", i, i);
            }

            var end = run.EndAsync(); // the quick re-send waits on the fake clock
            await Eventually.OnFakeClockAsync(time1, () => end.IsCompleted, "the run end returns while the server is down");
            await end;
        } // graceful exit while the server is down: nothing is lost, it is on disk

        Assert.NotEmpty(Directory.EnumerateFiles(_dir.FullName, "*.seg", SearchOption.AllDirectories));
        Assert.Equal(0, store.MetricCount(runId));

        down = false;
        var time2 = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var second = NewTracker(store, time2, o => o.Uploader.Spool.ReplayOnStart = false);
        Assert.True(await second.ReplaySpoolAsync());
        Assert.Equal(1500, store.MetricCount(runId));
        Assert.Equal(RunStatus.Finished, store.Info(runId).Status);
        Assert.Empty(Directory.EnumerateFiles(_dir.FullName, "*.seg", SearchOption.AllDirectories));
    }

    [Fact]
    public void A_torn_last_record_is_skipped_and_every_complete_record_is_read()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using (var spool = new DiskSpool(Options(_dir.FullName), "http://127.0.0.1:5000", time, NullLogger.Instance))
        {
            for (var i = 0; i < 3; i++)
            {
                spool.Append(new SpoolRecord { Kind = SpoolRecordKind.Batch, RunId = "r", Metrics = [new Metric("m", i, 1000 + i, i)] });
            }
        }

        var segment = Directory.EnumerateFiles(_dir.FullName, "*.seg", SearchOption.AllDirectories).Single();
        var bytes = File.ReadAllBytes(segment);
        File.WriteAllBytes(segment, [.. bytes, .. new byte[] { 40, 0, 0, 0, 1, 2 }]); // a header cut short: the crash

        using var reopened = new DiskSpool(Options(_dir.FullName), "http://127.0.0.1:5000", time, NullLogger.Instance);
        var records = reopened.ReadPending().ToList();
        Assert.Equal([0.0, 1.0, 2.0], records.Select(r => r.Record.Metrics[0].Value));
        Assert.Equal(1, reopened.DamagedRecords);
    }

    [Fact]
    public void A_record_whose_checksum_fails_is_not_delivered()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using (var spool = new DiskSpool(Options(_dir.FullName), "http://127.0.0.1:5000", time, NullLogger.Instance))
        {
            spool.Append(new SpoolRecord { Kind = SpoolRecordKind.Batch, RunId = "r", Params = [new Param("a", "1")] });
            spool.Append(new SpoolRecord { Kind = SpoolRecordKind.Batch, RunId = "r", Params = [new Param("b", "2")] });
        }

        var segment = Directory.EnumerateFiles(_dir.FullName, "*.seg", SearchOption.AllDirectories).Single();
        var bytes = File.ReadAllBytes(segment);
        bytes[^2] ^= 0xFF; // the last record's payload changed under its checksum
        File.WriteAllBytes(segment, bytes);

        using var reopened = new DiskSpool(Options(_dir.FullName), "http://127.0.0.1:5000", time, NullLogger.Instance);
        Assert.Equal(["a"], reopened.ReadPending().Select(r => r.Record.Params[0].Key));
        Assert.Equal(1, reopened.DamagedRecords);
    }

    [Fact]
    public void Acknowledged_records_are_not_read_again_and_an_unacknowledged_one_is()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var spool = new DiskSpool(Options(_dir.FullName), "http://127.0.0.1:5000", time, NullLogger.Instance);
        for (var i = 0; i < 3; i++)
        {
            spool.Append(new SpoolRecord { Kind = SpoolRecordKind.Batch, RunId = "r", Metrics = [new Metric("m", i, 1, i)] });
        }

        var first = spool.ReadPending().First();
        spool.Acknowledge(first); // delivered; the process dies before acknowledging the next one
        Assert.Equal([1.0, 2.0], spool.ReadPending().Select(r => r.Record.Metrics[0].Value));
        Assert.True(spool.HasPendingEntities("r"));
    }

    [Fact]
    public void The_size_cap_drops_and_counts_instead_of_filling_the_disk()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var spool = new DiskSpool(Options(_dir.FullName, maxBytes: 400), "http://127.0.0.1:5000", time, NullLogger.Instance);
        var accepted = 0;
        for (var i = 0; i < 20; i++)
        {
            accepted += spool.Append(new SpoolRecord { Kind = SpoolRecordKind.Batch, RunId = "r", Metrics = [new Metric("metric", i, 1, i), new Metric("metric", i, 2, i)] }) ? 1 : 0;
        }

        Assert.InRange(accepted, 1, 10);
        Assert.Equal((20 - accepted) * 2, spool.Dropped);
        Assert.True(spool.Bytes <= 400);
    }

    [Fact]
    public void Spool_files_hold_no_credentials_and_one_folder_per_tracking_uri()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using (var a = new DiskSpool(Options(_dir.FullName), "https://alice:s3cr3t-pw@127.0.0.1:5000", time, NullLogger.Instance))
        using (var b = new DiskSpool(Options(_dir.FullName), "https://127.0.0.1:6000", time, NullLogger.Instance))
        {
            a.Append(new SpoolRecord { Kind = SpoolRecordKind.Batch, RunId = "r", Tags = [new RunTag("t", "v")] });
            Assert.NotEqual(a.Folder, b.Folder);
        }

        Assert.Single(Directory.GetDirectories(_dir.FullName)); // a folder is made only when something is spooled
        foreach (var file in Directory.EnumerateFiles(_dir.FullName, "*", SearchOption.AllDirectories))
        {
            var text = System.Text.Encoding.UTF8.GetString(File.ReadAllBytes(file));
            Assert.DoesNotContain("s3cr3t", text, StringComparison.Ordinal);
            Assert.DoesNotContain("alice", text, StringComparison.Ordinal);
            Assert.DoesNotContain("s3cr3t", file, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_spill_policy_writes_to_the_spool_when_the_buffer_is_full_and_loses_nothing()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new FakeTrackingStore();
        var gate = new TaskCompletionSource();
        store.BatchGate = () => gate.Task;
        await using var tracker = NewTracker(store, time, o =>
        {
            o.Uploader.MaxBufferedEntities = 1024;
            o.Uploader.BufferFullPolicy = BufferFullPolicy.Spill;
        });
        var run = await tracker.StartRunAsync("spill");
        for (var i = 0; i < 20_000; i++)
        {
            run.LogMetric("m", i, i); // never blocks: the overflow goes to disk
        }

        Assert.True(tracker.Counters.Spooled > 0);
        gate.SetResult();
        await Eventually.OnFakeClockAsync(time, () => store.MetricCount(run.RunId) == 20_000, "every metric arrives", state: () => $"{store.MetricCount(run.RunId)} {tracker.Counters} errors={string.Join(" | ", _logs.Collector.GetSnapshot().Where(r => r.Level >= Microsoft.Extensions.Logging.LogLevel.Error).Select(r => r.Message + " " + r.Exception?.ToString().Split('\n')[0] + " " + r.Exception?.StackTrace?.Split('\n').FirstOrDefault()))} files={string.Join(",", Directory.EnumerateFiles(_dir.FullName, "*", SearchOption.AllDirectories).Select(f => Path.GetFileName(f) + ":" + new FileInfo(f).Length + (f.EndsWith(".ack") ? "@" + BitConverter.ToInt64(File.ReadAllBytes(f)) : "")))}");
        await run.EndAsync();
        await Eventually.OnFakeClockAsync(time, () => store.Info(run.RunId).Status == RunStatus.Finished, "the run ends");
        Assert.Equal(0, tracker.Counters.Dropped);
    }

    [Fact]
    public async Task A_server_that_falls_behind_gets_what_waits_longer_than_the_batch_delay_through_the_spool_and_it_is_said_once()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new FakeTrackingStore();
        var gate = new TaskCompletionSource();
        store.BatchGate = () => gate.Task; // the server takes requests and does not answer yet
        await using var tracker = NewTracker(store, time);
        var run = await tracker.StartRunAsync("slow");
        for (var i = 0; i < 20_000; i++)
        {
            run.LogMetric("m", i, i);
        }

        // Four requests in flight; the next batch waits for a slot longer than MaxBatchDelay: the rest goes to the disk.
        await Eventually.OnFakeClockAsync(time, () => tracker.Counters.Spooled >= 16_000, "what waits goes to the spool", state: () => tracker.Counters.ToString());
        Assert.True(tracker.Counters.Buffered < 1_000, tracker.Counters.ToString()); // nothing piles up in memory
        Assert.Single(_logs.Collector.GetSnapshot(), r => r.Id.Id == 2008);
        Assert.Contains("falling behind", _logs.Collector.GetSnapshot().Single(r => r.Id.Id == 2008).Message, StringComparison.Ordinal);

        gate.SetResult(); // the server catches up: the spool is replayed in order, every metric once
        await run.EndAsync();
        await Eventually.OnFakeClockAsync(time, () => store.Info(run.RunId).Status == RunStatus.Finished, "the run ends after its metrics", state: () => tracker.Counters.ToString());
        Assert.Equal(20_000, store.MetricCount(run.RunId));
        Assert.Equal(Enumerable.Range(0, 20_000).Select(i => (long)i), store.Metrics(run.RunId).Select(m => m.Step).Order());
        Assert.Equal(20_000, tracker.Counters.Sent);
        Assert.Equal(tracker.Counters.Spooled, tracker.Counters.Replayed);
    }

    [Fact]
    public async Task Disposal_keeps_to_one_ShutdownTimeout_in_all_when_the_server_never_answers()
    {
        var store = new FakeTrackingStore();
        var never = new TaskCompletionSource();
        store.BatchGate = () => never.Task; // the server takes the request and never answers
        var options = new TrackerOptions { HandleProcessExit = false, SetSystemTags = false };
        options.Uploader.Spool.Enabled = false; // nowhere to put what is not delivered: disposal waits its whole time
        options.Uploader.ShutdownTimeout = TimeSpan.FromSeconds(2);
        var tracker = new Tracker(store, options);
        var run = await tracker.StartRunAsync("never-answered");
        for (var i = 0; i < 5_000; i++)
        {
            run.LogMetric("m", i, i);
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await tracker.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));
        clock.Stop();
        // Ending the runs, delivering and stopping share the 2 s (plus at most 1 s for the loop to stop once aborted);
        // each had its own timeout before, and disposal took three of them and more (33.9 s and 54.9 s for 30 s).
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(4.5));
        never.SetResult();
    }

    [Fact]
    public async Task By_default_a_server_tracker_has_a_spool_that_writes_nothing_until_an_outage_and_the_embedded_store_has_none()
    {
        var root = Path.Combine(_dir.FullName, "default-root");
        var options = new TrackerOptions { HandleProcessExit = false, SetSystemTags = false };
        options.Uploader.Spool.Directory = root;
        using (var client = new MlflowClient(new MlflowClientOptions { TrackingUri = "http://127.0.0.1:9" }))
        await using (var server = new Tracker(client, options))
        {
            Assert.NotNull(server.Uploader.SpoolFolder);
            Assert.False(Directory.Exists(root));
        }

        var embeddedOptions = new TrackerOptions { HandleProcessExit = false, SetSystemTags = false };
        await using var store = MlOps.Client.Stores.SqliteTrackingStore.Open("sqlite:///" + Path.Combine(_dir.FullName, "mlflow.db"));
        await using (var embedded = new Tracker(store, embeddedOptions))
        {
            Assert.Null(embedded.Uploader.SpoolFolder);
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var off = new TrackerOptions { HandleProcessExit = false };
        off.Uploader.Spool.Enabled = false;
        using var client2 = new MlflowClient(new MlflowClientOptions { TrackingUri = "http://127.0.0.1:9" });
        await using var disabled = new Tracker(client2, off);
        Assert.Null(disabled.Uploader.SpoolFolder);
    }

    [Fact]
    public void Spill_without_a_spool_is_refused()
    {
        var options = new TrackerOptions { HandleProcessExit = false };
        options.Uploader.BufferFullPolicy = BufferFullPolicy.Spill;
        options.Uploader.Spool.Enabled = false;
        Assert.Throws<ArgumentException>(() => new Tracker(new FakeTrackingStore(), options));
    }
}
