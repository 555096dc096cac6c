using System.Diagnostics.Metrics;

namespace MlOps.Client.Diagnostics;

/// <summary>What an uploader shows to the observable instruments (the uploader depends on diagnostics, not the reverse).</summary>
internal interface IUploaderGauges
{
    /// <summary>Entities accepted for upload so far.</summary>
    long Queued { get; }

    /// <summary>Entities waiting in the buffer now.</summary>
    long Buffered { get; }

    /// <summary>Bytes of spooled records not yet delivered (0 without a spool).</summary>
    long SpoolBytes { get; }
}

/// <summary>Instruments of the batched uploader on the <c>MlOps.Client</c> meter.</summary>
internal static class UploaderMetrics
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<IUploaderGauges, byte> Live = new();

    // Read from the buffers when observed, so the logging hot path pays nothing for it.
    private static readonly ObservableCounter<long> Queued =
        MlflowClientMetrics.Meter.CreateObservableCounter("mlops.client.uploader.queued", static () => Live.Keys.Sum(u => u.Queued), "{entity}", "Metrics, params and tags accepted for upload.");

    private static readonly ObservableGauge<long> Buffered =
        MlflowClientMetrics.Meter.CreateObservableGauge("mlops.client.uploader.buffered", static () => Live.Keys.Sum(u => u.Buffered), "{entity}", "Entities waiting in upload buffers.");

    private static readonly ObservableGauge<long> SpoolBacklog =
        MlflowClientMetrics.Meter.CreateObservableGauge("mlops.client.uploader.spool.bytes", static () => Live.Keys.Sum(u => u.SpoolBytes), "By", "Bytes of spooled records not yet delivered (an outage, a server falling behind, a failing disk).");

    public static void Track(IUploaderGauges uploader) => Live.TryAdd(uploader, 0);

    public static void Untrack(IUploaderGauges uploader) => Live.TryRemove(uploader, out _);

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
