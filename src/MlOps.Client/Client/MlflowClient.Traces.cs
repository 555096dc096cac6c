using System.Globalization;
using System.Text.Json;
using MlOps.Client.Rest;

namespace MlOps.Client;

public partial class MlflowClient
{
    /// <summary>
    /// One page of traces (<c>POST /api/3.0/mlflow/traces/search</c>, Python's <c>MlflowClient.search_traces</c>) — their
    /// summaries; <see cref="GetTraceAsync"/> reads a trace's spans.
    /// </summary>
    /// <param name="experimentIds">The experiments to search.</param>
    /// <param name="filter">MLflow's trace filter, e.g. <c>tags.team = 'a'</c>, <c>trace.status = 'OK'</c>, <c>metadata.`mlflow.sourceRun` = '…'</c>.</param>
    /// <param name="orderBy">E.g. <c>timestamp_ms DESC</c>.</param>
    /// <param name="maxResults">Traces per page (1–500, default 100).</param>
    /// <param name="pageToken">The previous page's <see cref="MlflowPage{T}.NextPageToken"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual async Task<MlflowPage<TraceInfo>> SearchTracesAsync(
        IReadOnlyList<string> experimentIds, string? filter = null, IReadOnlyList<string>? orderBy = null, int maxResults = 100, string? pageToken = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(experimentIds);
        if (experimentIds.Count == 0)
        {
            throw new ArgumentException("Give at least one experiment id.", nameof(experimentIds));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(maxResults, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxResults, 500);
        var request = new SearchTracesRequest(
            [.. experimentIds.Select(TraceLocationWire.Experiment)],
            string.IsNullOrEmpty(filter) ? null : filter, maxResults, orderBy is { Count: > 0 } ? orderBy : null, pageToken);
        var response = await PostAsync("api/3.0/mlflow/traces/search", request,
            MlflowJsonContext.Default.SearchTracesRequest, MlflowJsonContext.Default.SearchTracesResponse, cancellationToken).ConfigureAwait(false);
        return new MlflowPage<TraceInfo>([.. (response.Traces ?? []).Select(TraceConversions.ToEntity)], string.IsNullOrEmpty(response.NextPageToken) ? null : response.NextPageToken);
    }

    /// <summary>
    /// A trace with its spans (<c>GET /api/3.0/mlflow/traces/batchGet</c>, as Python 3.6's <c>get_trace</c> reads traces
    /// whose spans the server keeps), and its assessments (<c>GET /api/3.0/mlflow/traces/{id}</c>).
    /// </summary>
    /// <param name="traceId">The trace id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="MlflowException">No such trace (404), or a server without the MLflow 3 trace API.</exception>
    public virtual async Task<Trace> GetTraceAsync(string traceId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(traceId);
        var batch = await GetAsync("api/3.0/mlflow/traces/batchGet", new QueryString().Add("trace_ids", traceId), MlflowJsonContext.Default.BatchGetTracesResponse, cancellationToken).ConfigureAwait(false);
        var wire = batch.Traces is { Count: > 0 } traces ? traces[0] : throw new MlflowException(404, MlflowErrorCodes.ResourceDoesNotExist, $"Trace with id={traceId} not found.");
        var info = await GetAsync("api/3.0/mlflow/traces/" + Uri.EscapeDataString(traceId), new QueryString().Add("trace_id", traceId), MlflowJsonContext.Default.GetTraceResponse, cancellationToken).ConfigureAwait(false);
        return new Trace
        {
            Info = TraceConversions.ToEntity(info.Trace?.TraceInfo ?? wire.TraceInfo ?? throw MissingField("traces/batchGet", "trace_info")),
            Spans = [.. (wire.Spans ?? []).Select(TraceConversions.ToEntity)],
        };
    }

