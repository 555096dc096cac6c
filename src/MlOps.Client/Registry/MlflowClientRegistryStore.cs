using MlOps.Client.Registry;

namespace MlOps.Client;

public partial class MlflowClient : IModelRegistryStore
{
    Task<RegisteredModel> IModelRegistryStore.CreateRegisteredModelAsync(string name, CancellationToken cancellationToken) =>
        CreateRegisteredModelAsync(name, null, null, cancellationToken);

    Task<RegisteredModel> IModelRegistryStore.GetRegisteredModelAsync(string name, CancellationToken cancellationToken) =>
        GetRegisteredModelAsync(name, cancellationToken);

    Task<ModelVersion> IModelRegistryStore.CreateModelVersionAsync(string name, string source, string? runId, IReadOnlyDictionary<string, string>? tags, string? description, CancellationToken cancellationToken) =>
        CreateModelVersionAsync(name, source, runId, tags, description, null, cancellationToken);

    Task<ModelVersion> IModelRegistryStore.GetModelVersionAsync(string name, string version, CancellationToken cancellationToken) =>
        GetModelVersionAsync(name, version, cancellationToken);

    Task IModelRegistryStore.SetRegisteredModelAliasAsync(string name, string alias, string version, CancellationToken cancellationToken) =>
        SetRegisteredModelAliasAsync(name, alias, version, cancellationToken);

    Task IModelRegistryStore.DeleteRegisteredModelAliasAsync(string name, string alias, CancellationToken cancellationToken) =>
        DeleteRegisteredModelAliasAsync(name, alias, cancellationToken);

    Task<ModelVersion> IModelRegistryStore.GetModelVersionByAliasAsync(string name, string alias, CancellationToken cancellationToken) =>
        GetModelVersionByAliasAsync(name, alias, cancellationToken);

    Task<ModelVersion> IModelRegistryStore.TransitionModelVersionStageAsync(string name, string version, string stage, bool archiveExistingVersions, CancellationToken cancellationToken) =>
        TransitionModelVersionStageAsync(name, version, stage, archiveExistingVersions, cancellationToken);

    async Task<IReadOnlyList<ModelVersion>> IModelRegistryStore.GetModelVersionsAsync(string name, CancellationToken cancellationToken)
    {
        var list = new List<ModelVersion>();
        await foreach (var v in SearchModelVersionsAsync(new SearchModelVersionsOptions { Filter = $"name='{name.Replace("'", "\\'", StringComparison.Ordinal)}'" }, cancellationToken).ConfigureAwait(false))
        {
            list.Add(v);
        }

        return list;
    }

    Task<string> IModelRegistryStore.GetModelVersionDownloadUriAsync(string name, string version, CancellationToken cancellationToken) =>
        GetModelVersionDownloadUriAsync(name, version, cancellationToken);
}
