using MlOps.Client.Tracking;

namespace MlOps.Client.Tests.Integration;

/// <summary>Runs only when <c>MLFLOW_INTEGRATION_URI</c> names a real MLflow 3.x server (a 2.x server has no logged models).</summary>
public sealed class IntegrationV3FactAttribute : FactAttribute
{
    public IntegrationV3FactAttribute()
    {
        var uri = Environment.GetEnvironmentVariable("MLFLOW_INTEGRATION_URI");
        if (string.IsNullOrEmpty(uri))
        {
            Skip = "Set MLFLOW_INTEGRATION_URI to a real MLflow 3.x server to run it.";
            return;
        }

        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var version = http.GetStringAsync(uri.TrimEnd('/') + "/version").GetAwaiter().GetResult();
            if (!version.StartsWith("3.", StringComparison.Ordinal))
            {
                Skip = $"MLFLOW_INTEGRATION_URI is MLflow {version}, which has no logged-model API.";
            }
        }
        catch (HttpRequestException ex)
        {
            Skip = "MLFLOW_INTEGRATION_URI does not answer /version: " + ex.Message;
        }
    }
}

/// <summary>MLflow 3 logged models against a real 3.x server (opt-in: <c>MLFLOW_INTEGRATION_URI</c>; skipped inside on 2.x).</summary>
public sealed class RealServerLoggedModelTests
{
    [IntegrationV3Fact]
    public async Task Create_tag_get_search_and_delete_a_logged_model()
    {
        var uri = Environment.GetEnvironmentVariable("MLFLOW_INTEGRATION_URI")!;
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = uri });
        var experimentId = await client.CreateExperimentAsync("logged-models-" + Guid.NewGuid().ToString("N")[..8]);
        var created = await client.CreateLoggedModelAsync(experimentId, "weights", modelType: "Classifier");
        await client.SetLoggedModelTagsAsync(created.ModelId, new Dictionary<string, string> { ["stage"] = "candidate" });
        await client.FinalizeLoggedModelAsync(created.ModelId);
        var got = await client.GetLoggedModelAsync(created.ModelId);
        Assert.Equal("candidate", got.GetTag("stage"));
        Assert.Equal("LOGGED_MODEL_READY", got.Status);
        var query = new SearchLoggedModelsOptions { ExperimentIds = { experimentId }, Filter = "name = 'weights'" };
        var found = new List<LoggedModel>();
        await foreach (var m in client.SearchLoggedModelsAsync(query))
        {
            found.Add(m);
        }

        Assert.Equal(created.ModelId, Assert.Single(found).ModelId);
        await client.DeleteLoggedModelTagAsync(created.ModelId, "stage");
        Assert.Null((await client.GetLoggedModelAsync(created.ModelId)).GetTag("stage"));
        await client.DeleteLoggedModelAsync(created.ModelId);
    }

    [IntegrationV3Fact]
    public async Task The_uploader_s_log_batch_written_from_rows_is_taken_with_links_and_non_finite_values()
    {
        // Issue V: the uploader writes log-batch bodies from its rows; a real 3.x server takes them as it took Metric objects.
        var uri = Environment.GetEnvironmentVariable("MLFLOW_INTEGRATION_URI")!;
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = uri });
        var experimentId = await client.CreateExperimentAsync("rows-" + Guid.NewGuid().ToString("N")[..8]);
        var model = await client.CreateLoggedModelAsync(experimentId, "weights");
        string runId;
        await using (var tracker = new Tracker(client, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false }))
        {
            using var run = await tracker.StartRunAsync("rows", new StartRunOptions { ExperimentId = experimentId });
            runId = run.RunId;
            for (var i = 0; i < 2500; i++)
            {
                run.LogMetric("loss", 1.0 / (i + 1), i);
            }

            run.LogMetric("weird", double.NaN, 0);
            run.LogMetric("weird", double.PositiveInfinity, 1);
            run.LogMetric("weird", double.NegativeInfinity, 2);
            run.LogMetric("accuracy", 0.93, 2, model.ModelId, new Dataset { Name = "iris-test", Digest = "b90c1eab" });
            run.LogParam("max_depth", 6);
            await run.EndAsync();
        }

        Assert.Equal(RunStatus.Finished, (await client.GetRunAsync(runId)).Info.Status);
        Assert.Equal(2500, (await client.GetMetricHistoryAsync(runId, "loss")).Count);
        var weird = (await client.GetMetricHistoryAsync(runId, "weird")).OrderBy(m => m.Step).Select(m => m.Value).ToList();
        Assert.True(double.IsNaN(weird[0]));
        Assert.Equal(double.MaxValue, weird[1]); // MLflow's SQL store keeps ±Infinity as ±max float
        Assert.Equal(double.MinValue, weird[2]);
        var linked = Assert.Single((await client.GetLoggedModelAsync(model.ModelId)).Metrics, m => m.Key == "accuracy");
        Assert.Equal((0.93, 2L, "iris-test", "b90c1eab", runId), (linked.Value, linked.Step, linked.DatasetName, linked.DatasetDigest, linked.RunId));
    }
}
