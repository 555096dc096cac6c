using MlOps.Client.Projects;
using MlOps.Client.Stores;
using MlOps.Client.Sweeps;
using MlOps.Client.Tracking;

namespace MlOps.Client.Tests.Projects;

/// <summary>Sweeps whose trials are project runs: each a child run of the sweep, its value the metric its command logged.</summary>
public sealed class SweepProjectTests : IAsyncLifetime
{
    private static readonly string Host = Path.Combine(AppContext.BaseDirectory, "MlOps.Client.Tests.ProcessHost.dll");
    private readonly string _root = Directory.CreateTempSubdirectory("mlops-sweep-projects-").FullName;
    private Tracker _tracker = null!;

    public Task InitializeAsync()
    {
        _tracker = new Tracker(TrackingStores.Open(new MlflowClientOptions { TrackingUri = "sqlite:///" + Path.Combine(_root, "mlflow.db") }), new TrackerOptions { ExperimentName = "sweep", HandleProcessExit = false });
        File.WriteAllText(Path.Combine(_root, "MLproject"), $$"""
            name: objective
            entry_points:
              main:
                parameters:
                  x: float
                command: "dotnet '{{Host}}' objective {x}"
            """);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        var store = _tracker.Store;
        await _tracker.DisposeAsync();
        await store.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task Each_trial_is_a_child_project_run_and_the_best_is_the_smallest_logged_metric()
    {
        var space = new SearchSpace { ["x"] = ParameterDistribution.Choice(0.5, 2.0, 3.0, "fail") };
        var output = new StringWriter();

        var result = await _tracker.SweepProjectAsync(
            space,
            new ProjectRunOptions { Uri = _root, Backend = new LocalProjectBackend(output, output), RecordDvcDigests = false },
            new SweepOptions { Metric = "objective", MaxParallelTrials = 2 }).WaitAsync(TimeSpan.FromMinutes(3));

        Assert.Equal(4, result.Trials.Count);
        Assert.Equal(2.0, result.Best!.Parameters["x"]);
        Assert.Equal(0.0, result.Best.Value);
        Assert.Equal([2.25, 0.0, 1.0], result.Trials.Take(3).Select(t => t.Value!.Value));
        var failed = result.Trials[3];
        Assert.Equal(RunStatus.Failed, failed.Status); // the command exited 3
        foreach (var trial in result.Trials)
        {
            var run = await _tracker.Store.GetRunAsync(trial.RunId, CancellationToken.None);
            var tags = run.Data.Tags.ToDictionary(t => t.Key, t => t.Value);
            Assert.Equal(result.ParentRunId, tags["mlflow.parentRunId"]);
            Assert.Equal("PROJECT", tags["mlflow.source.type"]);
            Assert.Equal($"trial-{trial.Number}", run.Info.RunName);
            Assert.Equal(trial.Status, run.Info.Status);
        }

        var parent = await _tracker.Store.GetRunAsync(result.ParentRunId, CancellationToken.None);
        Assert.Equal("1", parent.Data.Tags.Single(t => t.Key == "sweep_failed_trials").Value);
    }
}
