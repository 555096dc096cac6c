using System.Buffers;
using System.Text.Json;

namespace MlOps.Client.Rest;

/// <summary>
/// Writes a <c>runs/log-batch</c> request straight from the uploader's metric rows: the very bytes
/// <see cref="System.Text.Json.JsonSerializer"/> writes for a <see cref="LogBatchRequest"/> of the same metrics (a test
/// compares them), without a <see cref="Metric"/> object per value.
/// </summary>
internal static class LogBatchWriter
{
    private static readonly JsonEncodedText RunIdName = JsonEncodedText.Encode("run_id");
    private static readonly JsonEncodedText MetricsName = JsonEncodedText.Encode("metrics");
    private static readonly JsonEncodedText ParamsName = JsonEncodedText.Encode("params");
    private static readonly JsonEncodedText TagsName = JsonEncodedText.Encode("tags");
    private static readonly JsonEncodedText KeyName = JsonEncodedText.Encode("key");
    private static readonly JsonEncodedText ValueName = JsonEncodedText.Encode("value");
    private static readonly JsonEncodedText TimestampName = JsonEncodedText.Encode("timestamp");
    private static readonly JsonEncodedText StepName = JsonEncodedText.Encode("step");
    private static readonly JsonEncodedText ModelIdName = JsonEncodedText.Encode("model_id");
    private static readonly JsonEncodedText DatasetNameName = JsonEncodedText.Encode("dataset_name");
    private static readonly JsonEncodedText DatasetDigestName = JsonEncodedText.Encode("dataset_digest");

    // MlflowJsonContext writes a non-finite double as these strings (AllowNamedFloatingPointLiterals).
    private static readonly JsonEncodedText NaN = JsonEncodedText.Encode("NaN");
    private static readonly JsonEncodedText PositiveInfinity = JsonEncodedText.Encode("Infinity");
    private static readonly JsonEncodedText NegativeInfinity = JsonEncodedText.Encode("-Infinity");

    /// <summary>Writes the request's JSON: <c>run_id</c>, then <c>metrics</c>, <c>params</c>, <c>tags</c> (each left out when empty).</summary>
    public static void Write(IBufferWriter<byte> output, string runId, ReadOnlySpan<MetricRow> metrics, IReadOnlyList<Param> parameters, IReadOnlyList<RunTag> tags)
    {
        using var writer = new Utf8JsonWriter(output, new JsonWriterOptions { Encoder = MlflowJsonContext.Default.Options.Encoder, SkipValidation = true });
        writer.WriteStartObject();
        writer.WriteString(RunIdName, runId);
        if (!metrics.IsEmpty)
        {
            writer.WriteStartArray(MetricsName);
            foreach (ref readonly var m in metrics)
            {
                writer.WriteStartObject();
                writer.WriteString(KeyName, m.Key);
                if (double.IsFinite(m.Value))
                {
                    writer.WriteNumber(ValueName, m.Value);
                }
                else
                {
                    writer.WriteString(ValueName, double.IsNaN(m.Value) ? NaN : m.Value > 0 ? PositiveInfinity : NegativeInfinity);
                }

                writer.WriteNumber(TimestampName, m.Timestamp);
                writer.WriteNumber(StepName, m.Step);
                if (m.Link is { } link)
                {
                    WriteIfNotNull(writer, ModelIdName, link.ModelId);
                    WriteIfNotNull(writer, DatasetNameName, link.DatasetName);
                    WriteIfNotNull(writer, DatasetDigestName, link.DatasetDigest);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        if (parameters.Count > 0)
        {
            writer.WriteStartArray(ParamsName);
            foreach (var p in parameters)
            {
                WriteKeyValue(writer, p.Key, p.Value);
            }

            writer.WriteEndArray();
        }

        if (tags.Count > 0)
        {
            writer.WriteStartArray(TagsName);
            foreach (var t in tags)
            {
                WriteKeyValue(writer, t.Key, t.Value);
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
    }

    private static void WriteKeyValue(Utf8JsonWriter writer, string key, string value)
    {
        writer.WriteStartObject();
        writer.WriteString(KeyName, key);
        writer.WriteString(ValueName, value);
        writer.WriteEndObject();
    }

    private static void WriteIfNotNull(Utf8JsonWriter writer, JsonEncodedText name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }
}
