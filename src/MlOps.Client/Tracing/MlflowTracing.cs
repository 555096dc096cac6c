using System.Diagnostics;
using System.Text.Json.Nodes;
using MlOps.Client.Tracking;

namespace MlOps.Client.Tracing;

/// <summary>
/// MLflow's tracing vocabulary for code no library instruments: spans of the <see cref="ActivitySourceName"/> source
/// (plain <see cref="Activity"/> objects, so any OpenTelemetry exporter sees them) with MLflow's span type, inputs and
/// outputs as JSON, token usage; trace metadata and tags. A trace started while a run scope is active
/// (<c>using var run = tracker.StartRun()</c>) is linked to that run (<c>mlflow.sourceRun</c>), and one started inside
/// <see cref="UseModel"/> — as the serving host does around each request — to that logged model (<c>mlflow.modelId</c>). Export them to MLflow
/// with <c>AddMlflowExporter</c> (package <c>MlOps.Client.OpenTelemetry</c>).
/// <code>
/// using (var span = MlflowTracing.StartSpan("retrieve", SpanType.Retriever))
/// {
///     span.SetInputs(new JsonObject { ["query"] = question });
///     span.SetOutputs(new JsonArray(documents.Select(d =&gt; (JsonNode)d).ToArray()));
/// }
/// </code>
/// </summary>
public static class MlflowTracing
{
    /// <summary>The activity source of the spans this class starts (listen to it, or let <c>AddMlflowExporter</c> do so).</summary>
    public const string ActivitySourceName = "MlOps.Client.Tracing";

    /// <summary>The root span's attribute prefix that carries trace metadata to the exporter (removed before export).</summary>
    internal const string MetadataPrefix = "mlops.trace.metadata.";

    /// <summary>The root span's attribute prefix that carries trace tags to the exporter (removed before export).</summary>
    internal const string TagPrefix = "mlops.trace.tag.";

    private static readonly AsyncLocal<string?> ActiveModel = new();

    internal static readonly ActivitySource Source = new(ActivitySourceName, typeof(MlflowTracing).Assembly.GetName().Version?.ToString());

    /// <summary>
    /// Starts a span (a child of the current activity, else a new trace's root). Dispose it to end it; an exception
    /// between start and end is recorded with <see cref="MlflowSpan.RecordException"/>. Returns a span that records
    /// nothing when no listener samples the source (no exporter configured).
    /// </summary>
    /// <param name="name">The span's name.</param>
    /// <param name="spanType">Its type (<see cref="SpanType"/>); <c>UNKNOWN</c> by default.</param>
    /// <param name="inputs">Its inputs, as JSON.</param>
    public static MlflowSpan StartSpan(string name, string spanType = SpanType.Unknown, JsonNode? inputs = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var activity = Source.StartActivity(name, ActivityKind.Internal);
        var span = new MlflowSpan(activity);
        if (activity is not null)
        {
            activity.SetTag(SpanAttributeKeys.SpanType, spanType);
            if (inputs is not null)
            {
                span.SetInputs(inputs);
            }

            if (IsRoot(activity) && Tracker.ActiveRun is { } run)
            {
                activity.SetTag(MetadataPrefix + TraceMetadataKeys.SourceRun, run.RunId);
            }

            if (ActiveModel.Value is { } modelId)
            {
                Root(activity).SetTag(MetadataPrefix + TraceMetadataKeys.ModelId, modelId);
            }
        }

        return span;
    }

    /// <summary>
    /// Runs <paramref name="body"/> in a span — what Python's <c>@mlflow.trace</c> does for a function: the span starts
    /// before the body and ends when its task ends; a body that throws ends it failed, with the exception recorded, and
    /// the exception goes on to the caller; <paramref name="outputs"/> turns the result into the span's outputs. Spans
    /// the body starts are its children.
    /// </summary>
    /// <typeparam name="T">The body's result.</typeparam>
    /// <param name="name">The span's name.</param>
    /// <param name="body">The work, given its span (to set more attributes).</param>
    /// <param name="spanType">Its type (<see cref="SpanType"/>).</param>
    /// <param name="inputs">Its inputs, as JSON.</param>
    /// <param name="outputs">The result as the span's outputs (none when <see langword="null"/>).</param>
    /// <returns>The body's result.</returns>
    public static async Task<T> TraceAsync<T>(string name, Func<MlflowSpan, Task<T>> body, string spanType = SpanType.Unknown, JsonNode? inputs = null, Func<T, JsonNode?>? outputs = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        using var span = StartSpan(name, spanType, inputs);
        try
        {
            return Outputs(span, await body(span).ConfigureAwait(false), outputs);
        }
        catch (Exception ex)
        {
            span.RecordException(ex);
            throw;
        }
    }