    /// <summary>Sets a trace tag (<c>PATCH /api/2.0/mlflow/traces/{id}/tags</c>).</summary>
    /// <param name="traceId">The trace.</param>
    /// <param name="key">The tag key.</param>
    /// <param name="value">The value.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task SetTraceTagAsync(string traceId, string key, string value, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(traceId);
        Validation.MlflowValidator.ValidateTag(key, value);
        return SendJsonAsync(HttpMethod.Patch, $"traces/{Uri.EscapeDataString(traceId)}/tags", new TraceTagRequest(key, value),
            MlflowJsonContext.Default.TraceTagRequest, MlflowJsonContext.Default.EmptyMessage, cancellationToken);
    }

    /// <summary>Deletes a trace tag (<c>DELETE /api/2.0/mlflow/traces/{id}/tags</c>).</summary>
    /// <param name="traceId">The trace.</param>
    /// <param name="key">The tag key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task DeleteTraceTagAsync(string traceId, string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(traceId);
        ArgumentException.ThrowIfNullOrEmpty(key);
        return SendJsonAsync(HttpMethod.Delete, $"traces/{Uri.EscapeDataString(traceId)}/tags", new TraceTagRequest(key, null),
            MlflowJsonContext.Default.TraceTagRequest, MlflowJsonContext.Default.EmptyMessage, cancellationToken);
    }

    /// <summary>
    /// Deletes traces of an experiment (<c>POST /api/2.0/mlflow/traces/delete-traces</c>): the ones named, or those older
    /// than a time (at most <paramref name="maxTraces"/> of them).
    /// </summary>
    /// <param name="experimentId">The experiment.</param>
    /// <param name="traceIds">The traces to delete; or <see langword="null"/> with <paramref name="olderThan"/>.</param>
    /// <param name="olderThan">Delete traces that started before this.</param>
    /// <param name="maxTraces">At most this many with <paramref name="olderThan"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>How many were deleted.</returns>
    public virtual async Task<int> DeleteTracesAsync(
        string experimentId, IReadOnlyList<string>? traceIds = null, DateTimeOffset? olderThan = null, int? maxTraces = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(experimentId);
        if ((traceIds is null) == (olderThan is null))
        {
            throw new ArgumentException("Give either the traces' ids or a time (olderThan), not both.", nameof(traceIds));
        }

        var response = await PostAsync("traces/delete-traces", new DeleteTracesRequest(experimentId, traceIds, olderThan?.ToUnixTimeMilliseconds(), olderThan is null ? null : maxTraces ?? 100),
            MlflowJsonContext.Default.DeleteTracesRequest, MlflowJsonContext.Default.DeleteTracesResponse, cancellationToken).ConfigureAwait(false);
        return response.TracesDeleted ?? 0;
    }

    /// <summary>
    /// Logs feedback on a trace (<c>POST /api/3.0/mlflow/traces/{id}/assessments</c>, Python's <c>mlflow.log_feedback</c>):
    /// a judgement — a boolean, number, string or JSON value — by a person, a judge or code, with its rationale.
    /// </summary>
    /// <param name="traceId">The trace.</param>
    /// <param name="name">The assessment's name (<c>helpful</c>).</param>
    /// <param name="value">The value (bool, number, string, or any JSON via <see cref="JsonElement"/>).</param>
    /// <param name="source">Who judged; a human of unknown name when not given.</param>
    /// <param name="rationale">Why.</param>
    /// <param name="spanId">The span it is about (hex), when not the whole trace.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task<Assessment> LogFeedbackAsync(
        string traceId, string name, object? value, AssessmentSource? source = null, string? rationale = null, string? spanId = null, CancellationToken cancellationToken = default) =>
        LogAssessmentAsync(traceId, name, new FeedbackWire(TraceConversions.ToJson(value), null), null, source, rationale, spanId, cancellationToken);

    /// <summary>Logs an expectation on a trace (Python's <c>mlflow.log_expectation</c>): the answer it should have given.</summary>
    /// <param name="traceId">The trace.</param>
    /// <param name="name">The expectation's name (<c>expected_answer</c>).</param>
    /// <param name="value">The expected value.</param>
    /// <param name="source">Who set it; a human of unknown name when not given.</param>
    /// <param name="spanId">The span it is about (hex), when not the whole trace.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task<Assessment> LogExpectationAsync(
        string traceId, string name, object? value, AssessmentSource? source = null, string? spanId = null, CancellationToken cancellationToken = default) =>
        LogAssessmentAsync(traceId, name, null, new ExpectationWire(TraceConversions.ToJson(value)), source, null, spanId, cancellationToken);

    /// <summary>Writes a trace's info (<c>POST /api/3.0/mlflow/traces</c>, StartTraceV3): after its spans, as Python's exporter does, for the metadata and tags OTLP cannot carry.</summary>
    internal async Task<TraceInfo> StartTraceAsync(TraceInfoWire info, CancellationToken cancellationToken)
    {
        var response = await PostAsync("api/3.0/mlflow/traces", new StartTraceRequest(new TraceWire(info, null)),
            MlflowJsonContext.Default.StartTraceRequest, MlflowJsonContext.Default.GetTraceResponse, cancellationToken).ConfigureAwait(false);
        return TraceConversions.ToEntity(response.Trace?.TraceInfo ?? throw MissingField("traces", "trace.trace_info"));
    }

    private async Task<Assessment> LogAssessmentAsync(
        string traceId, string name, FeedbackWire? feedback, ExpectationWire? expectation, AssessmentSource? source, string? rationale, string? spanId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(traceId);
        ArgumentException.ThrowIfNullOrEmpty(name);
        var now = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        source ??= new AssessmentSource("HUMAN", Environment.UserName);
        var wire = new AssessmentWire(null, name, traceId, spanId, new AssessmentSourceWire(source.SourceType, source.SourceId), now, now, feedback, expectation, rationale, null, true, null);
        var response = await PostAsync($"api/3.0/mlflow/traces/{Uri.EscapeDataString(traceId)}/assessments", new AssessmentRequest(wire),
            MlflowJsonContext.Default.AssessmentRequest, MlflowJsonContext.Default.AssessmentResponse, cancellationToken).ConfigureAwait(false);
        return TraceConversions.ToEntity(response.Assessment ?? throw MissingField("traces/assessments", "assessment"));
    }
}

