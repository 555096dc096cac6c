using System.Text.Json;

namespace MlOps.Client;

/// <summary>A trace's summary (MLflow 3's <c>TraceInfoV3</c>): where it is, when, how long, its state, metadata, tags and previews.</summary>
public sealed class TraceInfo
{
    /// <summary>The trace id, <c>tr-&lt;32 hex&gt;</c> for traces MLflow created.</summary>
    public string TraceId { get; init => field = value ?? ""; } = "";

    /// <summary>The experiment the trace is in.</summary>
    public string? ExperimentId { get; init; }

    /// <summary>When the trace started.</summary>
    public DateTimeOffset? RequestTime { get; init; }

    /// <summary>How long it took.</summary>
    public TimeSpan? ExecutionDuration { get; init; }

    /// <summary><c>OK</c>, <c>ERROR</c> or <c>IN_PROGRESS</c>.</summary>
    public string State { get; init => field = value ?? ""; } = "";

    /// <summary>Metadata (<c>mlflow.sourceRun</c>, <c>mlflow.modelId</c>, <c>mlflow.trace.user</c>, <c>mlflow.trace.session</c>, <c>mlflow.trace.tokenUsage</c>…; see <see cref="TraceMetadataKeys"/>).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init => field = value ?? new Dictionary<string, string>(); } = new Dictionary<string, string>();

    /// <summary>Tags (mutable on the server: <see cref="MlflowClient.SetTraceTagAsync"/>).</summary>
    public IReadOnlyDictionary<string, string> Tags { get; init => field = value ?? new Dictionary<string, string>(); } = new Dictionary<string, string>();

    /// <summary>The root span's inputs, cut short.</summary>
    public string? RequestPreview { get; init; }

    /// <summary>The root span's outputs, cut short.</summary>
    public string? ResponsePreview { get; init; }

    /// <summary>Feedback and expectations logged on the trace.</summary>
    public IReadOnlyList<Assessment> Assessments { get; init => field = value ?? []; } = [];

    /// <summary>The run the trace was produced in (<c>mlflow.sourceRun</c>), when there is one.</summary>
    public string? SourceRunId => Metadata.TryGetValue(TraceMetadataKeys.SourceRun, out var r) ? r : null;

    /// <inheritdoc/>
    public override string ToString() => $"Trace {TraceId} ({State}) in experiment {ExperimentId}";
}

/// <summary>A trace with its spans.</summary>
public sealed class Trace
{
    /// <summary>The summary.</summary>
    public TraceInfo Info { get; init => field = value ?? new(); } = new();

    /// <summary>The spans, parents before their children as the server lists them.</summary>
    public IReadOnlyList<TraceSpan> Spans { get; init => field = value ?? []; } = [];

    /// <summary>The span without a parent.</summary>
    public TraceSpan? Root => Spans.FirstOrDefault(s => s.ParentSpanId is null);

    /// <summary>The children of <paramref name="span"/>.</summary>
    /// <param name="span">A span of this trace.</param>
    public IEnumerable<TraceSpan> ChildrenOf(TraceSpan span)
    {
        ArgumentNullException.ThrowIfNull(span);
        return Spans.Where(s => s.ParentSpanId == span.SpanId);
    }
}

/// <summary>One span of a trace, its attributes as JSON (MLflow's own — type, inputs, outputs, token usage — read out).</summary>
public sealed class TraceSpan
{
    /// <summary>The OpenTelemetry trace id (32 hex digits).</summary>
    public string TraceId { get; init => field = value ?? ""; } = "";

    /// <summary>The span id (16 hex digits).</summary>
    public string SpanId { get; init => field = value ?? ""; } = "";

    /// <summary>The parent's span id; <see langword="null"/> for the root.</summary>
    public string? ParentSpanId { get; init; }

    /// <summary>The name.</summary>
    public string Name { get; init => field = value ?? ""; } = "";

    /// <summary>Start.</summary>
    public DateTimeOffset StartTime { get; init; }

