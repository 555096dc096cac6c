using MlOps.Client.Sweeps;
using MlOps.Client.Stores;
using MlOps.Client.Tracking;

namespace MlOps.Client.Tests.Sweeps;

/// <summary>Sweeps as nested runs: trials, nesting, the parallel bound, failed trials, the best trial, seeds, cancellation.</summary>
public sealed class SweepTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-sweep-");
    private int _databases;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    /// <summary>The embedded store (what the sample uses): runs read back as MLflow would show them.</summary>
    private SqliteTrackingStore OpenStore() => SqliteTrackingStore.Open("sqlite:///" + Path.Combine(_dir.FullName, $"db{Interlocked.Increment(ref _databases)}.db"));

    private static Tracker NewTracker(ITrackingStore store) => new(store, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false, ExperimentId = "0" });

    private static async Task<IReadOnlyList<Run>> AllRuns(ITrackingStore store) =>
        (await store.SearchRunsPageAsync(new SearchRunsOptions { ExperimentIds = { "0" } }, null, default)).Values;

    private static readonly SearchSpace Space = new()
    {
        ["eta"] = ParameterDistribution.LogUniform(0.01, 1),
        ["max_depth"] = ParameterDistribution.IntRange(2, 8),
        ["booster"] = ParameterDistribution.Choice("gbtree", "dart"),
    };

    [Fact]
    public async Task A_random_sweep_runs_its_trials_as_children_and_records_the_best_on_the_parent()
    {
        await using var store = OpenStore();
        await using var tracker = NewTracker(store);
        var result = await tracker.SweepAsync(Space, (run, p, ct) => Task.FromResult(Math.Abs(Math.Log10((double)p["eta"]) + 1) + ((int)p["max_depth"] / 100.0)),
            new SweepOptions { Tuner = new RandomTuner(Space, 12, seed: 7), Metric = "loss", MaxParallelTrials = 3 });

        Assert.Equal(12, result.Trials.Count);
        Assert.Equal(Enumerable.Range(0, 12), result.Trials.Select(t => t.Number));
        var parent = await store.GetRunAsync(result.ParentRunId, default);
        foreach (var trial in result.Trials)
        {
            var child = await store.GetRunAsync(trial.RunId, default);
            Assert.Equal(result.ParentRunId, child.Data.GetTag(MlflowTags.ParentRunId));
            Assert.Equal(RunStatus.Finished, child.Info.Status);
            Assert.Equal(trial.Value, child.Data.Metrics.Single(m => m.Key == "loss").Value);
            Assert.Equal(MlOps.Client.Formatting.PythonFormat.Value(trial.Parameters["eta"]), child.Data.GetParam("eta"));
        }

        var best = result.Trials.MinBy(t => t.Value)!;
        Assert.Same(best, result.Best);
        Assert.Equal(best.RunId, parent.Data.GetTag("best_trial_run_id"));
        Assert.Equal(best.Number.ToString(System.Globalization.CultureInfo.InvariantCulture), parent.Data.GetTag("best_trial_number"));
        Assert.Equal(best.Value, parent.Data.Metrics.Single(m => m.Key == "loss").Value);
        Assert.Equal(MlOps.Client.Formatting.PythonFormat.Value(best.Parameters["max_depth"]), parent.Data.GetParam("max_depth"));
        Assert.Equal(RunStatus.Finished, parent.Info.Status);
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_trials_whatever_the_parallelism()
    {
        async Task<List<string>> Trials(int parallel)
        {
            await using var store = OpenStore();
            await using var tracker = NewTracker(store);
            var result = await tracker.SweepAsync(Space, async (run, p, ct) => { await Task.Yield(); return (double)p["eta"]; },
                new SweepOptions { Tuner = new RandomTuner(Space, 10, seed: 42), MaxParallelTrials = parallel });
            return [.. result.Trials.Select(t => string.Join(";", t.Parameters.Select(p => $"{p.Key}={p.Value}")))];
        }

        var sequential = await Trials(1);
        Assert.Equal(sequential, await Trials(4));
        Assert.Equal(10, sequential.Distinct().Count());
    }

    [Fact]
    public async Task No_more_trials_than_the_bound_run_at_once()
    {
        await using var store = OpenStore();
        await using var tracker = NewTracker(store);
        var current = 0;
        var peak = 0;
        var result = await tracker.SweepAsync(new SearchSpace { ["x"] = ParameterDistribution.IntRange(1, 12) }, async (run, p, ct) =>
        {
            var now = Interlocked.Increment(ref current);
            InterlockedMax(ref peak, now);
            await Task.Delay(20, ct); // overlapping trials, bounded below
            Interlocked.Decrement(ref current);
            return (int)p["x"];
        }, new SweepOptions { MaxParallelTrials = 3, Goal = SweepGoal.Maximize });

        Assert.Equal(12, result.Trials.Count); // the grid: 12 values
        Assert.InRange(peak, 2, 3);
        Assert.Equal(12, result.Best!.Value);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    [Fact]
    public async Task A_failing_trial_is_a_FAILED_child_and_the_sweep_goes_on()
    {
        await using var store = OpenStore();
        await using var tracker = NewTracker(store);
        var result = await tracker.SweepAsync(new SearchSpace { ["x"] = ParameterDistribution.Choice(1, 2, 3, 4) }, (run, p, ct) =>
            (int)p["x"] == 2 ? throw new InvalidOperationException("diverged") : Task.FromResult((double)(int)p["x"]));

        Assert.Equal(4, result.Trials.Count);
        var failed = result.Trials.Single(t => t.Status == RunStatus.Failed);
        Assert.Equal((2, null), ((int)failed.Parameters["x"], failed.Value));
        var child = await store.GetRunAsync(failed.RunId, default);
        Assert.Equal(RunStatus.Failed, child.Info.Status);
        Assert.Equal("InvalidOperationException: diverged", child.Data.GetTag("error"));
        Assert.Equal(1, result.Best!.Parameters["x"]);
        var parent = await store.GetRunAsync(result.ParentRunId, default);
        Assert.Equal(("4", "1"), (parent.Data.GetTag("sweep_trials"), parent.Data.GetTag("sweep_failed_trials")));
    }

    [Fact]
    public async Task Cancelling_kills_the_running_trials_and_the_parent_and_launches_no_more()
    {
        await using var store = OpenStore();
        await using var tracker = NewTracker(store);
        using var cts = new CancellationTokenSource();
        var started = 0;
        var sweep = tracker.SweepAsync(new SearchSpace { ["x"] = ParameterDistribution.IntRange(1, 50) }, async (run, p, ct) =>
        {
            if (Interlocked.Increment(ref started) == 2)
            {
                await cts.CancelAsync();
            }

            await Task.Delay(Timeout.Infinite, ct);
            return 0;
        }, new SweepOptions { MaxParallelTrials = 2 }, cts.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sweep.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.InRange(started, 2, 3);
        var runs = await AllRuns(store);
        Assert.Contains(runs, r => r.Data.GetTag(MlflowTags.ParentRunId) is null && r.Info.Status == RunStatus.Killed);
        Assert.All(runs.Where(r => r.Data.GetTag(MlflowTags.ParentRunId) is not null), r => Assert.Equal(RunStatus.Killed, r.Info.Status));
    }

    [Fact]
    public void A_grid_needs_choices_or_integers_and_distributions_check_their_bounds()
    {
        Assert.Equal(7 * 2, new GridTuner(new SearchSpace { ["d"] = ParameterDistribution.IntRange(2, 8), ["b"] = ParameterDistribution.Choice("a", "b") }).Count);
        var error = Assert.Throws<ArgumentException>(() => new GridTuner(Space));
        Assert.Contains("'eta'", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => ParameterDistribution.LogUniform(0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ParameterDistribution.IntRange(5, 1));
        Assert.Throws<ArgumentException>(() => ParameterDistribution.Choice());
        var random = new Random(1);
        Assert.All(Enumerable.Range(0, 200).Select(_ => (double)ParameterDistribution.LogUniform(0.01, 1).Sample(random)), v => Assert.InRange(v, 0.01, 1));
        Assert.All(Enumerable.Range(0, 200).Select(_ => (int)ParameterDistribution.IntRange(2, 10, 4).Sample(random)), v => Assert.Contains(v, new[] { 2, 6, 10 }));
    }
}
