using MlOps.Client.Stores;
using MlOps.Client.Tracking;

namespace MlOps.Client.Tests.Tracking;

/// <summary>The module-level API of Python (<c>mlflow.log_metric</c> with no run object) over one tracker.</summary>
public sealed class FluentFacadeTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-fluent-");

    public void Dispose()
    {
        Mlflow.Reset();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    [Fact]
    public async Task Logging_without_a_run_starts_one_in_the_set_experiment_and_end_run_finishes_it_as_Python_does()
    {
        await using var store = SqliteTrackingStore.Open("sqlite:///" + Path.Combine(_dir.FullName, "mlflow.db"));
        await using var tracker = new Tracker(store, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false });
        Mlflow.Tracker = tracker;
        var experiment = await Mlflow.SetExperimentAsync("fluent");
        Assert.Null(Mlflow.ActiveRun);

        Mlflow.LogParam("lr", 0.1);
        Mlflow.LogMetric("loss", 0.5, step: 1);
        Mlflow.LogMetrics(new Dictionary<string, double> { ["acc"] = 0.9 });
        Mlflow.SetTag("team", "vision");
        var run = Assert.IsType<RunScope>(Mlflow.ActiveRun);
        Task<RunScope?> otherFlow;
        using (ExecutionContext.SuppressFlow()) // a notebook's next cell: another async flow, the same run
        {
            otherFlow = Task.Run<RunScope?>(() =>
            {
                Assert.Null(Tracker.ActiveRun);
                Mlflow.LogMetric("other_flow", 1);
                return Mlflow.ActiveRun;
            });
        }

        Assert.Same(run, await otherFlow);
        Assert.Equal(experiment.ExperimentId, run.ExperimentId);
        Mlflow.EndRun();
        Assert.Null(Mlflow.ActiveRun);
        Assert.Same(run, Mlflow.LastActiveRun);
        await tracker.FlushAsync();

        var logged = await store.GetRunAsync(run.RunId, default);
        Assert.Equal(RunStatus.Finished, logged.Info.Status);
        Assert.Equal("0.1", logged.Data.Params.Single(p => p.Key == "lr").Value);
        Assert.Equal(["acc", "loss", "other_flow"], logged.Data.Metrics.Select(m => m.Key).Order());
        Assert.Equal("vision", logged.Data.GetTag("team"));

        using (var parent = Mlflow.StartRun("parent"))
        {
            Mlflow.LogMetric("x", 1); // goes to the active run, no new run
            Assert.Same(parent, Mlflow.ActiveRun);
        }

        Mlflow.EndRun(); // nothing active: nothing happens, as Python's end_run

        var other = Path.Combine(_dir.FullName, "other.db");
        Mlflow.SetTrackingUri("sqlite:///" + other); // as mlflow.set_tracking_uri: later calls go there
        await using (Mlflow.Tracker)
        {
            Assert.NotSame(tracker, Mlflow.Tracker);
            Assert.Contains("other.db", Mlflow.Tracker.Store.Uri, StringComparison.Ordinal);
        }
    }
}
