using MlOps.Client.Stores;
using MlOps.Client.Tracking;

namespace MlOps.Client.Tests.Integration;

/// <summary>The Python-faithful behaviours, answered by a real MLflow server (opt-in: <c>MLFLOW_INTEGRATION_URI</c>).</summary>
public sealed class RealServerPythonFaithfulnessTests
{
    [IntegrationFact]
    public async Task A_real_server_stores_what_Python_would_and_finds_it_with_Pythons_filters()
    {
        var options = new MlflowClientOptions { TrackingUri = Environment.GetEnvironmentVariable("MLFLOW_INTEGRATION_URI") };
        using var client = new MlflowClient(options);
        var experiment = "python-faithful-" + Guid.NewGuid().ToString("N")[..8];
        await using var tracker = new Tracker(new RestTrackingStore(client), new TrackerOptions { ExperimentName = experiment, HandleProcessExit = false });
        string first;
        await using (var run = await tracker.StartRunAsync("")) // Python's start_run(run_name=""): a generated name
        {
            first = run.RunId;
            Assert.False(string.IsNullOrEmpty(run.Name));
            run.LogParam("lr", 1e-5);
            run.LogMetric("x²", 1);            // Python's \w accepts it, and so does the server
        }

        await using (var second = await tracker.StartRunAsync("second"))
        {
            second.LogParam("lr", 0.1);
        }

        var experimentId = await tracker.GetExperimentIdAsync();
        var query = new SearchRunsOptions { ExperimentIds = { experimentId }, Filter = "params.lr = '1e-05'" };
        var found = new List<Run>();
        await foreach (var r in client.SearchRunsAsync(query))
        {
            found.Add(r);
        }

        Assert.Equal(first, Assert.Single(found).Info.RunId); // the filter a Python user writes finds the C# run
        Assert.Contains(found[0].Data.Metrics, m => m.Key == "x²");

        var one = new SearchRunsOptions { ExperimentIds = { experimentId }, MaxResults = 1 };
        one.OrderBy.Add("attributes.start_time DESC");
        var count = 0;
        await foreach (var r in client.SearchRunsAsync(one))
        {
            count++;
        }

        Assert.Equal(1, count);
    }
}
