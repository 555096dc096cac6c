namespace MlOps.Client.Stores;

/// <summary>
/// A store that writes locally (the embedded SQLite store) and takes the uploader's metric rows as they are, without a
/// <see cref="Metric"/> object per value. Stores without it get <see cref="Metric"/> lists through
/// <see cref="ITrackingStore.LogBatchAsync"/>.
/// </summary>
internal interface IMetricRowsStore
{
    /// <summary>Writes one batch, as <see cref="ITrackingStore.LogBatchAsync"/> would write the same metrics.</summary>
    Task LogBatchAsync(string runId, ReadOnlyMemory<MetricRow> metrics, IReadOnlyList<Param> parameters, IReadOnlyList<RunTag> tags, CancellationToken cancellationToken);
}
