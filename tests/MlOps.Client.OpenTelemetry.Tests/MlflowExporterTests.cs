using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using MlOps.Client.Stores;
using MlOps.Client.Tracing;
using MlOps.Client.Tracking;
using OpenTelemetry;
using OpenTelemetry.Trace;
using WireMock.Server;

namespace MlOps.Client.OpenTelemetry.Tests;

/// <summary>
/// AddMlflowExporter against a fake of MLflow 3.6's two trace endpoints (answers as the real server gave them:
/// <c>/v1/traces</c> 200 <c>{"partialSuccess":null}</c>, <c>POST /api/3.0/mlflow/traces</c> the trace's info): a
/// 3-level trace made inside a run is sent as OTLP protobuf with the experiment header and the credentials, then its
/// info with the run, user, session, tags, token usage and previews — after its spans, as Python's exporter does.
/// </summary>
public sealed class MlflowExporterTests : IAsyncLifetime
{
    private readonly WireMockServer _server = FakeTraceEndpoints.Start();
    private readonly string _dir = Directory.CreateTempSubdirectory("mlops-otel-").FullName;
    private Tracker _tracker = null!;

    public Task InitializeAsync()
    {
        _tracker = new Tracker(TrackingStores.Open(new MlflowClientOptions { TrackingUri = "sqlite:///" + Path.Combine(_dir, "mlflow.db") }), new TrackerOptions { HandleProcessExit = false, SetSystemTags = false });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        var store = _tracker.Store;
        await _tracker.DisposeAsync();
        await store.DisposeAsync();
        _server.Stop();
        Directory.Delete(_dir, recursive: true);
    }

    private void Answer(int otlpStatus) => FakeTraceEndpoints.Answer(_server, otlpStatus);

    private TracerProvider Provider() =>
        Sdk.CreateTracerProviderBuilder()
            .AddMlflowExporter(o =>
            {
                o.Client = new MlflowClientOptions { TrackingUri = _server.Url, Credential = MlflowCredential.Bearer("secret-token") };
                o.ExperimentId = "9";
            })
            .Build()!;

