namespace MlOps.Client.Registry;

/// <summary>
/// The registry operations the <see cref="ModelRegistry"/> workflow needs, on a tracking server
/// (<see cref="MlflowClient"/>) or on the embedded store (<see cref="Stores.SqliteTrackingStore"/>, MLflow's own
/// registry tables).
/// </summary>
public interface IModelRegistryStore
{
    /// <summary>Creates a registered model; <c>RESOURCE_ALREADY_EXISTS</c> when the name is taken.</summary>
    /// <param name="name">The name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<RegisteredModel> CreateRegisteredModelAsync(string name, CancellationToken cancellationToken);

    /// <summary>Gets a registered model with its aliases and latest versions.</summary>
    /// <param name="name">The name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<RegisteredModel> GetRegisteredModelAsync(string name, CancellationToken cancellationToken);

    /// <summary>Creates a version.</summary>
    /// <param name="name">The registered model.</param>
    /// <param name="source">The model files' URI.</param>
    /// <param name="runId">The run.</param>
    /// <param name="tags">Tags.</param>
    /// <param name="description">A description.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<ModelVersion> CreateModelVersionAsync(string name, string source, string? runId, IReadOnlyDictionary<string, string>? tags, string? description, CancellationToken cancellationToken);

    /// <summary>Gets a version.</summary>
    /// <param name="name">The registered model.</param>
    /// <param name="version">The version.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<ModelVersion> GetModelVersionAsync(string name, string version, CancellationToken cancellationToken);

    /// <summary>Points an alias at a version.</summary>
    /// <param name="name">The registered model.</param>
    /// <param name="alias">The alias.</param>
    /// <param name="version">The version.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task SetRegisteredModelAliasAsync(string name, string alias, string version, CancellationToken cancellationToken);

    /// <summary>Removes an alias.</summary>
    /// <param name="name">The registered model.</param>
    /// <param name="alias">The alias.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task DeleteRegisteredModelAliasAsync(string name, string alias, CancellationToken cancellationToken);

    /// <summary>The version an alias points at.</summary>
    /// <param name="name">The registered model.</param>
    /// <param name="alias">The alias.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<ModelVersion> GetModelVersionByAliasAsync(string name, string alias, CancellationToken cancellationToken);

    /// <summary>Moves a version to a legacy stage.</summary>
    /// <param name="name">The registered model.</param>
    /// <param name="version">The version.</param>
    /// <param name="stage">The stage.</param>
    /// <param name="archiveExistingVersions">Whether other versions in that stage are archived.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<ModelVersion> TransitionModelVersionStageAsync(string name, string version, string stage, bool archiveExistingVersions, CancellationToken cancellationToken);

    /// <summary>Every version of a registered model.</summary>
    /// <param name="name">The registered model.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<IReadOnlyList<ModelVersion>> GetModelVersionsAsync(string name, CancellationToken cancellationToken);

    /// <summary>Where a version's files are (<c>runs:/…</c> or an artifact URI).</summary>
    /// <param name="name">The registered model.</param>
    /// <param name="version">The version.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<string> GetModelVersionDownloadUriAsync(string name, string version, CancellationToken cancellationToken);
}
