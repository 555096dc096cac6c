using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MlOps.Client.Stores;
using MlOps.Client.Serving.Input;
using MlOps.Client.Serving.Monitoring;

namespace MlOps.Client.Serving;

/// <summary>
/// MLflow's scoring protocol on ASP.NET Core: <c>GET /ping</c>, <c>GET /health</c> (200, <c>"\n"</c>),
/// <c>GET /version</c>, <c>POST /invocations</c> answering <c>{"predictions": …}</c> or MLflow's error JSON
/// (<c>error_code</c>, <c>message</c>) — with the metrics of <see cref="ScoringMetrics"/> and a log line per request
/// (status, rows, milliseconds; never the payload). With <see cref="ScoringOptions.InferenceLog"/> or
/// <see cref="ScoringOptions.DriftMonitor"/>, every answer carries its <c>X-Request-Id</c> (the client's, or a new one),
/// answered requests go to the log and the monitor, and <c>POST /feedback</c> takes ground truth:
/// <c>{"request_id": "…", "targets": […]}</c>.
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
        var budget = new BodyBudget(Math.Max(1, options.MaxInFlightBodyBytes), TimeProvider.System);
        var logger = endpoints.ServiceProvider.GetService<ILoggerFactory>()?.CreateLogger("MlOps.Client.Serving") ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        var capture = model.AttachMonitoring(options, logger);
        if (model.NativePredictionReason is { } reason)
        {
            ScoringLog.NativePrediction(logger, reason);
        }
        if (capture is not null)
        {
            // When the app stops, the log writes what is queued and the monitor ends (bounded joins), whoever owns the model.
            endpoints.ServiceProvider.GetService<IHostApplicationLifetime>()?.ApplicationStopped.Register(() =>
            {
                capture.Log?.Dispose();
                capture.Monitor?.Dispose();
            });
        }

        var group = endpoints.MapGroup(prefix);
        group.MapGet("/ping", () => Results.Text("\n", "application/json"));
        group.MapGet("/health", () => Results.Text("\n", "application/json"));
        group.MapGet("/version", () => Results.Text(options.Version, "application/json"));
        group.MapPost("/invocations", (HttpContext context) => InvokeAsync(context, model, options, budget, metrics, logger, capture));
        if (capture is not null)
        {
            group.MapPost("/feedback", (HttpContext context) => capture.FeedbackAsync(context));
        }

        // Another method on /invocations: 405 in FastAPI's shape, as Python's server answers (recorded).
        group.MapMethods("/invocations", ["GET", "PUT", "PATCH", "DELETE"], () => Results.Text("""{"detail":"Method Not Allowed"}""", "application/json", statusCode: 405));
        return endpoints;
    }

    /// <summary>
    /// Loads the model <paramref name="modelUri"/> names (<c>models:/iris@champion</c>, <c>runs:/…</c>, <c>models:/&lt;id&gt;</c>,
    /// a folder) through the tracking store the app's <see cref="MlflowClientOptions"/> name (<c>AddMlflowClient</c> /
    /// <c>AddMlflowTracking</c>), else the <c>MLFLOW_*</c> environment, and maps its endpoints; the model is disposed when
    /// the app stops. Await it before the app runs: a model that cannot be served fails here, at start.
    /// </summary>
    /// <param name="endpoints">The app.</param>
    /// <param name="modelUri">The model URI.</param>
    /// <param name="options">Body limit, version.</param>
    /// <param name="prefix">A route prefix.</param>
    /// <param name="cancellationToken">Cancels the load.</param>
    /// <returns>The loaded model.</returns>
    /// <exception cref="NotSupportedException">The model has no flavor this server serves.</exception>
    public static async Task<ServedModel> MapMlflowModelAsync(
        this IEndpointRouteBuilder endpoints, string modelUri, ScoringOptions? options = null, string prefix = "", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var clientOptions = endpoints.ServiceProvider.GetService<IOptions<MlflowClientOptions>>()?.Value ?? MlflowClientOptions.FromEnvironment();
        ServedModel model;
        await using (var store = TrackingStores.Open(clientOptions))
        {
            model = await ServedModel.LoadAsync(store, modelUri, cancellationToken).ConfigureAwait(false);
        }

        endpoints.ServiceProvider.GetService<IHostApplicationLifetime>()?.ApplicationStopped.Register(model.Dispose);
        endpoints.MapMlflowModel(model, options, prefix);
        return model;
    }

    private static async Task InvokeAsync(HttpContext context, ServedModel model, ScoringOptions options, BodyBudget budget, ScoringMetrics metrics, ILogger logger, InferenceCapture? capture)
    {
        var start = Stopwatch.GetTimestamp();
        // Traces made while this request is answered belong to the served model (MLflow 3's model_id in its MLmodel).
        using var traced = model.Description.ModelId is { } modelId ? Tracing.MlflowTracing.UseModel(modelId) : null;
        var rows = 0;
        string? requestId = null;
        EnforcedInput? captured = null;
        Output.Predictions? answered = null;
        if (capture is not null)
        {
            requestId = InferenceCapture.RequestId(context);
            context.Response.Headers[InferenceCapture.RequestIdHeader] = requestId;
        }

        string? errorCode = null;
        BodyBudget.Lease? lease = null;
        try
        {
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            {
                limit.MaxRequestBodySize = options.MaxRequestBodyBytes;
            }

            // The refusals' texts are made only when one is answered (not on every request).
            ScoringError TooLarge() => new(413, "BAD_REQUEST", $"The request body is larger than {options.MaxRequestBodyBytes} bytes (ScoringOptions.MaxRequestBodyBytes).");
            ScoringError Busy() => new(503, "TEMPORARILY_UNAVAILABLE",
                $"The server holds as many request bodies as it may at once ({budget.Capacity} bytes, ScoringOptions.MaxInFlightBodyBytes) and this one waited {options.InFlightBodyWait.TotalSeconds:0.#} s for room: retry later.");
            var declared = context.Request.ContentLength;
            if (declared > options.MaxRequestBodyBytes)
            {
                errorCode = await ErrorAsync(context, TooLarge()).ConfigureAwait(false); // refused before a byte is read
                return;
            }

            // A body is read only once its bytes are reserved: concurrent large bodies take turns, not memory.
            var wanted = Math.Min(declared ?? 64 * 1024, options.MaxRequestBodyBytes);
            lease = await budget.ReserveAsync(wanted, options.InFlightBodyWait, context.RequestAborted).ConfigureAwait(false);
            if (lease is null)
            {
                context.Response.Headers.RetryAfter = "1";
                errorCode = await ErrorAsync(context, Busy()).ConfigureAwait(false);
                return;
            }

            // Given back in finally, and only what was granted (a cancelled wait throws before this).
            ReadOnlyMemory<byte> body;
            try
            {
                if (declared is { } length)
                {
                    // The size is known: one buffer of exactly that size, no growing copies.
                    var buffer = GC.AllocateUninitializedArray<byte>((int)length);
                    var read = await context.Request.Body.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, context.RequestAborted).ConfigureAwait(false);
                    body = buffer.AsMemory(0, read);
                }
                else
                {
                    // Bounded here too: the server's own limit may be off (another middleware read the body, or a host without it).
                    using var stream = new MemoryStream();
                    var chunk = new byte[16 * 1024];
                    int read;
                    while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false)) > 0)
                    {
                        if (stream.Length + read > options.MaxRequestBodyBytes)
                        {
                            errorCode = await ErrorAsync(context, TooLarge()).ConfigureAwait(false);
                            return;
                        }

                        if (stream.Length + read > lease.Bytes)
                        {
                            // Doubling, as the buffer does; growth goes before new bodies, and the oldest body always grows.
                            var more = Math.Min(Math.Max(lease.Bytes, read), options.MaxRequestBodyBytes - lease.Bytes);
                            if (!await lease.GrowAsync(more, options.InFlightBodyWait, context.RequestAborted).ConfigureAwait(false))
                            {
                                context.Response.Headers.RetryAfter = "1";
                                errorCode = await ErrorAsync(context, Busy()).ConfigureAwait(false);
                                return;
                            }
                        }

                        stream.Write(chunk, 0, read);
                    }

                    body = stream.GetBuffer().AsMemory(0, (int)stream.Length);
                }
            }
            catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                errorCode = await ErrorAsync(context, TooLarge()).ConfigureAwait(false);
                return;
            }
            catch (BadHttpRequestException ex)
            {
                // A body the server could not read (a timeout, bad chunking): its status, MLflow's error JSON.
                errorCode = await ErrorAsync(context, new ScoringError(ex.StatusCode, "BAD_REQUEST", "The request body could not be read: " + ex.Message)).ConfigureAwait(false);
                return;
            }

            var contentType = context.Request.ContentType;
            ScoringError? error = null;
            EnforcedInput? input = null;
            Output.Predictions? Score()
            {
                var frame = ScoringRequest.Parse(contentType, body, out error);
                return frame is null ? null : model.Predict(frame, out error, out input);
            }

            var predictions = body.Length >= BodyBudget.LargeBody ? await BodyBudget.RunLarge(Score).ConfigureAwait(false) : Score();
            if (predictions is null)
            {
                errorCode = await ErrorAsync(context, error!).ConfigureAwait(false);
                return;
            }

            rows = predictions.Rows;
            metrics.RecordPredictions(predictions);
            if (capture is not null && capture.ShouldCapture())
            {
                (captured, answered) = (input, predictions);
            }

            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json";
            await predictions.WriteAsync(context.Response.BodyWriter, context.RequestAborted).ConfigureAwait(false);
            if (captured is not null)
            {
                // The answer is complete before its rows are handed to the log: the client never waits for the capture.
                await context.Response.CompleteAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (!context.Response.HasStarted && ex is XGBoost.XGBoostException or InvalidOperationException or ArgumentException or FormatException or OverflowException)
        {
            // The model refused the rows: MLflow's code for it, the first line of the reason, never a stack trace.
            errorCode = await ErrorAsync(context, new ScoringError(400, "INVALID_PARAMETER_VALUE", "Failed to predict data: " + ex.Message.Split('\n')[0])).ConfigureAwait(false);
        }
        catch (Exception ex) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested && ex is not IOException)
        {
            // Anything else the model throws: Python's answer for it (400 BAD_REQUEST); the exception in the server's log
            // (its type at Warning, the whole of it at Debug), never a stack trace or the payload in the answer.
            ScoringLog.Unexpected(logger, ex.GetType().FullName ?? ex.GetType().Name);
            ScoringLog.UnexpectedDetail(logger, ex);
            errorCode = await ErrorAsync(context, new ScoringError(400, "BAD_REQUEST",
                "Encountered an unexpected error while evaluating the model. Verify that the serialized input Dataframe is compatible with the model for inference.")).ConfigureAwait(false);
        }
        finally
        {
            lease?.Dispose();
            var status = context.Response.StatusCode;
            if (context.RequestAborted.IsCancellationRequested)
            {
                // The client went away: not an answer (499, as proxies count it), whatever the status set so far.
                errorCode = "CLIENT_CLOSED_REQUEST";
                status = 499;
            }

            var elapsed = Stopwatch.GetElapsedTime(start);
            metrics.RecordRequest(status, errorCode, rows, elapsed);
            if (captured is not null && answered is not null && errorCode is null)
            {
                capture!.Capture(requestId!, captured, answered, elapsed);
            }

            ScoringLog.Request(logger, status, errorCode is null ? "" : " " + errorCode, rows, elapsed.TotalMilliseconds); // "→ 200, 2 rows" or "→ 400 BAD_REQUEST, 0 rows"
        }
    }

    private static async Task<string> ErrorAsync(HttpContext context, ScoringError error)
    {
        context.Response.StatusCode = error.Status;
        context.Response.ContentType = "application/json";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("error_code", error.ErrorCode);
        json.WriteString("message", error.Message);
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted).ConfigureAwait(false);
        return error.ErrorCode;
    }
}

internal static partial class ScoringLog
{
    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "POST /invocations → {Status}{ErrorCode}, {Rows} rows, {Milliseconds:0.0} ms")]
    public static partial void Request(ILogger logger, int status, string errorCode, int rows, double milliseconds);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Information, Message = "The XGBoost model is predicted by libxgboost, not from a managed copy of its trees: {Reason}")]
    public static partial void NativePrediction(ILogger logger, string reason);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "POST /invocations: the model threw {ExceptionType}; answered 400 BAD_REQUEST")]
    public static partial void Unexpected(ILogger logger, string exceptionType);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Debug, Message = "POST /invocations: the exception the model threw")]
    public static partial void UnexpectedDetail(ILogger logger, Exception exception);
}
