using System.Diagnostics;
using System.Text.Json.Nodes;
using MlOps.Client.Tracing;

namespace MlOps.Client.Tests.Tracing;

/// <summary>
/// <see cref="MlflowTracing.TraceAsync{T}"/> / <see cref="MlflowTracing.Trace{T}"/>, the <c>@mlflow.trace</c> of .NET: a span
/// around the body with its inputs and the result as outputs; spans the body starts are its children; a body that throws
/// ends the span failed with the exception recorded, and the caller gets the exception.
/// </summary>
public sealed class TraceHelperTests : IDisposable
{
    private readonly List<Activity> _stopped = [];
    private readonly ActivityListener _listener;

    public TraceHelperTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == MlflowTracing.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                lock (_stopped)
                {
                    _stopped.Add(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose() => _listener.Dispose();

    private Activity Stopped(string name)
    {
        lock (_stopped)
        {
            return _stopped.Single(a => a.DisplayName == name);
        }
    }

    [Fact]
    public async Task The_body_runs_in_a_span_with_its_inputs_outputs_and_children()
    {
        var documents = await MlflowTracing.TraceAsync(
            "helper-retrieve",
            async span =>
            {
                await Task.Yield();
                using (MlflowTracing.StartSpan("helper-embed", SpanType.Embedding))
                {
                }

                return new[] { "setosa", "versicolor" };
            },
            SpanType.Retriever,
            new JsonObject { ["query"] = "iris" },
            result => new JsonArray([.. result.Select(d => (JsonNode)d)]));

        Assert.Equal(["setosa", "versicolor"], documents);
        var retrieve = Stopped("helper-retrieve");
        Assert.Equal(SpanType.Retriever, retrieve.GetTagItem(SpanAttributeKeys.SpanType));
        Assert.Equal("""{"query":"iris"}""", retrieve.GetTagItem(SpanAttributeKeys.Inputs));
        Assert.Equal("""["setosa","versicolor"]""", retrieve.GetTagItem(SpanAttributeKeys.Outputs));
        Assert.Equal(ActivityStatusCode.Ok, retrieve.Status);
        Assert.Equal(retrieve.SpanId, Stopped("helper-embed").ParentSpanId);
    }

    [Fact]
    public void A_body_that_throws_ends_the_span_failed_and_the_caller_gets_the_exception()
    {
        var thrown = Assert.Throws<InvalidOperationException>(() => MlflowTracing.Trace<int>("helper-fails", _ => throw new InvalidOperationException("no index")));
        Assert.Equal("no index", thrown.Message);
        var span = Stopped("helper-fails");
        Assert.Equal((ActivityStatusCode.Error, "no index"), (span.Status, span.StatusDescription));
        var recorded = Assert.Single(span.Events);
        Assert.Equal("exception", recorded.Name);
        Assert.Null(span.GetTagItem(SpanAttributeKeys.Outputs));
    }

    [Fact]
    public async Task A_task_that_fails_later_is_recorded_too()
    {
        await Assert.ThrowsAsync<TimeoutException>(() => MlflowTracing.TraceAsync<int>("helper-async-fails", async _ =>
        {
            await Task.Yield();
            throw new TimeoutException("model service");
        }));

        Assert.Equal(ActivityStatusCode.Error, Stopped("helper-async-fails").Status);
    }
}
