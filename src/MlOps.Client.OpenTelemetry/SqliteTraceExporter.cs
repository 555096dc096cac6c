using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MlOps.Client.Rest;
using MlOps.Client.Stores;
using MlOps.Client.Tracing;
using OpenTelemetry;

namespace MlOps.Client.OpenTelemetry;

/// <summary>
/// The exporter for an embedded store (<c>sqlite:///…</c>, the SDK's default when no tracking URI is set): each batch's
/// spans go into the file's MLflow 3 tables as MLflow's server stores the spans it receives, then the infos of the traces
/// whose root the batch held (<see cref="SqliteTrackingStore.LogSpansAsync"/>, <see cref="SqliteTrackingStore.StartTraceAsync"/>),
/// so that Python MLflow 3 opening the file finds the traces. A file created here has MLflow 3's schema; a file in MLflow
/// 2.22's (made for runs) is upgraded first, as MLflow 3 upgrades it when it opens it (said once).
/// </summary>
internal sealed partial class SqliteTraceExporter : BaseExporter<Activity>
{
    private readonly MlflowTraceExporterOptions _options;
    private readonly string _uri;
    private readonly ILogger _logger;
    private readonly TraceInfoCapture _capture = new();
    private SqliteTrackingStore? _store;
    private string? _experimentId;
    private int _failing;

    public SqliteTraceExporter(MlflowTraceExporterOptions options, string uri, ILogger? logger)
    {
        _options = options;
        _uri = uri;
        _logger = logger ?? NullLogger.Instance;
    }

    public override ExportResult Export(in Batch<Activity> batch)
    {
        var spans = new List<TraceSpan>();
        var infos = new List<TraceInfoWire>();
        foreach (var activity in batch)
        {
            if (_capture.Process(activity) is { } info)
            {
                infos.Add(info); // the carriers are off the span now
            }

            spans.Add(ToSpan(activity));
        }

        try
        {
            // OpenTelemetry's exporter API is synchronous, and so is SQLite's work: the store's calls complete here.
            var store = _store ??= SqliteTrackingStore.Open(_uri, SqliteSchema.Mlflow3);
            if (!store.SupportsTraces && store.UpgradeToMlflow3())
            {
                // A file made for runs in MLflow 2.22's schema: upgraded as MLflow 3 upgrades it when it opens it.
                Log.Upgraded(_logger, _uri);
            }

            var experiment = _experimentId ??= Tracking.ExperimentChoice.ResolveAsync(
                _options.ExperimentId, _options.ExperimentName,
                async (name, ct) => (await store.FindExperimentByNameAsync(name, ct).ConfigureAwait(false))?.ExperimentId,
                (name, ct) => store.CreateExperimentAsync(name, null, null, ct), null, CancellationToken.None).GetAwaiter().GetResult();
            store.LogSpans(experiment, spans);
            _options.Statistics.Exported(spans.Count);
            foreach (var info in infos)
            {
                store.StartTrace(TraceConversions.ToEntity(info with { TraceLocation = TraceLocationWire.Experiment(experiment) })); // the REST path's own conversion
                _options.Statistics.TraceWritten();
            }

            if (Interlocked.Exchange(ref _failing, 0) == 1)
            {
                Log.Recovered(_logger);
            }

            return ExportResult.Success;
        }
        catch (Exception ex) when (ex is MlflowException or Microsoft.Data.Sqlite.SqliteException or IOException or UnauthorizedAccessException or NotSupportedException)
        {
            _options.Statistics.Failed(spans.Count);
            if (Interlocked.Exchange(ref _failing, 1) == 0)
            {
                Log.WriteFailed(_logger, spans.Count, _uri, ex.Message.Split('\n')[0]);
            }

            return ExportResult.Failure;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _store?.Close();
        }

        base.Dispose(disposing);
    }

    /// <summary>An activity as the span MLflow's server would store from its OTLP form (the attributes it reads as JSON decoded).</summary>
    internal static TraceSpan ToSpan(Activity activity)
    {
        var attributes = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var (key, value) in activity.TagObjects)
        {
            if (value is not null && Attribute(key, value) is { } element)
            {
                attributes[key] = element;
            }
        }

        // The server's GenAI translation: the conventions' token counts as MLflow's chat token usage.
        if (!attributes.ContainsKey(SpanAttributeKeys.ChatTokenUsage)
            && activity.GetTagItem(MlflowSpan.GenAiInputTokens) is { } input && activity.GetTagItem(MlflowSpan.GenAiOutputTokens) is { } output)
        {
            var i = Convert.ToInt64(input, CultureInfo.InvariantCulture);
            var o = Convert.ToInt64(output, CultureInfo.InvariantCulture);
            attributes[SpanAttributeKeys.ChatTokenUsage] = Parse(string.Create(CultureInfo.InvariantCulture, $$"""{"input_tokens": {{i}}, "output_tokens": {{o}}, "total_tokens": {{i + o}}}"""))!.Value;
        }

