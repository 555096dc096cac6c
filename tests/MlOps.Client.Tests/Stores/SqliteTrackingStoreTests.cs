using Microsoft.Data.Sqlite;
using MlOps.Client.Stores;
using MlOps.Client.Tests.Fixtures;
using MlOps.Client.Tracking;

namespace MlOps.Client.Tests.Stores;

public sealed class SqliteTrackingStoreTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-sqlite-");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    private string DbUri(string name = "mlflow.db") => "sqlite:///" + Path.Combine(_dir.FullName, name);

    [Fact]
    public async Task A_fresh_database_has_exactly_the_schema_MLflow_created()
    {
        await using (var store = SqliteTrackingStore.Open(DbUri()))
        {
            Assert.Equal("0584bdc529eb", store.SchemaVersion);
        }

        var expected = SchemaOf(File.ReadAllText(Path.Combine(RecordedExchange.ProtocolDirectory, "sqlite", "schema.sql")));
        using var actualDb = new SqliteConnection("Data Source=" + Path.Combine(_dir.FullName, "mlflow.db"));
        actualDb.Open();
        var actual = Describe(actualDb);
        Assert.Equal(expected, actual);
        using var cmd = actualDb.CreateCommand();
        cmd.CommandText = "SELECT version_num FROM alembic_version";
        Assert.Equal("0584bdc529eb", cmd.ExecuteScalar());
        cmd.CommandText = "SELECT name || '|' || lifecycle_stage FROM experiments WHERE experiment_id = 0";
        Assert.Equal("Default|active", cmd.ExecuteScalar());
    }

    [Fact]
    public async Task Round_trip_experiment_run_batch_history_inputs_and_status()
    {
        await using var store = SqliteTrackingStore.Open(DbUri());
        var expId = await store.CreateExperimentAsync("iris", null, new Dictionary<string, string> { ["team"] = "ml" }, default);
        Assert.Equal("1", expId);
        var dup = await Assert.ThrowsAsync<MlflowException>(() => store.CreateExperimentAsync("iris", null, null, default));
        Assert.Equal(MlflowErrorCodes.ResourceAlreadyExists, dup.ErrorCode);

        var options = new CreateRunOptions { UserId = "me" };
        options.Tags["k"] = "v";
        var run = await store.CreateRunAsync(expId, options, default);
        Assert.Matches("^[0-9a-f]{32}$", run.Info.RunId);
        Assert.Matches(@"^[a-z]+-[a-z]+-\d+$", run.Info.RunName!);
        Assert.Equal(run.Info.RunName, run.Data.GetTag(MlflowTags.RunName));
        Assert.StartsWith("file:///", run.Info.ArtifactUri, StringComparison.Ordinal);
        Assert.EndsWith($"/mlruns/1/{run.Info.RunId}/artifacts", run.Info.ArtifactUri, StringComparison.Ordinal);

        var id = run.Info.RunId;
        await store.LogBatchAsync(id,
            [new Metric("loss", 0.5, 10, 0), new Metric("loss", 0.4, 11, 1), new Metric("loss", 0.45, 12, 1), new Metric("weird", double.NaN, 13, 0), new Metric("big", double.PositiveInfinity, 14, 0)],
            [new Param("lr", "0.1")], [new RunTag("team", "ml")], default);
        await store.LogInputsAsync(id, [new DatasetInput { Dataset = new Dataset { Name = "iris", Digest = "d1", SourceType = "local", Source = "{}" }, Tags = [new InputTag(MlflowTags.DatasetContext, "train")] }], default);
        await store.LogInputsAsync(id, [new DatasetInput { Dataset = new Dataset { Name = "iris", Digest = "d1", SourceType = "local", Source = "{}" }, Tags = [new InputTag(MlflowTags.DatasetContext, "eval")] }], default);
        var info = await store.UpdateRunAsync(id, RunStatus.Finished, DateTimeOffset.FromUnixTimeMilliseconds(99), null, default);
        Assert.Equal(RunStatus.Finished, info.Status);
        Assert.Equal(99, info.EndTime);

        var got = await store.GetRunAsync(id, default);
        var latest = got.Data.Metrics.Single(m => m.Key == "loss");
        Assert.Equal((0.45, 12L, 1L), (latest.Value, latest.Timestamp, latest.Step)); // step, then timestamp
        Assert.True(double.IsNaN(got.Data.Metrics.Single(m => m.Key == "weird").Value));
        Assert.Equal(double.MaxValue, got.Data.Metrics.Single(m => m.Key == "big").Value);
        Assert.Equal("0.1", got.Data.GetParam("lr"));
        Assert.Equal("ml", got.Data.GetTag("team"));
        var input = Assert.Single(got.Inputs.DatasetInputs); // same name and digest again adds nothing
        Assert.Equal("train", input.Tags.Single().Value);

        var history = await store.GetMetricHistoryAsync(id, "loss", default);
        Assert.Equal([0L, 1L, 1L], history.Select(m => m.Step));
        Assert.Single((await store.GetExperimentAsync("1", default)).Tags);
        Assert.Null(await store.FindExperimentByNameAsync("nope", default));
        var missing = await Assert.ThrowsAsync<MlflowException>(() => store.GetRunAsync("0123", default));
        Assert.Equal(404, missing.Status);
    }

    [Fact]
    public async Task Identical_metrics_are_stored_once_and_params_are_immutable_with_MLflows_message()
    {
        await using var store = SqliteTrackingStore.Open(DbUri());
        var run = await store.CreateRunAsync("0", new CreateRunOptions(), default);
        var m = new Metric("acc", 0.9, 1000, 3);
        await store.LogBatchAsync(run.Info.RunId, [m, m], [new Param("depth", "6")], [], default);
        await store.LogBatchAsync(run.Info.RunId, [m], [new Param("depth", "6")], [], default); // a retry
        await store.LogBatchAsync(run.Info.RunId, [m with { Value = 0.8 }], [], [], default); // another value: a second entry
        Assert.Equal(2, (await store.GetMetricHistoryAsync(run.Info.RunId, "acc", default)).Count);

        var ex = await Assert.ThrowsAsync<MlflowException>(() => store.LogBatchAsync(run.Info.RunId, [], [new Param("depth", "7")], [], default));
        Assert.Equal(MlflowErrorCodes.InvalidParameterValue, ex.ErrorCode);
        Assert.Contains("Changing param values is not allowed", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'old_value': '6'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'new_value': '7'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Search_pages_filters_and_orders_runs()
    {
        await using var store = SqliteTrackingStore.Open(DbUri());
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var run = await store.CreateRunAsync("0", new CreateRunOptions { RunName = "r" + i, StartTime = DateTimeOffset.FromUnixTimeMilliseconds(1000 + i) }, default);
            await store.LogBatchAsync(run.Info.RunId, [new Metric("acc", i / 10.0, 1, 0)], [new Param("opt", i % 2 == 0 ? "adam" : "sgd")], [new RunTag("grp", "a")], default);
            ids.Add(run.Info.RunId);
        }

        await store.UpdateRunAsync(ids[4], RunStatus.Finished, null, null, default);
        var query = new SearchRunsOptions { PageSize = 2, ExperimentIds = { "0" } };
        var page1 = await store.SearchRunsPageAsync(query, null, default);
        Assert.Equal(["r4", "r3"], page1.Values.Select(r => r.Info.RunName));
        Assert.NotNull(page1.NextPageToken);
        var page2 = await store.SearchRunsPageAsync(query, page1.NextPageToken, default);
        Assert.Equal(["r2", "r1"], page2.Values.Select(r => r.Info.RunName));
        var page3 = await store.SearchRunsPageAsync(query, page2.NextPageToken, default);
        Assert.Equal(["r0"], page3.Values.Select(r => r.Info.RunName));
        Assert.Null(page3.NextPageToken);

        var filtered = new SearchRunsOptions { Filter = "metrics.acc > 0.15 and params.opt = 'adam' and tags.grp = 'a'", ExperimentIds = { "0" } };
        filtered.OrderBy.Add("start_time ASC");
        Assert.Equal(["r2", "r4"], (await store.SearchRunsPageAsync(filtered, null, default)).Values.Select(r => r.Info.RunName));
        var byStatus = new SearchRunsOptions { Filter = "attributes.status = 'FINISHED'", ExperimentIds = { "0" } };
        Assert.Equal(["r4"], (await store.SearchRunsPageAsync(byStatus, null, default)).Values.Select(r => r.Info.RunName));
        var unsupported = new SearchRunsOptions { Filter = "metrics.acc > 0.1 or params.opt = 'sgd'", ExperimentIds = { "0" } };
        var ex = await Assert.ThrowsAsync<MlflowException>(() => store.SearchRunsPageAsync(unsupported, null, default));
        Assert.Contains("Invalid clause(s) in filter string", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_database_in_MLflow_3_schema_is_opened_and_written_as_is()
    {
        var path = Path.Combine(_dir.FullName, "v3.db");
        await using var store = SqliteTrackingStore.Open(RecordedExchange.CreateV3Database(path));
        Assert.Equal("bf29a5ff90ea", store.SchemaVersion);
        var run = await store.CreateRunAsync("0", new CreateRunOptions { RunName = "v3" }, default);
        await store.LogBatchAsync(run.Info.RunId, [new Metric("m", 1, 1, 0)], [new Param("p", "1")], [], default);
        await store.LogInputsAsync(run.Info.RunId, [new DatasetInput { Dataset = new Dataset { Name = "d", Digest = "x", SourceType = "code", Source = "{}" } }], default);
        var got = await store.GetRunAsync(run.Info.RunId, default);
        Assert.Single(got.Data.Metrics);
        Assert.Single(got.Inputs.DatasetInputs);
    }

    [Fact]
    public async Task Two_stores_writing_one_file_concurrently_lose_nothing()
    {
        await using var a = SqliteTrackingStore.Open(DbUri());
        await using var b = SqliteTrackingStore.Open(DbUri());
        var runA = await a.CreateRunAsync("0", new CreateRunOptions(), default);
        var runB = await b.CreateRunAsync("0", new CreateRunOptions(), default);
        async Task Write(ITrackingStore store, string runId)
        {
            for (var batch = 0; batch < 20; batch++)
            {
                var metrics = Enumerable.Range(0, 1000).Select(i => new Metric("m", i, batch, i)).ToList();
                await store.LogBatchAsync(runId, metrics, [], [], default);
            }
        }

        await Task.WhenAll(Task.Run(() => Write(a, runA.Info.RunId)), Task.Run(() => Write(b, runB.Info.RunId)));
        Assert.Equal(20_000, (await a.GetMetricHistoryAsync(runB.Info.RunId, "m", default)).Count);
        Assert.Equal(20_000, (await b.GetMetricHistoryAsync(runA.Info.RunId, "m", default)).Count);
    }

    [Fact]
    public async Task The_tracker_uses_the_embedded_store_end_to_end()
    {
        await using var tracker = new Tracker(SqliteTrackingStore.Open(DbUri()), new TrackerOptions { HandleProcessExit = false, ExperimentName = "embedded" });
        string runId;
        using (var run = tracker.StartRun("e2e"))
        {
            runId = run.RunId;
            for (var i = 0; i < 2500; i++)
            {
                run.LogMetric("loss", 1.0 / (i + 1), i);
            }

            run.LogParam("lr", 0.1);
        }

        var got = await tracker.Store.GetRunAsync(runId, default);
        Assert.Equal(RunStatus.Finished, got.Info.Status);
        Assert.Equal(2500, (await tracker.Store.GetMetricHistoryAsync(runId, "loss", default)).Count);
        Assert.Equal("embedded", (await tracker.Store.GetExperimentAsync(got.Info.ExperimentId, default)).Name);
    }

    [Theory]
    [InlineData("sqlite://")]
    [InlineData("sqlite:///:memory:")]
    [InlineData("postgresql://db/mlflow")]
    public void Bad_sqlite_uris_are_refused_clearly(string uri)
    {
        var ex = Assert.Throws<NotSupportedException>(() => SqliteTrackingStore.Open(uri));
        Assert.Contains("sqlite:///", ex.Message + uri, StringComparison.Ordinal);
    }

    private static SortedDictionary<string, string> SchemaOf(string sql)
    {
        using var db = new SqliteConnection("Data Source=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
        return Describe(db);
    }

    /// <summary>Every table and index with its columns (name, type, not null, default, pk) and index columns.</summary>
    private static SortedDictionary<string, string> Describe(SqliteConnection db)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var objects = new List<(string Type, string Name)>();
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                objects.Add((r.GetString(0), r.GetString(1)));
            }
        }

        foreach (var (type, name) in objects)
        {
            using var cmd = db.CreateCommand();
            cmd.CommandText = type == "table" ? $"PRAGMA table_info(\"{name}\")" : $"PRAGMA index_info(\"{name}\")";
            using var r = cmd.ExecuteReader();
            var cols = new List<string>();
            while (r.Read())
            {
                var values = new object[r.FieldCount];
                r.GetValues(values);
                cols.Add(string.Join(",", values.Select(v => v?.ToString())));
            }

            result[type + ":" + name] = string.Join(" | ", cols);
        }

        return result;
    }
}
