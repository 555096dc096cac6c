using System.Text.Json;

namespace MlOps.Client.Rest;

// MLflow 3's trace messages as the 3.6 server writes them (service.proto: TraceInfoV3, Trace, Assessment; spans as
// OTLP JSON). Recorded in tests/MlOps.Client.Tests/Recorded/traces.
internal sealed record TraceLocationWire(TraceLocationType? Type, TraceExperimentLocationWire? MlflowExperiment)
{
    public static TraceLocationWire Experiment(string experimentId) => new(TraceLocationType.MlflowExperiment, new TraceExperimentLocationWire(experimentId));
}

/// <summary>service.proto's <c>TraceLocation.TraceLocationType</c> (written in upper snake case).</summary>
internal enum TraceLocationType
{
    TraceLocationTypeUnspecified,
    MlflowExperiment,
    InferenceTable,
}

internal sealed record TraceExperimentLocationWire(string? ExperimentId);

internal sealed record TraceInfoWire(
    string? TraceId, TraceLocationWire? TraceLocation, string? RequestTime, string? ExecutionDuration, string? State,
    Dictionary<string, string>? TraceMetadata, Dictionary<string, string>? Tags, string? RequestPreview, string? ResponsePreview,
    IReadOnlyList<AssessmentWire>? Assessments, string? ClientRequestId);

internal sealed record AssessmentSourceWire(string? SourceType, string? SourceId);

internal sealed record FeedbackWire(JsonElement? Value, AssessmentErrorWire? Error);

internal sealed record ExpectationWire(JsonElement? Value);

internal sealed record AssessmentErrorWire(string? ErrorCode, string? ErrorMessage);

internal sealed record AssessmentWire(
    string? AssessmentId, string? AssessmentName, string? TraceId, string? SpanId, AssessmentSourceWire? Source, string? CreateTime, string? LastUpdateTime,
    FeedbackWire? Feedback, ExpectationWire? Expectation, string? Rationale, Dictionary<string, string>? Metadata, bool? Valid, string? Overrides);

internal sealed record OtlpKeyValueWire(string? Key, JsonElement? Value);

internal sealed record OtlpStatusWire(string? Code, string? Message);

internal sealed record OtlpEventWire(string? Name, JsonElement? TimeUnixNano, IReadOnlyList<OtlpKeyValueWire>? Attributes);

internal sealed record OtlpSpanWire(
    string? TraceId, string? SpanId, string? ParentSpanId, string? Name, JsonElement? StartTimeUnixNano, JsonElement? EndTimeUnixNano,
    IReadOnlyList<OtlpKeyValueWire>? Attributes, OtlpStatusWire? Status, IReadOnlyList<OtlpEventWire>? Events);

internal sealed record TraceWire(TraceInfoWire? TraceInfo, IReadOnlyList<OtlpSpanWire>? Spans);

internal sealed record SearchTracesRequest(IReadOnlyList<TraceLocationWire> Locations, string? Filter, int MaxResults, IReadOnlyList<string>? OrderBy, string? PageToken);

internal sealed record SearchTracesResponse(IReadOnlyList<TraceInfoWire>? Traces, string? NextPageToken);

internal sealed record BatchGetTracesResponse(IReadOnlyList<TraceWire>? Traces);

internal sealed record GetTraceResponse(TraceWire? Trace);

internal sealed record TraceTagRequest(string Key, string? Value);

internal sealed record DeleteTracesRequest(string ExperimentId, IReadOnlyList<string>? RequestIds, long? MaxTimestampMillis, int? MaxTraces);

internal sealed record DeleteTracesResponse(int? TracesDeleted);

internal sealed record AssessmentRequest(AssessmentWire Assessment);

internal sealed record AssessmentResponse(AssessmentWire? Assessment);

internal sealed record StartTraceRequest(TraceWire Trace);