        return new TraceSpan
        {
            TraceId = MlflowTracing.TraceIdOf(activity.TraceId),
            SpanId = activity.SpanId.ToHexString(),
            ParentSpanId = activity.ParentSpanId == default ? null : activity.ParentSpanId.ToHexString(),
            Name = activity.DisplayName,
            StartTime = activity.StartTimeUtc,
            EndTime = activity.StartTimeUtc + activity.Duration,
            Status = activity.Status switch { ActivityStatusCode.Ok => "OK", ActivityStatusCode.Error => "ERROR", _ => "UNSET" },
            StatusMessage = activity.StatusDescription,
            Attributes = attributes,
            Events = [.. activity.Events.Select(e => new TraceSpanEvent(e.Name, e.Timestamp,
                e.Tags.Where(t => t.Value is not null).ToDictionary(t => t.Key, t => Attribute(t.Key, t.Value!) ?? Parse("null")!.Value, StringComparer.Ordinal)))],
        };
    }

    /// <summary>
    /// An attribute as Python reads it back from MLflow's store: inputs and outputs as the JSON they hold; any other
    /// string holding a JSON object as that object (MLflow's <c>sanitize_attributes</c>); numbers, booleans, arrays as they are.
    /// </summary>
    private static JsonElement? Attribute(string key, object value)
    {
        switch (value)
        {
            case string text when key is SpanAttributeKeys.Inputs or SpanAttributeKeys.Outputs:
                return Parse(text) ?? JsonSerializer.SerializeToElement(text, TraceExporterJson.Default.String);
            case string text when text.StartsWith('{') && Parse(text) is { ValueKind: JsonValueKind.Object } json:
                return json;
            case string text:
                return JsonSerializer.SerializeToElement(text, TraceExporterJson.Default.String);
            case bool flag:
                return JsonSerializer.SerializeToElement(flag, TraceExporterJson.Default.Boolean);
            case int or long or short or byte or uint or ushort or sbyte:
                return JsonSerializer.SerializeToElement(Convert.ToInt64(value, CultureInfo.InvariantCulture), TraceExporterJson.Default.Int64);
            case double or float or decimal:
                return JsonSerializer.SerializeToElement(Convert.ToDouble(value, CultureInfo.InvariantCulture), TraceExporterJson.Default.Double);
            case System.Collections.IEnumerable items:
                return JsonSerializer.SerializeToElement(items.Cast<object?>().Select(item => item is null ? Parse("null")!.Value : Attribute("", item) ?? Parse("null")!.Value).ToList(), TraceExporterJson.Default.ListJsonElement);
            default:
                return JsonSerializer.SerializeToElement(Convert.ToString(value, CultureInfo.InvariantCulture) ?? "", TraceExporterJson.Default.String);
        }
    }

    private static JsonElement? Parse(string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7004, Level = LogLevel.Warning, Message = "MLflow tracing: a batch of {Spans} spans could not be written to {Uri} ({Reason}); its spans are dropped and counted (MlflowTraceExporterOptions.Statistics.SpansFailed). Said once until a batch is written.")]
        public static partial void WriteFailed(ILogger logger, long spans, string uri, string reason);

        [LoggerMessage(EventId = 7006, Level = LogLevel.Information, Message = "MLflow tracing: {Uri} was in MLflow 2.22's schema; it is upgraded to MLflow 3's (as MLflow 3 does when it opens it) to hold traces. MLflow 2.x no longer opens it.")]
        public static partial void Upgraded(ILogger logger, string uri);

        [LoggerMessage(EventId = 7005, Level = LogLevel.Information, Message = "MLflow tracing: spans are written to the embedded store again.")]
        public static partial void Recovered(ILogger logger);
    }
}

/// <summary>The JSON types the SQLite exporter writes (source-generated).</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
[System.Text.Json.Serialization.JsonSerializable(typeof(bool))]
[System.Text.Json.Serialization.JsonSerializable(typeof(long))]
[System.Text.Json.Serialization.JsonSerializable(typeof(double))]
[System.Text.Json.Serialization.JsonSerializable(typeof(List<JsonElement>))]
internal sealed partial class TraceExporterJson : System.Text.Json.Serialization.JsonSerializerContext;
