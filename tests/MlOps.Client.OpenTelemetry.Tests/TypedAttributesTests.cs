using System.Text;
using System.Text.Json.Nodes;
using MlOps.Client.Tracing;
using OpenTelemetry;
using OpenTelemetry.Trace;
using WireMock.Server;

namespace MlOps.Client.OpenTelemetry.Tests;

/// <summary>
/// Inputs and outputs reach the server with the OTLP value types Python MLflow's client sends (<c>_set_otel_proto_anyvalue</c>
/// of the decoded value): an object as a key-value list, a list as an array, an integer as an int, a decimal as a double,
/// a string as a string — so that Python reads a list back as a list, not as JSON text. Checked by decoding the protobuf
/// the fake server receives with a decoder of this test's own.
/// </summary>
public sealed class TypedAttributesTests : IDisposable
{
    private readonly WireMockServer _server = FakeTraceEndpoints.Start();

    public void Dispose() => _server.Stop();

    private List<byte[]> Export(Action spans)
    {
        var bodies = new List<byte[]>();
        FakeTraceEndpoints.Answer(_server, onSpans: body => { lock (bodies) { bodies.Add(body); } });
        using (var provider = Sdk.CreateTracerProviderBuilder()
            .AddMlflowExporter(o =>
            {
                o.Client = new MlflowClientOptions { TrackingUri = _server.Url };
                o.ExperimentId = "3";
            })
            .Build()!)
        {
            spans();
            Assert.True(provider.ForceFlush(30_000), "the exporter did not flush within 30 s");
        }

        return bodies;
    }

    [Fact]
    public void Objects_lists_numbers_and_strings_go_as_python_sends_them()
    {
        var bodies = Export(() =>
        {
            using var root = MlflowTracing.StartSpan("retrieve", SpanType.Retriever, new JsonObject { ["query"] = "iris", ["k"] = 2, ["threshold"] = 0.5, ["exact"] = true, ["filter"] = null });
            using (var child = MlflowTracing.StartSpan("count", SpanType.Tool, new JsonArray(1, 2)))
            {
                child.SetOutputs(JsonValue.Create(42));
            }

            using (var text = MlflowTracing.StartSpan("echo", SpanType.Parser, JsonValue.Create("hello")))
            {
                text.SetOutputs(JsonValue.Create(2.5));
            }

            root.SetOutputs(new JsonArray(new JsonObject { ["page_content"] = "setosa", ["metadata"] = new JsonObject { ["id"] = 7 } }));
        });

        var spans = bodies.SelectMany(OtlpReader.Spans).ToDictionary(s => s.Name, s => s.Attributes);
        var inputs = Assert.IsType<Dictionary<string, object?>>(spans["retrieve"][SpanAttributeKeys.Inputs]);
        Assert.Equal("iris", inputs["query"]);
        Assert.Equal(2L, inputs["k"]);
        Assert.Equal(0.5, inputs["threshold"]);
        Assert.Equal(true, inputs["exact"]);
        Assert.Null(inputs["filter"]);
        var documents = Assert.IsType<List<object?>>(spans["retrieve"][SpanAttributeKeys.Outputs]);
        var document = Assert.IsType<Dictionary<string, object?>>(Assert.Single(documents));
        Assert.Equal("setosa", document["page_content"]);
        Assert.Equal(7L, Assert.IsType<Dictionary<string, object?>>(document["metadata"])["id"]);

        Assert.Equal(new List<object?> { 1L, 2L }, spans["count"][SpanAttributeKeys.Inputs]);
        Assert.Equal(42L, spans["count"][SpanAttributeKeys.Outputs]);
        Assert.Equal("hello", spans["echo"][SpanAttributeKeys.Inputs]); // the string itself, not its JSON text
        Assert.Equal(2.5, spans["echo"][SpanAttributeKeys.Outputs]); // a decimal literal: a float in Python's json.loads

        // Everything else as OpenTelemetry's exporter wrote it.
        Assert.Equal("RETRIEVER", spans["retrieve"][SpanAttributeKeys.SpanType]);
    }

    [Fact]
    public void Text_that_is_not_json_and_requests_without_inputs_go_unchanged()
    {
        Assert.Null(OtlpJsonAttributes.Rewrite([0x0A, 0x00]));
        Assert.Null(OtlpJsonAttributes.Rewrite(Encoding.UTF8.GetBytes("mlflow.spanInputs but not protobuf")));
        var bodies = Export(() =>
        {
            using var activity = MlflowTracing.StartSpan("raw", SpanType.Chain);
            activity.Activity!.SetTag(SpanAttributeKeys.Inputs, "not json {");
        });

        Assert.Equal("not json {", bodies.SelectMany(OtlpReader.Spans).Single().Attributes[SpanAttributeKeys.Inputs]);
    }
}
