using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using MlOps.Client.Stores;
using MlOps.Client.Tracing;
using MlOps.Client.Tracking;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace MlOps.Client.OpenTelemetry.Tests;

/// <summary>
/// AddMlflowExporter with an embedded store (<c>sqlite:///…</c>): a 3-level trace made in a run lands in the file's
/// MLflow 3 tables as MLflow's server stores the spans it receives — spans with their content, the trace's info, state,
/// previews, token usage, run and tags — and reads back with its tree; a file in MLflow 2.22's schema (made for runs) is
/// upgraded first, as MLflow 3 upgrades it. With MLOPS_MLFLOW_PYTHON (a Python with mlflow 3), Python's own client reads the same file.
/// </summary>
public sealed class EmbeddedStoreTracingTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-embedded-traces-");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    private string Uri => "sqlite:///" + Path.Combine(_dir.FullName, "mlflow.db");

    private (string TraceId, string RunId, MlflowTraceExporterOptions Options) TraceInRun(SqliteTrackingStore store)
    {
        var options = new MlflowTraceExporterOptions();
        string traceId, runId;
        using (var provider = Sdk.CreateTracerProviderBuilder().AddMlflowExporter(o => { o.Client = new MlflowClientOptions { TrackingUri = Uri }; o.ExperimentName = "agents"; options = o; }).Build()!)
        {
            var tracker = new Tracker(store, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false });
            using (var run = tracker.StartRun("traced"))
            {
                runId = run.RunId;
                using var agent = MlflowTracing.StartSpan("agent", SpanType.Agent, new JsonObject { ["question"] = "What is the weather in Paris?" });
                traceId = agent.TraceId!;
                MlflowTracing.UpdateCurrentTrace(tags: new Dictionary<string, string> { ["team"] = "support" }, metadata: new Dictionary<string, string> { [TraceMetadataKeys.User] = "alice" });
                using (var tool = MlflowTracing.StartSpan("get_weather", SpanType.Tool, new JsonObject { ["city"] = "Paris" }))
                {
                    using (var chat = MlflowTracing.StartSpan("chat", SpanType.ChatModel, new JsonObject { ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "weather in Paris?" }) }))
                    {
                        chat.SetTokenUsage(12, 5).SetOutputs(new JsonObject { ["choices"] = new JsonArray(new JsonObject { ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = "It is sunny." } }) });
                    }

                    tool.SetOutputs(new JsonArray("sunny", 21));
                }

                agent.SetOutputs(new JsonObject { ["answer"] = "It is sunny." });
            }

            tracker.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(30));
            Assert.True(provider.ForceFlush(30_000), "the exporter did not flush within 30 s");
        }

        return (traceId, runId, options);
    }

    [Fact]
    public async Task A_trace_lands_in_the_files_mlflow_3_tables_as_the_server_stores_it()
    {
        await using var store = SqliteTrackingStore.Open(Uri, SqliteSchema.Mlflow3);
        Assert.Equal("bf29a5ff90ea", store.SchemaVersion);
        var (traceId, runId, options) = TraceInRun(store);
        Assert.Equal((3L, 0L, 1L), (options.Statistics.SpansExported, options.Statistics.SpansFailed, options.Statistics.TracesWritten));

        var trace = await store.GetTraceAsync(traceId);
        var experiment = await store.FindExperimentByNameAsync("agents", default);
        Assert.Equal(experiment!.ExperimentId, trace.Info.ExperimentId);
        Assert.Equal("OK", trace.Info.State);
        Assert.Equal(runId, trace.Info.SourceRunId);
        Assert.Equal("alice", trace.Info.Metadata[TraceMetadataKeys.User]);
        Assert.Equal("3", trace.Info.Metadata[TraceMetadataKeys.SchemaVersion]);
        Assert.Equal(17, JsonDocument.Parse(trace.Info.Metadata[TraceMetadataKeys.TokenUsage]).RootElement.GetProperty("total_tokens").GetInt32());
        Assert.Equal(("support", "agent", "TRACKING_STORE"), (trace.Info.Tags["team"], trace.Info.Tags[TraceTagKeys.TraceName], trace.Info.Tags["mlflow.trace.spansLocation"]));
        Assert.EndsWith($"/traces/{traceId}/artifacts", trace.Info.Tags["mlflow.artifactLocation"], StringComparison.Ordinal);
        // Not a chat: the previews are the JSON text itself, as MLflow's _get_truncated_preview makes them.
        Assert.Contains("What is the weather in Paris?", trace.Info.RequestPreview, StringComparison.Ordinal);
        Assert.Contains("It is sunny.", trace.Info.ResponsePreview, StringComparison.Ordinal);

        var root = trace.Root!;
        var tool = Assert.Single(trace.ChildrenOf(root));
        var chat = Assert.Single(trace.ChildrenOf(tool));
        Assert.Equal((SpanType.Agent, SpanType.Tool, SpanType.ChatModel), (root.SpanType, tool.SpanType, chat.SpanType));
        Assert.Equal("Paris", tool.Inputs!.Value.GetProperty("city").GetString());
        Assert.Equal("[\"sunny\",21]", tool.Outputs!.Value.GetRawText());
        Assert.Equal(17, chat.TokenUsage!.Value.GetProperty("total_tokens").GetInt32());
        Assert.True(trace.Spans.All(s => s.Status == "OK" && s.EndTime >= s.StartTime));

        // The rows as MLflow's SQL store writes them: the type column unquoted, the content as Span.to_dict.
        using var db = new SqliteConnection("Data Source=" + store.DatabasePath);
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT type, status, content FROM spans WHERE trace_id = $id AND parent_span_id IS NULL";
        cmd.Parameters.AddWithValue("$id", traceId);
        using var reader = cmd.ExecuteReader();
        Assert.True(reader.Read());
        Assert.Equal(("AGENT", "OK"), (reader.GetString(0), reader.GetString(1)));
        var content = JsonNode.Parse(reader.GetString(2))!;
        Assert.Equal(Convert.ToBase64String(Convert.FromHexString(traceId[3..])), content["trace_id"]!.GetValue<string>());
        Assert.Null(content["parent_span_id"]);
        Assert.Equal("STATUS_CODE_OK", content["status"]!["code"]!.GetValue<string>());
        Assert.Equal("\"AGENT\"", content["attributes"]!["mlflow.spanType"]!.GetValue<string>());
        Assert.Equal($"\"{traceId}\"", content["attributes"]!["mlflow.traceRequestId"]!.GetValue<string>());
        Assert.Equal("What is the weather in Paris?", JsonNode.Parse(content["attributes"]!["mlflow.spanInputs"]!.GetValue<string>())!["question"]!.GetValue<string>());
        Assert.Null(content["attributes"]!["mlops.trace.metadata.mlflow.trace.user"]); // carriers never reach the spans
    }

    [Fact]
    public async Task A_file_made_for_runs_in_mlflow_2_schema_is_upgraded_as_mlflow_3_does_and_keeps_the_trace()
    {
        await using var store = SqliteTrackingStore.Open(Uri); // the Tracker's default: MLflow 2.22's schema
        Assert.False(store.SupportsTraces);
        var (traceId, runId, options) = TraceInRun(store);
        Assert.Equal((3L, 0L, 1L), (options.Statistics.SpansExported, options.Statistics.SpansFailed, options.Statistics.TracesWritten));
        await using var reopened = SqliteTrackingStore.Open(Uri);
        Assert.Equal("bf29a5ff90ea", reopened.SchemaVersion);
        Assert.Equal(runId, (await reopened.GetTraceAsync(traceId)).Info.SourceRunId);
        Assert.Equal("traced", (await reopened.GetRunAsync(runId, default)).Info.RunName); // the run the Tracker wrote before the upgrade
    }

    [Fact]
    public void Without_a_file_the_exporter_creates_one_in_mlflow_3_schema()
    {
        using (var provider = Sdk.CreateTracerProviderBuilder().AddMlflowExporter(o => o.Client = new MlflowClientOptions { TrackingUri = Uri }).Build()!)
        {
            using (MlflowTracing.StartSpan("alone", SpanType.Chain))
            {
            }

            Assert.True(provider.ForceFlush(30_000), "the exporter did not flush within 30 s");
        }

        using var db = new SqliteConnection("Data Source=" + Path.Combine(_dir.FullName, "mlflow.db"));
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT (SELECT version_num FROM alembic_version), (SELECT count(*) FROM spans), (SELECT experiment_id FROM trace_info)";
        using var reader = cmd.ExecuteReader();
        Assert.True(reader.Read());
        Assert.Equal(("bf29a5ff90ea", 1L, 0L), (reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2))); // the Default experiment
    }

    [PythonFact]
    public async Task Python_mlflow_3_reads_the_trace_from_the_file()
    {
        string traceId, runId;
        await using (var store = SqliteTrackingStore.Open(Uri)) // MLflow 2.22's schema, upgraded by the exporter: Python must open it as it is
        {
            (traceId, runId, _) = TraceInRun(store);
        }

        SqliteConnection.ClearAllPools();
        var lastLine = await PythonScript.RunAsync(Environment.GetEnvironmentVariable("MLOPS_MLFLOW_PYTHON")!, $$"""
            import json, mlflow
            c = mlflow.MlflowClient("{{Uri}}")
            t = c.get_trace("{{traceId}}")
            e = c.get_experiment_by_name("agents")
            found = [x.info.trace_id for x in c.search_traces(locations=[e.experiment_id], filter_string="tags.team = 'support'")]
            print(json.dumps({"run": t.info.trace_metadata.get("mlflow.sourceRun"), "state": str(t.info.state), "found": found,
              "tokens": t.info.token_usage, "preview": t.info.request_preview,
              "spans": [[s.name, s.span_type, s.parent_id is None, s.inputs, s.outputs] for s in t.data.spans]}))
            """, _dir.FullName);
        var seen = JsonNode.Parse(lastLine)!;
        Assert.Equal(runId, seen["run"]!.GetValue<string>());
        Assert.Contains("OK", seen["state"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(traceId, Assert.Single(seen["found"]!.AsArray())!.GetValue<string>());
        Assert.Equal(17, seen["tokens"]!["total_tokens"]!.GetValue<int>());
        Assert.Contains("What is the weather in Paris?", seen["preview"]!.GetValue<string>(), StringComparison.Ordinal);
        var spans = seen["spans"]!.AsArray().ToDictionary(s => s![0]!.GetValue<string>(), s => s!.AsArray());
        Assert.Equal(("AGENT", true), (spans["agent"][1]!.GetValue<string>(), spans["agent"][2]!.GetValue<bool>()));
        Assert.Equal("What is the weather in Paris?", spans["agent"][3]!["question"]!.GetValue<string>());
        Assert.Equal("[\"sunny\",21]", spans["get_weather"][4]!.ToJsonString());
        Assert.Equal("CHAT_MODEL", spans["chat"][1]!.GetValue<string>());
    }
}

/// <summary>Runs with MLOPS_MLFLOW_PYTHON naming a Python that imports mlflow 3 (no server needed).</summary>
internal sealed class PythonFactAttribute : FactAttribute
{
    public PythonFactAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("MLOPS_MLFLOW_PYTHON")))
        {
            Skip = "Set MLOPS_MLFLOW_PYTHON to a Python that imports mlflow 3 (docs/tracing.md says how it was tried) to run it.";
        }
    }
}
