using System.Text.Json.Nodes;
using MlOps.Client.Models;
using MlOps.Client.Registry;
using MlOps.Client.Tests.Fixtures;
using MlOps.Client.Tracking;
using WireMock.Matchers;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using static MlOps.Client.Tests.Fixtures.PythonClientRecording;

namespace MlOps.Client.Tests.Models;

/// <summary>
/// Model logging, registration and loading on MLflow 3, against what Python MLflow 3.6's client sent to a real 3.6
/// server for the iris XGBoost example (python-client/xgboost-iris.jsonl: exchanges 23–37 log the final model;
/// python-client/register-and-load.jsonl: <c>register_model("models:/&lt;id&gt;")</c> and three loads).
/// </summary>
public sealed class LoggedModelSequenceTests
{
    private const string RunId = "567f9f9c20554fc4aaa1fac28f1c29ef";
    private const string ModelId = "m-e394dd9a5df74c12b66b9e93fe621db0";
    private const string ModelRoot = "/api/2.0/mlflow-artifacts/artifacts/0/models/" + ModelId + "/artifacts/";

    private static readonly PythonClientRecording Python = PythonClientRecording.Load("xgboost-iris");
    private static readonly PythonClientRecording PythonRegister = PythonClientRecording.Load("register-and-load");

    private static RecordedServer ServeFinalModelLogging(bool uploadFails = false)
    {
        var server = new RecordedServer();
        Python.Serve(server, 1, 1);   // runs/create
        Python.Serve(server, 23, 39); // the final log_model, then runs/update
        server.Server.Given(Request.Create().WithPath(new WildcardMatcher("/api/2.0/mlflow-artifacts/artifacts/*")).UsingPut()).AtPriority(1)
            .RespondWith(uploadFails
                ? Response.Create().WithStatusCode(500).WithHeader("Content-Type", "application/json").WithBody("""{"error_code": "INTERNAL_ERROR", "message": "disk full"}""")
                : Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody("{}"));
        return server;
    }

    private static Tracker NewTracker(MlflowClient client) =>
        new(client, new TrackerOptions { HandleProcessExit = false, SetSystemTags = true, SourceName = "train.dll" });

    /// <summary>A request as a step of the sequence: PUTs of one folder are one step.</summary>
    private static string Step(string method, string path) =>
        method == "PUT" ? "PUT " + path[..(path.LastIndexOf('/') + 1)] : method + " " + path;

    [Fact]
    public async Task LogModelAsync_sends_the_sequence_Python_3_6_sends_create_outputs_linked_metrics_one_upload_ready()
    {
        using var server = ServeFinalModelLogging();
        using var client = server.CreateClient();
        LoggedModelInfo info;
        await using (var tracker = NewTracker(client))
        {
            using var run = await tracker.StartRunAsync("iris", new StartRunOptions { ExperimentId = "0" });
            info = await run.LogModelAsync("weights", new LogModelOptions(), new TextFlavor());
        }

        Assert.Equal("models:/" + ModelId, info.ModelUri); // Python's model_info.model_uri on 3.x
        Assert.Equal(ModelId, info.LoggedModelId);

        // The order of the calls, as Python's Model.log makes them (its extra GET of the model before uploading aside).
        var python = Enumerable.Range(23, 15).Select(s => Python[s]).Where(e => !(Method(e) == "GET" && PathOf(e).Contains("/logged-models/", StringComparison.Ordinal)))
            .Select(e => Step(Method(e), PathOf(e))).Distinct().ToList();
        var ours = server.Requests.Select(r => Step(r.Method, r.Path))
            .SkipWhile(s => s != "GET /api/2.0/mlflow/runs/get").TakeWhile(s => s != "POST /api/2.0/mlflow/runs/update").Distinct().ToList();
        Assert.Equal(python, ours);

        // Created with the run's params and the source tags, as Python creates it.
        var create = RecordedServer.BodyOf(server.Requests.Single(r => r.Path == "/api/2.0/mlflow/logged-models"))!.AsObject();
        var pythonCreate = RequestJson(Python[24])!.AsObject();
        Assert.Equal(pythonCreate.Select(p => p.Key).Order(), create.Select(p => p.Key).Order());
        Assert.True(JsonNode.DeepEquals(pythonCreate["params"], create["params"]), create["params"]!.ToJsonString());
        Assert.Equal(pythonCreate["name"]!.GetValue<string>(), create["name"]!.GetValue<string>()); // "model", the default name
        Assert.Equal(RunId, create["source_run_id"]!.GetValue<string>());
        var tagKeys = create["tags"]!.AsArray().Select(t => t!["key"]!.GetValue<string>()).ToHashSet();
        Assert.Superset(RequestJson(Python[24])!["tags"]!.AsArray().Select(t => t!["key"]!.GetValue<string>()).ToHashSet(), tagKeys);

        // The output link and the step's metrics re-logged with the model id: the same bodies as Python's.
        Assert.True(JsonNode.DeepEquals(RequestJson(Python[25]), RecordedServer.BodyOf(server.Requests.Single(r => r.Path == "/api/2.0/mlflow/runs/outputs"))));
        var linked = server.Requests.Where(r => r.Path == "/api/2.0/mlflow/runs/log-batch").Select(RecordedServer.BodyOf).Single(b => b!["metrics"] is JsonArray { Count: > 0 })!;
        Assert.True(JsonNode.DeepEquals(RequestJson(Python[30])!["metrics"], linked["metrics"]), linked["metrics"]!.ToJsonString());

        // Files once, at the model's own location; none in the run's artifacts; no 2.x history tag.
        Assert.All(server.Requests.Where(r => r.Method == "PUT"), r => Assert.StartsWith(ModelRoot, r.Path, StringComparison.Ordinal));
        Assert.Equal(["MLmodel", "model.txt"], server.Requests.Where(r => r.Method == "PUT").Select(r => r.Path[ModelRoot.Length..]).Order());
        Assert.DoesNotContain(server.Requests, r => r.Path.EndsWith("/runs/log-model", StringComparison.Ordinal));

        // MLmodel as Python 3.x writes it: artifact_path is the model's location, model_uuid = model_id.
        var mlmodel = MlflowModel.Parse(server.Requests.Single(r => r.Path.EndsWith("/MLmodel", StringComparison.Ordinal)).Body!);
        var pythonMlmodel = MlflowModel.Parse(Python[33]["request"]!["text"]!.GetValue<string>());
        Assert.Equal("mlflow-artifacts:/0/models/" + ModelId + "/artifacts", mlmodel.ArtifactPath);
        Assert.Equal(pythonMlmodel.ArtifactPath, mlmodel.ArtifactPath);
        Assert.Equal((pythonMlmodel.ModelId, pythonMlmodel.ModelUuid, pythonMlmodel.RunId), (mlmodel.ModelId, mlmodel.ModelUuid, mlmodel.RunId));

        // Finalized READY after the last file.
        var patch = server.Requests.Single(r => r.Method == "PATCH");
        Assert.True(JsonNode.DeepEquals(RequestJson(Python[37]), RecordedServer.BodyOf(patch)));
        Assert.True(server.Requests.ToList().FindLastIndex(r => r.Method == "PUT") < server.Requests.ToList().IndexOf(patch));
    }

