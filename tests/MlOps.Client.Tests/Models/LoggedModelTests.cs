using System.Text.Json.Nodes;
using MlOps.Client.Models;
using MlOps.Client.Tests.Fixtures;
using MlOps.Client.Tracking;
using WireMock.Matchers;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace MlOps.Client.Tests.Models;

/// <summary>LogModelAsync on MLflow 2 (history tag only; MLflow 3 is in <see cref="LoggedModelSequenceTests"/>) and the public create call.</summary>
public class LoggedModelTests
{
    private static RecordedServer Server(bool mlflow3)
    {
        var server = new RecordedServer();
        server.ServeV3("012-runs-create");
        server.ServeV3("100-runs-update-finished");
        server.ServeV3("066-runs-get-with-model");
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
        var puts = server.Requests.Where(r => r.Method == "PUT").Select(r => r.Path).ToList();
        Assert.Contains(puts, p => p.EndsWith("/artifacts/model/MLmodel", StringComparison.Ordinal)); // 2.x: in the run's artifacts
        Assert.Contains(puts, p => p.EndsWith("/artifacts/model2/model.txt", StringComparison.Ordinal));
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
