namespace MlOps.Client.Registry;

/// <summary>The registry of a tracking server, through its <see cref="MlflowClient"/> (the registry depends on the client, not the reverse).</summary>
/// <param name="client">The client.</param>
internal sealed class ServerRegistryStore(MlflowClient client) : IModelRegistryStore, ILoggedModelRegistryStore
{
    async Task<LoggedModel?> ILoggedModelRegistryStore.FindRunLoggedModelAsync(string runId, string path, CancellationToken cancellationToken)
    {
        if (!client.MayHaveLoggedModels)
        {
            return null;
        }

        var run = await client.GetRunAsync(runId, cancellationToken).ConfigureAwait(false);
        var artifacts = Artifacts.ArtifactRepositories.ForUri(run.Info.ArtifactUri ?? throw new MlflowException($"Run {runId} has no artifact URI."), client);
        try
        {
            return await Models.LoggedModelLookup.FindForRunPathAsync(run, path, artifacts,
                (query, token, ct) => client.SearchLoggedModelsPageAsync(query, token, null, ct), cancellationToken).ConfigureAwait(false);
        }
        catch (MlflowException ex) when (MlflowClient.IsMissingLoggedModelApi(ex))
        {
            client.NoteNoLoggedModels();
            return null;
        }
    }

    Task<LoggedModel> ILoggedModelRegistryStore.GetLoggedModelAsync(string modelId, CancellationToken cancellationToken) =>
        client.GetLoggedModelAsync(modelId, cancellationToken);

    Task<ModelVersion> ILoggedModelRegistryStore.CreateModelVersionAsync(
        string name, string source, string? runId, string modelId, IReadOnlyDictionary<string, string>? tags, string? description, CancellationToken cancellationToken) =>
        client.CreateModelVersionAsync(name, source, runId, tags, description, null, modelId, cancellationToken);

    Task ILoggedModelRegistryStore.SetLoggedModelTagsAsync(string modelId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken) =>
        client.SetLoggedModelTagsAsync(modelId, tags, cancellationToken);

    Task<RegisteredModel> IModelRegistryStore.CreateRegisteredModelAsync(string name, CancellationToken cancellationToken) =>
        client.CreateRegisteredModelAsync(name, null, null, cancellationToken);

    Task<RegisteredModel> IModelRegistryStore.GetRegisteredModelAsync(string name, CancellationToken cancellationToken) =>
        client.GetRegisteredModelAsync(name, cancellationToken);

    Task<ModelVersion> IModelRegistryStore.CreateModelVersionAsync(string name, string source, string? runId, IReadOnlyDictionary<string, string>? tags, string? description, CancellationToken cancellationToken) =>
        client.CreateModelVersionAsync(name, source, runId, tags, description, null, cancellationToken);

    Task<ModelVersion> IModelRegistryStore.GetModelVersionAsync(string name, string version, CancellationToken cancellationToken) =>
        client.GetModelVersionAsync(name, version, cancellationToken);

    Task IModelRegistryStore.SetRegisteredModelAliasAsync(string name, string alias, string version, CancellationToken cancellationToken) =>
        client.SetRegisteredModelAliasAsync(name, alias, version, cancellationToken);

    Task IModelRegistryStore.DeleteRegisteredModelAliasAsync(string name, string alias, CancellationToken cancellationToken) =>
        client.DeleteRegisteredModelAliasAsync(name, alias, cancellationToken);

    Task<ModelVersion> IModelRegistryStore.GetModelVersionByAliasAsync(string name, string alias, CancellationToken cancellationToken) =>
        client.GetModelVersionByAliasAsync(name, alias, cancellationToken);

    Task<ModelVersion> IModelRegistryStore.TransitionModelVersionStageAsync(string name, string version, string stage, bool archiveExistingVersions, CancellationToken cancellationToken) =>
        client.TransitionModelVersionStageAsync(name, version, stage, archiveExistingVersions, cancellationToken);

    async Task<IReadOnlyList<ModelVersion>> IModelRegistryStore.GetModelVersionsAsync(string name, CancellationToken cancellationToken)
    {
        var list = new List<ModelVersion>();
        await foreach (var v in client.SearchModelVersionsAsync(new SearchModelVersionsOptions { Filter = $"name='{name.Replace("'", "\\'", StringComparison.Ordinal)}'" }, cancellationToken).ConfigureAwait(false))
        {
            list.Add(v);
        }

        return list;
    }

    Task<string> IModelRegistryStore.GetModelVersionDownloadUriAsync(string name, string version, CancellationToken cancellationToken) =>
        client.GetModelVersionDownloadUriAsync(name, version, cancellationToken);
}