    [Fact]
    public async Task A_failed_upload_finalizes_the_model_UPLOAD_FAILED_and_the_error_reaches_the_caller()
    {
        using var server = ServeFinalModelLogging(uploadFails: true);
        using var client = server.CreateClient();
        await using var tracker = NewTracker(client);
        var run = await tracker.StartRunAsync("iris", new StartRunOptions { ExperimentId = "0" });
        var error = await Assert.ThrowsAsync<MlflowException>(() => run.LogModelAsync("weights", new LogModelOptions(), new TextFlavor()));
        Assert.Contains("disk full", error.Message, StringComparison.Ordinal);
        var patch = RecordedServer.BodyOf(server.Requests.Single(r => r.Method == "PATCH"))!;
        Assert.Equal("LOGGED_MODEL_UPLOAD_FAILED", patch["status"]!.GetValue<string>()); // Python's _use_logged_model: FAILED
        await Assert.ThrowsAsync<MlflowException>(() => run.EndAsync(RunStatus.Failed)); // the run's end reports its failed work too
    }

    [Fact]
    public async Task A_registered_name_registers_models_model_id_and_tags_the_model_with_its_version_as_Python_does()
    {
        using var server = ServeFinalModelLogging();
        PythonRegister.Serve(server, 1, 6);
        using var client = server.CreateClient();
        LoggedModelInfo info;
        await using (var tracker = NewTracker(client))
        {
            using var run = await tracker.StartRunAsync("iris", new StartRunOptions { ExperimentId = "0" });
            info = await run.LogModelAsync("weights", new LogModelOptions { RegisteredModelName = "iris-py3" }, new TextFlavor());
        }

        Assert.Equal("1", info.RegisteredModelVersion);
        var version = RecordedServer.BodyOf(server.Requests.Single(r => r.Path == "/api/2.0/mlflow/model-versions/create"));
        Assert.True(JsonNode.DeepEquals(RequestJson(PythonRegister[2]), version), version!.ToJsonString()); // name, source models:/<id>, model_id
        var tags = RecordedServer.BodyOf(server.Requests.Single(r => r.Method == "PATCH" && r.Path.EndsWith("/tags", StringComparison.Ordinal)));
        Assert.True(JsonNode.DeepEquals(RequestJson(PythonRegister[5]), tags), tags!.ToJsonString()); // the server's entry, then ours, as Python writes them
    }

    [Fact]
    public async Task Registering_a_runs_uri_whose_files_are_in_a_logged_model_registers_the_logged_model()
    {
        using var server = new RecordedServer();
        PythonRegister.Serve(server, 1, 48);
        using var client = server.CreateClient();
        await new ModelRegistry(client).RegisterModelAsync($"runs:/{RunId}/model", "iris-py3");
        var version = RecordedServer.BodyOf(server.Requests.Single(r => r.Path == "/api/2.0/mlflow/model-versions/create"))!;
        Assert.Equal("models:/" + ModelId, version["source"]!.GetValue<string>());
        Assert.Equal(ModelId, version["model_id"]!.GetValue<string>());
        Assert.Equal(RunId, version["run_id"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("models:/" + ModelId, "")]
    [InlineData("runs:/" + RunId + "/model", "")]
    [InlineData("runs:/" + RunId + "/model/MLmodel", "MLmodel")]
    [InlineData("models:/iris-py3/1", "")]
    [InlineData("models:/iris-py3/latest", "")]
    public async Task Model_uris_resolve_to_the_logged_models_files_as_Python_resolves_them(string uri, string path)
    {
        using var server = new RecordedServer();
        PythonRegister.Serve(server, 1, 48);
        server.ServeStatus("GET", "/api/2.0/mlflow/model-versions/search", 200,
            """{"model_versions": [{"name": "iris-py3", "version": "1", "current_stage": "None", "source": "models:/m-e394dd9a5df74c12b66b9e93fe621db0", "status": "READY"}]}""");
        using var client = server.CreateClient();
        await using var store = new MlOps.Client.Stores.RestTrackingStore(client);
        var (root, inside) = await ModelLogging.ResolveAsync(store, uri);
        Assert.Equal("mlflow-artifacts:/0/models/" + ModelId + "/artifacts", root);
        Assert.Equal(path, inside);
    }
}
