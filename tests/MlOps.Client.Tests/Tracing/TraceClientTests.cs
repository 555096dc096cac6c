using System.Text.Json;
using System.Text.Json.Nodes;
using MlOps.Client.Tests.Fixtures;
using MlOps.Client.Tracing;

namespace MlOps.Client.Tests.Tracing;

/// <summary>
/// Reading and annotating traces against what a real MLflow 3.6 server answered Python's client
/// (Recorded/mlflow-protocol/v3/python-client/tracing.jsonl): the same requests, the answers read back.
/// </summary>
public sealed class TraceClientTests : IDisposable
{
    private const string TraceId = "tr-ff22bfff0c631e5a9c8e62171b0abe8a";
    private static readonly PythonClientRecording Recording = PythonClientRecording.Load("tracing");
    private readonly RecordedServer _server = new();

    public void Dispose() => _server.Dispose();

    private static JsonNode Sent(RecordedServer server, string method, string path) =>
        RecordedServer.BodyOf(server.Requests.Single(r => r.Method == method && r.Path == path))!;

    [Fact]
    public async Task Searches_as_python_does_and_reads_the_summaries()
    {
        Recording.Serve(_server, 21, 21);
        using var client = _server.CreateClient();

        var page = await client.SearchTracesAsync(["9"], "tags.team = 'recording'", ["timestamp_ms DESC"], maxResults: 10);

        Assert.True(JsonNode.DeepEquals(PythonClientRecording.RequestJson(Recording[21]), Sent(_server, "POST", "/api/3.0/mlflow/traces/search")));
        var trace = Assert.Single(page.Values);
        Assert.Equal((TraceId, "9", "OK"), (trace.TraceId, trace.ExperimentId, trace.State));
        Assert.Equal("9bc8ee72c164421ba1a5ff218079a2b1", trace.SourceRunId);
        Assert.Equal("alice", trace.Metadata[TraceMetadataKeys.User]);
        Assert.Equal("agent", trace.Tags[TraceTagKeys.TraceName]);
        Assert.Equal(TimeSpan.FromSeconds(1.339), trace.ExecutionDuration);
        Assert.Equal(new DateTimeOffset(2026, 12, 6, 6, 7, 3, 811, TimeSpan.Zero), trace.RequestTime);
        Assert.Equal("It is sunny.", trace.ResponsePreview);
        Assert.Null(page.NextPageToken);
    }

    [Fact]
    public async Task Gets_a_trace_with_its_span_tree_types_inputs_outputs_and_token_usage()
    {
        Recording.Serve(_server, 19, 20); // after log_feedback: the info carries the assessment
        using var client = _server.CreateClient();

        var trace = await client.GetTraceAsync(TraceId);

        var root = trace.Root!;
        Assert.Equal(("agent", SpanType.Agent), (root.Name, root.SpanType));
        var tool = Assert.Single(trace.ChildrenOf(root));
        Assert.Equal(("get_weather", SpanType.Tool), (tool.Name, tool.SpanType));
        var chat = Assert.Single(trace.ChildrenOf(tool));
        Assert.Equal(("chat", SpanType.ChatModel), (chat.Name, chat.SpanType));
        Assert.Equal("What is the weather in Paris?", root.Inputs!.Value.GetProperty("question").GetString());
        Assert.Equal("It is sunny.", root.Outputs!.Value.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(12, chat.TokenUsage!.Value.GetProperty("input_tokens").GetInt32());
        Assert.Equal(17, chat.TokenUsage!.Value.GetProperty("total_tokens").GetInt32());
        Assert.Equal("ff22bfff0c631e5a9c8e62171b0abe8a", root.TraceId); // base64 ids as hex
        Assert.Equal(16, root.SpanId.Length);
        Assert.Equal("OK", chat.Status);
        Assert.True(chat.EndTime > chat.StartTime);
        var feedback = Assert.Single(trace.Info.Assessments);
        Assert.Equal(("helpful", "bob", true), (feedback.Name, feedback.Source.SourceId, feedback.FeedbackValue!.Value.GetBoolean()));
    }

    [Fact]
    public async Task Sets_and_deletes_tags_logs_feedback_and_deletes_traces_as_python_does()
    {
        Recording.Serve(_server, 16, 18);
        Recording.Serve(_server, 25, 25);
        using var client = _server.CreateClient();

        await client.SetTraceTagAsync(TraceId, "reviewed", "yes");
        await client.DeleteTraceTagAsync(TraceId, "reviewed");
        var assessment = await client.LogFeedbackAsync(TraceId, "helpful", true, new AssessmentSource("HUMAN", "bob"), "answered the question");
        var deleted = await client.DeleteTracesAsync("9", ["tr-6bcda8e3b520a0736c4b609185ee9f55"]);

        var tagPath = $"/api/2.0/mlflow/traces/{TraceId}/tags";
        Assert.True(JsonNode.DeepEquals(PythonClientRecording.RequestJson(Recording[16]), Sent(_server, "PATCH", tagPath)));
        Assert.True(JsonNode.DeepEquals(PythonClientRecording.RequestJson(Recording[17]), Sent(_server, "DELETE", tagPath)));
        var sent = Sent(_server, "POST", $"/api/3.0/mlflow/traces/{TraceId}/assessments")["assessment"]!.AsObject();
        var expected = PythonClientRecording.RequestJson(Recording[18])!["assessment"]!.AsObject();
        foreach (var field in new[] { "assessment_name", "trace_id", "source", "feedback", "rationale", "valid" })
        {
            Assert.True(JsonNode.DeepEquals(expected[field], sent[field]), field);
        }

        Assert.Equal("a-bfaaa98e1fb942d591c7977c3ca4d787", assessment.AssessmentId);
        Assert.Equal(1, deleted);
        Assert.True(JsonNode.DeepEquals(PythonClientRecording.RequestJson(Recording[25]), Sent(_server, "POST", "/api/2.0/mlflow/traces/delete-traces")));
    }

    [Fact]
    public async Task Arguments_out_of_range_are_refused_before_any_request()
    {
        using var client = _server.CreateClient();

        await Assert.ThrowsAsync<ArgumentException>(() => client.SearchTracesAsync([]));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.SearchTracesAsync(["1"], maxResults: 501));
        await Assert.ThrowsAsync<ArgumentException>(() => client.DeleteTracesAsync("1"));
        Assert.Empty(_server.Requests);
    }
}
