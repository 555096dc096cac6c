using System.Text.Json.Nodes;
using MlOps.Client.Models;
using MlOps.Client.Tests.Fixtures;
using MlOps.Client.Tracking;
using WireMock.Matchers;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace MlOps.Client.Tests.Models;

/// <summary>LogModelAsync on MLflow 3 (logged-model entity) and on MLflow 2 (history tag only).</summary>
public class LoggedModelTests
{
    private static RecordedServer Server(bool mlflow3)
    {
        var server = new RecordedServer();
        server.ServeV3("012-runs-create");
        server.ServeV3("100-runs-update-finished");
        server.ServeStatus("POST", "/api/2.0/mlflow/runs/log-model", 200, "{}");
        server.Server.Given(Request.Create().WithPath(new WildcardMatcher("/api/2.0/mlflow-artifacts/artifacts/*")).UsingPut())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody("{}"));
        if (mlflow3)
        {
            server.ServeV3("020-logged-models-create");
            server.ServeV3("050-logged-models-finalize");
            server.ServeV3("064-runs-log-outputs");
        }
        else
        {
            server.ServeStatus("POST", "/api/2.0/mlflow/logged-models", 404, "<!doctype html><title>404 Not Found</title>", "text/html");
        }

        return server;
    }

    [Fact]
    public async Task On_MLflow_3_the_model_is_also_a_logged_model_with_its_own_files()
    {
        using var server = Server(mlflow3: true);
        using var client = server.CreateClient();
        await using var tracker = new Tracker(client, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false, ExperimentId = null });
        LoggedModelInfo info;
        using (var run = await tracker.StartRunAsync("m", new StartRunOptions { ExperimentId = "1" }))
        {
            info = await run.LogModelAsync("weights", new TextFlavor());
        }

        Assert.Equal("m-4354cf06f15548849112e7b7a3ab9856", info.LoggedModelId);
        var paths = server.Requests.Select(r => r.Method + " " + r.Path).ToList();
        Assert.Contains("PUT /api/2.0/mlflow-artifacts/artifacts/1/6ab5fbd713ca47c6ab17a7ad7f8c5ce3/artifacts/model/MLmodel", paths);
        Assert.Contains("PUT /api/2.0/mlflow-artifacts/artifacts/1/models/m-4354cf06f15548849112e7b7a3ab9856/artifacts/model.txt", paths);
        var create = RecordedServer.BodyOf(server.Requests.Single(r => r.Path == "/api/2.0/mlflow/logged-models"))!;
        Assert.Equal("6ab5fbd713ca47c6ab17a7ad7f8c5ce3", create["source_run_id"]!.GetValue<string>());
        var finalize = RecordedServer.BodyOf(server.Requests.Single(r => r.Method == "PATCH"))!;
        Assert.Equal("LOGGED_MODEL_READY", finalize["status"]!.GetValue<string>());
        Assert.True(paths.IndexOf(paths.Last(p => p.Contains("/models/m-", StringComparison.Ordinal))) < paths.FindIndex(p => p.StartsWith("PATCH", StringComparison.Ordinal)));
        Assert.Contains("POST /api/2.0/mlflow/runs/outputs", paths);
        Assert.Contains("POST /api/2.0/mlflow/runs/log-model", paths);
    }

    [Fact]
    public async Task On_MLflow_2_the_missing_logged_model_api_is_detected_once_and_not_an_error()
    {
        using var server = Server(mlflow3: false);
        using var client = server.CreateClient();
        await using var tracker = new Tracker(client, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false });
        using (var run = await tracker.StartRunAsync("m", new StartRunOptions { ExperimentId = "1" }))
        {
            var first = await run.LogModelAsync("weights", new TextFlavor());
            var second = await run.LogModelAsync("weights", new TextFlavor(), artifactPath: "model2");
            Assert.Null(first.LoggedModelId);
            Assert.Null(second.LoggedModelId);
        }

        Assert.Single(server.Requests, r => r.Path == "/api/2.0/mlflow/logged-models"); // asked once, remembered
        Assert.Equal(2, server.Requests.Count(r => r.Path == "/api/2.0/mlflow/runs/log-model"));
    }

    [Fact]
    public async Task The_public_create_call_answers_as_Pythons_create_logged_model_does()
    {
        using (var v3 = Server(mlflow3: true))
        using (var client = v3.CreateClient())
        {
            var model = await client.CreateLoggedModelAsync("1", "weights");
            Assert.StartsWith("m-", model.ModelId, StringComparison.Ordinal);
        }

        using var v2 = Server(mlflow3: false);
        using var old = v2.CreateClient();
        var error = await Assert.ThrowsAsync<MlflowException>(() => old.CreateLoggedModelAsync("1", "weights")); // as Python's call on 2.x
        Assert.Equal(404, error.Status);
    }
}
