namespace MlOps.Client.Rest;

#pragma warning disable CA1812 // instantiated by the JSON source generator
internal sealed record CreateRegisteredModelRequest(string Name, IReadOnlyList<RegisteredModelTag>? Tags, string? Description);
internal sealed record RegisteredModelResponse(RegisteredModel? RegisteredModel);
internal sealed record RegisteredModelNameRequest(string Name);
internal sealed record UpdateRegisteredModelRequest(string Name, string? Description);
internal sealed record RenameRegisteredModelRequest(string Name, string NewName);
internal sealed record SearchRegisteredModelsResponse(IReadOnlyList<RegisteredModel>? RegisteredModels, string? NextPageToken);
internal sealed record SetRegisteredModelTagRequest(string Name, string Key, string Value);
internal sealed record DeleteRegisteredModelTagRequest(string Name, string Key);
internal sealed record GetLatestVersionsRequest(string Name, IReadOnlyList<string>? Stages);
internal sealed record ModelVersionsResponse(IReadOnlyList<ModelVersion>? ModelVersions, string? NextPageToken);
internal sealed record SetAliasRequest(string Name, string Alias, string Version);
internal sealed record DeleteAliasRequest(string Name, string Alias);
internal sealed record CreateModelVersionRequest(string Name, string Source, string? RunId, IReadOnlyList<ModelVersionTag>? Tags, string? RunLink, string? Description, string? ModelId = null);
internal sealed record ModelVersionResponse(ModelVersion? ModelVersion);
internal sealed record ModelVersionKeyRequest(string Name, string Version);
internal sealed record UpdateModelVersionRequest(string Name, string Version, string? Description);
internal sealed record TransitionStageRequest(string Name, string Version, string Stage, bool ArchiveExistingVersions);
internal sealed record SetModelVersionTagRequest(string Name, string Version, string Key, string Value);
internal sealed record DeleteModelVersionTagRequest(string Name, string Version, string Key);
internal sealed record DownloadUriResponse(string? ArtifactUri);
#pragma warning restore CA1812
