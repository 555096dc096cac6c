namespace MlOps.Client.Rest;

#pragma warning disable CA1812 // instantiated by the JSON source generator
internal sealed record ProxyListResponse(IReadOnlyList<ArtifactFileInfo>? Files);
internal sealed record CreateMultipartRequest(string Path, int NumParts);
internal sealed record MultipartCredential(string Url, int PartNumber, IReadOnlyDictionary<string, string>? Headers);
internal sealed record CreateMultipartResponse(string? UploadId, IReadOnlyList<MultipartCredential>? Credentials);
internal sealed record MultipartPart(int PartNumber, string? Etag, string? Url);
internal sealed record CompleteMultipartRequest(string Path, string UploadId, IReadOnlyList<MultipartPart> Parts);
internal sealed record AbortMultipartRequest(string Path, string UploadId);
#pragma warning restore CA1812
