using System.Diagnostics;
using System.Globalization;
using MlOps.Client.Stores;
using MlOps.Client.Tracking;

namespace MlOps.Client.Benchmarks;

/// <summary>
/// End-to-end metrics/s: the tracker logging N metrics from T threads until everything is delivered, into
/// (a) the in-process fake endpoint, (b) MLFLOW_TRACKING_URI when set, (c) the embedded SQLite store; and, against
/// the fake endpoint, a naive baseline that sends one log-metric request per value as a synchronous client does.
/// </summary>
internal static class ThroughputHarness
{
    public static async Task<int> RunAsync(string[] args)
    {
        var metrics = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1_000_000;
        var threads = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 4;
        Console.WriteLine($"# throughput: {metrics:N0} metrics from {threads} threads; {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd}");

        await using (var fake = await FakeMlflowServer.StartAsync())
        {
            using var client = new MlflowClient(fake.Url);
            var rate = await MeasureAsync(new RestTrackingStore(client), metrics, threads);
            Console.WriteLine($"fake endpoint (batched uploader): {rate:N0} metrics/s ({fake.Requests:N0} requests, {fake.Metrics:N0} metrics received)");

            var naiveCount = Math.Min(metrics, 5_000);
            var run = await client.CreateRunAsync("0");
            var sw = Stopwatch.StartNew();
            for (var i = 0; i < naiveCount; i++)
            {
                await client.LogMetricAsync(run.Info.RunId, "m", i, i);
            }

            var naive = naiveCount / sw.Elapsed.TotalSeconds;
            Console.WriteLine($"fake endpoint (naive, one log-metric request per value, {naiveCount:N0} values): {naive:N0} metrics/s; batched/naive = {rate / naive:N0}x");
        }

        if (Environment.GetEnvironmentVariable("MLFLOW_TRACKING_URI") is { Length: > 0 } uri && uri.StartsWith("http", StringComparison.Ordinal))
        {
            await using var store = TrackingStores.Open(MlflowClientOptions.FromEnvironment());
            var rate = await MeasureAsync(store, metrics, threads);
            Console.WriteLine($"MLFLOW_TRACKING_URI ({MlOps.Client.Configuration.UriRedaction.Redact(uri)}): {rate:N0} metrics/s");
        }

        var dir = Directory.CreateTempSubdirectory("mlops-bench-");
        try
        {
            var dbUri = "sqlite:///" + Path.Combine(dir.FullName, "mlflow.db");
            ITrackingStore? sqlite = null;
            try
            {
                sqlite = TrackingStores.Open(new MlflowClientOptions { TrackingUri = dbUri });
            }
            catch (NotSupportedException ex)
            {
                Console.WriteLine("embedded store: " + ex.Message);
            }

            if (sqlite is not null)
            {
                await using (sqlite)
                {
                    var rate = await MeasureAsync(sqlite, metrics, threads);
                    Console.WriteLine($"embedded SQLite store, through the tracker: {rate:N0} metrics/s");

                    // The store's own ingest: 1000-metric batches, one transaction each.
                    var run = await sqlite.CreateRunAsync("0", new CreateRunOptions(), CancellationToken.None);
                    var batches = Enumerable.Range(0, 200).Select(b => (IReadOnlyList<Metric>)Enumerable.Range(0, 1000).Select(i => new Metric("m" + (i % 10), i, b, i)).ToList()).ToList();
                    var sw = Stopwatch.StartNew();
                    foreach (var batch in batches)
                    {
                        await sqlite.LogBatchAsync(run.Info.RunId, batch, [], [], CancellationToken.None);
                    }

                    Console.WriteLine($"embedded SQLite store, LogBatchAsync ingest (200 x 1000 metrics): {200_000 / sw.Elapsed.TotalSeconds:N0} metrics/s");
                }
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }

        return 0;
    }

    /// <summary>The embedded store's own ingest, alone in the process: 200 batches of 1000 metrics after a warm-up.</summary>
    /// <summary>
    /// The embedded store's ingest against SQLite's own limit, in the same run (issue V): rounds alternating (a) SQLite's
    /// prepared insert into the same <c>metrics</c> table of a file the store made (same pragmas, keys already UTF-8, one
    /// transaction per 1000 rows, nothing else), (b) <c>LogBatchAsync</c> with 1000-metric batches, (c) the tracker
    /// (<c>LogMetric</c> from one thread → the uploader → the embedded store) — the same 200,000 metrics each.
    /// </summary>
    public static async Task<int> SqliteIngestAsync(string[] args)
    {
        var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        Console.WriteLine($"# embedded store ingest, {rounds} rounds of 200 x 1000 metrics; {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd}");
        var keys = Enumerable.Range(0, 10).Select(k => "m" + k).ToArray();
        var batches = Enumerable.Range(0, 220).Select(b => (IReadOnlyList<Metric>)Enumerable.Range(0, 1000).Select(i => new Metric(keys[i % 10], i, b, i)).ToList()).ToList();
        var raw = new List<double>();
        var store = new List<double>();
        var tracker = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            raw.Add(await WithStoreAsync((path, _, runId) => Task.FromResult(RawInsert(path, runId, batches))));
            store.Add(await WithStoreAsync(async (_, s, runId) =>
            {
                for (var b = 0; b < 20; b++)
                {
                    await s.LogBatchAsync(runId, batches[b], [], [], CancellationToken.None); // warm-up
                }

                var sw = Stopwatch.StartNew();
                for (var b = 20; b < 220; b++)
                {
                    await s.LogBatchAsync(runId, batches[b], [], [], CancellationToken.None);
                }

                return 200_000 / sw.Elapsed.TotalSeconds;
            }));
            tracker.Add(await WithStoreAsync((_, s, _) => MeasureAsync(s, 200_000, 1)));
            Console.WriteLine($"round {round + 1}: SQLite's prepared insert {raw[^1]:N0}/s, LogBatchAsync {store[^1]:N0}/s, tracker → embedded store {tracker[^1]:N0}/s");
        }

        double Median(List<double> v) => v.Order().ElementAt(v.Count / 2);
        Console.WriteLine($"medians: SQLite's prepared insert {Median(raw):N0} metrics/s (the limit); LogBatchAsync {Median(store):N0}/s = {Median(store) / Median(raw):P0} of it; tracker → embedded store {Median(tracker):N0}/s = {Median(tracker) / Median(raw):P0} of it");
        return 0;
    }

