using Microsoft.Extensions.Logging;
using System.Diagnostics;
using System.Globalization;
using MlOps.Client.Tracking;
using MlOps.Client.Uploading;
using MlOps.Client.Validation;
using MlOps.Client.Testing;

namespace MlOps.Client.Reliability.Tests;

/// <summary>
/// The durability promise under faults, end to end through HTTP: every scenario checks exact server-side counts (no
/// metric lost, none duplicated in a history, params and tags exact) and the final status. Scaled down by default;
/// <c>MLOPS_RELIABILITY_FULL=1</c> runs the full sizes (1 M metrics from 8 threads, 30 s outage; docs/reliability.md).
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed partial class FaultInjectionTests : IAsyncLifetime
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

    /// <summary>
    /// The client of a scenario: with <paramref name="tuned"/>, short retries and timeouts (a fast storm); otherwise the
    /// defaults a user gets. Every classic scenario runs both ways.
    /// </summary>
    private MlflowClient Client(bool tuned) => tuned
        ? new(new MlflowClientOptions
        {
            TrackingUri = _server.Url,
            RequestTimeout = TimeSpan.FromSeconds(1),
            Retry = { MaxRetries = 4, BackoffFactor = 0.05, BackoffJitter = 0, MaxBackoff = TimeSpan.FromSeconds(2) },
        })
        : new(new MlflowClientOptions { TrackingUri = _server.Url });

    /// <summary>Tuned: a 1 s backoff cap and the spool as the scenario asks. Defaults: nothing set but the spool folder (the spool is on).</summary>
    private Tracker NewTracker(MlflowClient client, bool tuned, bool spool = false)
    {
        var options = new TrackerOptions { HandleProcessExit = false, SetSystemTags = false, ExperimentName = "reliability" };
        if (tuned)
        {
            options.Uploader.MaxRetryBackoff = TimeSpan.FromSeconds(1);
            options.Uploader.Spool.Enabled = spool;
        }

        options.Uploader.Spool.Directory = _spoolDir.FullName;
        return new Tracker(client, options);
    }

    /// <summary>
    /// Waits until the server has the run's end — sent after every entity of the run, so everything has landed. With the
    /// spool (on by default) the scope returns once entities are delivered <i>or spooled</i>; the replay finishes later.
    /// </summary>
    private Task EndedOnServer(string runId) =>
        Eventually.OnRealTimeAsync(() => _server.Run(runId).Status == "FINISHED", "the run's end (after all its entities) reached the server", TimeSpan.FromSeconds(120));

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

    [Theory]
    [InlineData(false)] // the defaults a user gets
    [InlineData(true)]
    public async Task A_50_percent_503_storm_loses_and_duplicates_nothing(bool tuned)
    {
        _server.Faults.FailShare = 0.5;
        using var client = Client(tuned);
        await using var tracker = NewTracker(client, tuned);
        string runId;
        long peak;
        await using (var run = await tracker.StartRunAsync("storm"))
        {
            runId = run.RunId;
            run.LogParam("lr", 0.01);
            run.SetTag("kind", "storm");
            peak = LogFromThreads(run, Threads, PerThread);
        }

        await EndedOnServer(runId);
        AssertExact(runId, Threads, PerThread);
        Assert.Equal("0.01", _server.Run(runId).Params["lr"]);
        Assert.Equal("storm", _server.Run(runId).Tags["kind"]);
        Assert.Equal("FINISHED", _server.Run(runId).Status);
        Assert.True(peak < 512L << 20, $"peak managed memory {peak / (1 << 20)} MB");
    }

    [Theory]
    [InlineData(false)] // the defaults a user gets
    [InlineData(true)]
    public async Task A_429_storm_is_waited_out_as_the_server_tells(bool tuned)
    {
        _server.Faults.ThrottleShare = 0.3;
        _server.Faults.RetryAfterSeconds = 1;
        using var client = Client(tuned);
        await using var tracker = NewTracker(client, tuned);
        string runId;
        await using (var run = await tracker.StartRunAsync("throttle"))
        {
            runId = run.RunId;
            LogFromThreads(run, 2, Full ? 50_000 : 3_000);
        }

        await EndedOnServer(runId);
        AssertExact(runId, 2, Full ? 50_000 : 3_000);
        Assert.NotEmpty(_server.RetryAfterWaits);
        Assert.All(_server.RetryAfterWaits, w => Assert.True(w >= TimeSpan.FromMilliseconds(950), $"re-sent {w.TotalMilliseconds} ms after a 429 with Retry-After: 1"));
        Assert.Equal("FINISHED", _server.Run(runId).Status);
    }

    [Theory]
    [InlineData(false)] // the defaults a user gets
    [InlineData(true)]
    public async Task The_server_going_down_mid_run_and_coming_back_loses_nothing_through_the_spool(bool tuned)
    {
        using var client = Client(tuned);
        await using var tracker = NewTracker(client, tuned, spool: true);
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

    /// <summary>A Databricks-style workspace whose OAuth tokens live 2 s, down for 3 s: the replay after it carries a new token, nothing is refused or lost.</summary>
    [Fact]
    public async Task An_OAuth_token_that_expires_during_an_outage_is_renewed_before_the_replay()
    {
        _server.OAuthTokenLifetime = TimeSpan.FromSeconds(2);
        var options = new MlflowClientOptions { TrackingUri = "databricks", Databricks = { Host = _server.Url, ClientId = "sp-reliability", ClientSecret = FaultyMlflowServer.OAuthClientSecret } };
        using var client = new MlflowClient(options); // the defaults a user gets
        await using var tracker = NewTracker(client, tuned: false, spool: true);
        var run = await tracker.StartRunAsync("oauth-outage");
        var runId = run.RunId;
        LogFromThreads(run, 2, 1_000);
        await run.FlushAsync();
        var before = _server.TokensIssued.Count;
        _server.Faults.DownUntil = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(3); // the workspace (OIDC endpoint included) is away
        LogFromThreads(run, 2, 1_000, firstStep: 1_000);
        await run.EndAsync();

        for (var i = 0; i < 600 && _server.Run(runId).Status != "FINISHED"; i++)
        {
            await Task.Delay(100);
        }

        AssertExact(runId, 2, 2_000);
        Assert.Equal("FINISHED", _server.Run(runId).Status);
        Assert.True(_server.TokensIssued.Count > before, "a new token was fetched after the outage");
        Assert.Equal(0, _server.Unauthorized); // renewed before it expired, never sent stale
    }

    [Theory]
    [InlineData(false)] // the defaults a user gets
    [InlineData(true)]
    public async Task Lost_responses_after_the_server_stored_the_batch_do_not_duplicate_anything(bool tuned)
    {
        _server.Faults.DropResponseShare = 0.3;
        using var client = Client(tuned);
        await using var tracker = NewTracker(client, tuned);
        string runId;
        await using (var run = await tracker.StartRunAsync("ambiguous"))
        {
            runId = run.RunId;
            run.LogParam("p", "same");
            LogFromThreads(run, Threads, PerThread / 2);
        }

        await EndedOnServer(runId);
        AssertExact(runId, Threads, PerThread / 2);
        Assert.Equal("same", _server.Run(runId).Params["p"]);
    }

    [Theory]
    [InlineData(false)] // the defaults a user gets
    [InlineData(true)]
    public async Task Connection_resets_and_stalls_past_the_timeout_lose_nothing(bool tuned)
    {
        _server.Faults.ResetShare = 0.2;
        _server.Faults.StallShare = 0.05;
        _server.Faults.Stall = tuned ? TimeSpan.FromSeconds(3) : TimeSpan.FromSeconds(11); // past the request timeout (1 s tuned, the uploader's 10 s by default)
        using var client = Client(tuned);
        await using var tracker = NewTracker(client, tuned);
        string runId;
        await using (var run = await tracker.StartRunAsync("resets"))
        {
            runId = run.RunId;
            LogFromThreads(run, 4, 2_000);
        }

        await EndedOnServer(runId);
        AssertExact(runId, 4, 2_000);
        Assert.Equal("FINISHED", _server.Run(runId).Status);
    }

    [Theory]
    [InlineData(false)] // the defaults a user gets
    [InlineData(true)]
    public async Task Bad_input_is_refused_alone_while_valid_entities_keep_landing(bool tuned)
    {
        _server.Faults.FailShare = 0.1;
        using var client = Client(tuned);
        await using var tracker = NewTracker(client, tuned);
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
        await EndedOnServer(runId);
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

    // ---- the same promises with the defaults a user gets: no retry, timeout or backoff setting anywhere ----

    private Tracker DefaultTracker(MlflowClient client, Microsoft.Extensions.Logging.ILoggerFactory? loggerFactory = null)
    {
        var options = new TrackerOptions { HandleProcessExit = false, SetSystemTags = false, ExperimentName = "defaults" };
        options.Uploader.Spool.Directory = _spoolDir.FullName; // where, not how: the spool is on by default for a server
        return new Tracker(new Stores.RestTrackingStore(client), options, loggerFactory);
    }

    [Fact]
    public async Task Defaults_an_upload_request_gets_one_quick_resend_then_the_spool_not_the_clients_retry_budget()
    {
        _server.Faults.FailShare = 1.0; // every log-batch answers 503/500/502
        using var client = Client(tuned: false); // Python's defaults for direct calls: 7 retries, factor 2 (about 4 minutes)
        await using var tracker = DefaultTracker(client);
        var run = await tracker.StartRunAsync("one-owner");
        run.LogMetric("m", 1, 1);
        var before = _server.LogBatchRequests;
        var sw = Stopwatch.StartNew();
        Assert.True(await run.FlushAsync().WaitAsync(TimeSpan.FromSeconds(60)));
        sw.Stop();
        Assert.Equal(2, _server.LogBatchRequests - before); // the attempt and one quick re-send, nothing more
        Assert.Equal(1, tracker.Counters.Spooled);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"spooled {sw.Elapsed.TotalSeconds:0.0} s after the first failure");
        _server.Faults.Clear();
        await run.EndAsync().WaitAsync(TimeSpan.FromSeconds(60));
        await Eventually.OnRealTimeAsync(() => _server.Run(run.RunId).Status == "FINISHED", "replayed and ended", TimeSpan.FromSeconds(60));
        Assert.Equal(1, _server.MetricCount(run.RunId));
    }

    [Fact]
    public async Task Defaults_a_run_ended_during_an_outage_returns_in_seconds_and_ends_with_its_original_end_time_after_replay()
    {
        using var logs = new Microsoft.Extensions.Logging.Testing.FakeLoggerProvider();
        using var loggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.AddProvider(logs));
        using var client = Client(tuned: false);
        await using var tracker = DefaultTracker(client, loggerFactory);
        var run = await tracker.StartRunAsync("end-in-outage");
        var runId = run.RunId;
        LogFromThreads(run, 4, 2_000);
        Assert.True(await run.FlushAsync());
        _server.Faults.DownUntil = DateTimeOffset.UtcNow.AddHours(1); // the server stops (connections reset)
        LogFromThreads(run, 4, 2_000, firstStep: 2_000);
        run.LogParam("phase", "during-outage");
        var endedAfter = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var sw = Stopwatch.StartNew();
        await run.EndAsync().WaitAsync(TimeSpan.FromSeconds(120));
        sw.Stop();
        var endedBefore = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"EndAsync took {sw.Elapsed.TotalSeconds:0.0} s during the outage");
        Assert.Equal(RunStatus.Finished, run.FinalStatus);
        Assert.Equal("RUNNING", _server.Run(runId).Status); // the server has not heard of the end yet
        Assert.True(tracker.Counters.Spooled > 0);

        _server.Faults.DownUntil = null; // the server is back: the replay runs by itself
        await Eventually.OnRealTimeAsync(() => _server.Run(runId).Status == "FINISHED", "the spooled end reached the server", TimeSpan.FromSeconds(90));
        Assert.True(_server.MetricCount(runId) == 16_000, $"{_server.MetricCount(runId)} metrics when the end arrived; {tracker.Counters}; log:\n" + string.Join("\n", logs.Collector.GetSnapshot().Select(r => r.Message)));
        AssertExact(runId, 4, 4_000);
        Assert.Equal("during-outage", _server.Run(runId).Params["phase"]);
        Assert.InRange(_server.Run(runId).EndTime!.Value, endedAfter, endedBefore); // the original end time, not the replay's
        await Eventually.OnRealTimeAsync(() => tracker.Counters.Replayed == tracker.Counters.Spooled, "every spooled entity replayed", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Defaults_a_child_killed_during_an_outage_leaves_a_spool_that_the_next_process_replays_exactly()
    {
        var count = Full ? 200_000 : 20_000;
        string runId;
        long spoolMs;
        _server.Faults.ResetShare = 1.0; // the run is created, then every log-batch connection is reset: the server is away
        using (var child = StartChild("spool", count, defaults: true))
        {
            spoolMs = long.Parse(await ReadLineAsync(child, "SPOOL_MS"), CultureInfo.InvariantCulture);
            runId = await ReadLineAsync(child, "SPOOLED");
            child.Kill(entireProcessTree: true); // SIGKILL: no exit hook runs
            await child.WaitForExitAsync();
        }

        Assert.True(spoolMs < 10_000, $"{count} metrics reached the spool {spoolMs} ms after the first was logged");
        Assert.Equal(0, _server.MetricCount(runId));
        _server.Faults.Clear();
        using (var replay = StartChild("replay", 0, defaults: true))
        {
            Assert.Equal("True", await ReadLineAsync(replay, "REPLAYED"));
            await replay.WaitForExitAsync();
        }

        Assert.Equal(count, _server.StepCounts(runId, "m").Count);
        Assert.All(_server.StepCounts(runId, "m").Values, c => Assert.Equal(1, c));
        Assert.Empty(Directory.EnumerateFiles(_spoolDir.FullName, "*.seg", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Defaults_a_run_deleted_on_the_server_is_detected_once_then_logging_throws_and_memory_stays_flat()
    {
        using var logs = new Microsoft.Extensions.Logging.Testing.FakeLoggerProvider();
        using var loggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.AddProvider(logs));
        using var client = Client(tuned: false);
        await using var tracker = DefaultTracker(client, loggerFactory);
        var run = await tracker.StartRunAsync("deleted");
        LogFromThreads(run, 2, 1_000);
        Assert.True(await run.FlushAsync());
        _server.DeleteRun(run.RunId); // as in the UI: MLflow now answers 400 "must be in the 'active' state" (recorded)

        GC.Collect();
        var memoryBefore = GC.GetTotalMemory(forceFullCollection: true);
        var accepted = 0;
        MlflowException? thrown = null;
        for (var i = 0; i < 100_000 && thrown is null; i++)
        {
            try
            {
                run.LogMetric("after", i, i); // accepted until the uploader hears the server's answer
                accepted++;
            }
            catch (MlflowException ex)
            {
                thrown = ex;
            }
        }

        Assert.True(await tracker.FlushAsync(TimeSpan.FromSeconds(60)));
        var memoryAfter = GC.GetTotalMemory(forceFullCollection: true);
        thrown ??= Assert.ThrowsAny<MlflowException>(() => run.LogMetric("after", 1, 100_001));
        Assert.Contains(run.RunId, thrown.Message, StringComparison.Ordinal);
        Assert.Contains("'active' state", thrown.Message, StringComparison.Ordinal);
        Assert.Throws<MlflowException>(() => run.LogParam("p", 1));
        Assert.True(accepted > 0);
        Assert.Equal(accepted, tracker.Counters.Abandoned); // every entity logged after the deletion, dropped and counted
        Assert.True(memoryAfter - memoryBefore < 4 << 20, $"managed memory grew {(memoryAfter - memoryBefore) / 1024} KiB for {accepted} dropped entities");

        var records = logs.Collector.GetSnapshot();
        Assert.Single(records, r => r.Id.Id == 2006); // one line for the lost run
        Assert.DoesNotContain(records, r => r.Id.Id == 2003); // not one per entity
        Assert.True(records.Count(r => r.Level >= Microsoft.Extensions.Logging.LogLevel.Warning) <= 3, string.Join("\n", records.Select(r => r.Message)));
        await Assert.ThrowsAnyAsync<MlflowException>(() => run.FlushAsync()); // the run's flush tells: its entities were dropped, not delivered
        await Assert.ThrowsAnyAsync<MlflowException>(() => run.EndAsync()); // EndAsync tells; Dispose would only log
        Assert.Null(run.FinalStatus); // no end was recorded anywhere: no final status claimed
        Assert.Equal(0, _server.MetricCount(run.RunId) - 2_000);
    }

    [Fact]
    public async Task Defaults_a_host_name_that_stops_resolving_fails_direct_calls_fast_and_spools_uploads()
    {
        var dnsDown = false;
        var connects = 0;
        var port = new Uri(_server.Url).Port;
        var transport = new System.Net.Http.SocketsHttpHandler
        {
            // Name resolution and connection, as SocketsHttpHandler does them, with the resolver answering "no such host" on demand.
            ConnectCallback = async (context, cancellationToken) =>
            {
                Interlocked.Increment(ref connects);
                if (Volatile.Read(ref dnsDown))
                {
                    throw new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.HostNotFound);
                }

                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(System.Net.IPAddress.Loopback, port, cancellationToken);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
            PooledConnectionLifetime = TimeSpan.Zero, // a new connection (and name resolution) per request
        };
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = "http://mlflow.tracking.example:" + port, Transport = transport });
        await using var tracker = DefaultTracker(client);
        var run = await tracker.StartRunAsync("dns");
        run.LogMetric("before", 1);
        Assert.True(await run.FlushAsync());

        Volatile.Write(ref dnsDown, true);
        var connectsBefore = Volatile.Read(ref connects);
        var sw = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<MlflowException>(() => client.GetRunAsync(run.RunId));
        sw.Stop();
        Assert.Equal(1, Volatile.Read(ref connects) - connectsBefore); // no retry budget spent on a wrong host name
        Assert.Contains("'mlflow.tracking.example'", error.Message, StringComparison.Ordinal);
        Assert.Contains("could not be resolved", error.Message, StringComparison.Ordinal);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"the direct call failed after {sw.Elapsed.TotalSeconds:0.0} s");

        for (var i = 0; i < 500; i++)
        {
            run.LogMetric("during", i, i);
        }

        Assert.True(await run.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(500, tracker.Counters.Spooled); // the uploader spools: nothing lost

        Volatile.Write(ref dnsDown, false);
        await run.EndAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await Eventually.OnRealTimeAsync(() => _server.Run(run.RunId).Status == "FINISHED", "replayed once the name resolves again", TimeSpan.FromSeconds(90));
        Assert.Equal(501, _server.MetricCount(run.RunId));
    }

    private Process StartChild(string mode, int count, bool defaults = false)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "MlOps.Client.Tests.ProcessHost.dll"));
        start.ArgumentList.Add(mode);
        start.ArgumentList.Add(count.ToString(CultureInfo.InvariantCulture));
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MLFLOW_", StringComparison.Ordinal) || k.StartsWith("MLOPS_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(name); // nothing of the test runner's environment tunes the child
        }

        start.Environment["MLFLOW_TRACKING_URI"] = _server.Url;
        start.Environment["MLOPS_SPOOL_DIR"] = _spoolDir.FullName; // where, not how: the spool is on by default for a server
        if (!defaults)
        {
            start.Environment["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "1";
            start.Environment["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"] = "0.05";
            start.Environment["MLFLOW_HTTP_REQUEST_TIMEOUT"] = "2";
            start.Environment["MLOPS_SPOOL"] = "true";
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
