namespace MlOps.Client.Stores;

/// <summary>An <see cref="ITrackingStore"/> over an MLflow tracking server, through <see cref="MlflowClient"/>.</summary>
/// <param name="client">The client.</param>
/// <param name="ownsClient">Whether disposing the store disposes the client.</param>
public sealed class RestTrackingStore(MlflowClient client, bool ownsClient = false)
    : ITrackingStore, IUploadStore, IArtifactStore, IRegistryStore, IModelHistoryStore, ILoggedModelStore, ILifecycleStore, IMlflowVersionStore
{
    /// <summary>The client.</summary>
    public MlflowClient Client { get; } = client ?? throw new ArgumentNullException(nameof(client));

    /// <inheritdoc />
    public string Uri => Client.BaseUri.ToString().TrimEnd('/');

    /// <inheritdoc />
    public Task<string> CreateExperimentAsync(string name, string? artifactLocation, IReadOnlyDictionary<string, string>? tags, CancellationToken cancellationToken) =>
        Client.CreateExperimentAsync(name, artifactLocation, tags, cancellationToken);

    /// <inheritdoc />
    public Task<Experiment> GetExperimentAsync(string experimentId, CancellationToken cancellationToken) =>
        Client.GetExperimentAsync(experimentId, cancellationToken);

    /// <inheritdoc />
    public Task<Experiment?> FindExperimentByNameAsync(string name, CancellationToken cancellationToken) =>
        Client.FindExperimentByNameAsync(name, cancellationToken);

    /// <inheritdoc cref="SearchExperimentsPageAsync"/>
    [Obsolete("Renamed SearchExperimentsPageAsync: it returns one page (MlflowClient.SearchExperimentsAsync returns a pageable). Removed in the next release.")]
    public Task<MlflowPage<Experiment>> SearchExperimentsAsync(SearchExperimentsOptions query, string? pageToken, CancellationToken cancellationToken) =>
        SearchExperimentsPageAsync(query, pageToken, cancellationToken);

    /// <inheritdoc />
    public Task<MlflowPage<Experiment>> SearchExperimentsPageAsync(SearchExperimentsOptions query, string? pageToken, CancellationToken cancellationToken) =>
        Client.SearchExperimentsPageAsync(query, pageToken, null, cancellationToken);

    /// <inheritdoc />
    public Task<Run> CreateRunAsync(string experimentId, CreateRunOptions options, CancellationToken cancellationToken) =>
        Client.CreateRunAsync(experimentId, options, cancellationToken);

    /// <inheritdoc />
    public Task<Run> GetRunAsync(string runId, CancellationToken cancellationToken) => Client.GetRunAsync(runId, cancellationToken);

    /// <inheritdoc />
    public Task<RunInfo> UpdateRunAsync(string runId, RunStatus? status, DateTimeOffset? endTime, string? runName, CancellationToken cancellationToken) =>
        Client.UpdateRunAsync(runId, status, endTime, runName, cancellationToken);

    /// <inheritdoc />
    public Task LogBatchAsync(string runId, IReadOnlyList<Metric> metrics, IReadOnlyList<Param> parameters, IReadOnlyList<RunTag> tags, CancellationToken cancellationToken) =>
        Client.LogBatchCoreAsync(runId, metrics, parameters, tags, cancellationToken);

    /// <inheritdoc />
    Task IUploadStore.LogBatchOnceAsync(string runId, ReadOnlyMemory<MetricRow> metrics, IReadOnlyList<Param> parameters, IReadOnlyList<RunTag> tags, CancellationToken cancellationToken) =>
        Client.LogBatchOnceAsync(runId, metrics, parameters, tags, cancellationToken);

    /// <inheritdoc />
    Task IUploadStore.EndRunOnceAsync(string runId, RunStatus status, DateTimeOffset endTime, CancellationToken cancellationToken) =>
        Client.UpdateRunCoreAsync(runId, status, endTime, null, singleAttempt: true, cancellationToken);

    /// <inheritdoc />
    public Task LogInputsAsync(string runId, IReadOnlyList<DatasetInput> datasets, CancellationToken cancellationToken) =>
        Client.LogInputsAsync(runId, datasets, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<Metric>> GetMetricHistoryAsync(string runId, string metricKey, CancellationToken cancellationToken) =>
        Client.GetMetricHistoryAsync(runId, metricKey, cancellationToken);

    /// <inheritdoc cref="SearchRunsPageAsync"/>
    [Obsolete("Renamed SearchRunsPageAsync: it returns one page (MlflowClient.SearchRunsAsync returns a pageable). Removed in the next release.")]
    public Task<MlflowPage<Run>> SearchRunsAsync(SearchRunsOptions query, string? pageToken, CancellationToken cancellationToken) =>
        SearchRunsPageAsync(query, pageToken, cancellationToken);

    /// <inheritdoc />
    public Task<MlflowPage<Run>> SearchRunsPageAsync(SearchRunsOptions query, string? pageToken, CancellationToken cancellationToken) =>
        Client.SearchRunsPageAsync(query, pageToken, null, cancellationToken);

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        if (ownsClient)
        {
            Client.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    Artifacts.IArtifactRepository IArtifactStore.ArtifactRepository(string artifactUri) => Artifacts.ArtifactRepositories.ForUri(artifactUri, Client);

    /// <inheritdoc/>
    Registry.IModelRegistryStore IRegistryStore.Registry => _registry ??= new Registry.ServerRegistryStore(Client);

    private Registry.IModelRegistryStore? _registry;

    /// <inheritdoc/>
    Task IModelHistoryStore.AppendModelHistoryAsync(string runId, string modelJson, CancellationToken cancellationToken) =>
        Client.LogModelAsync(runId, modelJson, cancellationToken); // the server appends to the tag

    /// <inheritdoc/>
    bool ILoggedModelStore.MayHaveLoggedModels => Client.MayHaveLoggedModels;

    /// <inheritdoc/>
    Task<LoggedModel?> ILoggedModelStore.TryCreateLoggedModelAsync(
        string experimentId, string? name, string? sourceRunId, IReadOnlyDictionary<string, string>? tags, IReadOnlyDictionary<string, string>? parameters,
        string? modelType, CancellationToken cancellationToken) =>
        Client.TryCreateLoggedModelAsync(experimentId, name, sourceRunId, tags, parameters, modelType, cancellationToken);

    /// <inheritdoc/>
    Task<LoggedModel> ILoggedModelStore.GetLoggedModelAsync(string modelId, CancellationToken cancellationToken) =>
        Client.GetLoggedModelAsync(modelId, cancellationToken);

    /// <inheritdoc/>
    Task<MlflowPage<LoggedModel>> ILoggedModelStore.SearchLoggedModelsPageAsync(SearchLoggedModelsOptions query, string? pageToken, CancellationToken cancellationToken) =>
        Client.SearchLoggedModelsPageAsync(query, pageToken, null, cancellationToken);

    /// <inheritdoc/>
    Task ILoggedModelStore.FinalizeLoggedModelAsync(string modelId, LoggedModelStatus status, CancellationToken cancellationToken) =>
        Client.FinalizeLoggedModelAsync(modelId, status, cancellationToken);

    /// <inheritdoc/>
    Task ILoggedModelStore.LogOutputsAsync(string runId, string modelId, long step, CancellationToken cancellationToken) =>
        Client.LogOutputsAsync(runId, modelId, step, cancellationToken);

    /// <inheritdoc/>
    Task ILoggedModelStore.SetLoggedModelTagsAsync(string modelId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken) =>
        Client.SetLoggedModelTagsAsync(modelId, tags, cancellationToken);

    /// <inheritdoc/>
    Task ILifecycleStore.DeleteRunAsync(string runId, CancellationToken cancellationToken) => Client.DeleteRunAsync(runId, cancellationToken);

    /// <inheritdoc/>
    Task ILifecycleStore.RestoreRunAsync(string runId, CancellationToken cancellationToken) => Client.RestoreRunAsync(runId, cancellationToken);

    /// <inheritdoc/>
    Task ILifecycleStore.DeleteExperimentAsync(string experimentId, CancellationToken cancellationToken) => Client.DeleteExperimentAsync(experimentId, cancellationToken);

    /// <inheritdoc/>
    Task ILifecycleStore.RestoreExperimentAsync(string experimentId, CancellationToken cancellationToken) => Client.RestoreExperimentAsync(experimentId, cancellationToken);

    /// <inheritdoc/>
    Task<string?> IMlflowVersionStore.MlflowVersionAsync(CancellationToken cancellationToken) => Client.GetServerVersionAsync(cancellationToken);
}
