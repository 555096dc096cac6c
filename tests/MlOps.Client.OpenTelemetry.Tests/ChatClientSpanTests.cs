using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using MlOps.Client.Tracing;
using OpenTelemetry;
using OpenTelemetry.Trace;
using WireMock.Server;

namespace MlOps.Client.OpenTelemetry.Tests;

/// <summary>
/// Microsoft.Extensions.AI's <c>UseOpenTelemetry()</c> chat spans (a fake <see cref="IChatClient"/>: no model service is
/// reachable here) reach MLflow as a chat model's: type CHAT_MODEL, the messages as <c>{"messages": [...]}</c> and
/// <c>{"choices": [...]}</c>, the token usage as the server reads it, the previews and token total in the trace's info.
/// </summary>
public sealed class ChatClientSpanTests : IDisposable
{
    private readonly WireMockServer _server = FakeTraceEndpoints.Start();

    public ChatClientSpanTests() => FakeTraceEndpoints.Answer(_server);

    public void Dispose() => _server.Stop();

    [Fact]
    public async Task A_chat_call_is_a_chat_model_span_with_its_messages_and_tokens()
    {
        using (var provider = Sdk.CreateTracerProviderBuilder()
            .AddMlflowExporter(o => { o.Client = new MlflowClientOptions { TrackingUri = _server.Url }; o.ExperimentId = "1"; })
            .Build()!)
        {
            using var chat = new ChatClientBuilder(new FakeChatClient()).UseOpenTelemetry(configure: c => c.EnableSensitiveData = true).Build();
            var answer = await chat.GetResponseAsync([new ChatMessage(ChatRole.System, "Be brief."), new ChatMessage(ChatRole.User, "weather in Paris?")], new ChatOptions { ModelId = "fake-1" });
            Assert.Equal("It is sunny.", answer.Text);
            Assert.True(provider.ForceFlush(30_000));
        }

        var span = Assert.Single(_server.LogEntries.Where(e => e.RequestMessage!.Path == "/v1/traces").SelectMany(e => OtlpReader.Spans(e.RequestMessage!.BodyAsBytes!))).Attributes;
        Assert.Equal("CHAT_MODEL", span[SpanAttributeKeys.SpanType]);
        // As Python's client sends them: key-value lists and arrays, not JSON text.
        Assert.Equal("""{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"weather in Paris?"}]}""", OtlpReader.ToJson(span[SpanAttributeKeys.Inputs])!.ToJsonString());
        Assert.Equal("""{"choices":[{"message":{"role":"assistant","content":"It is sunny."},"finish_reason":"stop"}]}""", OtlpReader.ToJson(span[SpanAttributeKeys.Outputs])!.ToJsonString());
        Assert.Equal(12L, span["gen_ai.usage.input_tokens"]);

        var info = JsonNode.Parse(_server.LogEntries.Single(e => e.RequestMessage!.Path == "/api/3.0/mlflow/traces").RequestMessage!.Body!)!["trace"]!["trace_info"]!;
        Assert.Equal("It is sunny.", info["response_preview"]!.GetValue<string>());
        Assert.Equal("weather in Paris?", info["request_preview"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"input_tokens": 12, "output_tokens": 5, "total_tokens": 17}"""), JsonNode.Parse(info["trace_metadata"]![TraceMetadataKeys.TokenUsage]!.GetValue<string>())));
        Assert.Equal("chat fake-1", info["tags"]![TraceTagKeys.TraceName]!.GetValue<string>());
    }

    [Fact]
    public async Task An_embedding_call_is_an_embedding_span_with_its_input_token_count()
    {
        using (var provider = Sdk.CreateTracerProviderBuilder()
            .AddMlflowExporter(o => { o.Client = new MlflowClientOptions { TrackingUri = _server.Url }; o.ExperimentId = "1"; })
            .Build()!)
        {
            using var embedder = new EmbeddingGeneratorBuilder<string, Embedding<float>>(new FakeEmbeddingGenerator()).UseOpenTelemetry(configure: c => c.EnableSensitiveData = true).Build();
            var vectors = await embedder.GenerateAsync(["weather in Paris?"], new EmbeddingGenerationOptions { ModelId = "fake-embed" });
            Assert.Single(vectors);
            Assert.True(provider.ForceFlush(30_000));
        }

        var span = Assert.Single(_server.LogEntries.Where(e => e.RequestMessage!.Path == "/v1/traces").SelectMany(e => OtlpReader.Spans(e.RequestMessage!.BodyAsBytes!))).Attributes;
        Assert.Equal(SpanType.Embedding, span[SpanAttributeKeys.SpanType]);
        Assert.Equal(7L, span["gen_ai.usage.input_tokens"]);
        var info = JsonNode.Parse(_server.LogEntries.Single(e => e.RequestMessage!.Path == "/api/3.0/mlflow/traces").RequestMessage!.Body!)!["trace"]!["trace_info"]!;
        // MLflow's translator makes a token usage only of input and output counts together (translation/__init__.py): an
        // embedding's input count alone gives the trace none, on the server as here.
        Assert.Null(info["trace_metadata"]![TraceMetadataKeys.TokenUsage]);
        Assert.Equal("fake-embed", span["gen_ai.request.model"]);
    }

    private sealed class FakeEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
    {
        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default) =>
            Task.FromResult(new GeneratedEmbeddings<Embedding<float>>([.. values.Select(_ => new Embedding<float>(new float[] { 0.1f, 0.2f, 0.3f }) { ModelId = "fake-embed" })])
            {
                Usage = new UsageDetails { InputTokenCount = 7, TotalTokenCount = 7 },
            });

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    private sealed class FakeChatClient : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "It is sunny."))
            {
                ModelId = "fake-1",
                FinishReason = ChatFinishReason.Stop,
                Usage = new UsageDetails { InputTokenCount = 12, OutputTokenCount = 5, TotalTokenCount = 17 },
            });

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
