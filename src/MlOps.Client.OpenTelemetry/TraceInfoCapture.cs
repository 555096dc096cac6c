using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MlOps.Client.Rest;
using MlOps.Client.Tracing;
using OpenTelemetry;

namespace MlOps.Client.OpenTelemetry;

/// <summary>
/// On the exporter's thread, before a batch is serialised (never on the application's): translates GenAI spans, sums
/// each trace's token usage as its spans pass, and for a root builds the trace's info as Python's exporter does
/// (<c>processor/mlflow_v3.py</c>) — metadata (schema version 3, user, source, the run, the model, the application's
/// user and session, the summed tokens, inputs and outputs cut at 250), <c>mlflow.traceName</c> and the user's tags,
/// request and response previews (1000 characters) — taking the carrier attributes (<c>mlops.trace.*</c>) off the span.
/// </summary>
internal sealed class TraceInfoCapture
{
    private static readonly string UserName = Tracking.SystemTags.SafeUserName();
    private static readonly string? SourceName = System.Reflection.Assembly.GetEntryAssembly()?.GetName().Name;
    private const int MetadataLimit = 250;
    private const int MaxOpenTraces = 10_000;
    private readonly ConcurrentDictionary<ActivityTraceId, long[]> _tokens = new();

    /// <summary>One span of a batch; for a root, its trace's info.</summary>
    public TraceInfoWire? Process(Activity data)
    {
        GenAiSpans.Translate(data);
        if (TokenUsage(data) is { } usage)
        {
            if (_tokens.Count >= MaxOpenTraces)
            {
                _tokens.Clear(); // traces whose root never came (bounded memory; their token totals are the server's own)
            }

            var sum = _tokens.GetOrAdd(data.TraceId, _ => new long[2]);
            Interlocked.Add(ref sum[0], usage.Input);
            Interlocked.Add(ref sum[1], usage.Output);
        }

        // The trace's root here: no parent, or a parent in another process (a request that came with a traceparent).
        if (data.ParentSpanId != default && !data.HasRemoteParent)
        {
            return null;
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [TraceMetadataKeys.SchemaVersion] = "3",
            [MlflowTags.User] = UserName,
            [MlflowTags.SourceType] = "LOCAL",
        };
        if (SourceName is { } entry)
        {
            metadata[MlflowTags.SourceName] = entry;
        }

        var tags = new Dictionary<string, string>(StringComparer.Ordinal) { [TraceTagKeys.TraceName] = data.DisplayName };
        var carriers = new List<string>();
        foreach (var (key, value) in data.TagObjects)
        {
            if (key.StartsWith(MlflowTracing.MetadataPrefix, StringComparison.Ordinal))
            {
                metadata[key[MlflowTracing.MetadataPrefix.Length..]] = Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";
                carriers.Add(key);
            }
            else if (key.StartsWith(MlflowTracing.TagPrefix, StringComparison.Ordinal))
            {
                tags[key[MlflowTracing.TagPrefix.Length..]] = Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";
                carriers.Add(key);
            }
        }

        foreach (var key in carriers)
        {
            data.SetTag(key, null); // not a span attribute: trace metadata
        }

        var inputs = data.GetTagItem(SpanAttributeKeys.Inputs) as string;
        var outputs = data.GetTagItem(SpanAttributeKeys.Outputs) as string;
        if (inputs is not null)
        {
            metadata[TraceMetadataKeys.Inputs] = TracePreviews.Cut(inputs, MetadataLimit);
        }

        if (outputs is not null)
        {
            metadata[TraceMetadataKeys.Outputs] = TracePreviews.Cut(outputs, MetadataLimit);
        }

        if (_tokens.TryRemove(data.TraceId, out var total))
        {
            metadata[TraceMetadataKeys.TokenUsage] = $$"""{"input_tokens": {{total[0]}}, "output_tokens": {{total[1]}}, "total_tokens": {{total[0] + total[1]}}}""";
        }

        return new TraceInfoWire(
            MlflowTracing.TraceIdOf(data.TraceId),
            null,
            data.StartTimeUtc.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
            data.Duration.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + "s",
            data.Status == ActivityStatusCode.Error ? "ERROR" : "OK",
            metadata,
            tags,
            inputs is null ? null : TracePreviews.Preview(inputs, "user"),
            outputs is null ? null : TracePreviews.Preview(outputs, "assistant"),
            null,
            null);
    }

    /// <summary><c>mlflow.chat.tokenUsage</c> (JSON), else the GenAI conventions' <c>gen_ai.usage.input_tokens</c>/<c>output_tokens</c>.</summary>
    private static (long Input, long Output)? TokenUsage(Activity data)
    {
        if (data.GetTagItem(SpanAttributeKeys.ChatTokenUsage) is string json)
        {
            try
            {
                using var document = JsonDocument.Parse(json);
                var root = document.RootElement;
                return (root.TryGetProperty("input_tokens", out var i) ? i.GetInt64() : 0, root.TryGetProperty("output_tokens", out var o) ? o.GetInt64() : 0);
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
            {
                return null;
            }
        }

        return data.GetTagItem(MlflowSpan.GenAiInputTokens) is { } input && data.GetTagItem(MlflowSpan.GenAiOutputTokens) is { } output
            ? (Convert.ToInt64(input, CultureInfo.InvariantCulture), Convert.ToInt64(output, CultureInfo.InvariantCulture))
            : null;
    }
}
