using MlOps.Client.Stores;
using MlOps.Client.Tests.Fixtures;
using MlOps.Client.Tracking;

namespace MlOps.Client.Tests.Behaviour;

/// <summary>Behaviour a Python MLflow user expects, on recorded server bodies (issue: a public API worth freezing).</summary>
public sealed class PythonFaithfulnessTests
{
    [Fact]
    public async Task Collections_the_server_omits_come_back_empty_not_null()
    {
        using var server = new RecordedServer();
        server.Serve("043-runs-get"); // a run without metrics or params: "data" has only tags, "inputs" is {}
        using var client = server.CreateClient();
        var run = await client.GetRunAsync("e0615394aa0f4901b930c39ef92bfa3b");
        Assert.Empty(run.Data.Metrics);
        Assert.Empty(run.Data.Params);
        Assert.NotNull(run.Inputs);
        Assert.Empty(run.Inputs!.DatasetInputs);
        Assert.Equal(0, run.Data.Metrics.Count(m => m.Value > 0)); // LINQ over them works

        server.Serve("303-registered-models-get"); // no aliases, no latest_versions
        var model = await client.GetRegisteredModelAsync("tour-model");
        Assert.Empty(model.Aliases);
        Assert.Empty(model.LatestVersions);
    }

    [Fact]
    public async Task MaxResults_caps_what_a_search_returns_as_Pythons_max_results_does()
    {
        using var server = new RecordedServer();
        var p1 = RecordedExchange.Load("117-runs-search-filter-page1"); // one run and a next_page_token
        var p2 = RecordedExchange.Load("118-runs-search-filter-page2");
        server.Server.Given(WireMock.RequestBuilders.Request.Create().WithPath(p1.Path).UsingPost().WithBody((string? b) => b != null && b.Contains("\"page_token\":\"eyJvZmZzZXQiOiAxfQ==\"", StringComparison.Ordinal)))
            .AtPriority(1).RespondWith(WireMock.ResponseBuilders.Response.Create().WithHeader("Content-Type", "application/json").WithBody(p2.Body));
        server.Serve(p1, priority: 20);
        using var client = server.CreateClient();

        var one = new SearchRunsOptions { Filter = "metrics.acc > 0.5", MaxResults = 1, ExperimentIds = { "1" } };
        one.OrderBy.Add("metrics.acc DESC");
        var runs = new List<Run>();
        await foreach (var run in client.SearchRunsAsync(one))
        {
            runs.Add(run);
        }

        Assert.Single(runs); // the server said there were more: max_results = 1 still returns one
        var request = Assert.Single(server.Requests);
        Assert.Equal(1, RecordedServer.BodyOf(request)!["max_results"]!.GetValue<int>());

        var two = new SearchRunsOptions { Filter = "metrics.acc > 0.5", MaxResults = 2, PageSize = 1000, ExperimentIds = { "1" } };
        two.OrderBy.Add("metrics.acc DESC");
        var count = 0;
        await foreach (var run in client.SearchRunsAsync(two))
        {
            count++;
        }

        Assert.Equal(2, count);
        Assert.Equal([1, 2, 1], server.Requests.Select(r => RecordedServer.BodyOf(r)!["max_results"]!.GetValue<int>())); // never more than what is left
        Assert.Throws<ArgumentOutOfRangeException>(() => new SearchRunsOptions { MaxResults = 0 });
    }