/// <summary>Wire ↔ entity for traces: RFC 3339 times, protobuf durations, OTLP JSON spans (base64 ids, AnyValue attributes).</summary>
internal static class TraceConversions
{
    public static TraceInfo ToEntity(TraceInfoWire w) => new()
    {
        TraceId = w.TraceId ?? "",
        ExperimentId = w.TraceLocation?.MlflowExperiment?.ExperimentId,
        RequestTime = DateTimeOffset.TryParse(w.RequestTime, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : null,
        ExecutionDuration = Duration(w.ExecutionDuration),
        State = w.State ?? "",
        Metadata = w.TraceMetadata ?? [],
        Tags = w.Tags ?? [],
        RequestPreview = w.RequestPreview,
        ResponsePreview = w.ResponsePreview,
        Assessments = [.. (w.Assessments ?? []).Select(ToEntity)],
    };

    public static Assessment ToEntity(AssessmentWire w) => new()
    {
        AssessmentId = w.AssessmentId,
        Name = w.AssessmentName ?? "",
        TraceId = w.TraceId ?? "",
        SpanId = w.SpanId,
        Source = new AssessmentSource(w.Source?.SourceType ?? "", w.Source?.SourceId ?? ""),
        FeedbackValue = w.Feedback?.Value,
        ExpectationValue = w.Expectation?.Value,
        Rationale = w.Rationale,
        CreateTime = DateTimeOffset.TryParse(w.CreateTime, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : null,
        Metadata = w.Metadata ?? [],
    };

    public static TraceSpan ToEntity(OtlpSpanWire w) => new()
    {
        TraceId = Hex(w.TraceId) ?? "",
        SpanId = Hex(w.SpanId) ?? "",
        ParentSpanId = Hex(w.ParentSpanId),
        Name = w.Name ?? "",
        StartTime = FromNanos(w.StartTimeUnixNano) ?? default,
        EndTime = FromNanos(w.EndTimeUnixNano),
        Status = w.Status?.Code switch { "STATUS_CODE_OK" or "OK" => "OK", "STATUS_CODE_ERROR" or "ERROR" => "ERROR", _ => "UNSET" },
        StatusMessage = string.IsNullOrEmpty(w.Status?.Message) ? null : w.Status.Message,
        Attributes = Attributes(w.Attributes),
        Events = [.. (w.Events ?? []).Select(e => new TraceSpanEvent(e.Name ?? "", FromNanos(e.TimeUnixNano) ?? default, Attributes(e.Attributes)))],
    };

    /// <summary>A protobuf JSON duration (<c>"1.339s"</c>).</summary>
    public static TimeSpan? Duration(string? text) =>
        text is { Length: > 1 } && text[^1] == 's' && double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
            ? TimeSpan.FromSeconds(seconds)
            : null;

    /// <summary>A base64 OTLP id as lowercase hex (MLflow's and OpenTelemetry's usual form); hex ids are kept.</summary>
    public static string? Hex(string? id)
    {
        if (string.IsNullOrEmpty(id))
        {
            return null;
        }

        if (id.Length is 16 or 32 && id.All(char.IsAsciiHexDigit))
        {
            return id.ToLowerInvariant();
        }

        try
        {
            return Convert.ToHexString(Convert.FromBase64String(id)).ToLowerInvariant();
        }
        catch (FormatException)
        {
            return id;
        }
    }

    private static DateTimeOffset? FromNanos(JsonElement? value)
    {
        long nanos;
        if (value is not { } v)
        {
            return null;
        }

        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out nanos))
        {
        }
        else if (v.ValueKind == JsonValueKind.String && long.TryParse(v.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out nanos))
        {
        }
        else
        {
            return null;
        }

        return DateTimeOffset.UnixEpoch.AddTicks(nanos / 100);
    }

