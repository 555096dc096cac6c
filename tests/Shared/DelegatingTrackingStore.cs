using MlOps.Client.Stores;

namespace MlOps.Client.Testing;

/// <summary>
/// A tracking store that forwards every call to another: a test double overrides only what it changes (a lost answer,
/// an outage), so a new member of <see cref="ITrackingStore"/> is added here once, not to every wrapper.
/// </summary>
internal abstract class DelegatingTrackingStore(ITrackingStore inner) : ITrackingStore
{
    protected ITrackingStore Inner { get; } = inner;

    public virtual string Uri => Inner.Uri;

    public virtual Task<string> CreateExperimentAsync(string name, string? artifactLocation, IReadOnlyDictionary<string, string>? tags, CancellationToken cancellationToken) => Inner.CreateExperimentAsync(name, artifactLocation, tags, cancellationToken);

    public virtual Task<Experiment> GetExperimentAsync(string experimentId, CancellationToken cancellationToken) => Inner.GetExperimentAsync(experimentId, cancellationToken);

    public virtual Task<Experiment?> FindExperimentByNameAsync(string name, CancellationToken cancellationToken) => Inner.FindExperimentByNameAsync(name, cancellationToken);

    public virtual Task<MlflowPage<Experiment>> SearchExperimentsPageAsync(SearchExperimentsOptions query, string? pageToken, CancellationToken cancellationToken) => Inner.SearchExperimentsPageAsync(query, pageToken, cancellationToken);

    public virtual Task<Run> CreateRunAsync(string experimentId, CreateRunOptions options, CancellationToken cancellationToken) => Inner.CreateRunAsync(experimentId, options, cancellationToken);

    public virtual Task<Run> GetRunAsync(string runId, CancellationToken cancellationToken) => Inner.GetRunAsync(runId, cancellationToken);

    public virtual Task<RunInfo> UpdateRunAsync(string runId, RunStatus? status, DateTimeOffset? endTime, string? runName, CancellationToken cancellationToken) => Inner.UpdateRunAsync(runId, status, endTime, runName, cancellationToken);

    public virtual Task LogBatchAsync(string runId, IReadOnlyList<Metric> metrics, IReadOnlyList<Param> parameters, IReadOnlyList<RunTag> tags, CancellationToken cancellationToken) => Inner.LogBatchAsync(runId, metrics, parameters, tags, cancellationToken);

    public virtual Task LogInputsAsync(string runId, IReadOnlyList<DatasetInput> datasets, CancellationToken cancellationToken) => Inner.LogInputsAsync(runId, datasets, cancellationToken);

    public virtual Task<IReadOnlyList<Metric>> GetMetricHistoryAsync(string runId, string metricKey, CancellationToken cancellationToken) => Inner.GetMetricHistoryAsync(runId, metricKey, cancellationToken);

    public virtual Task<MlflowPage<Run>> SearchRunsPageAsync(SearchRunsOptions query, string? pageToken, CancellationToken cancellationToken) => Inner.SearchRunsPageAsync(query, pageToken, cancellationToken);

    public virtual ValueTask DisposeAsync() => Inner.DisposeAsync();
}
