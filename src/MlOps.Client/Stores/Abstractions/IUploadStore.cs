namespace MlOps.Client.Stores;

/// <summary>
/// A store whose requests the batched uploader sends <b>once</b> per attempt, without the client's own retry budget:
/// the uploader owns re-sends, outage detection and the spool. Stores without it (the embedded SQLite store) are
/// called through <see cref="ITrackingStore"/>.
/// </summary>
internal interface IUploadStore
{
    /// <summary>Sends one <c>log-batch</c> request, one attempt, its metrics written from the uploader's rows (no <see cref="Metric"/> per value).</summary>
    Task LogBatchOnceAsync(string runId, ReadOnlyMemory<MetricRow> metrics, IReadOnlyList<Param> parameters, IReadOnlyList<RunTag> tags, CancellationToken cancellationToken);

    /// <summary>Sets a run's final status and end time, one attempt.</summary>
    Task EndRunOnceAsync(string runId, RunStatus status, DateTimeOffset endTime, CancellationToken cancellationToken);
}