    /// <summary>OTLP key-values as JSON: <c>kvlist</c> → object, <c>array</c> → array; string values that hold JSON (MLflow encodes its attributes so) decoded.</summary>
    private static Dictionary<string, JsonElement> Attributes(IReadOnlyList<OtlpKeyValueWire>? attributes)
    {
        var result = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var kv in attributes ?? [])
        {
            if (kv.Key is null || kv.Value is not { } value)
            {
                continue;
            }

            var json = AnyValue(value);
            if (json.ValueKind == JsonValueKind.String && kv.Key.StartsWith("mlflow.", StringComparison.Ordinal) && TryParse(json.GetString()!, out var decoded))
            {
                json = decoded;
            }

            result[kv.Key] = json;
        }

        return result;
    }

    private static bool TryParse(string text, out JsonElement value)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            value = document.RootElement.Clone();
            return true;
        }
        catch (JsonException)
        {
            value = default;
            return false;
        }
    }

    private static JsonElement AnyValue(JsonElement any)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, any);
        }

        using var document = JsonDocument.Parse(buffer.ToArray());
        return document.RootElement.Clone();
    }

    private static void Write(Utf8JsonWriter writer, JsonElement any)
    {
        if (any.ValueKind != JsonValueKind.Object)
        {
            any.WriteTo(writer);
            return;
        }

        foreach (var p in any.EnumerateObject())
        {
            switch (p.Name)
            {
                case "string_value" or "stringValue" or "bool_value" or "boolValue" or "double_value" or "doubleValue":
                    p.Value.WriteTo(writer);
                    return;
                case "int_value" or "intValue":
                    if (p.Value.ValueKind == JsonValueKind.String && long.TryParse(p.Value.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var l))
                    {
                        writer.WriteNumberValue(l);
                    }
                    else
                    {
                        p.Value.WriteTo(writer);
                    }

                    return;
                case "array_value" or "arrayValue":
                    writer.WriteStartArray();
                    if (p.Value.TryGetProperty("values", out var items))
                    {
                        foreach (var item in items.EnumerateArray())
                        {
                            Write(writer, item);
                        }
                    }

                    writer.WriteEndArray();
                    return;
                case "kvlist_value" or "kvlistValue":
                    writer.WriteStartObject();
                    if (p.Value.TryGetProperty("values", out var entries))
                    {
                        foreach (var entry in entries.EnumerateArray())
                        {
                            writer.WritePropertyName(entry.GetProperty("key").GetString() ?? "");
                            if (entry.TryGetProperty("value", out var v))
                            {
                                Write(writer, v);
                            }
                            else
                            {
                                writer.WriteNullValue();
                            }
                        }
                    }

                    writer.WriteEndObject();
                    return;
                case "bytes_value" or "bytesValue":
                    p.Value.WriteTo(writer);
                    return;
            }
        }

        writer.WriteNullValue(); // an empty AnyValue
    }

    /// <summary>A value as JSON for an assessment: JSON elements as they are, primitives as themselves, anything else as its string.</summary>
    public static JsonElement? ToJson(object? value)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            switch (value)
            {
                case null: writer.WriteNullValue(); break;
                case JsonElement e: e.WriteTo(writer); break;
                case bool b: writer.WriteBooleanValue(b); break;
                case string s: writer.WriteStringValue(s); break;
                case int i: writer.WriteNumberValue(i); break;
                case long l: writer.WriteNumberValue(l); break;
                case float f: writer.WriteNumberValue(f); break;
                case double d: writer.WriteNumberValue(d); break;
                case decimal m: writer.WriteNumberValue(m); break;
                default: writer.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture)); break;
            }
        }

        using var document = JsonDocument.Parse(buffer.ToArray());
        return document.RootElement.Clone();
    }
}
