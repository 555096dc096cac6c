namespace MlOps.Client.Rest;

#pragma warning disable CA1812 // instantiated by the JSON source generator
internal sealed record ProxyListResponse(IReadOnlyList<ArtifactFileInfo>? Files);
internal sealed record CreateMultipartRequest(string Path, int NumParts);
internal sealed record MultipartCredential(string Url, int PartNumber, IReadOnlyDictionary<string, string>? Headers);
internal sealed record CreateMultipartResponse(string? UploadId, IReadOnlyList<MultipartCredential>? Credentials);
internal sealed record MultipartPart(int PartNumber, string? Etag, string? Url);
internal sealed record CompleteMultipartRequest(string Path, string UploadId, IReadOnlyList<MultipartPart> Parts);
internal sealed record AbortMultipartRequest(string Path, string UploadId);

// Databricks' signed-URL artifact service (databricks_artifacts.proto).
internal sealed record DatabricksHttpHeader(string? Name, string? Value);
internal sealed record DatabricksCredentialInfo(string? RunId, string? Path, string? SignedUri, IReadOnlyList<DatabricksHttpHeader>? Headers, string? Type);
internal sealed record DatabricksCredentialsRequest(string RunId, IReadOnlyList<string> Path, string? PageToken);
internal sealed record DatabricksCredentialsResponse(IReadOnlyList<DatabricksCredentialInfo>? CredentialInfos, string? NextPageToken);
internal sealed record DatabricksCreateMultipartRequest(string RunId, string Path, long NumParts);
internal sealed record DatabricksCreateMultipartResponse(string? UploadId, IReadOnlyList<DatabricksCredentialInfo>? UploadCredentialInfos, DatabricksCredentialInfo? AbortCredentialInfo);
internal sealed record DatabricksPartEtag(long PartNumber, string Etag);
internal sealed record DatabricksPartUrlRequest(string RunId, string Path, string UploadId, long PartNumber);
internal sealed record DatabricksPartUrlResponse(DatabricksCredentialInfo? UploadCredentialInfo);
internal sealed record DatabricksCompleteMultipartRequest(string RunId, string Path, string UploadId, IReadOnlyList<DatabricksPartEtag> PartEtags);
#pragma warning restore CA1812
