namespace MlOps.Client.Registry;

/// <summary>A registry that can register MLflow 3 logged models (<c>models:/&lt;model id&gt;</c>), as Python 3.x does.</summary>
internal interface ILoggedModelRegistryStore
{
    /// <summary>
    /// The logged model a <c>runs:/&lt;run&gt;/&lt;path&gt;</c> URI stands for when the run's artifacts have no model
    /// there (see <see cref="Models.LoggedModelLookup"/>), or <see langword="null"/>.
    /// </summary>
    Task<LoggedModel?> FindRunLoggedModelAsync(string runId, string path, CancellationToken cancellationToken);

    /// <summary>Gets a logged model.</summary>
    Task<LoggedModel> GetLoggedModelAsync(string modelId, CancellationToken cancellationToken);

    /// <summary>Creates a version of a logged model (<c>model_id</c> sent with the source).</summary>
    Task<ModelVersion> CreateModelVersionAsync(
        string name, string source, string? runId, string modelId, IReadOnlyDictionary<string, string>? tags, string? description, CancellationToken cancellationToken);

    /// <summary>Sets tags on the logged model.</summary>
    Task SetLoggedModelTagsAsync(string modelId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken);
}
