using MlOps.Client.Testing;
using Microsoft.Extensions.Time.Testing;
using MlOps.Client.Tests.Fixtures;
using MlOps.Client.Tracking;
using MlOps.Client.Uploading;

namespace MlOps.Client.Tests.Uploading;

public class BatchUploaderTests
{
    private static Tracker NewTracker(FakeTrackingStore store, Action<TrackerOptions>? configure = null)
    {
        var options = new TrackerOptions { HandleProcessExit = false, SetSystemTags = false };
        configure?.Invoke(options);
        return new Tracker(store, options);
    }

    [Fact]
    public void One_batch_fit_rule_holds_MLflows_log_batch_limits_for_packing_and_replay()
    {
        var batch = new Batch("r");
        for (var i = 0; i < 99; i++)
        {
            batch.Params.Add(new Param("p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), "v"));
        }

        Assert.True(batch.CanAdd(EntityKind.Param));
        Assert.True(batch.CanTake(0, 1, 0));
        Assert.False(batch.CanTake(0, 2, 0)); // 101 params
        Assert.True(batch.CanTake(901, 0, 0)); // 1000 entities
        Assert.False(batch.CanTake(901, 0, 1)); // 1001 entities
        batch.Params.Add(new Param("last", "v"));
        Assert.False(batch.CanAdd(EntityKind.Param));
        Assert.True(batch.CanAdd(EntityKind.Metric));
    }

    [Fact]
    public void A_split_batch_of_another_processs_entities_stays_counted_as_replayed_from_another_process()
    {
        var batch = new Batch("r") { Foreign = true };
        batch.Metrics.Add(new Metric("a", 1, 1, 0));
        batch.Metrics.Add(new Metric("b", 2, 1, 0));
        var (left, right) = batch.Split();
        Assert.True(left.Foreign);
        Assert.True(right.Foreign);
        Assert.Equal(2, left.Count + right.Count);
    }

    [Fact]
    public void Packing_respects_every_log_batch_limit_and_keeps_one_value_per_param_and_tag()
    {
        var entities = new List<PendingEntity>();
        for (var i = 0; i < 2500; i++)
        {
            entities.Add(PendingEntity.ForMetric("r1", "m", i, 1, i));
        }

        for (var i = 0; i < 150; i++)
        {
            entities.Add(PendingEntity.ForParam("r1", "p" + i, "v"));
        }

        for (var i = 0; i < 120; i++)
        {
            entities.Add(PendingEntity.ForTag("r1", "t" + i, "v"));
        }

        entities.Add(PendingEntity.ForTag("r2", "t", "old"));
        entities.Add(PendingEntity.ForTag("r2", "t", "new"));
        entities.Add(PendingEntity.ForParam("r2", "p", "same"));
        entities.Add(PendingEntity.ForParam("r2", "p", "same"));

        var batches = BatchPacker.Pack(entities.ToArray());

        Assert.All(batches, b =>
        {
            Assert.InRange(b.Metrics.Count, 0, 1000);
            Assert.InRange(b.Params.Count, 0, 100);
            Assert.InRange(b.Tags.Count, 0, 100);
            Assert.InRange(b.Count, 1, 1000);
        });
        var r1 = batches.Where(b => b.RunId == "r1").ToList();
        Assert.Equal(2500, r1.Sum(b => b.Metrics.Count));
        Assert.Equal(150, r1.Sum(b => b.Params.Count));
        Assert.Equal(120, r1.Sum(b => b.Tags.Count));
        Assert.Equal(Enumerable.Range(0, 2500).Select(i => (long)i), r1.SelectMany(b => b.Metrics).Select(m => m.Step));
        var r2 = Assert.Single(batches, b => b.RunId == "r2");
        Assert.Equal("new", Assert.Single(r2.Tags).Value);
        Assert.Single(r2.Params);
    }

    [Fact]
    public async Task A_lone_metric_is_sent_after_the_max_batch_delay_without_any_flush()
    {
        var time = new TimerSignallingTimeProvider(DateTimeOffset.UtcNow);
        var store = new FakeTrackingStore();
        await using var tracker = NewTracker(store, o => o.TimeProvider = time);
        await using var run = await tracker.StartRunAsync("delay");
        await time.ActiveTimer(TimeSpan.FromMilliseconds(500)).WaitAsync(TimeSpan.FromSeconds(30)); // the uploader is parked on its MaxBatchDelay (a signal, not a sleep)
        var parkedAt = time.GetUtcNow();
        run.LogMetric("m", 1);

        var sentAt = (DateTimeOffset?)null;
        for (var i = 0; i < 200 && sentAt is null; i++)
        {
            await Task.Delay(5); // real I/O of the fake store gets its moment
            if (store.MetricCount(run.RunId) > 0)
            {
                sentAt = time.GetUtcNow();
                break;
            }

            time.Advance(TimeSpan.FromMilliseconds(100)); // the default delay is 500 ms
        }

        Assert.NotNull(sentAt);
        Assert.Equal(1, store.MetricCount(run.RunId));
        Assert.InRange(sentAt.Value - parkedAt, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1)); // not before the delay, not long after
    }

    [Fact]
    public async Task Eight_threads_logging_100k_metrics_each_deliver_exactly_800k()
    {
        var store = new FakeTrackingStore();
        await using var tracker = NewTracker(store);
        await using var run = await tracker.StartRunAsync("threads");
        var keys = Enumerable.Range(0, 8).Select(t => "thread_" + t).ToArray();
        var threads = keys.Select(key => new Thread(() =>
        {
            for (var i = 0; i < 100_000; i++)
            {
                run.LogMetric(key, i, i);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.True(await run.FlushAsync());

        Assert.Equal(800_000, store.MetricCount(run.RunId));
        foreach (var key in keys)
        {
            Assert.Equal(100_000, store.Metrics(run.RunId).Count(m => m.Key == key));
        }

        var counters = tracker.Counters;
        Assert.Equal(800_000, counters.Queued);
        Assert.Equal(800_000, counters.Sent);
        Assert.Equal(0, counters.Dropped);
        Assert.All(store.BatchSizes, size => Assert.InRange(size, 1, 1000));
    }

    [Fact]
    public async Task A_full_buffer_makes_logging_wait_and_nothing_is_lost()
    {
        var store = new FakeTrackingStore();
        var gate = new TaskCompletionSource();
        await using var tracker = NewTracker(store, o => o.Uploader.MaxBufferedEntities = 50);
        await using var run = await tracker.StartRunAsync("backpressure");
        store.BatchGate = () => gate.Task;
        var producer = Task.Run(() =>
        {
            for (var i = 0; i < 500; i++)
            {
                run.LogMetric("m", i, i);
            }
        });

        // The producer blocks once the buffer (50) and the batch held at the gate are full.
        await Eventually.OnRealTimeAsync(() => tracker.Counters.BackpressureWaits > 0, "the producer never waited on the full buffer");

        Assert.False(producer.IsCompleted);
        gate.SetResult();
        await producer;
        Assert.True(await run.FlushAsync());
        Assert.Equal(500, store.MetricCount(run.RunId));
        Assert.True(tracker.Counters.BackpressureWaits > 0);
        Assert.Equal(0, tracker.Counters.Dropped);
    }

    [Fact]
    public async Task DropNewest_counts_what_it_drops()
    {
        var store = new FakeTrackingStore();
        var gate = new TaskCompletionSource();
        await using var tracker = NewTracker(store, o =>
        {
            o.Uploader.MaxBufferedEntities = 16; // a power of two: the ring's exact size
            o.Uploader.BufferFullPolicy = BufferFullPolicy.DropNewest;
        });
        await using var run = await tracker.StartRunAsync("drop");
        store.BatchGate = () => gate.Task;
        run.LogMetric("first", 0);
        await run.Tracker.Uploader.FlushAsync(TimeSpan.Zero, CancellationToken.None); // wake the loop: it takes 'first' and waits at the gate
        await Eventually.OnRealTimeAsync(() => tracker.Counters.Buffered == 0, "the uploader never took 'first' from the buffer");

        for (var i = 0; i < 30; i++)
        {
            run.LogMetric("m", i, i);
        }

        var counters = tracker.Counters;
        Assert.Equal(14, counters.Dropped);
        Assert.Equal(17, counters.Queued);
        gate.SetResult();
        Assert.True(await run.FlushAsync());
        Assert.Equal(17, store.MetricCount(run.RunId));
    }

    [Fact]
    public async Task A_refused_entity_is_isolated_reported_and_every_valid_one_lands()
    {
        var store = new FakeTrackingStore
        {
            BatchFault = (_, metrics, _, _) => metrics.Any(m => m.Key == "poison")
                ? new MlflowException(400, MlflowErrorCodes.InvalidParameterValue, "Invalid metric 'poison'") { ServerMessage = "Invalid metric 'poison'" }
                : null,
        };
        var reported = new List<RejectedEntity>();
        await using var tracker = NewTracker(store, o => o.OnRejected = r => { lock (reported) { reported.Add(r); } });
        var run = await tracker.StartRunAsync("poison");
        for (var i = 0; i < 999; i++)
        {
            run.LogMetric(i == 500 ? "poison" : "good", i, i);
        }

        var ex = await Assert.ThrowsAsync<MlflowUploadException>(() => run.EndAsync());
        Assert.Equal("poison", Assert.Single(ex.Rejected).Key);
        Assert.Equal("poison", Assert.Single(reported).Key);
        Assert.Equal(998, store.MetricCount(run.RunId));
        Assert.Equal(1, tracker.Counters.Rejected);
        Assert.Equal(RunStatus.Finished, store.Info(run.RunId).Status);
    }

    [Fact]
    public async Task Transient_failures_are_retried_without_loss_or_duplicates()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var failures = 10; // more than the quick re-send of each of the 3 batches can absorb
        var store = new FakeTrackingStore
        {
            BatchFault = (_, _, _, _) => Interlocked.Decrement(ref failures) >= 0 ? new MlflowException(503, null, "Service Unavailable") : null,
        };
        await using var tracker = NewTracker(store, o => o.TimeProvider = time);
        await using var run = await tracker.StartRunAsync("flaky");
        for (var i = 0; i < 2500; i++)
        {
            run.LogMetric("m", i, i);
        }

        var flush = run.FlushAsync();
        await time.AdvanceUntilAsync(flush, TimeSpan.FromSeconds(1));

        Assert.True(await flush);
        Assert.Equal(2500, store.MetricCount(run.RunId));
        Assert.True(tracker.Counters.Retried > 0);
    }

    [Fact]
    public async Task An_ambiguous_failure_after_the_server_stored_the_batch_does_not_duplicate_history()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new FakeTrackingStore();
        var lostResponses = 1;
        var inner = store;
        var lossy = new LossyStore(inner, () => Interlocked.Decrement(ref lostResponses) >= 0);
        await using var tracker = new Tracker(lossy, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false, TimeProvider = time });
        await using var run = await tracker.StartRunAsync("ambiguous");
        for (var i = 0; i < 10; i++)
        {
            run.LogMetric("m", i * 0.1, i);
        }

        var flush = run.FlushAsync();
        await time.AdvanceUntilAsync(flush, TimeSpan.FromSeconds(1));

        Assert.Equal(2, lossy.BatchCalls);
        Assert.Equal(10, store.MetricCount(run.RunId));
    }

    [Fact]
    public async Task Flush_reports_a_timeout_while_the_server_is_away_and_loses_nothing()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var down = true;
        var store = new FakeTrackingStore { BatchFault = (_, _, _, _) => Volatile.Read(ref down) ? new MlflowException(0, null, "connection refused") : null };
        await using var tracker = NewTracker(store, o => o.TimeProvider = time);
        await using var run = await tracker.StartRunAsync("down");
        run.LogMetric("m", 1);
        var flush = tracker.FlushAsync(TimeSpan.FromSeconds(5));
        await time.AdvanceUntilAsync(flush, TimeSpan.FromSeconds(1));

        Assert.False(await flush);
        Volatile.Write(ref down, false);
        var again = tracker.FlushAsync(TimeSpan.FromMinutes(5));
        await time.AdvanceUntilAsync(again, TimeSpan.FromSeconds(1));

        Assert.True(await again);
        Assert.Equal(1, store.MetricCount(run.RunId));
    }

    /// <summary>Stores the batch, then loses the answer (throws) when told to.</summary>
    private sealed class LossyStore(FakeTrackingStore inner, Func<bool> loseAnswer) : MlOps.Client.Testing.DelegatingTrackingStore(inner)
    {
        private int _batchCalls;

        public int BatchCalls => _batchCalls;

        public override async Task LogBatchAsync(string runId, IReadOnlyList<Metric> metrics, IReadOnlyList<Param> parameters, IReadOnlyList<RunTag> tags, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _batchCalls);
            await Inner.LogBatchAsync(runId, metrics, parameters, tags, cancellationToken);
            if (loseAnswer())
            {
                throw new MlflowException(0, null, "connection reset after the request was sent");
            }
        }
    }
}