    /// <summary>End.</summary>
    public DateTimeOffset? EndTime { get; init; }

    /// <summary>The status: <c>OK</c>, <c>ERROR</c> or <c>UNSET</c>.</summary>
    public string Status { get; init => field = value ?? "UNSET"; } = "UNSET";

    /// <summary>The status message (an error's description).</summary>
    public string? StatusMessage { get; init; }

    /// <summary>Every attribute, as JSON (MLflow's JSON-encoded string attributes decoded).</summary>
    public IReadOnlyDictionary<string, JsonElement> Attributes { get; init => field = value ?? new Dictionary<string, JsonElement>(); } = new Dictionary<string, JsonElement>();

    /// <summary>Events (an exception, a log line), each with its name, time and attributes.</summary>
    public IReadOnlyList<TraceSpanEvent> Events { get; init => field = value ?? []; } = [];

    /// <summary><c>mlflow.spanType</c> (<see cref="SpanType"/>).</summary>
    public string? SpanType => Attributes.TryGetValue(SpanAttributeKeys.SpanType, out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;

    /// <summary><c>mlflow.spanInputs</c>.</summary>
    public JsonElement? Inputs => Attributes.TryGetValue(SpanAttributeKeys.Inputs, out var v) ? v : null;

    /// <summary><c>mlflow.spanOutputs</c>.</summary>
    public JsonElement? Outputs => Attributes.TryGetValue(SpanAttributeKeys.Outputs, out var v) ? v : null;

    /// <summary><c>mlflow.chat.tokenUsage</c> (<c>input_tokens</c>, <c>output_tokens</c>, <c>total_tokens</c>).</summary>
    public JsonElement? TokenUsage => Attributes.TryGetValue(SpanAttributeKeys.ChatTokenUsage, out var v) ? v : null;

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({SpanType ?? "UNKNOWN"})";
}

/// <summary>An event on a span.</summary>
/// <param name="Name">The name (<c>exception</c> for a recorded exception).</param>
/// <param name="Time">When.</param>
/// <param name="Attributes">Its attributes as JSON.</param>
public sealed record TraceSpanEvent(string Name, DateTimeOffset Time, IReadOnlyDictionary<string, JsonElement> Attributes);

/// <summary>Who made an assessment: <c>HUMAN</c>, <c>LLM_JUDGE</c> or <c>CODE</c>, and their id.</summary>
/// <param name="SourceType">The kind of source.</param>
/// <param name="SourceId">Who (a user name, a judge's model, a function).</param>
public sealed record AssessmentSource(string SourceType, string SourceId);

/// <summary>Feedback (a judgement of the trace) or an expectation (the right answer) logged on a trace (MLflow 3's <c>Assessment</c>).</summary>
public sealed class Assessment
{
    /// <summary>The id the server gave it (<c>a-…</c>).</summary>
    public string? AssessmentId { get; init; }

    /// <summary>The name (<c>helpful</c>, <c>correctness</c>…).</summary>
    public string Name { get; init => field = value ?? ""; } = "";

    /// <summary>The trace.</summary>
    public string TraceId { get; init => field = value ?? ""; } = "";

    /// <summary>The span it is about, when not the whole trace.</summary>
    public string? SpanId { get; init; }

    /// <summary>Who made it.</summary>
    public AssessmentSource Source { get; init => field = value ?? new("HUMAN", ""); } = new("HUMAN", "");

    /// <summary>Feedback's value (a boolean, number, string or JSON value); <see langword="null"/> for an expectation.</summary>
    public JsonElement? FeedbackValue { get; init; }

    /// <summary>An expectation's value; <see langword="null"/> for feedback.</summary>
    public JsonElement? ExpectationValue { get; init; }

    /// <summary>Why.</summary>
    public string? Rationale { get; init; }

    /// <summary>When it was made.</summary>
    public DateTimeOffset? CreateTime { get; init; }

    /// <summary>Extra string metadata.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init => field = value ?? new Dictionary<string, string>(); } = new Dictionary<string, string>();
}
