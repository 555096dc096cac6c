using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace MlOps.Client.Diagnostics;

/// <summary>
/// The <c>MlOps.Client</c> meter: request counts, failures, retries and durations of the HTTP client, tagged
/// with <c>http.request.method</c>, <c>server.address</c> and, where known, <c>http.response.status_code</c>.
/// </summary>
internal static class MlflowClientMetrics
{
    public const string MeterName = "MlOps.Client";

    public static readonly Meter Meter = new(MeterName, typeof(MlflowClientMetrics).Assembly.GetName().Version?.ToString());

    public static readonly Counter<long> Requests =
        Meter.CreateCounter<long>("mlops.client.requests", "{request}", "HTTP attempts sent to the MLflow server.");

    public static readonly Counter<long> Failures =
        Meter.CreateCounter<long>("mlops.client.request.failures", "{request}", "Attempts that failed (error status, connection failure, timeout).");

    public static readonly Counter<long> Retries =
        Meter.CreateCounter<long>("mlops.client.request.retries", "{retry}", "Retries scheduled after a transient failure.");

    public static readonly Histogram<double> Duration =
        Meter.CreateHistogram<double>("mlops.client.request.duration", "s", "Duration of one HTTP attempt.");
}

/// <summary>Log events of the HTTP client. Bodies and headers are never logged.</summary>
internal static partial class ClientLog
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Debug, Message = "MLflow {Method} {Path} answered {Status} in {ElapsedMs:F1} ms")]
    public static partial void RequestCompleted(ILogger logger, string method, string path, int status, double elapsedMs);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Debug, Message = "MLflow {Method} {Path} failed: {Reason}")]
    public static partial void RequestFailed(ILogger logger, string method, string path, string reason);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Retrying MLflow {Method} {Path} in {DelayMs:F0} ms (retry {Attempt} of {MaxRetries}): {Reason}")]
    public static partial void Retrying(ILogger logger, string method, string path, double delayMs, int attempt, int maxRetries, string reason);
}