/// <summary>A fake clock that tells when a timer of a given due time is pending (the uploader parked on its wait).</summary>
internal sealed class TimerSignallingTimeProvider(DateTimeOffset start) : FakeTimeProvider(start)
{
    private readonly object _gate = new();
    private readonly List<TrackedTimer> _active = [];
    private (TimeSpan Due, TaskCompletionSource Signal)? _awaited;

    /// <summary>Completes when a timer due after <paramref name="due"/> is pending (at once if one already is).</summary>
    public Task ActiveTimer(TimeSpan due)
    {
        lock (_gate)
        {
            if (_active.Any(t => t.Due == due))
            {
                return Task.CompletedTask;
            }

            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _awaited = (due, signal);
            return signal.Task;
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new TrackedTimer(this, dueTime);
        timer.Inner = base.CreateTimer(s => { timer.Dispose(); callback(s); }, state, dueTime, period);
        lock (_gate)
        {
            _active.Add(timer);
            if (_awaited is { } awaited && dueTime == awaited.Due)
            {
                _awaited = null;
                awaited.Signal.TrySetResult();
            }
        }

        return timer;
    }

    private void Remove(TrackedTimer timer)
    {
        lock (_gate)
        {
            _active.Remove(timer);
        }
    }

    private sealed class TrackedTimer(TimerSignallingTimeProvider owner, TimeSpan due) : ITimer
    {
        public TimeSpan Due { get; } = due;

        public ITimer Inner { get; set; } = null!;

        public bool Change(TimeSpan dueTime, TimeSpan period) => Inner.Change(dueTime, period);

        public void Dispose()
        {
            owner.Remove(this);
            Inner?.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