    [Fact]
    public async Task An_empty_run_name_means_generate_one_as_in_Pythons_start_run()
    {
        using var server = new RecordedServer();
        server.Serve("040-runs-create");
        using var client = server.CreateClient();
        var options = new CreateRunOptions { RunName = "" };
        options.Tags[MlflowTags.RunName] = "";
        await client.CreateRunAsync("1", options);
        var body = RecordedServer.BodyOf(server.SingleRequest())!;
        Assert.Null(body["run_name"]); // not sent: the server generates the name (an empty tag next to it broke the insert)
        Assert.Null(body["tags"]);

        var dir = Directory.CreateTempSubdirectory("mlops-runname-");
        try
        {
            await using (var store = SqliteTrackingStore.Open("sqlite:///" + Path.Combine(dir.FullName, "mlflow.db")))
            await using (var tracker = new Tracker(store, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false }))
            {
                await using var run = await tracker.StartRunAsync("");
                Assert.False(string.IsNullOrEmpty(run.Name));
                Assert.Equal(run.Name, (await store.GetRunAsync(run.RunId, default)).Data.GetTag(MlflowTags.RunName));
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Dataset_inputs_reach_the_store_one_after_the_other_in_call_order()
    {
        var store = new FakeTrackingStore();
        var firstHeld = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        store.InputGate = () => Interlocked.Increment(ref calls) == 1 ? firstHeld.Task : Task.CompletedTask; // the first call is held
        await using var tracker = new Tracker(store, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false });
        await using (var run = await tracker.StartRunAsync("inputs"))
        {
            var iris = new Dataset { Name = "iris", Digest = "abc123", SourceType = "local", Source = "{}" };
            run.LogInput(iris, context: "train");
            run.LogInput(iris, context: "eval"); // sent concurrently, this one would have overtaken the held first one
            firstHeld.SetResult();
            await run.FlushAsync();
            Assert.False(store.ConcurrentInputs);
            var contexts = store.InputsOf(run.RunId)
                .Select(i => i.Tags.Single(t => t.Key == MlflowTags.DatasetContext).Value);
            Assert.Equal(["train", "eval"], contexts); // in call order: a server keeps the first ("train"), as for Python
        }
    }

    [Fact]
    public async Task Logging_takes_any_dictionary_anonymous_objects_and_non_string_tags_formatted_as_Python()
    {
        var dir = Directory.CreateTempSubdirectory("mlops-typing-");
        try
        {
            await using var store = SqliteTrackingStore.Open("sqlite:///" + Path.Combine(dir.FullName, "mlflow.db"));
            await using var tracker = new Tracker(store, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false });
            string runId;
            await using (var run = await tracker.StartRunAsync("typing"))
            {
                runId = run.RunId;
                run.LogParams(new Dictionary<string, double> { ["lr"] = 1e-5, ["big"] = 1e16 });
                run.LogParams(new Dictionary<string, object> { ["optimizer"] = "adam", ["layers"] = new[] { 64, 32 } });
                run.LogParams(MlflowValues.From(new { depth = 6, shuffle = true, seed = (int?)null }));
                run.SetTag("ready", true);
                run.SetTags(new Dictionary<string, int> { ["epochs"] = 10 });
                await run.LogDictionaryAsync(new Dictionary<string, object?> { ["lr"] = 0.1, ["layers"] = new[] { 64, 32 }, ["name"] = null }, "config.json");
            }

            var logged = await store.GetRunAsync(runId, default);
            string? Param(string key) => logged.Data.Params.SingleOrDefault(p => p.Key == key)?.Value;
            Assert.Equal("1e-05", Param("lr"));            // Python: str(1e-05); .NET would write 1E-05
            Assert.Equal("1e+16", Param("big"));
            Assert.Equal("[64, 32]", Param("layers"));
            Assert.Equal("6", Param("depth"));
            Assert.Equal("True", Param("shuffle"));
            Assert.Equal("None", Param("seed"));
            Assert.Equal("True", logged.Data.GetTag("ready"));
            Assert.Equal("10", logged.Data.GetTag("epochs"));
            var artifact = Path.Combine(new Uri(logged.Info.ArtifactUri!).LocalPath, "config.json");
            var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(artifact))!;
            Assert.Equal(0.1, json["lr"]!.GetValue<double>());
            Assert.Equal(2, json["layers"]!.AsArray().Count);
            Assert.Null(json["name"]);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_tracker_keeps_its_own_copy_of_the_options_it_was_built_with()
    {
        var options = new TrackerOptions { HandleProcessExit = false, SetSystemTags = false, ExperimentName = "first" };
        options.Uploader.MaxBatchDelay = TimeSpan.FromSeconds(1);
        await using var tracker = new Tracker(new FakeTrackingStore(), options);
        options.ExperimentName = "changed later";
        options.Uploader.MaxBatchDelay = TimeSpan.FromSeconds(9);
        options.Uploader.Spool.Enabled = true;
        Assert.Equal("first", tracker.Options.ExperimentName);
        Assert.Equal(TimeSpan.FromSeconds(1), tracker.Options.Uploader.MaxBatchDelay);
        Assert.NotSame(options.Uploader.Spool, tracker.Options.Uploader.Spool);
    }

    [Fact]
    public void A_client_keeps_its_own_copy_of_its_options()
    {
        var options = new MlflowClientOptions { TrackingUri = "http://127.0.0.1:5999", RequestTimeout = TimeSpan.FromSeconds(7) };
        options.Retry.MaxRetries = 2;
        using var client = new MlflowClient(options);
        options.TrackingUri = "http://127.0.0.1:1";
        options.Retry.MaxRetries = 9;
        Assert.Equal("http://127.0.0.1:5999", client.Options.TrackingUri);
        Assert.Equal(2, client.Options.Retry.MaxRetries);
        Assert.Equal(TimeSpan.FromSeconds(7), client.Options.RequestTimeout);
    }
}
