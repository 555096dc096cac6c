using MlOps.Client.Tests.Fixtures;
using MlOps.Client.Tracking;
using MlOps.Client.Uploading;
using MlOps.Client.Validation;

namespace MlOps.Client.Tests.Tracking;

public class RunScopeTests
{
    private static Tracker NewTracker(FakeTrackingStore store, Action<TrackerOptions>? configure = null)
    {
        var options = new TrackerOptions { HandleProcessExit = false, WorkingDirectory = Path.GetTempPath() };
        configure?.Invoke(options);
        return new Tracker(store, options);
    }

    [Fact]
    public async Task A_run_left_normally_ends_finished_with_an_end_time_after_its_last_batch()
    {
        var store = new FakeTrackingStore();
        await using var tracker = NewTracker(store);
        string runId;
        using (var run = tracker.StartRun("normal"))
        {
            runId = run.RunId;
            run.LogMetric("loss", 0.5, 1);
            run.LogParam("lr", 0.01);
            run.SetTag("team", "ml");
        }

        var info = store.Info(runId);
        Assert.Equal(RunStatus.Finished, info.Status);
        Assert.NotNull(info.EndTime);
        var calls = store.Calls.ToArray();
        Assert.True(Array.FindLastIndex(calls, c => c.StartsWith("log-batch " + runId, StringComparison.Ordinal))
            < Array.FindIndex(calls, c => c.StartsWith("update-run " + runId, StringComparison.Ordinal)));
        Assert.Equal("0.01", store.Params(runId)["lr"]);
        Assert.Single(store.Metrics(runId));
    }

    [Fact]
    public async Task A_failed_artifact_upload_does_not_keep_the_run_from_ending_and_is_still_reported()
    {
        var store = new FakeTrackingStore();
        await using var tracker = NewTracker(store);
        var run = await tracker.StartRunAsync("upload-fails");
        run.LogMetric("m", 1);
        run.TrackPending(Task.FromException(new IOException("artifact store unreachable")));
        var error = await Assert.ThrowsAsync<IOException>(() => run.EndAsync());
        Assert.Equal("artifact store unreachable", error.Message);
        Assert.True(run.IsEnded);
        Assert.Equal(RunStatus.Finished, store.Info(run.RunId).Status);
        Assert.Equal(1, store.MetricCount(run.RunId));
    }

    [Fact]
    public async Task List_params_are_logged_as_python_prints_them()
    {
        var store = new FakeTrackingStore();
        await using var tracker = NewTracker(store);
        string runId;
        await using (var run = await tracker.StartRunAsync("lists"))
        {
            runId = run.RunId;
            run.LogParam("eval_metric", new[] { "mlogloss", "merror" });
            run.LogParam("layers", new List<object?> { 64, 0.5, true, null });
        }

        Assert.Equal("['mlogloss', 'merror']", store.Params(runId)["eval_metric"]);
        Assert.Equal("[64, 0.5, True, None]", store.Params(runId)["layers"]);
    }

    [Fact]
    public async Task A_run_left_by_an_exception_ends_failed()
    {
        var store = new FakeTrackingStore();
        await using var tracker = NewTracker(store);
        string? runId = null;
        Assert.Throws<InvalidOperationException>((Action)(() =>
        {
            using var run = tracker.StartRun("failing");
            runId = run.RunId;
            throw new InvalidOperationException("training diverged");
        }));

        Assert.Equal(RunStatus.Failed, store.Info(runId!).Status);
    }

