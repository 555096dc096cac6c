using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using MlOps.Client.Stores;
using MlOps.Client.Tracing;
using MlOps.Client.Tracking;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace MlOps.Client.OpenTelemetry.Tests;

/// <summary>
/// Opt-in, against a real MLflow 3.x server (MLFLOW_INTEGRATION_URI; docs/tracing.md): a C# app's 3-level trace
/// (agent → tool → chat) made inside a run is read back — by this SDK, and by Python's <c>MlflowClient.get_trace</c>
/// when MLOPS_MLFLOW_PYTHON names a python that imports mlflow — with the same tree, span types, inputs, outputs,
/// token usage and the run link.
/// </summary>
public sealed class RealServerTracingTests
{
    [RealServerFact]
    public async Task A_csharp_trace_reads_back_with_its_tree_types_inputs_outputs_tokens_and_run()
    {
        var uri = Environment.GetEnvironmentVariable("MLFLOW_INTEGRATION_URI")!;
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = uri });
        var experimentName = "csharp-tracing-" + Guid.NewGuid().ToString("N")[..8];
        var experimentId = await client.CreateExperimentAsync(experimentName);
        string traceId, runId;
        var options = new MlflowTraceExporterOptions();
        using (var provider = Sdk.CreateTracerProviderBuilder().AddMlflowExporter(o => { o.Client = new MlflowClientOptions { TrackingUri = uri }; o.ExperimentId = experimentId; options = o; }).Build()!)
        {
            await using var tracker = new Tracker(TrackingStores.Open(new MlflowClientOptions { TrackingUri = uri }), new TrackerOptions { ExperimentId = experimentId, HandleProcessExit = false });
            using (var run = tracker.StartRun("traced"))
            {
                runId = run.RunId;
                using var agent = MlflowTracing.StartSpan("agent", SpanType.Agent, new JsonObject { ["question"] = "What is the weather in Paris?" });
                traceId = agent.TraceId!;
                MlflowTracing.UpdateCurrentTrace(metadata: new Dictionary<string, string> { [TraceMetadataKeys.User] = "alice" });
                using (var toolSpan = MlflowTracing.StartSpan("get_weather", SpanType.Tool, new JsonObject { ["city"] = "Paris" }))
                {
                    using (var chatSpan = MlflowTracing.StartSpan("chat", SpanType.ChatModel, new JsonObject { ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "weather in Paris?" }) }))
                    {
                        chatSpan.SetTokenUsage(12, 5).SetOutputs(new JsonObject { ["content"] = "It is sunny." });
                    }

                    toolSpan.SetOutputs(new JsonArray("sunny", 21)); // a list: Python reads a list back, not JSON text
                }

                agent.SetOutputs(new JsonObject { ["answer"] = "It is sunny." });
            }

            Assert.True(provider.ForceFlush(60_000), "not flushed within a minute: " + options.Statistics);
        }

        Assert.Equal((3L, 0L, 1L), (options.Statistics.SpansExported, options.Statistics.SpansFailed, options.Statistics.TracesWritten));
        var trace = await client.GetTraceAsync(traceId);
        Assert.Equal(runId, trace.Info.SourceRunId);
        Assert.Equal("alice", trace.Info.Metadata[TraceMetadataKeys.User]);
        var root = trace.Root!;
        var tool = Assert.Single(trace.ChildrenOf(root));
        var chat = Assert.Single(trace.ChildrenOf(tool));
        Assert.Equal((SpanType.Agent, SpanType.Tool, SpanType.ChatModel), (root.SpanType, tool.SpanType, chat.SpanType));
        Assert.Equal("What is the weather in Paris?", root.Inputs!.Value.GetProperty("question").GetString());
        Assert.Equal("It is sunny.", root.Outputs!.Value.GetProperty("answer").GetString());
        Assert.Equal("[\"sunny\",21]", JsonSerializer.Serialize(tool.Outputs));
        Assert.Equal(17, chat.TokenUsage!.Value.GetProperty("total_tokens").GetInt32());
        Assert.Equal(17, JsonDocument.Parse(trace.Info.Metadata[TraceMetadataKeys.TokenUsage]).RootElement.GetProperty("total_tokens").GetInt32());
        var found = await client.SearchTracesAsync([experimentId], $"metadata.`mlflow.sourceRun` = '{runId}'");
        Assert.Equal(traceId, Assert.Single(found.Values).TraceId);

        if (Environment.GetEnvironmentVariable("MLOPS_MLFLOW_PYTHON") is { Length: > 0 } python)
        {
            var lastLine = await PythonScript.RunAsync(python, $$"""
                import json, mlflow
                t = mlflow.MlflowClient("{{uri}}").get_trace("{{traceId}}")
                # Inputs and outputs as Python's own spans have them: objects as dicts, lists as lists (not JSON text).
                print(json.dumps({"run": t.info.trace_metadata.get("mlflow.sourceRun"),
                  "spans": [[s.name, s.span_type, s.parent_id is None, s.inputs, s.outputs, s.get_attribute("mlflow.chat.tokenUsage"),
                             type(s.inputs).__name__, type(s.outputs).__name__] for s in t.data.spans]}))
                """);
            var seen = JsonNode.Parse(lastLine)!;
            Assert.Equal(runId, seen["run"]!.GetValue<string>());
            var spans = seen["spans"]!.AsArray().ToDictionary(s => s![0]!.GetValue<string>(), s => s!.AsArray());
            Assert.Equal("AGENT", spans["agent"][1]!.GetValue<string>());
            Assert.True(spans["agent"][2]!.GetValue<bool>());
            Assert.Equal("TOOL", spans["get_weather"][1]!.GetValue<string>());
            Assert.Equal("CHAT_MODEL", spans["chat"][1]!.GetValue<string>());
            Assert.Equal("What is the weather in Paris?", spans["agent"][3]!["question"]!.GetValue<string>());
            Assert.Equal("It is sunny.", spans["chat"][4]!["content"]!.GetValue<string>());
            Assert.Equal(17, spans["chat"][5]!["total_tokens"]!.GetValue<int>());
            Assert.Equal(("dict", "dict"), (spans["agent"][6]!.GetValue<string>(), spans["agent"][7]!.GetValue<string>()));
            Assert.Equal("list", spans["get_weather"][7]!.GetValue<string>());
            Assert.Equal("[\"sunny\",21]", spans["get_weather"][4]!.ToJsonString());
        }
    }
}

