using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MlOps.Client.Serving;

/// <summary>How a served model answers.</summary>
public sealed class ScoringOptions
{
    /// <summary>The largest request body accepted (413 beyond). Default 16 MiB.</summary>
    public long MaxRequestBodyBytes { get; set; } = 16L << 20;

    /// <summary>The version <c>GET /version</c> reports. Default this package's version.</summary>
    public string Version { get; set; } = typeof(ScoringOptions).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
}

/// <summary>
/// MLflow's scoring protocol on ASP.NET Core: <c>GET /ping</c>, <c>GET /health</c> (200, <c>"\n"</c>),
/// <c>GET /version</c>, <c>POST /invocations</c> answering <c>{"predictions": …}</c> or MLflow's error JSON
/// (<c>error_code</c>, <c>message</c>) — with the metrics of <see cref="ScoringMetrics"/> and a log line per request
/// (status, rows, milliseconds; never the payload).
/// </summary>
public static class ScoringEndpoints
{
    /// <summary>Maps the scoring endpoints for <paramref name="model"/> (under <paramref name="prefix"/>, e.g. <c>/iris</c>; the root by default).</summary>
    /// <param name="endpoints">The app.</param>
    /// <param name="model">The loaded model (shared by all requests).</param>
    /// <param name="options">Body limit, version.</param>
    /// <param name="prefix">A route prefix.</param>
    public static IEndpointRouteBuilder MapMlflowModel(this IEndpointRouteBuilder endpoints, ServedModel model, ScoringOptions? options = null, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(model);
        options ??= new ScoringOptions();
        var metrics = new ScoringMetrics(model.ModelUri);
        var logger = endpoints.ServiceProvider.GetService<ILoggerFactory>()?.CreateLogger("MlOps.Client.Serving") ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        var group = endpoints.MapGroup(prefix);
        group.MapGet("/ping", () => Results.Text("\n", "application/json"));
        group.MapGet("/health", () => Results.Text("\n", "application/json"));
        group.MapGet("/version", () => Results.Text(options.Version, "application/json"));
        group.MapPost("/invocations", (HttpContext context) => InvokeAsync(context, model, options, metrics, logger));
        return endpoints;
    }

    private static async Task InvokeAsync(HttpContext context, ServedModel model, ScoringOptions options, ScoringMetrics metrics, ILogger logger)
    {
        var start = Stopwatch.GetTimestamp();
        var rows = 0;
        int status;
        try
        {
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            {
                limit.MaxRequestBodySize = options.MaxRequestBodyBytes;
            }

            byte[] body;
            try
            {
                using var buffer = new MemoryStream();
                await context.Request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
                body = buffer.ToArray();
            }
            catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                status = await ErrorAsync(context, new ScoringError(413, "BAD_REQUEST", $"The request body is larger than {options.MaxRequestBodyBytes} bytes.")).ConfigureAwait(false);
                return;
            }

            var parsed = ScoringRequest.Parse(context.Request.ContentType, body, model.InputNames, model.Columns, out var error);
            if (parsed is not { } input)
            {
                status = await ErrorAsync(context, error!).ConfigureAwait(false);
                return;
            }

            rows = input.Rows;
            var (values, outputs) = model.Predict(input.Data, input.Rows);
            metrics.RecordPredictions(values, outputs);
            context.Response.StatusCode = status = 200;
            context.Response.ContentType = "application/json";
            await WritePredictionsAsync(context.Response.Body, values, input.Rows, outputs, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is XGBoost.XGBoostException or InvalidOperationException or ArgumentException)
        {
            status = await ErrorAsync(context, new ScoringError(400, "INVALID_PARAMETER_VALUE", "Failed to predict data: " + ex.Message.Split('\n')[0])).ConfigureAwait(false);
        }
        finally
        {
            var elapsed = Stopwatch.GetElapsedTime(start);
            metrics.RecordRequest(context.Response.StatusCode, rows, elapsed);
            ScoringLog.Request(logger, context.Response.StatusCode, rows, elapsed.TotalMilliseconds);
        }

        _ = status;
    }

    private static async Task<int> ErrorAsync(HttpContext context, ScoringError error)
    {
        context.Response.StatusCode = error.Status;
        context.Response.ContentType = "application/json";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("error_code", error.ErrorCode);
        json.WriteString("message", error.Message);
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted).ConfigureAwait(false);
        return error.Status;
    }

    /// <summary><c>{"predictions": [[…], …]}</c> (a list of numbers for one output), float32 values written as Python writes them once widened to float64.</summary>
    private static async Task WritePredictionsAsync(Stream body, float[] values, int rows, int outputs, CancellationToken cancellationToken)
    {
        await using var json = new Utf8JsonWriter(body);
        json.WriteStartObject();
        json.WriteStartArray("predictions");
        for (var r = 0; r < rows; r++)
        {
            if (outputs == 1)
            {
                json.WriteNumberValue((double)values[r]);
                continue;
            }

            json.WriteStartArray();
            for (var o = 0; o < outputs; o++)
            {
                json.WriteNumberValue((double)values[(r * outputs) + o]);
            }

            json.WriteEndArray();
        }

        json.WriteEndArray();
        json.WriteEndObject();
        await json.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>
/// The served model's production metrics, meter <c>MlOps.Client.Serving</c> (export them with OpenTelemetry's
/// <c>AddMeter("MlOps.Client.Serving")</c>): <c>mlops.serving.requests</c> (by <c>http.response.status_code</c>),
/// <c>mlops.serving.request.duration</c> (seconds), <c>mlops.serving.rows</c> (rows per request),
/// <c>mlops.serving.prediction</c> (each predicted value, tagged with its <c>output</c> index: its mean, min and max
/// per output come from the histogram), all tagged with <c>model</c>.
/// </summary>
public sealed class ScoringMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "MlOps.Client.Serving";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Requests = Meter.CreateCounter<long>("mlops.serving.requests", "{request}", "Scoring requests, by status code.");
    private static readonly Histogram<double> Duration = Meter.CreateHistogram<double>("mlops.serving.request.duration", "s", "Time to answer a scoring request.");
    private static readonly Histogram<long> Rows = Meter.CreateHistogram<long>("mlops.serving.rows", "{row}", "Rows per scoring request.");
    private static readonly Histogram<double> Predictions = Meter.CreateHistogram<double>("mlops.serving.prediction", "1", "Predicted values, by output index.");

    private readonly KeyValuePair<string, object?> _model;

    internal ScoringMetrics(string model) => _model = new("model", model);

    internal void RecordRequest(int status, int rows, TimeSpan elapsed)
    {
        var code = new KeyValuePair<string, object?>("http.response.status_code", status);
        Requests.Add(1, _model, code);
        Duration.Record(elapsed.TotalSeconds, _model, code);
        if (status == 200)
        {
            Rows.Record(rows, _model);
        }
    }

    internal void RecordPredictions(float[] values, int outputs)
    {
        if (!Predictions.Enabled || outputs == 0)
        {
            return;
        }

        for (var i = 0; i < values.Length; i++)
        {
            Predictions.Record(values[i], _model, new("output", i % outputs));
        }
    }
}

internal static partial class ScoringLog
{
    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "POST /invocations → {Status}, {Rows} rows, {Milliseconds:0.0} ms")]
    public static partial void Request(ILogger logger, int status, int rows, double milliseconds);
}