    [Fact]
    public async Task A_run_left_by_an_exception_in_an_async_method_ends_failed()
    {
        var store = new FakeTrackingStore();
        await using var tracker = NewTracker(store);
        string? runId = null;
        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            using var run = await tracker.StartRunAsync("failing-async");
            runId = run.RunId;
            await Task.Yield();
            throw new InvalidOperationException("boom");
        });

        Assert.Equal(RunStatus.Failed, store.Info(runId!).Status);
    }

    [Fact]
    public async Task A_run_left_by_a_cancellation_ends_killed()
    {
        var store = new FakeTrackingStore();
        await using var tracker = NewTracker(store);
        string? runId = null;
        Assert.Throws<OperationCanceledException>((Action)(() =>
        {
            using var run = tracker.StartRun("cancelled");
            runId = run.RunId;
            throw new OperationCanceledException();
        }));

        Assert.Equal(RunStatus.Killed, store.Info(runId!).Status);
    }

    [Fact]
    public async Task Await_using_with_Fail_ends_failed_and_RunAsync_catches_by_itself()
    {
        var store = new FakeTrackingStore();
        await using var tracker = NewTracker(store);
        string runId;
        await using (var run = await tracker.StartRunAsync("explicit"))
        {
            runId = run.RunId;
            run.Fail(new InvalidOperationException());
        }

        Assert.Equal(RunStatus.Failed, store.Info(runId).Status);

        string? bodyRunId = null;
        await Assert.ThrowsAsync<TimeoutException>(() => tracker.RunAsync("wrapped", async run =>
        {
            bodyRunId = run.RunId;
            await Task.Yield();
            throw new TimeoutException();
        }));
        Assert.Equal(RunStatus.Failed, store.Info(bodyRunId!).Status);

        await tracker.RunAsync("ok", run => { bodyRunId = run.RunId; return Task.CompletedTask; });
        Assert.Equal(RunStatus.Finished, store.Info(bodyRunId!).Status);
    }

    [Fact]
    public async Task End_with_an_explicit_status_is_kept()
    {
        var store = new FakeTrackingStore();
        await using var tracker = NewTracker(store);
        var run = await tracker.StartRunAsync("killed");
        await run.EndAsync(RunStatus.Killed);
        run.Dispose();
        Assert.Equal(RunStatus.Killed, store.Info(run.RunId).Status);
        Assert.Equal(RunStatus.Killed, run.FinalStatus);
        Assert.Throws<InvalidOperationException>(() => run.LogMetric("late", 1));
    }

    [Fact]
    public async Task Nested_runs_get_the_parent_tag_and_the_ambient_run_flows_across_await()
    {
        var store = new FakeTrackingStore();
        await using var tracker = NewTracker(store);
        Assert.Null(Tracker.ActiveRun);
        await using var parent = await tracker.StartRunAsync("parent");
        Assert.Same(parent, Tracker.ActiveRun);
        await Task.Yield(); // continues on another thread-pool turn
        Assert.Same(parent, Tracker.ActiveRun);

        string childId;
        await using (var child = await tracker.StartRunAsync("child"))
        {
            childId = child.RunId;
            Assert.Same(parent, child.Parent);
            await Task.Yield();
            Assert.Same(child, Tracker.ActiveRun);
            await HelperSeesActiveRun(child);
        }

        Assert.Same(parent, Tracker.ActiveRun);
        Assert.Equal(parent.RunId, store.Tags(childId)[MlflowTags.ParentRunId]);
        Assert.False(store.Tags(parent.RunId).ContainsKey(MlflowTags.ParentRunId));

        static async Task HelperSeesActiveRun(RunScope expected)
        {
            await Task.Yield();
            Assert.Same(expected, Tracker.ActiveRun);
        }
    }

    [Fact]
    public async Task Runs_on_parallel_tasks_nest_under_the_common_parent_not_under_each_other()
    {
        var store = new FakeTrackingStore();
        await using var tracker = NewTracker(store);
        await using var sweep = await tracker.StartRunAsync("sweep");
        var gate = new TaskCompletionSource();
        var tasks = Enumerable.Range(0, 4).Select(i => Task.Run(async () =>
        {
            await using var trial = await tracker.StartRunAsync($"trial-{i}");
            await gate.Task; // all trials open at once
            Assert.Same(trial, Tracker.ActiveRun);
            return (trial.RunId, ParentId: trial.Parent?.RunId);
        })).ToArray();
        gate.SetResult();
        var results = await Task.WhenAll(tasks);
        Assert.All(results, r => Assert.Equal(sweep.RunId, r.ParentId));
        Assert.All(results, r => Assert.Equal(sweep.RunId, store.Tags(r.RunId)[MlflowTags.ParentRunId]));

        await using var topLevel = await tracker.StartRunAsync("independent", new StartRunOptions { Nested = false });
        Assert.Null(topLevel.Parent);
    }

    [Fact]
    public async Task System_tags_name_user_source_run_name_description_and_git_without_credentials()
    {
        var dir = Directory.CreateTempSubdirectory("mlops-git-");
        try
        {
            var git = Directory.CreateDirectory(Path.Combine(dir.FullName, ".git"));
            Directory.CreateDirectory(Path.Combine(git.FullName, "refs", "heads"));
            File.WriteAllText(Path.Combine(git.FullName, "HEAD"), "ref: refs/heads/feature/x\n");
            Directory.CreateDirectory(Path.Combine(git.FullName, "refs", "heads", "feature"));
            const string sha = "0123456789abcdef0123456789abcdef01234567";
            File.WriteAllText(Path.Combine(git.FullName, "refs", "heads", "feature", "x"), sha + "\n");
            File.WriteAllText(Path.Combine(git.FullName, "config"), "[core]\n\tbare = false\n[remote \"origin\"]\n\turl = https://user:s3cret@example.com/team/repo.git\n");
            var work = Directory.CreateDirectory(Path.Combine(dir.FullName, "src", "train"));

            var store = new FakeTrackingStore();
            await using var tracker = NewTracker(store, o => { o.WorkingDirectory = work.FullName; o.SourceName = "train.dll"; });
            await using var run = await tracker.StartRunAsync("tagged", new StartRunOptions { Description = "first try" });
            var tags = store.Tags(run.RunId);
            Assert.Equal(Environment.UserName, tags[MlflowTags.User]);
            Assert.Equal("LOCAL", tags[MlflowTags.SourceType]);
            Assert.Equal("train.dll", tags[MlflowTags.SourceName]);
            Assert.Equal("tagged", tags[MlflowTags.RunName]);
            Assert.Equal("first try", tags[MlflowTags.NoteContent]);
            Assert.Equal(sha, tags[MlflowTags.GitCommit]);
            Assert.Equal("feature/x", tags[MlflowTags.GitBranch]);
            Assert.Equal("https://example.com/team/repo.git", tags[MlflowTags.GitRepoUrl]);
            Assert.DoesNotContain(tags.Values, v => v.Contains("s3cret", StringComparison.Ordinal));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Git_commit_is_read_from_packed_refs()
    {
        var dir = Directory.CreateTempSubdirectory("mlops-git-");
        try
        {
            var git = Directory.CreateDirectory(Path.Combine(dir.FullName, ".git"));
            File.WriteAllText(Path.Combine(git.FullName, "HEAD"), "ref: refs/heads/main\n");
            const string sha = "89abcdef0123456789abcdef0123456789abcdef";
            File.WriteAllText(Path.Combine(git.FullName, "packed-refs"), "# pack-refs with: peeled fully-peeled sorted\n" + sha + " refs/heads/main\n");
            var info = GitInfo.Read(dir.FullName);
            Assert.NotNull(info);
            Assert.Equal(sha, info.Commit);
            Assert.Equal("main", info.Branch);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Experiment_is_created_by_name_when_missing_and_reused()
    {
        var store = new FakeTrackingStore();
        await using var tracker = NewTracker(store, o => o.ExperimentName = "iris");
        await using (var run = await tracker.StartRunAsync("a"))
        {
            Assert.Equal("1", run.ExperimentId);
        }

        await using var tracker2 = NewTracker(store, o => o.ExperimentName = "iris");
        await using var run2 = await tracker2.StartRunAsync("b");
        Assert.Equal("1", run2.ExperimentId);
        Assert.Single(store.Calls, c => c == "create-experiment iris");

        await using var tracker3 = NewTracker(store);
        Assert.Equal("0", await tracker3.GetExperimentIdAsync());
    }

    [Fact]
    public async Task An_experiment_name_given_as_its_id_is_said_with_the_id_to_use_before_a_run_is_created()
    {
        var dir = Directory.CreateTempSubdirectory("mlops-name-as-id-");
        try
        {
            await using var store = MlOps.Client.Stores.SqliteTrackingStore.Open("sqlite:///" + Path.Combine(dir.FullName, "mlflow.db"));
            var id = await store.CreateExperimentAsync("iris", null, null, CancellationToken.None);
            await using var tracker = new Tracker(store, new TrackerOptions { HandleProcessExit = false, ExperimentId = "iris" });
            var error = await Assert.ThrowsAsync<MlflowException>(() => tracker.StartRunAsync("a"));
            Assert.Equal(400, error.Status);
            Assert.Contains($"'iris' (TrackerOptions.ExperimentId) is an experiment's name, not its id: give the id {id}", error.Message, StringComparison.Ordinal);

            await using var unknown = new Tracker(store, new TrackerOptions { HandleProcessExit = false, ExperimentId = "nope" });
            var missing = await Assert.ThrowsAsync<MlflowException>(() => unknown.StartRunAsync("a"));
            Assert.Equal(404, missing.Status);
            Assert.Contains("No experiment with id 'nope'", missing.Message, StringComparison.Ordinal);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_deleted_experiment_is_refused_by_name_and_id_as_Python_refuses_it()
    {
        var store = new FakeTrackingStore();
        var id = await store.CreateExperimentAsync("old-iris", null, null, CancellationToken.None);
        store.DeleteExperiment(id);
        await using var byName = NewTracker(store, o => o.ExperimentName = "old-iris");
        var error = await Assert.ThrowsAsync<MlflowException>(() => byName.StartRunAsync("a"));
        Assert.Contains("Cannot set a deleted experiment 'old-iris'", error.Message, StringComparison.Ordinal);
        Assert.Contains("id " + id, error.Message, StringComparison.Ordinal);
        Assert.Contains("restore", error.Message, StringComparison.Ordinal);
        await using var byId = NewTracker(store, o => o.ExperimentId = id);
        error = await Assert.ThrowsAsync<MlflowException>(() => byId.GetExperimentIdAsync());
        Assert.Contains("'old-iris'", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(store.Calls, c => c.StartsWith("create-run", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Resuming_a_run_by_id_logs_into_it()
    {
        var store = new FakeTrackingStore();
        await using var tracker = NewTracker(store);
        var first = await tracker.StartRunAsync("first");
        await first.EndAsync();
        await using (var resumed = await tracker.StartRunAsync(null, new StartRunOptions { ResumeRunId = first.RunId }))
        {
            Assert.Equal(first.RunId, resumed.RunId);
            resumed.LogMetric("more", 2);
        }

        Assert.Equal(RunStatus.Finished, store.Info(first.RunId).Status);
        Assert.Single(store.Metrics(first.RunId));
        Assert.Contains($"update-run {first.RunId} Running", store.Calls);
    }

    [Fact]
    public async Task Params_are_formatted_like_Python_and_immutable_at_the_call_site()
    {
        var store = new FakeTrackingStore();
        await using var tracker = NewTracker(store);
        await using var run = await tracker.StartRunAsync("params");
        run.LogParams(new Dictionary<string, object?> { ["lr"] = 0.1, ["depth"] = 6, ["flag"] = true, ["none"] = null, ["rounds"] = 10.0, ["obj"] = "multi:softprob" });
        run.LogParam("depth", 6); // same value: fine, sent once
        var ex = Assert.Throws<MlflowValidationException>(() => run.LogParam("depth", 7));
        Assert.Contains("'depth'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'6'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'7'", ex.Message, StringComparison.Ordinal);
        await run.FlushAsync();
        var p = store.Params(run.RunId);
        Assert.Equal("0.1", p["lr"]);
        Assert.Equal("6", p["depth"]);
        Assert.Equal("True", p["flag"]);
        Assert.Equal("None", p["none"]);
        Assert.Equal("10.0", p["rounds"]);
        Assert.Equal("multi:softprob", p["obj"]);
    }

    [Fact]
    public async Task Bad_input_is_refused_at_the_call_site_with_the_field_length_and_limit()
    {
        var store = new FakeTrackingStore();
        await using var tracker = NewTracker(store);
        await using var run = await tracker.StartRunAsync("validation");
        var longKey = new string('k', 251);
        var ex = Assert.Throws<MlflowValidationException>(() => run.LogMetric(longKey, 1));
        Assert.Contains("251", ex.Message, StringComparison.Ordinal);
        Assert.Contains("250", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<MlflowValidationException>(() => run.LogParam("p", new string('v', 6001)));
        Assert.Contains("'p'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("6001", ex.Message, StringComparison.Ordinal);
        Assert.Contains("6000", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<MlflowValidationException>(() => run.SetTag("t", new string('v', 8001)));
        Assert.Contains("8000", ex.Message, StringComparison.Ordinal);
        Assert.Throws<MlflowValidationException>(() => run.LogMetric("bad*key", 1));
        Assert.Throws<MlflowValidationException>(() => run.LogMetric("../escape", 1));
        run.LogMetric("nan", double.NaN);
        run.LogMetric("inf", double.PositiveInfinity);
        await run.FlushAsync();
        Assert.Equal(2, store.MetricCount(run.RunId));
        Assert.Equal(0, tracker.Counters.Rejected);
    }

    [Fact]
    public async Task Datasets_are_logged_before_the_run_ends()
    {
        var store = new FakeTrackingStore();
        await using var tracker = NewTracker(store);
        string runId;
        await using (var run = await tracker.StartRunAsync("data"))
        {
            runId = run.RunId;
            run.LogInput(new Dataset { Name = "iris", Digest = "abc123", SourceType = "local", Source = "{\"uri\": \"iris.csv\"}" }, "train");
        }

        var input = Assert.Single(store.Inputs(runId));
        Assert.Equal("iris", input.Dataset.Name);
        Assert.Equal(new InputTag(MlflowTags.DatasetContext, "train"), Assert.Single(input.Tags));
        var calls = store.Calls.ToArray();
        Assert.True(Array.IndexOf(calls, "log-inputs " + runId) < Array.FindIndex(calls, c => c.StartsWith("update-run " + runId, StringComparison.Ordinal)));
    }
}
