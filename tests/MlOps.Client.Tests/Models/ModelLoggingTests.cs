using System.Text.Json.Nodes;
using MlOps.Client.Models;
using MlOps.Client.Stores;
using MlOps.Client.Tests.Fixtures;
using MlOps.Client.Tracking;

namespace MlOps.Client.Tests.Models;

public sealed class ModelLoggingTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-models-");

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    [Fact]
    public async Task A_logged_model_is_uploaded_recorded_and_loads_back_from_runs_uri()
    {
        await using var store = SqliteTrackingStore.Open("sqlite:///" + Path.Combine(_dir.FullName, "mlflow.db"));
        await using var tracker = new Tracker(store, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false });
        LoggedModelInfo info;
        string runId;
        using (var run = tracker.StartRun("model"))
        {
            runId = run.RunId;
            info = await run.LogModelAsync("weights-v1", new TextFlavor(), signature: ModelSignature.FromColumns([("x", "double")]));
            await run.LogModelAsync("weights-v1", new TextFlavor(), artifactPath: "model-copy");
        }

        Assert.Equal($"runs:/{runId}/model", info.ModelUri);
        var loaded = await store.LoadModelAsync(info.ModelUri, new TextFlavor());
        Assert.Equal("weights-v1", loaded);

        var run2 = await store.GetRunAsync(runId, default);
        var history = JsonNode.Parse(run2.Data.GetTag(MlflowTags.LogModelHistory)!)!.AsArray();
        Assert.Equal(2, history.Count);
        Assert.Equal("model", history[0]!["artifact_path"]!.GetValue<string>());
        Assert.Equal("model.txt", history[0]!["flavors"]!["text"]!["data"]!.GetValue<string>());

        var root = new Uri(run2.Info.ArtifactUri!).LocalPath;
        var mlmodel = MlflowModel.Load(Path.Combine(root, "model"));
        Assert.Equal(runId, mlmodel.RunId);
        Assert.Equal(10, mlmodel.ModelSizeBytes);
        Assert.NotNull(mlmodel.Signature);

        var wrong = await Assert.ThrowsAsync<InvalidOperationException>(() => store.LoadModelAsync(info.ModelUri, new OtherFlavor()));
        Assert.Contains("text", wrong.Message, StringComparison.Ordinal);
        var missing = await Assert.ThrowsAsync<MlflowException>(() => store.LoadModelAsync("models:/m/1", new TextFlavor()));
        Assert.Equal(404, missing.Status);
    }

    [Fact]
    public async Task A_run_without_a_model_there_is_said_in_words_before_any_download()
    {
        await using var store = SqliteTrackingStore.Open("sqlite:///" + Path.Combine(_dir.FullName, "mlflow.db"));
        await using var tracker = new Tracker(store, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false });
        string runId;
        using (var run = tracker.StartRun("no-model"))
        {
            runId = run.RunId;
            await run.LogTextAsync("hello", "notes.txt");
            await run.LogTextAsync("a,b", "data/table.csv");
        }

        var none = await Assert.ThrowsAsync<MlflowException>(() => store.LoadModelAsync($"runs:/{runId}/model", new TextFlavor()));
        Assert.Equal(404, none.Status);
        Assert.StartsWith($"No model at runs:/{runId}/model: there are no artifacts at 'model'", none.Message, StringComparison.Ordinal);
        Assert.Contains("notes.txt", none.Message, StringComparison.Ordinal); // what the run has instead
        Assert.Contains("data/", none.Message, StringComparison.Ordinal);

        var notModel = await Assert.ThrowsAsync<MlflowException>(() => store.LoadModelAsync($"runs:/{runId}/data", new TextFlavor()));
        Assert.Contains("has no MLmodel file", notModel.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Register_alias_and_load_by_alias_on_the_embedded_store()
    {
        await using var store = SqliteTrackingStore.Open("sqlite:///" + Path.Combine(_dir.FullName, "mlflow.db"));
        await using var tracker = new Tracker(store, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false });
        LoggedModelInfo v1, v2;
        using (var run = tracker.StartRun("train"))
        {
            v1 = await run.LogModelAsync("first", new TextFlavor());
            v2 = await run.LogModelAsync("second", new TextFlavor(), artifactPath: "model2");
        }

        var registry = new MlOps.Client.Registry.ModelRegistry(store);
        var version1 = await registry.RegisterModelAsync(v1.ModelUri, "text-model", new Dictionary<string, string> { ["data"] = "demo" });
        var version2 = await registry.RegisterModelAsync(v2.ModelUri, "text-model");
        Assert.Equal(("1", "2", ModelVersionStatus.Ready), (version1.Version, version2.Version, version2.Status));
        Assert.Equal(v1.ModelUri, version1.Source);
        Assert.Equal(new ModelVersionTag("data", "demo"), Assert.Single(version1.Tags));

        await registry.SetRegisteredModelAliasAsync("text-model", "champion", "1");
        await registry.SetRegisteredModelAliasAsync("text-model", "challenger", "2");
        Assert.Equal("first", await store.LoadModelAsync("models:/text-model@champion", new TextFlavor()));
        Assert.Equal("second", await store.LoadModelAsync("models:/text-model@challenger", new TextFlavor()));
        var noModel = await Assert.ThrowsAsync<MlflowException>(() => store.LoadModelAsync("models:/txt-model@champion", new TextFlavor()));
        Assert.Equal("No registered model named 'txt-model' (models:/txt-model@champion).", noModel.Message); // not "alias not found"
        var noAlias = await Assert.ThrowsAsync<MlflowException>(() => store.LoadModelAsync("models:/text-model@prod", new TextFlavor()));
        Assert.Contains("Registered model 'text-model' has no alias 'prod' (its aliases: ", noAlias.Message, StringComparison.Ordinal);
        Assert.Contains("champion → v1", noAlias.Message, StringComparison.Ordinal);
        Assert.Equal("second", await store.LoadModelAsync("models:/text-model/2", new TextFlavor()));

        var staged = await registry.TransitionModelVersionStageAsync("text-model", "2", "production", archiveExistingVersions: true);
        Assert.Equal(ModelStages.Production, staged.CurrentStage);
        var model = await store.GetRegisteredModelAsync("text-model", default);
        Assert.Equal(["challenger", "champion"], model.Aliases.Select(a => a.Alias));
        Assert.Equal(2, (await registry.GetModelVersionsAsync("text-model")).Count);
        await registry.DeleteRegisteredModelAliasAsync("text-model", "champion");
        Assert.Null(await registry.FindModelVersionByAliasAsync("text-model", "champion"));
        await Assert.ThrowsAsync<MlOps.Client.MlflowValidationException>(() => registry.SetRegisteredModelAliasAsync("text-model", "v1", "1"));
    }

    [Fact]
    public async Task Models_uris_resolve_through_the_registry_to_the_run_artifacts()
    {
        using var server = new RecordedServer();
        server.Serve("328-registered-models-get-by-alias");
        server.Serve("332-model-versions-get-download-uri");
        server.Serve("043-runs-get");
        using var client = server.CreateClient();
        await using var store = new RestTrackingStore(client);

        var byAlias = await ModelLogging.ResolveAsync(store, "models:/tour-model@champion");
        var byVersion = await ModelLogging.ResolveAsync(store, "models:/tour-model/1");

        Assert.Equal(("mlflow-artifacts:/1/e0615394aa0f4901b930c39ef92bfa3b/artifacts", "model"), byAlias);
        Assert.Equal(byAlias, byVersion);
        Assert.Contains(server.Requests, r => r.Path.EndsWith("registered-models/alias", StringComparison.Ordinal) && r.Query!["alias"].Single() == "champion");
        Assert.Equal(("s3://bucket/1/run/artifacts/model", ""), await ModelLogging.ResolveAsync(store, "s3://bucket/1/run/artifacts/model/"));
        await Assert.ThrowsAsync<ArgumentException>(() => ModelLogging.ResolveAsync(store, "no-such-folder"));
    }

    [Fact]
    public async Task Load_by_alias_through_a_tracking_server_downloads_from_the_artifact_proxy()
    {
        using var server = new RecordedServer();
        server.Serve("328-registered-models-get-by-alias");
        server.Serve("332-model-versions-get-download-uri");
        server.Serve("043-runs-get");
        const string artifacts = "/api/2.0/mlflow-artifacts/artifacts";
        const string root = "1/e0615394aa0f4901b930c39ef92bfa3b/artifacts";
        var model = MlflowModel.Create("model", "e0615394aa0f4901b930c39ef92bfa3b");
        model.Flavors["text"] = new JsonObject { ["data"] = "model.txt" };
        server.Server.Given(WireMock.RequestBuilders.Request.Create().WithPath(artifacts).UsingGet().WithParam("path", root + "/model"))
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithHeader("Content-Type", "application/json")
                .WithBody("""{"files":[{"path":"MLmodel","is_dir":false},{"path":"model.txt","is_dir":false,"file_size":8}]}"""));
        server.ServeStatus("GET", $"{artifacts}/{root}/model/MLmodel", 200, model.ToYaml(), "text/plain");
        server.ServeStatus("GET", $"{artifacts}/{root}/model/model.txt", 200, "champion", "text/plain");
        using var client = server.CreateClient();
        await using var store = new RestTrackingStore(client);

        var loaded = await store.LoadModelAsync("models:/tour-model@champion", new TextFlavor());

        Assert.Equal("champion", loaded);
    }

    private sealed class OtherFlavor : IModelFlavor<string>
    {
        public string Name => "other";

        public Task<FlavorConfiguration> SaveAsync(string model, string directory, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<string> LoadAsync(string directory, MlflowModel description, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
