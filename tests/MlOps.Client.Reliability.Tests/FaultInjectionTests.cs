using System.Diagnostics;
using System.Globalization;
using MlOps.Client.Tracking;
using MlOps.Client.Uploading;
using MlOps.Client.Validation;

namespace MlOps.Client.Reliability.Tests;

/// <summary>
/// The durability promise under faults, end to end through HTTP: every scenario checks exact server-side counts (no
/// metric lost, none duplicated in a history, params and tags exact) and the final status. Scaled down by default;
/// <c>MLOPS_RELIABILITY_FULL=1</c> runs the full sizes (1 M metrics from 8 threads, 30 s outage; docs/reliability.md).
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class FaultInjectionTests : IAsyncLifetime
{
    private static readonly bool Full = Environment.GetEnvironmentVariable("MLOPS_RELIABILITY_FULL") == "1";
    private readonly DirectoryInfo _spoolDir = Directory.CreateTempSubdirectory("mlops-reliability-");
    private FaultyMlflowServer _server = null!;

    private static int Threads => 8;

    private static int PerThread => Full ? 125_000 : 2_500;

    public async Task InitializeAsync() => _server = await FaultyMlflowServer.StartAsync();

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _spoolDir.Delete(recursive: true);
    }

    private MlflowClient Client(string? token = null) => new(new MlflowClientOptions
    {
        TrackingUri = _server.Url,
        Credential = token is null ? null : MlflowCredential.Bearer(token),
        RequestTimeout = TimeSpan.FromSeconds(1),
        Retry = { MaxRetries = 4, BackoffFactor = 0.05, BackoffJitter = 0, MaxBackoff = TimeSpan.FromSeconds(2) },
    });

    private Tracker NewTracker(MlflowClient client, bool spool = false)
    {
        var options = new TrackerOptions { HandleProcessExit = false, SetSystemTags = false, ExperimentName = "reliability" };
        options.Uploader.MaxRetryBackoff = TimeSpan.FromSeconds(1);
        options.Uploader.Spool.Enabled = spool;
        options.Uploader.Spool.Directory = _spoolDir.FullName;
        return new Tracker(client, options);
    }

    private static long LogFromThreads(RunScope run, int threads, int perThread, int firstStep = 0)
    {
        long peak = 0;
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            var key = "m" + t.ToString(CultureInfo.InvariantCulture);
            for (var i = firstStep; i < firstStep + perThread; i++)
            {
                run.LogMetric(key, (t * 1_000_000.0) + i, i);
                if (t == 0 && i % 10_000 == 0)
                {
                    InterlockedMax(ref peak, GC.GetTotalMemory(false));
                }
            }
        });
        return peak;
    }

    private static void InterlockedMax(ref long target, long value)
    {
        long current;
        while ((current = Interlocked.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    private void AssertExact(string runId, int threads, int steps)
    {
        for (var t = 0; t < threads; t++)
        {
            var counts = _server.StepCounts(runId, "m" + t.ToString(CultureInfo.InvariantCulture));
            Assert.Equal(steps, counts.Count);          // nothing lost
            Assert.All(counts.Values, c => Assert.Equal(1, c)); // nothing duplicated in the history
        }

        Assert.Equal(threads * steps, _server.MetricCount(runId));
    }

    [Fact]
    public async Task A_50_percent_503_storm_loses_and_duplicates_nothing()
    {
        _server.Faults.FailShare = 0.5;
        using var client = Client();
        await using var tracker = NewTracker(client);
        string runId;
        long peak;
        await using (var run = await tracker.StartRunAsync("storm"))
        {
            runId = run.RunId;
            run.LogParam("lr", 0.01);
            run.SetTag("kind", "storm");
            peak = LogFromThreads(run, Threads, PerThread);
        }

        AssertExact(runId, Threads, PerThread);
        Assert.Equal("0.01", _server.Run(runId).Params["lr"]);
        Assert.Equal("storm", _server.Run(runId).Tags["kind"]);
        Assert.Equal("FINISHED", _server.Run(runId).Status);
        Assert.True(peak < 512L << 20, $"peak managed memory {peak / (1 << 20)} MB");
    }

    [Fact]
    public async Task A_429_storm_is_waited_out_as_the_server_tells()
    {
        _server.Faults.ThrottleShare = 0.3;
        _server.Faults.RetryAfterSeconds = 1;
        using var client = Client();
        await using var tracker = NewTracker(client);
        string runId;
        await using (var run = await tracker.StartRunAsync("throttle"))
        {
            runId = run.RunId;
            LogFromThreads(run, 2, Full ? 50_000 : 3_000);
        }

        AssertExact(runId, 2, Full ? 50_000 : 3_000);
        Assert.NotEmpty(_server.RetryAfterWaits);
        Assert.All(_server.RetryAfterWaits, w => Assert.True(w >= TimeSpan.FromMilliseconds(950), $"re-sent {w.TotalMilliseconds} ms after a 429 with Retry-After: 1"));
        Assert.Equal("FINISHED", _server.Run(runId).Status);
    }

    [Fact]
    public async Task The_server_going_down_mid_run_and_coming_back_loses_nothing_through_the_spool()
    {
        using var client = Client();
        await using var tracker = NewTracker(client, spool: true);
        string runId;
        var run = await tracker.StartRunAsync("outage");
        runId = run.RunId;
        LogFromThreads(run, 4, 2_000);
        await run.FlushAsync();
        var outage = Full ? TimeSpan.FromSeconds(30) : TimeSpan.FromSeconds(3);
        _server.Faults.DownUntil = DateTimeOffset.UtcNow + outage;
        LogFromThreads(run, 4, 2_000, firstStep: 2_000);
        run.LogParam("phase", "after-outage");
        await run.EndAsync(); // returns once everything is delivered or safely spooled
        Assert.True(tracker.Counters.Spooled > 0, "the outage outlasted the client's retries: the spool took over");

        for (var i = 0; i < 600 && _server.Run(runId).Status != "FINISHED"; i++)
        {
            await Task.Delay(100);
        }

        AssertExact(runId, 4, 4_000);
        Assert.Equal("after-outage", _server.Run(runId).Params["phase"]);
        Assert.Equal("FINISHED", _server.Run(runId).Status);
        Assert.Equal(tracker.Counters.Spooled, tracker.Counters.Replayed);
    }

    [Fact]
    public async Task Lost_responses_after_the_server_stored_the_batch_do_not_duplicate_anything()
    {
        _server.Faults.DropResponseShare = 0.3;
        using var client = Client();
        await using var tracker = NewTracker(client);
        string runId;
        await using (var run = await tracker.StartRunAsync("ambiguous"))
        {
            runId = run.RunId;
            run.LogParam("p", "same");
            LogFromThreads(run, Threads, PerThread / 2);
        }

        AssertExact(runId, Threads, PerThread / 2);
        Assert.Equal("same", _server.Run(runId).Params["p"]);
    }

    [Fact]
    public async Task Connection_resets_and_stalls_past_the_timeout_lose_nothing()
    {
        _server.Faults.ResetShare = 0.2;
        _server.Faults.StallShare = 0.05;
        _server.Faults.Stall = TimeSpan.FromSeconds(3); // past the 1 s request timeout
        using var client = Client();
        await using var tracker = NewTracker(client);
        string runId;
        await using (var run = await tracker.StartRunAsync("resets"))
        {
            runId = run.RunId;
            LogFromThreads(run, 4, 2_000);
        }

        AssertExact(runId, 4, 2_000);
        Assert.Equal("FINISHED", _server.Run(runId).Status);
    }

    [Fact]
    public async Task Bad_input_is_refused_alone_while_valid_entities_keep_landing()
    {
        _server.Faults.FailShare = 0.1;
        using var client = Client();
        await using var tracker = NewTracker(client);
        var refusedAtCall = 0;
        string runId;
        var run = await tracker.StartRunAsync("bad-input");
        runId = run.RunId;
        for (var i = 0; i < 3_000; i++)
        {
            run.LogMetric("good", i, i);
            if (i % 500 == 0)
            {
                try
                {
                    run.LogMetric("bad key!", i, i); // invalid characters
                }
                catch (MlflowValidationException)
                {
                    refusedAtCall++;
                }

                try
                {
                    run.LogParam("long" + i.ToString(CultureInfo.InvariantCulture), new string('x', 6001)); // over the 6000-character limit
                }
                catch (MlflowValidationException)
                {
                    refusedAtCall++;
                }

                run.LogParam("conflict", "first");
                try
                {
                    run.LogParam("conflict", "second" + i.ToString(CultureInfo.InvariantCulture)); // params are immutable
                }
                catch (MlflowValidationException)
                {
                    refusedAtCall++;
                }

                run.LogParam("forbidden_" + i.ToString(CultureInfo.InvariantCulture), "the server refuses these"); // refused by the server
                run.LogParam("ok_" + i.ToString(CultureInfo.InvariantCulture), "fine");
            }
        }

        await run.DisposeAsync();
        Assert.Equal(18, refusedAtCall);
        var stored = _server.Run(runId);
        Assert.Equal(3_000, _server.StepCounts(runId, "good").Count);
        Assert.Equal(6, stored.Params.Keys.Count(k => k.StartsWith("ok_", StringComparison.Ordinal)));
        Assert.Equal("first", stored.Params["conflict"]);
        Assert.DoesNotContain(stored.Params.Keys, k => k.StartsWith("forbidden_", StringComparison.Ordinal) || k.StartsWith("long", StringComparison.Ordinal));
        Assert.Equal(6, tracker.Counters.Rejected);
        Assert.Equal("FINISHED", stored.Status);
    }

    [Fact]
    public async Task A_child_killed_mid_run_leaves_a_spool_that_the_next_process_replays()
    {
        _server.Faults.FailShare = 1.0; // the run is created, then every log-batch fails: the child spools
        var count = Full ? 200_000 : 5_000;
        string runId;
        using (var child = StartChild("spool", count))
        {
            runId = await ReadLineAsync(child, "SPOOLED");
            child.Kill(entireProcessTree: true); // SIGKILL: no exit hook runs
            await child.WaitForExitAsync();
        }

        Assert.Equal(0, _server.MetricCount(runId));
        _server.Faults.Clear();
        using (var replay = StartChild("replay", 0))
        {
            Assert.Equal("True", await ReadLineAsync(replay, "REPLAYED"));
            await replay.WaitForExitAsync();
        }

        Assert.Equal(count, _server.StepCounts(runId, "m").Count);
        Assert.All(_server.StepCounts(runId, "m").Values, c => Assert.Equal(1, c));
        Assert.Equal("RUNNING", _server.Run(runId).Status); // killed: never ended, as with any client
        Assert.Empty(Directory.EnumerateFiles(_spoolDir.FullName, "*.seg", SearchOption.AllDirectories));
    }

    private Process StartChild(string mode, int count)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "MlOps.Client.Tests.ProcessHost.dll"));
        start.ArgumentList.Add(mode);
        start.ArgumentList.Add(count.ToString(CultureInfo.InvariantCulture));
        start.Environment["MLFLOW_TRACKING_URI"] = _server.Url;
        start.Environment["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "1";
        start.Environment["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"] = "0.05";
        start.Environment["MLFLOW_HTTP_REQUEST_TIMEOUT"] = "2";
        start.Environment["MLOPS_SPOOL"] = "true";
        start.Environment["MLOPS_SPOOL_DIR"] = _spoolDir.FullName;
        foreach (var name in new[] { "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID" })
        {
            start.Environment.Remove(name);
        }

        return Process.Start(start)!;
    }

    private static async Task<string> ReadLineAsync(Process child, string prefix)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        while (true)
        {
            var line = await child.StandardOutput.ReadLineAsync(cts.Token);
            if (line is null)
            {
                throw new InvalidOperationException($"The child ended before {prefix}: " + await child.StandardError.ReadToEndAsync(cts.Token));
            }

            if (line.StartsWith(prefix + " ", StringComparison.Ordinal))
            {
                return line[(prefix.Length + 1)..].Trim();
            }
        }
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ReliabilityCollection
{
    public const string Name = "reliability";
}
