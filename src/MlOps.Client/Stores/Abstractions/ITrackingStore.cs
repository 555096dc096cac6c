namespace MlOps.Client.Stores;

/// <summary>
/// Where runs are recorded: an MLflow tracking server (<see cref="RestTrackingStore"/>) or the embedded SQLite
/// database (<c>sqlite:///mlflow.db</c>). The tracker and the uploader only talk to this interface.
/// Implementations are thread-safe.
/// </summary>
public interface ITrackingStore : IAsyncDisposable
{
    /// <summary>The store's URI (credentials removed), e.g. <c>http://127.0.0.1:5000</c> or <c>sqlite:///mlflow.db</c>.</summary>
    string Uri { get; }

    /// <summary>Creates an experiment and returns its id.</summary>
    /// <param name="name">The unique name.</param>
    /// <param name="artifactLocation">The artifact location, or <see langword="null"/> for the store's default.</param>
    /// <param name="tags">Experiment tags, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<string> CreateExperimentAsync(string name, string? artifactLocation, IReadOnlyDictionary<string, string>? tags, CancellationToken cancellationToken);

    /// <summary>Gets an experiment by id; <see cref="MlflowException"/> with <c>RESOURCE_DOES_NOT_EXIST</c> when unknown.</summary>
    /// <param name="experimentId">The id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<Experiment> GetExperimentAsync(string experimentId, CancellationToken cancellationToken);

    /// <summary>Gets an experiment by name, or <see langword="null"/>.</summary>
    /// <param name="name">The name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<Experiment?> FindExperimentByNameAsync(string name, CancellationToken cancellationToken);

    /// <summary>One page of experiments.</summary>
    /// <param name="query">The query.</param>
    /// <param name="pageToken">The page token, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<MlflowPage<Experiment>> SearchExperimentsPageAsync(SearchExperimentsOptions query, string? pageToken, CancellationToken cancellationToken);

    /// <summary>One page of experiments (renamed: <see cref="SearchExperimentsPageAsync"/>, as the client's <c>SearchExperimentsAsync</c> returns them all).</summary>
    /// <param name="query">The query.</param>
    /// <param name="pageToken">The page token, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    [Obsolete("Renamed SearchExperimentsPageAsync: it returns one page (MlflowClient.SearchExperimentsAsync returns a pageable). Removed in the next release.")]
    Task<MlflowPage<Experiment>> SearchExperimentsAsync(SearchExperimentsOptions query, string? pageToken, CancellationToken cancellationToken) =>
        SearchExperimentsPageAsync(query, pageToken, cancellationToken);

    /// <summary>Creates a run.</summary>
    /// <param name="experimentId">The experiment.</param>
    /// <param name="options">Name, start time, user, tags.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<Run> CreateRunAsync(string experimentId, CreateRunOptions options, CancellationToken cancellationToken);

    /// <summary>Gets a run; <see cref="MlflowException"/> with <c>RESOURCE_DOES_NOT_EXIST</c> when unknown.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<Run> GetRunAsync(string runId, CancellationToken cancellationToken);

    /// <summary>Updates status, end time and/or name of a run.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="status">The status, or <see langword="null"/>.</param>
    /// <param name="endTime">The end time, or <see langword="null"/>.</param>
    /// <param name="runName">The name, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<RunInfo> UpdateRunAsync(string runId, RunStatus? status, DateTimeOffset? endTime, string? runName, CancellationToken cancellationToken);

    /// <summary>
    /// Writes one batch within MLflow's limits (1000 metrics, 100 params, 100 tags, 1000 in all). Same semantics
    /// as the server: an identical metric (key, timestamp, step, value) is stored once; a param logged again with
    /// the same value is accepted, with another value refused (<c>INVALID_PARAMETER_VALUE</c>); tags are overwritten.
    /// </summary>
    /// <param name="runId">The run id.</param>
    /// <param name="metrics">Metrics.</param>
    /// <param name="parameters">Params.</param>
    /// <param name="tags">Tags.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task LogBatchAsync(string runId, IReadOnlyList<Metric> metrics, IReadOnlyList<Param> parameters, IReadOnlyList<RunTag> tags, CancellationToken cancellationToken);

    /// <summary>Records datasets used by a run (same name and digest again adds nothing).</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="datasets">The dataset inputs.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task LogInputsAsync(string runId, IReadOnlyList<DatasetInput> datasets, CancellationToken cancellationToken);

    /// <summary>Every value of a metric, in (step, timestamp) order.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="metricKey">The metric name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<IReadOnlyList<Metric>> GetMetricHistoryAsync(string runId, string metricKey, CancellationToken cancellationToken);

    /// <summary>One page of runs.</summary>
    /// <param name="query">The query.</param>
    /// <param name="pageToken">The page token, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<MlflowPage<Run>> SearchRunsPageAsync(SearchRunsOptions query, string? pageToken, CancellationToken cancellationToken);

    /// <summary>One page of runs (renamed: <see cref="SearchRunsPageAsync"/>, as the client's <c>SearchRunsAsync</c> returns them all).</summary>
    /// <param name="query">The query.</param>
    /// <param name="pageToken">The page token, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    [Obsolete("Renamed SearchRunsPageAsync: it returns one page (MlflowClient.SearchRunsAsync returns a pageable). Removed in the next release.")]
    Task<MlflowPage<Run>> SearchRunsAsync(SearchRunsOptions query, string? pageToken, CancellationToken cancellationToken) =>
        SearchRunsPageAsync(query, pageToken, cancellationToken);
}
