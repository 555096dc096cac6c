using MlOps.Client.Testing;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using MlOps.Client.Registry;
using MlOps.Client.Tests.Fixtures;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace MlOps.Client.Tests.Registry;

public class ModelRegistryTests
{
    private const string RunId = "e0615394aa0f4901b930c39ef92bfa3b";

    private static string VersionJson(string status) =>
        new JsonObject { ["model_version"] = new JsonObject { ["name"] = "tour-model", ["version"] = "3", ["status"] = status, ["source"] = $"runs:/{RunId}/model", ["run_id"] = RunId } }.ToJsonString();

    [Fact]
    public async Task Register_creates_the_model_if_missing_creates_the_version_and_waits_until_ready()
    {
        using var server = new RecordedServer();
        server.Serve("301-registered-models-create-duplicate"); // already registered: fine
        server.Serve("043-runs-get"); // the run's files hold the model (MLflow 2.x): registered as runs:/, no logged-model lookup
        server.ServeStatus("GET", "/api/2.0/mlflow-artifacts/artifacts", 200, """{"files": [{"path": "model/MLmodel", "is_dir": false, "file_size": 300}]}""");
        server.ServeStatus("POST", "/api/2.0/mlflow/model-versions/create", 200, VersionJson("PENDING_REGISTRATION"));
        server.Server.Given(Request.Create().WithPath("/api/2.0/mlflow/model-versions/get").UsingGet()).InScenario("r").WillSetStateTo("ready")
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody(VersionJson("PENDING_REGISTRATION")));
        server.Server.Given(Request.Create().WithPath("/api/2.0/mlflow/model-versions/get").UsingGet()).InScenario("r").WhenStateIs("ready")
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody(VersionJson("READY")));
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var client = server.CreateClient(o => o.TimeProvider = time);
        var registry = new ModelRegistry(client);

        var task = registry.RegisterModelAsync($"runs:/{RunId}/model", "tour-model", new Dictionary<string, string> { ["data"] = "iris" });
        // The fake clock also drives the client's request timeout: move it only once the version is created (the
        // requests before it — the run, its files — take real time) and only the poll interval remains.
        for (var i = 0; i < 1000 && !task.IsCompleted && !server.Requests.Any(r => r.Path.EndsWith("model-versions/create", StringComparison.Ordinal)); i++)
        {
            await Task.Delay(10);
        }

        await time.AdvanceUntilAsync(task, TimeSpan.FromSeconds(1));

        var version = await task;
        Assert.Equal((ModelVersionStatus.Ready, "3"), (version.Status, version.Version));
        var create = RecordedServer.BodyOf(server.Requests.Single(r => r.Path.EndsWith("model-versions/create", StringComparison.Ordinal)))!;
        Assert.Equal($"runs:/{RunId}/model", create["source"]!.GetValue<string>());
        Assert.Equal(RunId, create["run_id"]!.GetValue<string>());
        Assert.Equal(2, server.Requests.Count(r => r.Path.EndsWith("model-versions/get", StringComparison.Ordinal)));
        Assert.DoesNotContain(server.Requests, r => r.Path.Contains("logged-models", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_version_that_stays_pending_times_out_and_a_failed_one_says_why()
    {
        using var server = new RecordedServer();
        server.ServeStatus("GET", "/api/2.0/mlflow/model-versions/get", 200, VersionJson("PENDING_REGISTRATION"));
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var client = server.CreateClient(o => o.TimeProvider = time);
        var registry = new ModelRegistry(client);
        var pending = new ModelVersion { Name = "tour-model", Version = "3", Status = ModelVersionStatus.PendingRegistration };
        var task = registry.WaitUntilReadyAsync(pending, TimeSpan.FromSeconds(10));
        await time.AdvanceUntilAsync(task, TimeSpan.FromSeconds(1));

        await Assert.ThrowsAsync<TimeoutException>(() => task);

        var failed = new ModelVersion { Name = "m", Version = "1", Status = ModelVersionStatus.FailedRegistration, StatusMessage = "copy failed" };
        var ex = await Assert.ThrowsAsync<MlflowException>(() => registry.WaitUntilReadyAsync(failed, TimeSpan.FromSeconds(1)));
        Assert.Contains("copy failed", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Aliases_through_the_workflow_and_an_absent_alias_is_null()
    {
        using var server = new RecordedServer();
        server.Serve("326-registered-models-set-alias");
        server.Serve("331-registered-models-get-by-deleted-alias");
        using var client = server.CreateClient();
        var registry = new ModelRegistry(client);
        var recorded = RecordedExchange.Load("326-registered-models-set-alias");
        await registry.SetRegisteredModelAliasAsync("tour-model", "champion", "2");
        var sent = server.Requests.Single(r => r.Path.EndsWith("registered-models/alias", StringComparison.Ordinal) && r.Method == "POST");
        Assert.Equal(recorded.Path, sent.Path);
        Assert.True(System.Text.Json.Nodes.JsonNode.DeepEquals(recorded.RequestJson, RecordedServer.BodyOf(sent)), RecordedServer.BodyOf(sent)?.ToJsonString()); // what Python sent
        Assert.Null(await registry.FindModelVersionByAliasAsync("tour-model", "champion"));
        await Assert.ThrowsAsync<ArgumentException>(() => registry.RegisterModelAsync("models:/x/1", "x"));
    }
}