    /// <summary>Runs <paramref name="measure"/> on a fresh embedded store file with a run in it.</summary>
    private static async Task<double> WithStoreAsync(Func<string, ITrackingStore, string, Task<double>> measure)
    {
        var dir = Directory.CreateTempSubdirectory("mlops-bench-");
        try
        {
            var path = Path.Combine(dir.FullName, "mlflow.db");
            await using var store = MlOps.Client.Stores.SqliteTrackingStore.Open("sqlite:///" + path);
            var run = await store.CreateRunAsync("0", new CreateRunOptions(), CancellationToken.None);
            return await measure(path, store, run.Info.RunId);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            dir.Delete(recursive: true);
        }
    }

    /// <summary>SQLite's own rate: the metrics table's insert through the C API, nothing around it (20 batches of warm-up).</summary>
    private static double RawInsert(string path, string runId, List<IReadOnlyList<Metric>> batches)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + path + ";Pooling=False");
        connection.Open();
        foreach (var pragma in new[] { "busy_timeout = 30000", "journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON", "cache_size = -65536", "wal_autocheckpoint = 10000" })
        {
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA " + pragma;
            command.ExecuteNonQuery();
        }

        var db = connection.Handle!;
        var utf8 = batches[0].Select(m => m.Key).Distinct().ToDictionary(k => k, k => System.Text.Encoding.UTF8.GetBytes(k));
        var sw = new Stopwatch();
        for (var b = 0; b < batches.Count; b++)
        {
            if (b == 20)
            {
                sw.Start();
            }

            SQLitePCL.raw.sqlite3_exec(db, "BEGIN IMMEDIATE");
            SQLitePCL.raw.sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", out var statement);
            using (statement)
            {
                SQLitePCL.raw.sqlite3_bind_text(statement, 4, runId);
                foreach (var m in batches[b])
                {
                    SQLitePCL.raw.sqlite3_bind_text(statement, 1, utf8[m.Key].AsSpan());
                    SQLitePCL.raw.sqlite3_bind_double(statement, 2, m.Value);
                    SQLitePCL.raw.sqlite3_bind_int64(statement, 3, m.Timestamp);
                    SQLitePCL.raw.sqlite3_bind_int64(statement, 5, m.Step);
                    SQLitePCL.raw.sqlite3_bind_int(statement, 6, 0);
                    if (SQLitePCL.raw.sqlite3_step(statement) != SQLitePCL.raw.SQLITE_DONE)
                    {
                        throw new InvalidOperationException(SQLitePCL.raw.sqlite3_errmsg(db).utf8_to_string());
                    }

                    SQLitePCL.raw.sqlite3_reset(statement);
                }
            }

            SQLitePCL.raw.sqlite3_exec(db, "COMMIT");
        }

        return 200_000 / sw.Elapsed.TotalSeconds;
    }

    /// <summary>Metrics/s of the tracker logging <paramref name="metrics"/> from <paramref name="threads"/> threads, from the first call until the run has ended.</summary>
    internal static async Task<double> MeasureAsync(ITrackingStore store, int metrics, int threads, string? experimentId = null, Action<MlOps.Client.Uploading.UploaderCounters>? report = null)
    {
        await using var tracker = new Tracker(store, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false, ExperimentId = experimentId });
        var run = await tracker.StartRunAsync("throughput");
        var perThread = metrics / threads;
        var sw = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            var key = "metric_" + t;
            for (var i = 0; i < perThread; i++)
            {
                run.LogMetric(key, i * 0.001, i);
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        await run.EndAsync();
        sw.Stop();
        if (tracker.Counters.Sent != (long)perThread * threads)
        {
            throw new InvalidOperationException($"Delivered {tracker.Counters.Sent} of {perThread * threads} metrics (spooled {tracker.Counters.Spooled}).");
        }

        report?.Invoke(tracker.Counters);
        return perThread * threads / sw.Elapsed.TotalSeconds;
    }
}