    /// <summary>The synchronous form of <see cref="TraceAsync{T}"/>: <paramref name="body"/> in a span, failures recorded and rethrown.</summary>
    /// <typeparam name="T">The body's result.</typeparam>
    /// <param name="name">The span's name.</param>
    /// <param name="body">The work, given its span.</param>
    /// <param name="spanType">Its type (<see cref="SpanType"/>).</param>
    /// <param name="inputs">Its inputs, as JSON.</param>
    /// <param name="outputs">The result as the span's outputs (none when <see langword="null"/>).</param>
    /// <returns>The body's result.</returns>
    public static T Trace<T>(string name, Func<MlflowSpan, T> body, string spanType = SpanType.Unknown, JsonNode? inputs = null, Func<T, JsonNode?>? outputs = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        using var span = StartSpan(name, spanType, inputs);
        try
        {
            return Outputs(span, body(span), outputs);
        }
        catch (Exception ex)
        {
            span.RecordException(ex);
            throw;
        }
    }

    /// <summary>Sets the result as the span's outputs (when recorded and asked for) and gives it back.</summary>
    private static T Outputs<T>(MlflowSpan span, T result, Func<T, JsonNode?>? outputs)
    {
        if (outputs is not null && span.Activity is not null)
        {
            span.SetOutputs(outputs(result));
        }

        return result;
    }

    /// <summary>
    /// Links the traces of this scope (this asynchronous flow, until the result is disposed) to a logged model: their
    /// metadata <c>mlflow.modelId</c>, which MLflow's UI shows on the model's page — what Python's
    /// <c>mlflow.set_active_model</c> does, scoped. The trace already under way (the request's span, when the host traces
    /// its requests) is linked at once; the traces started inside by <see cref="StartSpan"/> as they start. The serving
    /// host (<c>MapMlflowModel</c>, <c>mlops models serve</c>) does this around each request for a model with a
    /// <c>model_id</c>.
    /// </summary>
    /// <param name="modelId">The logged model's id (<c>m-…</c>).</param>
    /// <returns>Ends the scope (the model of the enclosing scope applies again).</returns>
    public static IDisposable UseModel(string modelId)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelId);
        if (Activity.Current is null && !Source.HasListeners())
        {
            return NoScope.Instance; // nothing is traced here: a request of a host without tracing pays nothing
        }

        var previous = ActiveModel.Value;
        ActiveModel.Value = modelId;
        if (Activity.Current is { } current)
        {
            Root(current).SetTag(MetadataPrefix + TraceMetadataKeys.ModelId, modelId);
        }

        return new ModelScope(previous);
    }

    /// <summary>The model <see cref="UseModel"/> links traces to here, or <see langword="null"/>.</summary>
    public static string? CurrentModelId => ActiveModel.Value;

    private sealed class NoScope : IDisposable
    {
        public static readonly NoScope Instance = new();

        public void Dispose()
        {
        }
    }

    private sealed class ModelScope(string? previous) : IDisposable
    {
        private bool _disposed;

        public void Dispose()
        {
            if (!_disposed)
            {
                _disposed = true;
                ActiveModel.Value = previous;
            }
        }
    }

    /// <summary>
    /// Sets metadata and tags of the current trace (Python's <c>mlflow.update_current_trace</c>): the user and session
    /// (<see cref="TraceMetadataKeys.User"/>, <see cref="TraceMetadataKeys.Session"/>), the model that served it
    /// (<see cref="TraceMetadataKeys.ModelId"/>), your own tags. Metadata is fixed once the trace is written; tags can be
    /// changed later with <see cref="MlflowClient.SetTraceTagAsync"/>. Does nothing outside a trace.
    /// </summary>
    /// <param name="tags">Tags to set.</param>
    /// <param name="metadata">Metadata to set.</param>
    public static void UpdateCurrentTrace(IReadOnlyDictionary<string, string>? tags = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        if (Activity.Current is not { } current)
        {
            return;
        }

        var root = Root(current);

        foreach (var (key, value) in tags ?? new Dictionary<string, string>())
        {
            root.SetTag(TagPrefix + key, value);
        }

        foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
        {
            root.SetTag(MetadataPrefix + key, value);
        }
    }

    /// <summary>The MLflow trace id of an OpenTelemetry trace: <c>tr-</c> and its 32 hex digits, as MLflow's server names traces it receives.</summary>
    /// <param name="traceId">The OpenTelemetry trace id.</param>
    public static string TraceIdOf(ActivityTraceId traceId) => "tr-" + traceId.ToHexString();

    /// <summary>The first span of the trace in this process (its parent, if any, is in another process).</summary>
    private static Activity Root(Activity activity)
    {
        while (activity.Parent is { } parent)
        {
            activity = parent;
        }

        return activity;
    }

    private static bool IsRoot(Activity activity) => activity.Parent is null && activity.ParentSpanId == default;
}

