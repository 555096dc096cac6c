using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using MlOps.Client.Tests.Fixtures;
using MlOps.Client.Tracking;
using MlOps.Client.Uploading;
using MlOps.Client.Testing;

namespace MlOps.Client.Tests.Uploading;

/// <summary>The uploader's behaviour around a server that is away or refuses: run end, backpressure, bounded refusals.</summary>
public sealed class OutageTests : IDisposable
{
    private readonly FakeLoggerProvider _logs = new();
    private readonly ILoggerFactory _loggerFactory;

    public OutageTests() => _loggerFactory = LoggerFactory.Create(b => b.AddProvider(_logs));

    public void Dispose()
    {
        _loggerFactory.Dispose();
        _logs.Dispose();
    }

    private Tracker NewTracker(FakeTrackingStore store, Action<TrackerOptions>? configure = null)
    {
        var options = new TrackerOptions { HandleProcessExit = false, SetSystemTags = false };
        configure?.Invoke(options);
        return new Tracker(store, options, _loggerFactory);
    }

    [Fact]
    public async Task Without_a_spool_a_run_ended_during_an_outage_ends_with_its_original_end_time_once_the_server_answers()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var down = true;
        var store = new FakeTrackingStore
        {
            BatchFault = (_, _, _, _) => Volatile.Read(ref down) ? new HttpRequestException("connection refused") : null,
            UpdateFault = _ => Volatile.Read(ref down) ? new HttpRequestException("connection refused") : null,
        };
        await using var tracker = NewTracker(store, o =>
        {
            o.TimeProvider = time;
            o.Uploader.FlushTimeout = TimeSpan.FromSeconds(5);
        });
        var run = await tracker.StartRunAsync("no-spool");
        for (var i = 0; i < 10; i++)
        {
            run.LogMetric("m", i, i);
        }

        var endTime = time.GetUtcNow();
        var end = run.EndAsync();
        await Eventually.OnFakeClockAsync(time, () => end.IsCompleted, "EndAsync gives up after the flush timeout");
        var error = await Assert.ThrowsAnyAsync<MlflowException>(() => end);
        Assert.Contains("spool is off", error.Message, StringComparison.Ordinal);
        Assert.Equal(RunStatus.Running, store.Info(run.RunId).Status);