/// <summary>Opt-in: a trace made inside <see cref="MlflowTracing.UseModel"/> is found by the logged model on a real MLflow 3.x server.</summary>
public sealed class RealServerModelLinkTests
{
    [RealServerFact]
    public async Task A_trace_made_for_a_logged_model_is_found_by_that_model()
    {
        var uri = Environment.GetEnvironmentVariable("MLFLOW_INTEGRATION_URI")!;
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = uri });
        var experimentId = await client.CreateExperimentAsync("csharp-model-link-" + Guid.NewGuid().ToString("N")[..8]);
        var model = await client.CreateLoggedModelAsync(experimentId, "served");
        string traceId;
        using (var provider = Sdk.CreateTracerProviderBuilder().AddMlflowExporter(o => { o.Client = new MlflowClientOptions { TrackingUri = uri }; o.ExperimentId = experimentId; }).Build()!)
        {
            using (MlflowTracing.UseModel(model.ModelId))
            using (var span = MlflowTracing.StartSpan("predict", SpanType.Chain, new JsonObject { ["rows"] = 2 }))
            {
                traceId = span.TraceId!;
            }

            Assert.True(provider.ForceFlush(60_000), "not flushed within a minute");
        }

        Assert.Equal(model.ModelId, (await client.GetTraceAsync(traceId)).Info.Metadata[TraceMetadataKeys.ModelId]);
        var found = await client.SearchTracesAsync([experimentId], $"metadata.`mlflow.modelId` = '{model.ModelId}'");
        Assert.Equal(traceId, Assert.Single(found.Values).TraceId);
        if (Environment.GetEnvironmentVariable("MLOPS_MLFLOW_PYTHON") is { Length: > 0 } python)
        {
            // Python's own way to ask: search_traces(model_id=...).
            var lastLine = await PythonScript.RunAsync(python, $$"""
                import mlflow
                mlflow.set_tracking_uri("{{uri}}")
                print([t.info.trace_id for t in mlflow.search_traces(locations=["{{experimentId}}"], model_id="{{model.ModelId}}", return_type="list")])
                """);
            Assert.Equal($"['{traceId}']", lastLine);
        }
    }
}

