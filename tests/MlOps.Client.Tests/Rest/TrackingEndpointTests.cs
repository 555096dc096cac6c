using System.Text.Json.Nodes;
using MlOps.Client.Tests.Fixtures;

namespace MlOps.Client.Tests.Rest;

/// <summary>Each experiments/runs endpoint against the answer a real MLflow 2.22 server gave.</summary>
public class TrackingEndpointTests
{
    private const string RunId = "e0615394aa0f4901b930c39ef92bfa3b";

    private static async Task<T> Call<T>(string exchange, Func<MlflowClient, Task<T>> call, string[]? ignoreQuery = null, string[]? allowExtraFields = null)
    {
        using var server = new RecordedServer();
        var recorded = server.Serve(exchange);
        using var client = server.CreateClient();
        var result = await call(client);
        RequestAssert.MatchesRecorded(recorded, server.SingleRequest(), ignoreQuery, allowExtraFields);
        return result;
    }

    private static Task Call(string exchange, Func<MlflowClient, Task> call, string[]? ignoreQuery = null, string[]? allowExtraFields = null) =>
        Call<bool>(exchange, async c => { await call(c); return true; }, ignoreQuery, allowExtraFields);

    private static DateTimeOffset Ms(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    [Fact]
    public async Task Experiments()
    {
        Assert.Equal("1", await Call("010-experiments-create", c => c.CreateExperimentAsync("tour-experiment", tags: new Dictionary<string, string> { ["team"] = "ml" })));
        Assert.Equal("2", await Call("013-experiments-create-artifact-location", c => c.CreateExperimentAsync("tour-experiment-custom-location", "mlflow-artifacts:/custom-root")));
        var e = await Call("014-experiments-get", c => c.GetExperimentAsync("1"));
        Assert.Equal(("tour-experiment", "active", 1795382460121L), (e.Name, e.LifecycleStage, e.CreationTime!.Value));
        Assert.Equal(new ExperimentTag("team", "ml"), Assert.Single(e.Tags));
        Assert.Equal("1", (await Call("017-experiments-get-by-name", c => c.GetExperimentByNameAsync("tour-experiment"))).ExperimentId);
        Assert.Null(await Call("018-experiments-get-by-name-missing", c => c.FindExperimentByNameAsync("tour-no-such")));
        await Call("026-experiments-update", c => c.UpdateExperimentAsync("1", "tour-experiment-renamed"));
        await Call("027-experiments-set-tag", c => c.SetExperimentTagAsync("1", "mlflow.note.content", "tour experiment"));
        await Call("028-experiments-delete", c => c.DeleteExperimentAsync("1"));
        Assert.Equal("deleted", (await Call("029-experiments-get-deleted", c => c.GetExperimentAsync("1"))).LifecycleStage);
        await Call("032-experiments-restore", c => c.RestoreExperimentAsync("1"));
        var deleted = await Call("030-experiments-search-deleted-only", c => c.SearchExperimentsPageAsync(new SearchExperimentsOptions { ViewType = ViewType.DeletedOnly, MaxResults = 5 }));
        Assert.All(deleted.Values, x => Assert.Equal("deleted", x.LifecycleStage));
    }

    [Fact]
    public async Task Search_experiments_follows_the_page_token()
    {
        using var server = new RecordedServer();
        var p1 = RecordedExchange.Load("020-experiments-search-page1");
        var p2 = RecordedExchange.Load("021-experiments-search-page2");
        server.Server.Given(WireMock.RequestBuilders.Request.Create().WithPath(p1.Path).UsingPost().WithBody((string? b) => b != null && b.Contains("\"page_token\":\"eyJvZmZzZXQiOiAxfQ==\"", StringComparison.Ordinal)))
            .AtPriority(1).RespondWith(WireMock.ResponseBuilders.Response.Create().WithHeader("Content-Type", "application/json").WithBody(p2.Body));
        server.Serve(p1, priority: 20);
        using var client = server.CreateClient();
        var query = new SearchExperimentsOptions { Filter = "name LIKE 'tour%'", PageSize = 1, ViewType = ViewType.ActiveOnly };
        query.OrderBy.Add("name ASC");
        // The recorded second page points at a third one, which was not recorded: take two pages.
        var pages = new List<MlflowPage<Experiment>>();
        await foreach (var page in client.SearchExperimentsAsync(query).AsPages())
        {
            pages.Add(page);
            if (pages.Count == 2)
            {
                break;
            }
        }

        Assert.Equal("eyJvZmZzZXQiOiAxfQ==", pages[0].NextPageToken);
        Assert.Equal("eyJvZmZzZXQiOiAyfQ==", pages[1].NextPageToken);
        Assert.Equal(2, server.Requests.Count);
        RequestAssert.MatchesRecorded(p1, server.Requests[0], allowExtraFields: ["view_type"]);
        RequestAssert.MatchesRecorded(p2, server.Requests[1], allowExtraFields: ["view_type"]);
    }

    [Fact]
    public async Task Runs_create_get_update_delete_restore()
    {
        var options = new CreateRunOptions { RunName = "tour-run-1", StartTime = Ms(1795382460799) };
        var recordedTags = RecordedExchange.Load("040-runs-create").RequestJson!["tags"]!.AsArray();
        foreach (var t in recordedTags)
        {
            options.Tags[t!["key"]!.GetValue<string>()] = t["value"]!.GetValue<string>();
        }

        var run = await Call("040-runs-create", c => c.CreateRunAsync("1", options));
        Assert.Equal((RunId, "1", RunStatus.Running), (run.Info.RunId, run.Info.ExperimentId, run.Info.Status));
        Assert.Equal($"mlflow-artifacts:/1/{RunId}/artifacts", run.Info.ArtifactUri);

        var got = await Call("043-runs-get", c => c.GetRunAsync(RunId), ignoreQuery: ["run_uuid"]);
        Assert.Equal("tour", got.Data.GetTag("mlflow.user"));
        var info = await Call("108-runs-update-failed", c => c.UpdateRunAsync("436b175b673d441d8828e504188f310d", RunStatus.Failed, Ms(1795382461469)), allowExtraFields: ["run_uuid"]);
        Assert.Equal(RunStatus.Failed, info.Status);
        info = await Call("111-runs-update-killed", c => c.UpdateRunAsync("d14efa2ee16947d086eb0c94d626b896", RunStatus.Killed, Ms(1795382461498)), allowExtraFields: ["run_uuid"]);
        Assert.Equal(RunStatus.Killed, info.Status);
        info = await Call("115-runs-update-finished-rename", c => c.UpdateRunAsync(RunId, RunStatus.Finished, Ms(1795382461541), "tour-run-1-final"), allowExtraFields: ["run_uuid"]);
        Assert.Equal(("tour-run-1-final", 1795382461541L), (info.RunName, info.EndTime!.Value));
        await Call("126-runs-delete", c => c.DeleteRunAsync("436b175b673d441d8828e504188f310d"));
        Assert.Equal("deleted", (await Call("127-runs-get-deleted", c => c.GetRunAsync("436b175b673d441d8828e504188f310d"), ignoreQuery: ["run_uuid"])).Info.LifecycleStage);
        await Call("129-runs-restore", c => c.RestoreRunAsync("436b175b673d441d8828e504188f310d"));
    }

    [Fact]
    public async Task Logging_endpoints_send_what_the_server_expects()
    {
        await Call("046-runs-log-metric-step-0", c => c.LogMetricAsync(RunId, "loss", 0.9, 0, Ms(1795382460875)), allowExtraFields: ["run_uuid"]);
        await Call("050-runs-log-metric-step-4", c => c.LogMetricAsync(RunId, "loss", 0.25, 4, Ms(1795382460915)), allowExtraFields: ["run_uuid"]);
        await Call("051-runs-log-metric-nan-string", c => c.LogMetricAsync(RunId, "weird", double.NaN, 0, Ms(1795382460925)), allowExtraFields: ["run_uuid"]);
        await Call("053-runs-log-metric-infinity", c => c.LogMetricAsync(RunId, "weird", double.PositiveInfinity, 2, Ms(1795382460942)), allowExtraFields: ["run_uuid"]);
        await Call("054-runs-log-metric-neg-infinity", c => c.LogMetricAsync(RunId, "weird", double.NegativeInfinity, 3, Ms(1795382460957)), allowExtraFields: ["run_uuid"]);
        await Call("060-runs-log-parameter", c => c.LogParamAsync(RunId, "learning_rate", "0.1"), allowExtraFields: ["run_uuid"]);
        await Call("063-runs-set-tag", c => c.SetTagAsync(RunId, "stage", "dev"), allowExtraFields: ["run_uuid"]);
        await Call("065-runs-delete-tag", c => c.DeleteTagAsync(RunId, "stage"));
        await Call("089-runs-log-batch-same-param-again", c => c.LogBatchAsync(RunId, new RunBatch { Params = { new Param("max_depth", "6") } }));

        var batch = RecordedExchange.Load("080-runs-log-batch").RequestJson!;
        var rb = new RunBatch();
        foreach (var m in batch["metrics"]!.AsArray())
        {
            rb.Metrics.Add(new Metric(m!["key"]!.GetValue<string>(), m["value"]!.GetValue<double>(), m["timestamp"]!.GetValue<long>(), m["step"]?.GetValue<long>() ?? 0));
        }

        foreach (var p in batch["params"]?.AsArray() ?? [])
        {
            rb.Params.Add(new Param(p!["key"]!.GetValue<string>(), p["value"]!.GetValue<string>()));
        }

        foreach (var t in batch["tags"]?.AsArray() ?? [])
        {
            rb.Tags.Add(new RunTag(t!["key"]!.GetValue<string>(), t["value"]!.GetValue<string>()));
        }

        // The client always sends step (proto default 0); the recording omitted it for one metric.
        using (var server = new RecordedServer())
        {
            var recorded = server.Serve("080-runs-log-batch");
            foreach (var m in recorded.RequestJson!["metrics"]!.AsArray())
            {
                m!.AsObject().TryAdd("step", 0);
            }

            using var client = server.CreateClient();
            await client.LogBatchAsync(RunId, rb);
            RequestAssert.MatchesRecorded(recorded, server.SingleRequest());
        }

        var inputs = RecordedExchange.Load("140-runs-log-inputs").RequestJson!["datasets"]![0]!;
        var d = inputs["dataset"]!;
        var input = new DatasetInput
        {
            Tags = [new InputTag("mlflow.data.context", "train")],
            Dataset = new Dataset
            {
                Name = d["name"]!.GetValue<string>(), Digest = d["digest"]!.GetValue<string>(), SourceType = d["source_type"]!.GetValue<string>(),
                Source = d["source"]!.GetValue<string>(), Schema = d["schema"]?.GetValue<string>(), Profile = d["profile"]?.GetValue<string>(),
            },
        };
        await Call("140-runs-log-inputs", c => c.LogInputsAsync(RunId, [input]));
        var modelJson = RecordedExchange.Load("143-runs-log-model").RequestJson!["model_json"]!.GetValue<string>();
        await Call("143-runs-log-model", c => c.LogModelAsync(RunId, modelJson));
    }

    [Fact]
    public async Task Run_with_inputs_metrics_and_model_history_is_read()
    {
        var run = await Call("145-runs-get-inputs-and-model-history", c => c.GetRunAsync(RunId), ignoreQuery: ["run_uuid"]);
        Assert.Equal(RunStatus.Finished, run.Info.Status);
        Assert.Equal(double.MinValue, run.Data.Metrics.Single(m => m.Key == "weird").Value);
        Assert.Equal(999, run.Data.Metrics.Single(m => m.Key == "bulk").Step);
        Assert.Equal("0.1", run.Data.GetParam("learning_rate"));
        Assert.NotNull(run.Data.GetTag(MlflowTags.LogModelHistory));
        var input = run.Inputs.DatasetInputs[0];
        Assert.Equal("iris", input.Dataset.Name);
        Assert.Contains(input.Tags, t => t.Key == MlflowTags.DatasetContext);
    }

    [Fact]
    public async Task Metric_history_always_sends_max_results_and_reads_NaN_and_clamped_infinities()
    {
        var weird = await Call("103-metrics-get-history-weird", async c =>
        {
            var list = new List<Metric>();
            foreach (var m in await c.GetMetricHistoryAsync(RunId, "weird"))
            {
                list.Add(m);
            }

            return list;
        }, ignoreQuery: ["run_uuid", "max_results"]);
        Assert.Equal(4, weird.Count);
        Assert.True(double.IsNaN(weird[1].Value));
        Assert.Equal(double.MaxValue, weird[2].Value);
        Assert.Equal(double.MinValue, weird[3].Value);

        using var server = new RecordedServer();
        server.Serve("104-metrics-get-history-unknown-key");
        using var client = server.CreateClient();
        var page = await client.GetMetricHistoryPageAsync(RunId, "nope");
        Assert.Empty(page.Values);
        Assert.Null(page.NextPageToken);
        Assert.Equal("25000", server.SingleRequest().Query!["max_results"].Single());
    }

    [Fact]
    public async Task Metric_history_on_MLflow_3_follows_tokens_with_max_results()
    {
        using var server = new RecordedServer();
        var v3 = server.ServeV3("116-metrics-get-history-max-results");
        using var client = server.CreateClient();
        var values = new List<Metric>();
        foreach (var m in await client.GetMetricHistoryAsync(v3.Query["run_id"], v3.Query["metric_key"]))
        {
            values.Add(m);
        }

        Assert.NotEmpty(values);
        Assert.All(server.Requests, r => Assert.True(r.Query!.ContainsKey("max_results")));
    }

    [Fact]
    public async Task Search_runs_follows_pages_and_accepts_a_changed_page_size()
    {
        using var server = new RecordedServer();
        var p1 = RecordedExchange.Load("117-runs-search-filter-page1");
        var p2 = RecordedExchange.Load("118-runs-search-filter-page2");
        server.Server.Given(WireMock.RequestBuilders.Request.Create().WithPath(p1.Path).UsingPost().WithBody((string? b) => b != null && b.Contains("\"page_token\":\"eyJvZmZzZXQiOiAxfQ==\"", StringComparison.Ordinal)))
            .AtPriority(1).RespondWith(WireMock.ResponseBuilders.Response.Create().WithHeader("Content-Type", "application/json").WithBody(p2.Body));
        server.Serve(p1, priority: 20);
        using var client = server.CreateClient();
        var query = new SearchRunsOptions { Filter = "metrics.acc > 0.5", PageSize = 1, ExperimentIds = { "1" } };
        query.OrderBy.Add("metrics.acc DESC");
        var pages = new List<MlflowPage<Run>>();
        await foreach (var page in client.SearchRunsAsync(query).AsPages())
        {
            pages.Add(page);
            if (pages.Count == 2)
            {
                break;
            }
        }

        Assert.Equal("eyJvZmZzZXQiOiAxfQ==", pages[0].NextPageToken);
        Assert.Single(pages[1].Values);
        RequestAssert.MatchesRecorded(p1, server.Requests[0], allowExtraFields: ["run_view_type"]);
        RequestAssert.MatchesRecorded(p2, server.Requests[1], allowExtraFields: ["run_view_type"]);

        using var server3 = new RecordedServer();
        var p3 = server3.Serve("119-runs-search-filter-page3");
        using var client3 = server3.CreateClient();
        var third = await client3.SearchRunsPageAsync(query, "eyJvZmZzZXQiOiAxfQ==", pageSize: 2);
        Assert.Equal(p3.ResponseJson!["runs"]!.AsArray().Count, third.Values.Count);
        RequestAssert.MatchesRecorded(p3, server3.SingleRequest(), allowExtraFields: ["run_view_type"]);
    }

    [Fact]
    public async Task Search_runs_by_status_tags_params_and_deleted()
    {
        var byStatus = await Call("120-runs-search-status-and-tags", c => c.SearchRunsPageAsync(new SearchRunsOptions { Filter = "attributes.status = 'FINISHED' and tags.purpose = 'protocol-recording'", ExperimentIds = { "1" } }),
            allowExtraFields: ["run_view_type", "max_results"]);
        Assert.All(byStatus.Values, r => Assert.Equal(RunStatus.Finished, r.Info.Status));
        var deleted = await Call("128-runs-search-deleted-only", c => c.SearchRunsPageAsync(new SearchRunsOptions { ViewType = ViewType.DeletedOnly, ExperimentIds = { "1" } }), allowExtraFields: ["max_results"]);
        Assert.All(deleted.Values, r => Assert.Equal("deleted", r.Info.LifecycleStage));
    }

    [Fact]
    public async Task Artifact_listing_of_a_run()
    {
        var root = await Call("212-artifacts-list-run", c => c.ListArtifactsAsync(RunId), ignoreQuery: ["run_uuid"]);
        Assert.Equal($"mlflow-artifacts:/1/{RunId}/artifacts", root.RootUri);
        Assert.Contains(root.Files, f => f.Path == "hello.txt" && !f.IsDir && f.FileSize == 15);
        Assert.Contains(root.Files, f => f.Path == "dir" && f.IsDir);
        var sub = await Call("213-artifacts-list-run-path", c => c.ListArtifactsAsync(RunId, "dir"), ignoreQuery: ["run_uuid"]);
        Assert.All(sub.Files, f => Assert.StartsWith("dir/", f.Path, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Unknown_fields_int64_as_strings_and_numeric_strings_are_read()
    {
        using var server = new RecordedServer();
        server.ServeStatus("GET", "/api/2.0/mlflow/runs/get", 200,
            """{"run":{"info":{"run_id":"r1","experiment_id":"1","status":"FINISHED","start_time":"1795382460799","end_time":1795382461541,"new_field":{"x":1}},"data":{"metrics":[{"key":"a","value":"0.5","timestamp":"12","step":"3"},{"key":"b","value":"Infinity","timestamp":1,"step":0},{"key":"c","value":"-Infinity","timestamp":1}]},"outputs":{"model_outputs":[]}}}""");
        using var client = server.CreateClient();
        var run = await client.GetRunAsync("r1");
        Assert.Equal(1795382460799, run.Info.StartTime);
        Assert.Equal(new Metric("a", 0.5, 12, 3), run.Data.Metrics[0]);
        Assert.Equal(double.PositiveInfinity, run.Data.Metrics[1].Value);
        Assert.Equal(double.NegativeInfinity, run.Data.Metrics[2].Value);
        Assert.Equal(0, run.Data.Metrics[2].Step);
    }
}