/// <summary>
/// A span started by <see cref="MlflowTracing.StartSpan"/>: its inputs, outputs and token usage in MLflow's attributes
/// (JSON text, as MLflow's SDKs write them). Every method is a no-op when the span is not recorded.
/// </summary>
public sealed class MlflowSpan : IDisposable
{
    internal MlflowSpan(Activity? activity) => Activity = activity;

    /// <summary>The underlying activity; <see langword="null"/> when nothing listens.</summary>
    public Activity? Activity { get; }

    /// <summary>The MLflow trace id (<c>tr-…</c>) of the span's trace; <see langword="null"/> when not recorded.</summary>
    public string? TraceId => Activity is null ? null : MlflowTracing.TraceIdOf(Activity.TraceId);

    /// <summary>Sets <c>mlflow.spanInputs</c>.</summary>
    /// <param name="inputs">The inputs as JSON.</param>
    public MlflowSpan SetInputs(JsonNode? inputs) => SetJson(SpanAttributeKeys.Inputs, inputs);

    /// <summary>Sets <c>mlflow.spanOutputs</c>.</summary>
    /// <param name="outputs">The outputs as JSON.</param>
    public MlflowSpan SetOutputs(JsonNode? outputs) => SetJson(SpanAttributeKeys.Outputs, outputs);

    /// <summary>
    /// Sets the span's token usage as the GenAI conventions' integer attributes <c>gen_ai.usage.input_tokens</c> and
    /// <c>gen_ai.usage.output_tokens</c>, which MLflow's server turns into <c>mlflow.chat.tokenUsage</c> (with the
    /// total) and sums over the trace into <c>mlflow.trace.tokenUsage</c>. (A JSON text <c>mlflow.chat.tokenUsage</c>
    /// attribute makes MLflow 3.6's OTLP endpoint refuse the whole trace with 422; tried.)
    /// </summary>
    /// <param name="inputTokens">Prompt tokens.</param>
    /// <param name="outputTokens">Completion tokens.</param>
    public MlflowSpan SetTokenUsage(long inputTokens, long outputTokens)
    {
        Activity?.SetTag(GenAiInputTokens, inputTokens);
        Activity?.SetTag(GenAiOutputTokens, outputTokens);
        return this;
    }

    /// <summary><c>gen_ai.usage.input_tokens</c> (OpenTelemetry's GenAI semantic conventions).</summary>
    internal const string GenAiInputTokens = "gen_ai.usage.input_tokens";

    /// <summary><c>gen_ai.usage.output_tokens</c>.</summary>
    internal const string GenAiOutputTokens = "gen_ai.usage.output_tokens";

    /// <summary>Sets an attribute: strings, booleans and numbers as they are, anything else as JSON text.</summary>
    /// <param name="key">The attribute's name.</param>
    /// <param name="value">Its value.</param>
    public MlflowSpan SetAttribute(string key, JsonNode? value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return SetJson(key, value);
    }

    /// <summary>Marks the span failed with the exception (an <c>exception</c> event with type, message and stack, as OpenTelemetry records one).</summary>
    /// <param name="exception">What failed.</param>
    public MlflowSpan RecordException(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (Activity is not null)
        {
            Activity.SetStatus(ActivityStatusCode.Error, exception.Message);
            Activity.AddEvent(new ActivityEvent("exception", tags: new ActivityTagsCollection
            {
                ["exception.type"] = exception.GetType().FullName,
                ["exception.message"] = exception.Message,
                ["exception.stacktrace"] = exception.ToString(),
            }));
        }

        return this;
    }

    /// <summary>Ends the span (status OK unless an error was recorded).</summary>
    public void Dispose()
    {
        if (Activity is { } activity)
        {
            if (activity.Status == ActivityStatusCode.Unset)
            {
                activity.SetStatus(ActivityStatusCode.Ok);
            }

            activity.Dispose();
        }
    }

    private MlflowSpan SetJson(string key, JsonNode? value)
    {
        Activity?.SetTag(key, value?.ToJsonString() ?? "null");
        return this;
    }
}