/// <summary>Opt-in: Microsoft.Extensions.AI's chat span on a real MLflow 3.x server.</summary>
public sealed class RealServerChatClientTests
{
    [RealServerFact]
    public async Task A_chat_client_span_reads_back_as_a_chat_model_with_messages_tokens_and_previews()
    {
        var uri = Environment.GetEnvironmentVariable("MLFLOW_INTEGRATION_URI")!;
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = uri });
        var experimentId = await client.CreateExperimentAsync("csharp-chat-" + Guid.NewGuid().ToString("N")[..8]);
        using (var provider = Sdk.CreateTracerProviderBuilder().AddMlflowExporter(o => { o.Client = new MlflowClientOptions { TrackingUri = uri }; o.ExperimentId = experimentId; }).Build()!)
        {
            using var chat = new Microsoft.Extensions.AI.ChatClientBuilder(new ChatClientSpanTestsFake()).UseOpenTelemetry(configure: c => c.EnableSensitiveData = true).Build();
            await chat.GetResponseAsync([new Microsoft.Extensions.AI.ChatMessage(Microsoft.Extensions.AI.ChatRole.User, "weather in Paris?")], new Microsoft.Extensions.AI.ChatOptions { ModelId = "fake-1" });
            Assert.True(provider.ForceFlush(60_000));
        }

        var info = Assert.Single((await client.SearchTracesAsync([experimentId])).Values);
        var trace = await client.GetTraceAsync(info.TraceId);
        var span = Assert.Single(trace.Spans);
        Assert.Equal(SpanType.ChatModel, span.SpanType);
        Assert.Equal("weather in Paris?", span.Inputs!.Value.GetProperty("messages")[0].GetProperty("content").GetString());
        Assert.Equal("It is sunny.", span.Outputs!.Value.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(17, span.TokenUsage!.Value.GetProperty("total_tokens").GetInt32());
        Assert.Equal(("weather in Paris?", "It is sunny."), (trace.Info.RequestPreview, trace.Info.ResponsePreview));
    }
}

/// <summary>A chat client that answers "It is sunny." with 12 + 5 tokens.</summary>
internal sealed class ChatClientSpanTestsFake : Microsoft.Extensions.AI.IChatClient
{
    public Task<Microsoft.Extensions.AI.ChatResponse> GetResponseAsync(IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, Microsoft.Extensions.AI.ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        Task.FromResult(new Microsoft.Extensions.AI.ChatResponse(new Microsoft.Extensions.AI.ChatMessage(Microsoft.Extensions.AI.ChatRole.Assistant, "It is sunny."))
        {
            ModelId = "fake-1",
            FinishReason = Microsoft.Extensions.AI.ChatFinishReason.Stop,
            Usage = new Microsoft.Extensions.AI.UsageDetails { InputTokenCount = 12, OutputTokenCount = 5, TotalTokenCount = 17 },
        });

    public IAsyncEnumerable<Microsoft.Extensions.AI.ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, Microsoft.Extensions.AI.ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}

/// <summary>Runs only against a real MLflow 3.x server; skipped otherwise, saying why.</summary>
internal sealed class RealServerFactAttribute : FactAttribute
{
    public RealServerFactAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("MLFLOW_INTEGRATION_URI")))
        {
            Skip = "Set MLFLOW_INTEGRATION_URI to a real MLflow 3.x server (docs/tracing.md says how it was tried) to run it.";
        }
    }
}
