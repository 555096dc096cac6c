using System.Diagnostics.Metrics;

namespace MlOps.Client.Diagnostics;

/// <summary>Instruments of the batched uploader on the <c>MlOps.Client</c> meter.</summary>
internal static class UploaderMetrics
{
    public static readonly Counter<long> Queued =
        MlflowClientMetrics.Meter.CreateCounter<long>("mlops.client.uploader.queued", "{entity}", "Metrics, params and tags accepted for upload.");

    public static readonly Counter<long> Sent =
        MlflowClientMetrics.Meter.CreateCounter<long>("mlops.client.uploader.sent", "{entity}", "Entities the server accepted.");

    public static readonly Counter<long> Retried =
        MlflowClientMetrics.Meter.CreateCounter<long>("mlops.client.uploader.retried", "{entity}", "Entities re-sent after a failed batch.");

    public static readonly Counter<long> Rejected =
        MlflowClientMetrics.Meter.CreateCounter<long>("mlops.client.uploader.rejected", "{entity}", "Entities refused permanently by the server.");

    public static readonly Counter<long> Dropped =
        MlflowClientMetrics.Meter.CreateCounter<long>("mlops.client.uploader.dropped", "{entity}", "Entities dropped because the buffer was full (DropNewest policy).");

    public static readonly Histogram<double> FlushDuration =
        MlflowClientMetrics.Meter.CreateHistogram<double>("mlops.client.uploader.flush.duration", "s", "Time a flush waited for delivery.");
}
