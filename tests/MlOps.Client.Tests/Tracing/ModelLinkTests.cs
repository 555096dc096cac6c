using System.Diagnostics;
using MlOps.Client.Tracing;

namespace MlOps.Client.Tests.Tracing;

/// <summary>
/// <see cref="MlflowTracing.UseModel"/>: the traces of the scope carry the logged model's id (<c>mlflow.modelId</c>) —
/// the request's own trace at once, the ones started inside as they start — and the scope ends cleanly.
/// </summary>
public sealed class ModelLinkTests : IDisposable
{
    private const string Carrier = "mlops.trace.metadata." + TraceMetadataKeys.ModelId;
    private readonly ActivitySource _host = new("ModelLinkTests.Host");
    private readonly ActivityListener _listener = new()
    {
        ShouldListenTo = source => source.Name is MlflowTracing.ActivitySourceName or "ModelLinkTests.Host",
        Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
    };

    public ModelLinkTests() => ActivitySource.AddActivityListener(_listener);

    public void Dispose()
    {
        _listener.Dispose();
        _host.Dispose();
    }

    [Fact]
    public void Traces_started_inside_the_scope_carry_the_model_and_those_after_it_do_not()
    {
        using (MlflowTracing.UseModel("m-outer"))
        {
            Assert.Equal("m-outer", MlflowTracing.CurrentModelId);
            using (var span = MlflowTracing.StartSpan("predict", SpanType.Chain))
            {
                Assert.Equal("m-outer", span.Activity!.GetTagItem(Carrier));
            }

            using (MlflowTracing.UseModel("m-inner"))
            {
                using var inner = MlflowTracing.StartSpan("nested", SpanType.Chain);
                Assert.Equal("m-inner", inner.Activity!.GetTagItem(Carrier));
            }

            Assert.Equal("m-outer", MlflowTracing.CurrentModelId); // the enclosing scope applies again
        }

        Assert.Null(MlflowTracing.CurrentModelId);
        using var after = MlflowTracing.StartSpan("after", SpanType.Chain);
        Assert.Null(after.Activity!.GetTagItem(Carrier));
    }

    [Fact]
    public void The_trace_under_way_is_linked_at_its_root_when_the_scope_starts()
    {
        using var request = _host.StartActivity("POST /invocations")!; // the host's span of the request, the trace's root
        using (MlflowTracing.UseModel("m-served"))
        using (var child = MlflowTracing.StartSpan("llm", SpanType.Llm))
        {
            Assert.Null(child.Activity!.GetTagItem(Carrier)); // metadata is the trace's: it lives on the root
        }

        Assert.Equal("m-served", request.GetTagItem(Carrier));
    }

    [Fact]
    public async Task The_scope_flows_into_awaited_work_and_not_out_of_it()
    {
        async Task<object?> InsideAsync()
        {
            await Task.Yield();
            using var span = MlflowTracing.StartSpan("async", SpanType.Tool);
            return span.Activity!.GetTagItem(Carrier);
        }

        Task<object?> pending;
        using (MlflowTracing.UseModel("m-async"))
        {
            pending = Task.Run(InsideAsync);
        }

        Assert.Equal("m-async", await pending.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Null(MlflowTracing.CurrentModelId);
    }

    [Fact]
    public void A_model_id_is_required() => Assert.Throws<ArgumentException>(() => MlflowTracing.UseModel(""));
}
