using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using MlOps.Client.Models;
using MlOps.Client.Stores;
using MlOps.Client.Tests.Fixtures;
using MlOps.Client.Tracking;

namespace MlOps.Client.Tests.Stores;

/// <summary>The embedded store at MLflow 3's schema keeps logged models as MLflow 3's SQLAlchemy store does; at 2.22's it stays 2.x.</summary>
public sealed class SqliteLoggedModelTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-sqlite3-");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    /// <summary>A file created with the schema a real MLflow 3.6 server wrote (Recorded/mlflow-protocol/v3/schema.sql).</summary>
    private string V3Database() => RecordedExchange.CreateV3Database(Path.Combine(_dir.FullName, "mlflow3.db"));

    private static T Query<T>(SqliteTrackingStore store, string sql, params object[] args)
    {
        using var db = new SqliteConnection("Data Source=" + store.DatabasePath);
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        for (var i = 0; i < args.Length; i++)
        {
            cmd.Parameters.AddWithValue("$p" + i, args[i]);
        }

        return (T)Convert.ChangeType(cmd.ExecuteScalar()!, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task On_a_3x_file_a_logged_model_is_written_in_MLflow_3s_tables_and_read_back_loaded_and_registered()
    {
        await using var store = SqliteTrackingStore.Open(V3Database());
        Assert.True(store.HasLoggedModels);
        await using var tracker = new Tracker(store, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false, ExperimentId = "0" });
        LoggedModelInfo info;
        string runId;
        using (var run = await tracker.StartRunAsync("train"))
        {
            runId = run.RunId;
            run.LogParam("lr", 0.1);
            run.LogMetric("accuracy", 0.9);
            run.LogMetric("accuracy", 0.95, 1);
            info = await run.LogModelAsync("weights", new LogModelOptions { RegisteredModelName = "iris", ModelType = "Classifier", Tags = { ["team"] = "ml" } }, new TextFlavor());
            run.LogMetric("eval_accuracy", 0.93, 0, info.LoggedModelId, new Dataset { Name = "iris-test", Digest = "b90c1eab" });
        }

        // The logged model: READY, the run's params, the given type and tag, the step-0 metric linked, and the metric
        // logged with its id afterwards (with its dataset).
        Assert.StartsWith("models:/m-", info.ModelUri, StringComparison.Ordinal);
        var model = await tracker.GetLoggedModelAsync(info.LoggedModelId!);
        Assert.Equal(("LOGGED_MODEL_READY", "Classifier", runId, "model"), (model.Status, model.ModelType, model.SourceRunId, model.Name));
        Assert.Equal([new Param("lr", "0.1")], model.Params);
        Assert.Equal("ml", model.GetTag("team"));
        Assert.Contains(model.Metrics, m => m is { Key: "accuracy", Step: 0, Value: 0.9 } && m.RunId == runId);
        Assert.DoesNotContain(model.Metrics, m => m is { Key: "accuracy", Step: 1 }); // only the model's step
        Assert.Contains(model.Metrics, m => m is { Key: "eval_accuracy", DatasetName: "iris-test", DatasetDigest: "b90c1eab" });

        // Files once, under <experiment>/models/<id>/artifacts; nothing in the run's artifacts; the run lists its output.
        var modelDir = new Uri(model.ArtifactUri!).LocalPath;
        Assert.EndsWith($"models/{model.ModelId}/artifacts", modelDir.Replace('\\', '/'), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(modelDir, "model.txt")));
        Assert.Equal(model.ModelId, MlflowModel.Load(modelDir).ModelId);
        var runAfter = await store.GetRunAsync(runId, default);
        Assert.False(Directory.Exists(Path.Combine(new Uri(runAfter.Info.ArtifactUri!).LocalPath, "model")));
        Assert.Equal([new LoggedModelOutput(model.ModelId, 0)], runAfter.Outputs.ModelOutputs);
        Assert.Null(runAfter.Data.GetTag(MlflowTags.LogModelHistory)); // 3.x keeps no 2.x history tag

        // As MLflow's SQLAlchemy store writes them: status 2 = READY, the linked metric in logged_model_metrics.
        Assert.Equal(2L, Query<long>(store, "SELECT status FROM logged_models WHERE model_id = $p0", model.ModelId));
        Assert.Equal(2L, Query<long>(store, "SELECT count(*) FROM logged_model_metrics WHERE model_id = $p0", model.ModelId));
        Assert.Equal(0L, Query<long>(store, "SELECT step FROM inputs WHERE source_type = 'RUN_OUTPUT' AND destination_id = $p0", model.ModelId));

        // Loaded by every URI Python accepts for it.
        Assert.Equal("weights", await store.LoadModelAsync(info.ModelUri, new TextFlavor()));
        Assert.Equal("weights", await store.LoadModelAsync($"runs:/{runId}/model", new TextFlavor()));
        Assert.Equal("weights", await store.LoadModelAsync("models:/iris/1", new TextFlavor()));

        // Registered from models:/<id>: the version points at the model's files and run, the model lists the version.
        Assert.Equal("1", info.RegisteredModelVersion);
        var version = await store.GetModelVersionAsync("iris", "1", default);
        Assert.Equal((info.ModelUri, runId), (version.Source, version.RunId));
        Assert.Equal(model.ArtifactUri, await store.GetModelVersionDownloadUriAsync("iris", "1", default));
        var tagged = await tracker.GetLoggedModelAsync(model.ModelId);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""[{"name": "iris", "version": 1}, {"name": "iris", "version": "1"}]"""), JsonNode.Parse(tagged.GetTag(MlflowTags.ModelVersions)!)));
    }

    [Fact]
    public async Task Logged_models_are_searched_by_name_attributes_params_tags_and_metrics_and_paged()
    {
        await using var store = SqliteTrackingStore.Open(V3Database());
        await using var tracker = new Tracker(store, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false, ExperimentId = "0" });
        using (var run = await tracker.StartRunAsync("sweep"))
        {
            for (var i = 0; i < 3; i++)
            {
                var info = await run.LogModelAsync($"w{i}", new LogModelOptions { Name = $"model-{i}", Params = { ["depth"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture) } }, new TextFlavor());
                // Its own step: a model logged later also carries the run's earlier values of acc, and two values of one key at
                // one step and one millisecond are one row of logged_model_metrics (MLflow's primary key), the later ignored.
                run.LogMetric("acc", 0.5 + (i / 10.0), i, info.LoggedModelId);
            }
        }

        async Task<List<string?>> Names(string? filter, params string[] orderBy)
        {
            var query = new SearchLoggedModelsOptions { Filter = filter, PageSize = 2 };
            foreach (var o in orderBy)
            {
                query.OrderBy.Add(o);
            }

            var names = new List<string?>();
            await foreach (var m in tracker.SearchLoggedModelsAsync(query))
            {
                names.Add(m.Name);
            }

            return names;
        }

        Assert.Equal(["model-0", "model-1", "model-2"], await Names(null, "name"));                 // three pages of 2 → all
        Assert.Equal(["model-2", "model-1", "model-0"], await Names(null, "name DESC"));
        Assert.Equal(["model-1"], await Names("name = 'model-1'"));
        Assert.Equal(["model-0", "model-2"], await Names("name LIKE 'model-%' AND params.depth != '1'", "name"));
        Assert.Equal(["model-2"], await Names("metrics.acc > 0.65"));
        Assert.Equal(["model-0", "model-1", "model-2"], await Names("status = 'READY'", "name"));
        var bad = await Assert.ThrowsAsync<MlflowException>(() => Names("params.depth = '1' OR name = 'x'"));
        Assert.Contains("Invalid clause(s) in filter string", bad.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task On_a_2_22_file_model_logging_stays_2x_and_logged_model_calls_say_why_they_cannot_work()
    {
        await using var store = SqliteTrackingStore.Open("sqlite:///" + Path.Combine(_dir.FullName, "mlflow.db"));
        Assert.False(store.HasLoggedModels);
        await using var tracker = new Tracker(store, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false, ExperimentId = "0" });
        LoggedModelInfo info;
        string runId;
        using (var run = await tracker.StartRunAsync("train"))
        {
            runId = run.RunId;
            info = await run.LogModelAsync("weights", new LogModelOptions(), new TextFlavor());
            run.LogMetric("acc", 0.9, 0, "m-0123", null); // the link is dropped by a 2.x file, the value is kept
        }

        Assert.Equal($"runs:/{runId}/model", info.ModelUri);
        Assert.Null(info.LoggedModelId);
        Assert.Equal("weights", await store.LoadModelAsync(info.ModelUri, new TextFlavor()));
        Assert.NotNull((await store.GetRunAsync(runId, default)).Data.GetTag(MlflowTags.LogModelHistory));
        Assert.Single((await store.GetRunAsync(runId, default)).Data.Metrics);
        var error = await Assert.ThrowsAsync<MlflowException>(() => tracker.GetLoggedModelAsync("m-0123"));
        Assert.Contains("2.x", error.Message, StringComparison.Ordinal);
    }
}
