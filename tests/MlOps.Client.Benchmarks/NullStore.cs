using MlOps.Client;
using MlOps.Client.Stores;

namespace MlOps.Client.Benchmarks;

/// <summary>
/// A store that accepts everything at once: measures the client side alone. It takes the uploader's metric rows as the
/// built-in stores (the server's, the embedded one) do, so the uploader makes no <see cref="Metric"/> per value for it.
/// </summary>
internal sealed class NullStore : ITrackingStore, IMetricRowsStore
{
    private long _metrics;

    public long Metrics => Interlocked.Read(ref _metrics);

    public string Uri => "null://";

    public Task LogBatchAsync(string runId, IReadOnlyList<Metric> metrics, IReadOnlyList<Param> parameters, IReadOnlyList<RunTag> tags, CancellationToken cancellationToken)
    {
        Interlocked.Add(ref _metrics, metrics.Count);
        return Task.CompletedTask;
    }

    public Task LogBatchAsync(string runId, ReadOnlyMemory<MetricRow> metrics, IReadOnlyList<Param> parameters, IReadOnlyList<RunTag> tags, CancellationToken cancellationToken)
    {
        Interlocked.Add(ref _metrics, metrics.Length);
        return Task.CompletedTask;
    }

    public Task<Run> CreateRunAsync(string experimentId, CreateRunOptions options, CancellationToken cancellationToken) =>
        Task.FromResult(new Run { Info = new RunInfo { RunId = Guid.NewGuid().ToString("N"), ExperimentId = experimentId, RunName = options.RunName } });

    public Task<RunInfo> UpdateRunAsync(string runId, RunStatus? status, DateTimeOffset? endTime, string? runName, CancellationToken cancellationToken) =>
        Task.FromResult(new RunInfo { RunId = runId, Status = status ?? RunStatus.Running });

    public Task<string> CreateExperimentAsync(string name, string? artifactLocation, IReadOnlyDictionary<string, string>? tags, CancellationToken cancellationToken) => Task.FromResult("1");
    public Task<Experiment> GetExperimentAsync(string experimentId, CancellationToken cancellationToken) => Task.FromResult(new Experiment { ExperimentId = experimentId });
    public Task<Experiment?> FindExperimentByNameAsync(string name, CancellationToken cancellationToken) => Task.FromResult<Experiment?>(null);
    public Task<MlflowPage<Experiment>> SearchExperimentsPageAsync(SearchExperimentsOptions query, string? pageToken, CancellationToken cancellationToken) => Task.FromResult(new MlflowPage<Experiment>([], null));
    public Task<Run> GetRunAsync(string runId, CancellationToken cancellationToken) => Task.FromResult(new Run { Info = new RunInfo { RunId = runId } });
    public Task LogInputsAsync(string runId, IReadOnlyList<DatasetInput> datasets, CancellationToken cancellationToken) => Task.CompletedTask;
    public Task<IReadOnlyList<Metric>> GetMetricHistoryAsync(string runId, string metricKey, CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<Metric>>([]);
    public Task<MlflowPage<Run>> SearchRunsPageAsync(SearchRunsOptions query, string? pageToken, CancellationToken cancellationToken) => Task.FromResult(new MlflowPage<Run>([], null));
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