    private static string Agent(string question)
    {
        using var agent = MlflowTracing.StartSpan("agent", SpanType.Agent, new JsonObject { ["question"] = question });
        MlflowTracing.UpdateCurrentTrace(
            tags: new Dictionary<string, string> { ["team"] = "recording" },
            metadata: new Dictionary<string, string> { [TraceMetadataKeys.User] = "alice", [TraceMetadataKeys.Session] = "s-1" });
        using (var tool = MlflowTracing.StartSpan("get_weather", SpanType.Tool, new JsonObject { ["city"] = "Paris" }))
        {
            using var chat = MlflowTracing.StartSpan("chat", SpanType.ChatModel, new JsonObject { ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "weather in Paris?" }) });
            chat.SetTokenUsage(12, 5);
            chat.SetOutputs(new JsonObject { ["choices"] = new JsonArray(new JsonObject { ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = "It is sunny." } }) });
            tool.SetOutputs(new JsonObject { ["forecast"] = "sunny" });
        }

        agent.SetOutputs(new JsonObject { ["choices"] = new JsonArray(new JsonObject { ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = "It is sunny." } }) });
        return agent.TraceId!;
    }

    [Fact]
    public async Task A_trace_made_in_a_run_arrives_as_otlp_then_its_info_links_the_run_user_session_and_tags()
    {
        Answer(200);
        string traceId;
        string runId;
        using (var provider = Provider())
        {
            using (var run = _tracker.StartRun("traced"))
            {
                runId = run.RunId;
                traceId = Agent("What is the weather in Paris?");
            }

            Assert.True(provider.ForceFlush(30_000), "the exporter did not flush within 30 s");
        }

        var requests = _server.LogEntries.Select(e => e.RequestMessage!).ToList();
        var otlp = requests.Where(r => r.Path == "/v1/traces").ToList();
        Assert.NotEmpty(otlp);
        Assert.All(otlp, r =>
        {
            Assert.Equal("application/x-protobuf", r.Headers!["Content-Type"].Single());
            Assert.Equal("9", r.Headers!["x-mlflow-experiment-id"].Single());
            Assert.Equal("Bearer secret-token", r.Headers!["Authorization"].Single());
        });
        var wire = Encoding.UTF8.GetString(otlp.SelectMany(r => r.BodyAsBytes!).ToArray());
        foreach (var expected in new[] { "agent", "get_weather", "chat", "mlflow.spanType", "AGENT", "TOOL", "CHAT_MODEL", "mlflow.spanInputs", "gen_ai.usage.input_tokens", "What is the weather in Paris?" })
        {
            Assert.Contains(expected, wire, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("mlops.trace.", wire, StringComparison.Ordinal); // trace metadata carriers never reach the spans

        var info = requests.Single(r => r.Path == "/api/3.0/mlflow/traces");
        Assert.True(requests.IndexOf(info) > requests.IndexOf(otlp[^1]), "the trace's info must follow its spans");
        var body = JsonNode.Parse(info.Body!)!["trace"]!["trace_info"]!;
        Assert.Equal(traceId, body["trace_id"]!.GetValue<string>());
        Assert.StartsWith("tr-", traceId, StringComparison.Ordinal);
        Assert.Equal("9", body["trace_location"]!["mlflow_experiment"]!["experiment_id"]!.GetValue<string>());
        Assert.Equal("OK", body["state"]!.GetValue<string>());
        var metadata = body["trace_metadata"]!;
        Assert.Equal(runId, metadata[TraceMetadataKeys.SourceRun]!.GetValue<string>());
        Assert.Equal("alice", metadata[TraceMetadataKeys.User]!.GetValue<string>());
        Assert.Equal("s-1", metadata[TraceMetadataKeys.Session]!.GetValue<string>());
        Assert.Equal("3", metadata[TraceMetadataKeys.SchemaVersion]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"input_tokens": 12, "output_tokens": 5, "total_tokens": 17}"""), JsonNode.Parse(metadata[TraceMetadataKeys.TokenUsage]!.GetValue<string>())));
        Assert.Equal("agent", body["tags"]![TraceTagKeys.TraceName]!.GetValue<string>());
        Assert.Equal("recording", body["tags"]!["team"]!.GetValue<string>());
        Assert.Equal("It is sunny.", body["response_preview"]!.GetValue<string>());
        Assert.Contains("What is the weather in Paris?", body["request_preview"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_batch_the_server_refuses_is_counted_and_no_info_is_written_without_its_spans()
    {
        Answer(400);
        var options = new MlflowTraceExporterOptions();
        MlflowTraceExportStatistics statistics;
        using (var provider = Sdk.CreateTracerProviderBuilder()
            .AddMlflowExporter(o =>
            {
                o.Client = new MlflowClientOptions { TrackingUri = _server.Url };
                o.ExperimentId = "9";
                options = o;
            })
            .Build()!)
        {
            Agent("refused");
            provider.ForceFlush(30_000);
            statistics = options.Statistics;
        }

        Assert.Equal(3, statistics.SpansFailed);
        Assert.Equal(0, statistics.SpansExported);
        Assert.Equal(0, statistics.TracesWritten);
        Assert.DoesNotContain(_server.LogEntries, e => e.RequestMessage!.Path == "/api/3.0/mlflow/traces");
    }

    [Fact]
    public void A_request_that_came_with_a_traceparent_gets_its_trace_info_from_this_process()
    {
        Answer(200);
        var traceId = ActivityTraceId.CreateRandom();
        using (var provider = Provider())
        {
            var remote = new ActivityContext(traceId, ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded, isRemote: true);
            using (var incoming = MlflowTracing.Source.StartActivity("handle request", ActivityKind.Server, remote))
            {
                Assert.NotNull(incoming);
                using var step = MlflowTracing.StartSpan("step", SpanType.Chain);
            }

            Assert.True(provider.ForceFlush(30_000));
        }

        var info = JsonNode.Parse(_server.LogEntries.Single(e => e.RequestMessage!.Path == "/api/3.0/mlflow/traces").RequestMessage!.Body!)!["trace"]!["trace_info"]!;
        Assert.Equal("tr-" + traceId.ToHexString(), info["trace_id"]!.GetValue<string>());
        Assert.Equal("handle request", info["tags"]![TraceTagKeys.TraceName]!.GetValue<string>());
    }

    [Fact]
    public void Without_a_listener_spans_cost_nothing_and_record_nothing()
    {
        using var span = MlflowTracing.StartSpan("alone", SpanType.Chain, new JsonObject { ["x"] = 1 });
        Assert.Null(span.Activity);
        Assert.Null(span.TraceId);
        span.SetOutputs(new JsonObject { ["y"] = 2 }).SetTokenUsage(1, 2).RecordException(new InvalidOperationException("x"));
    }
}
