using MlOps.Client.Artifacts;
using MlOps.Client.Registry;

namespace MlOps.Client.Stores;

/// <summary>A store that knows how to reach the artifacts of its runs (a tracking server's proxy, or the local disk).</summary>
internal interface IArtifactStore
{
    /// <summary>The repository for one of this store's artifact URIs.</summary>
    IArtifactRepository ArtifactRepository(string artifactUri);
}

/// <summary>A store with a model registry.</summary>
internal interface IRegistryStore
{
    /// <summary>The registry.</summary>
    IModelRegistryStore Registry { get; }
}

/// <summary>A store that records a run's logged models in its <c>mlflow.log-model.history</c> tag itself (the server's <c>runs/log-model</c>).</summary>
internal interface IModelHistoryStore
{
    /// <summary>Appends <paramref name="modelJson"/> (an MLmodel as JSON) to the run's log-model history.</summary>
    Task AppendModelHistoryAsync(string runId, string modelJson, CancellationToken cancellationToken);
}

/// <summary>A store with MLflow 3's logged models (a 3.x tracking server, or an embedded file at the 3.x schema).</summary>
internal interface ILoggedModelStore
{
    /// <summary>Whether the store may have them: <see langword="false"/> once it is known not to (MLflow 2.x).</summary>
    bool MayHaveLoggedModels { get; }

    /// <summary>Creates a logged model (<c>PENDING</c>), or returns <see langword="null"/> when the store has none (MLflow 2.x).</summary>
    Task<LoggedModel?> TryCreateLoggedModelAsync(
        string experimentId, string? name, string? sourceRunId, IReadOnlyDictionary<string, string>? tags, IReadOnlyDictionary<string, string>? parameters,
        string? modelType, CancellationToken cancellationToken);

    /// <summary>Gets a logged model with its tags, params and linked metrics.</summary>
    Task<LoggedModel> GetLoggedModelAsync(string modelId, CancellationToken cancellationToken);

    /// <summary>One page of a logged-model search.</summary>
    Task<MlflowPage<LoggedModel>> SearchLoggedModelsPageAsync(SearchLoggedModelsOptions query, string? pageToken, CancellationToken cancellationToken);

    /// <summary>Sets the logged model's final status.</summary>
    Task FinalizeLoggedModelAsync(string modelId, LoggedModelStatus status, CancellationToken cancellationToken);

    /// <summary>Links the logged model to the run as an output at <paramref name="step"/>.</summary>
    Task LogOutputsAsync(string runId, string modelId, long step, CancellationToken cancellationToken);

    /// <summary>Sets (upserts) tags on the logged model.</summary>
    Task SetLoggedModelTagsAsync(string modelId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken);
}

/// <summary>A store whose runs and experiments can be deleted (moved to the <c>deleted</c> stage) and restored.</summary>
internal interface ILifecycleStore
{
    /// <summary>Marks a run deleted.</summary>
    Task DeleteRunAsync(string runId, CancellationToken cancellationToken);

    /// <summary>Restores a deleted run.</summary>
    Task RestoreRunAsync(string runId, CancellationToken cancellationToken);

    /// <summary>Marks an active experiment, and its runs, deleted.</summary>
    Task DeleteExperimentAsync(string experimentId, CancellationToken cancellationToken);

    /// <summary>Restores a deleted experiment and its runs.</summary>
    Task RestoreExperimentAsync(string experimentId, CancellationToken cancellationToken);
}

/// <summary>A store that knows which MLflow version serves it (what a logged model's environment pins).</summary>
internal interface IMlflowVersionStore
{
    /// <summary>The MLflow version (e.g. <c>3.6.1.dev0</c>), or <see langword="null"/> when unknown.</summary>
    Task<string?> MlflowVersionAsync(CancellationToken cancellationToken);
}

/// <summary>What a store can do beyond tracking is asked of it by capability, never by its concrete type.</summary>
internal static class StoreCapabilities
{
    /// <summary>The repository for <paramref name="artifactUri"/>: the store's own, or the local disk for a store without one.</summary>
    public static IArtifactRepository ArtifactsFor(this ITrackingStore store, string artifactUri) =>
        store is IArtifactStore artifacts ? artifacts.ArtifactRepository(artifactUri) : ArtifactRepositories.ForUri(artifactUri, null);

    /// <summary>The store's model registry, or <see langword="null"/>.</summary>
    public static IModelRegistryStore? RegistryOf(this ITrackingStore store) =>
        store as IModelRegistryStore ?? (store as IRegistryStore)?.Registry;

    /// <summary>The MLflow version behind the store, or <see langword="null"/> when it does not say.</summary>
    public static Task<string?> MlflowVersionAsync(this ITrackingStore store, CancellationToken cancellationToken) =>
        store is IMlflowVersionStore versioned ? versioned.MlflowVersionAsync(cancellationToken) : Task.FromResult<string?>(null);

    /// <summary>The store's delete and restore of runs and experiments; <see cref="NotSupportedException"/> naming the store when it has none.</summary>
    public static ILifecycleStore LifecycleOf(this ITrackingStore store) =>
        store as ILifecycleStore ?? throw new NotSupportedException($"{store.Uri} cannot delete or restore runs and experiments.");

    /// <summary>The store's MLflow 3 logged models; <see cref="NotSupportedException"/> naming <paramref name="what"/> and the store when it has none.</summary>
    public static ILoggedModelStore LoggedModelsOf(this ITrackingStore store, string? what = null) =>
        store as ILoggedModelStore ?? throw new NotSupportedException($"{what ?? store.Uri}: {(what is null ? "this store" : store.Uri)} has no MLflow 3 logged models.");

    /// <summary>The store's MLflow 3 logged models when it may have them (not once it is known to be MLflow 2.x), else <see langword="null"/>.</summary>
    public static ILoggedModelStore? LoggedModelsIfAny(this ITrackingStore store) =>
        store is ILoggedModelStore { MayHaveLoggedModels: true } models ? models : null;

    /// <summary>The store's own recording of logged models in a run's history tag (the server's <c>runs/log-model</c>), or <see langword="null"/>.</summary>
    public static IModelHistoryStore? ModelHistoryOf(this ITrackingStore store) => store as IModelHistoryStore;

    /// <summary>The store's one-attempt requests for the batched uploader, or <see langword="null"/> (the store is then called through <see cref="ITrackingStore"/>).</summary>
    public static IUploadStore? UploadsOf(this ITrackingStore store) => store as IUploadStore;

    /// <summary>The store as one that takes the uploader's metric rows, or <see langword="null"/> (it takes <see cref="Metric"/> lists).</summary>
    public static IMetricRowsStore? MetricRowsOf(this ITrackingStore store) => store as IMetricRowsStore;
}