        Volatile.Write(ref down, false);
        await Eventually.OnFakeClockAsync(time, () => store.Info(run.RunId).Status == RunStatus.Finished, "the end kept in memory is sent after the run's metrics");
        Assert.Equal(10, store.MetricCount(run.RunId));
        Assert.Equal(endTime.ToUnixTimeMilliseconds(), store.Info(run.RunId).EndTime);
        var calls = store.Calls.ToArray();
        Assert.True(Array.FindLastIndex(calls, c => c.StartsWith("log-batch ", StringComparison.Ordinal)) < Array.FindIndex(calls, c => c.StartsWith("update-run " + run.RunId + " Finished", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task The_run_end_is_sent_after_every_batch_of_its_run_even_when_they_travel_in_parallel()
    {
        var store = new FakeTrackingStore { BatchGate = () => Task.Delay(20) };
        await using var tracker = NewTracker(store);
        var run = await tracker.StartRunAsync("order");
        for (var i = 0; i < 3_500; i++)
        {
            run.LogMetric("m", i, i); // four log-batch requests in one round, sent concurrently
        }

        await run.EndAsync();
        var calls = store.Calls.ToArray();
        var end = Array.FindIndex(calls, c => c.StartsWith("update-run " + run.RunId, StringComparison.Ordinal));
        Assert.True(end > Array.FindLastIndex(calls, c => c.StartsWith("log-batch ", StringComparison.Ordinal)), string.Join(", ", calls));
        Assert.Equal(3_500, store.MetricCount(run.RunId));
    }

    [Fact]
    public async Task A_waiting_logging_thread_is_counted_and_warned_about_when_the_wait_starts()
    {
        var store = new FakeTrackingStore();
        var gate = new TaskCompletionSource();
        await using var tracker = NewTracker(store, o => o.Uploader.MaxBufferedEntities = 64);
        var run = await tracker.StartRunAsync("backpressure");
        store.BatchGate = () => gate.Task; // the server takes nothing: the buffer fills
        var producer = Task.Run(() =>
        {
            for (var i = 0; i < 1_000; i++)
            {
                run.LogMetric("m", i, i);
            }
        });

        await Eventually.OnRealTimeAsync(() => tracker.Counters.BackpressureWaits > 0, "the wait is counted while it lasts");
        await Eventually.OnRealTimeAsync(
            () => _logs.Collector.GetSnapshot().Any(r => r.Id.Id == 2001 && r.Level == LogLevel.Warning && r.Message.Contains("backpressure", StringComparison.Ordinal)),
            "a warning is logged while the thread waits");
        Assert.False(producer.IsCompleted); // still waiting: counted and warned before it ends
        gate.SetResult();
        await producer.WaitAsync(TimeSpan.FromSeconds(30));
        await run.EndAsync();
        Assert.Equal(1_000, store.MetricCount(run.RunId));
        Assert.Equal(1, _logs.Collector.GetSnapshot().Count(r => r.Id.Id == 2001)); // rate-limited: one line, not one per wait
    }

    [Fact]
    public async Task Refusals_are_kept_bounded_the_first_100_with_a_count_of_all_and_ten_log_lines()
    {
        var store = new FakeTrackingStore
        {
            BatchFault = (_, metrics, _, _) => metrics.Any(m => m.Key == "bad")
                ? new MlflowException(400, MlflowErrorCodes.InvalidParameterValue, "Invalid value for metric 'bad'") { ServerMessage = "Invalid value for metric 'bad'" }
                : null,
        };
        await using var tracker = NewTracker(store);
        var run = await tracker.StartRunAsync("refusals");
        for (var i = 0; i < 300; i++)
        {
            run.LogMetric("bad", i, i);
            run.LogMetric("good", i, i);
        }

        var error = await Assert.ThrowsAsync<MlflowUploadException>(() => run.EndAsync());
        Assert.Equal(300, error.TotalRejected);
        Assert.Equal(RunRefusals.KeptPerRun, error.Rejected.Count);
        Assert.Contains("300", error.Message, StringComparison.Ordinal);
        Assert.Equal(300, tracker.Counters.Rejected);
        Assert.Equal(300, store.MetricCount(run.RunId)); // every good one landed
        var records = _logs.Collector.GetSnapshot();
        Assert.Equal(RunRefusals.LoggedPerRun, records.Count(r => r.Id.Id == 2003));
        Assert.Single(records, r => r.Id.Id == 2007);
        Assert.Equal(RunStatus.Finished, store.Info(run.RunId).Status);
    }

    [Fact]
    public async Task A_run_refused_as_a_whole_is_dropped_once_and_the_next_logging_call_throws()
    {
        // The server's refusal is held until the 5,000 calls are made: the first batch could otherwise be refused while
        // the loop still runs, and its next call throw (seen once the ring got faster).
        using var logged = new ManualResetEventSlim();
        var store = new FakeTrackingStore
        {
            BatchFault = (runId, _, _, _) =>
            {
                Assert.True(logged.Wait(TimeSpan.FromSeconds(30)), "the 5,000 calls did not end within 30 s");
                return new MlflowException(400, MlflowErrorCodes.InvalidParameterValue, $"The run {runId} must be in the 'active' state. Current state is deleted.")
                {
                    ServerMessage = $"The run {runId} must be in the 'active' state. Current state is deleted.",
                };
            },
        };
        await using var tracker = NewTracker(store);
        var run = await tracker.StartRunAsync("lost");
        for (var i = 0; i < 5_000; i++)
        {
            run.LogMetric("m", i, i);
        }

        logged.Set();

        Assert.True(await tracker.FlushAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(5_000, tracker.Counters.Abandoned);
        Assert.Equal(0, tracker.Counters.Rejected);
        var error = Assert.Throws<MlflowException>(() => run.LogMetric("m", 1, 5_001));
        Assert.Equal(MlflowErrorCodes.InvalidParameterValue, error.ErrorCode);
        Assert.Contains("can no longer be logged to", error.Message, StringComparison.Ordinal);
        Assert.Single(_logs.Collector.GetSnapshot(), r => r.Id.Id == 2006);
        await run.DisposeAsync(); // Dispose does not throw: it was logged
        Assert.DoesNotContain(store.Calls, c => c.StartsWith("update-run " + run.RunId, StringComparison.Ordinal));
    }
}
