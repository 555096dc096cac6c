using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using MlOps.Client.Rest;

namespace MlOps.Client.Artifacts;

/// <summary>
/// A Databricks run's artifacts (<c>dbfs:/databricks/mlflow-tracking/&lt;experiment&gt;/&lt;run&gt;/artifacts…</c>), as
/// Python's <c>DatabricksArtifactRepository</c> reaches them: the workspace hands out signed URLs
/// (<c>artifacts/credentials-for-write|read</c>) and the bytes go to the cloud store directly — a PUT to an AWS presigned
/// or GCP signed URL (AWS files past the multipart threshold through <c>create-multipart-upload</c> /
/// <c>complete-multipart-upload</c>, aborted on failure), Azure staged blocks and a block list for an Azure SAS URL,
/// create/append/flush for an ADLS Gen2 SAS URL.
/// Listing is the workspace's <c>artifacts/list</c>. The workspace's token never goes to the cloud store (other origin).
/// </summary>
internal sealed partial class DatabricksArtifactRepository : IArtifactRepository
{
    private const string Service = "api/2.0/mlflow/artifacts/";
    private readonly MlflowClient _client;
    private readonly string _runId;
    private readonly string _root;
    private readonly ArtifactOptions _options;

    public DatabricksArtifactRepository(MlflowClient client, string artifactUri, ArtifactOptions? options = null)
    {
        _client = client;
        RootUri = artifactUri;
        _options = options ?? new ArtifactOptions();
        var m = AclUri().Match(artifactUri);
        if (!m.Success)
        {
            throw new NotSupportedException($"'{artifactUri}' is not a Databricks run artifact URI (dbfs:/databricks/mlflow-tracking/<experiment>/<run>/artifacts…).");
        }

        _runId = m.Groups["run"].Value;
        _root = m.Groups["path"].Value.Trim('/');
    }

    /// <summary>Whether <paramref name="artifactUri"/> is a Databricks run artifact URI.</summary>
    public static bool Handles(string artifactUri) => AclUri().IsMatch(artifactUri);

    public string RootUri { get; }

    public async Task UploadFileAsync(string localFile, string artifactPath, IProgress<ArtifactTransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(localFile);
        var path = ArtifactPaths.Join(_root, ArtifactPaths.Normalize(artifactPath));
        var length = new FileInfo(localFile).Length;
        var credential = await CredentialAsync("credentials-for-write", path, cancellationToken).ConfigureAwait(false);
        switch (credential.Type)
        {
            case "AWS_PRESIGNED_URL" when length > _options.MultipartThreshold:
                await MultipartAsync(localFile, path, length, progress, cancellationToken).ConfigureAwait(false);
                break;
            case "AWS_PRESIGNED_URL" or "GCP_SIGNED_URL":
                await PutAsync(credential, localFile, 0, length, path, progress, cancellationToken).ConfigureAwait(false);
                break;
            case "AZURE_SAS_URI":
                await AzureBlocksAsync(credential, localFile, length, path, progress, cancellationToken).ConfigureAwait(false);
                break;
            case "AZURE_ADLS_GEN2_SAS_URI":
                await AdlsGen2Async(credential, localFile, length, path, progress, cancellationToken).ConfigureAwait(false);
                break;
            default:
                throw new NotSupportedException($"Databricks handed out a '{credential.Type}' credential for '{path}', which this client does not write yet (AWS, GCP and Azure Blob SAS URLs are supported).");
        }
    }

    public async Task<IReadOnlyList<ArtifactFileInfo>> ListAsync(string? path = null, CancellationToken cancellationToken = default)
    {
        var relative = ArtifactPaths.Normalize(path, allowEmpty: true);
        var files = new List<ArtifactFileInfo>();
        string? token = null;
        do
        {
            var page = await _client.ListArtifactsAsync(_runId, ArtifactPaths.Join(_root, relative), token, cancellationToken).ConfigureAwait(false);
            // Paths come relative to the run's root; make them relative to this repository's root.
            files.AddRange(page.Files.Select(f => new ArtifactFileInfo
            {
                Path = _root.Length > 0 && f.Path.StartsWith(_root + "/", StringComparison.Ordinal) ? f.Path[(_root.Length + 1)..] : f.Path,
                IsDir = f.IsDir,
                FileSize = f.FileSize,
            }));
            token = page.NextPageToken;
        }
        while (!string.IsNullOrEmpty(token));

        return files;
    }

    public async Task DownloadFileAsync(string artifactPath, Stream destination, IProgress<ArtifactTransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var path = ArtifactPaths.Join(_root, ArtifactPaths.Normalize(artifactPath));
        var credential = await CredentialAsync("credentials-for-read", path, cancellationToken).ConfigureAwait(false);
        using var request = Signed(HttpMethod.Get, credential.SignedUri!, credential.Headers);
        using var response = await _client.SendRawAsync(request, cancellationToken, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        var source = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (source.ConfigureAwait(false))
        {
            await HttpArtifactRepository.CopyAsync(source, destination, path, response.Content.Headers.ContentLength, progress, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>As Python's: Databricks has no artifact delete through MLflow.</summary>
    public Task DeleteAsync(string artifactPath, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("Databricks does not delete run artifacts through MLflow's API (Python's DatabricksArtifactRepository does not either); delete the run instead.");

    private async Task<DatabricksCredentialInfo> CredentialAsync(string endpoint, string path, CancellationToken cancellationToken)
    {
        var response = await PostAsync(endpoint, new DatabricksCredentialsRequest(_runId, [path], null),
            MlflowJsonContext.Default.DatabricksCredentialsRequest, MlflowJsonContext.Default.DatabricksCredentialsResponse, cancellationToken).ConfigureAwait(false);
        return response.CredentialInfos is [{ SignedUri.Length: > 0 } first, ..]
            ? first
            : throw new MlflowException(0, null, $"Databricks answered {endpoint} for '{path}' of run {_runId} without a signed URL.");
    }

    private Task PutAsync(DatabricksCredentialInfo credential, string localFile, long offset, long count, string path, IProgress<ArtifactTransferProgress>? progress, CancellationToken cancellationToken) =>
        SendWindowAsync(HttpMethod.Put, credential, localFile, offset, count, path, progress, cancellationToken);

    /// <summary>Sends <paramref name="count"/> bytes of the file from <paramref name="offset"/> to the signed URL, with its headers.</summary>
    private Task SendWindowAsync(HttpMethod method, DatabricksCredentialInfo credential, string localFile, long offset, long count, string path, IProgress<ArtifactTransferProgress>? progress, CancellationToken cancellationToken) =>
        _client.WithRetriesAsync(method, path, async _ =>
        {
            var file = new FileStream(localFile, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous);
            await using (file.ConfigureAwait(false))
            {
                file.Position = offset;
                using var request = Signed(method, credential.SignedUri!, credential.Headers,
                    count == 0 ? new ByteArrayContent([]) : new StreamContent(new HttpArtifactRepository.SubStream(file, count)));
                request.Content!.Headers.ContentLength = count;
                request.Options.Set(MlflowHttpPipeline.ResilienceHandler.StreamingKey, true);
                using var response = await _client.SendRawAsync(request, cancellationToken).ConfigureAwait(false);
                progress?.Report(new ArtifactTransferProgress(path, offset + count, null));
            }
        }, cancellationToken);

    private async Task MultipartAsync(string localFile, string path, long length, IProgress<ArtifactTransferProgress>? progress, CancellationToken cancellationToken)
    {
        var partSize = _options.MultipartPartSize;
        var parts = (length + partSize - 1) / partSize;
        var created = await PostAsync("create-multipart-upload", new DatabricksCreateMultipartRequest(_runId, path, parts),
            MlflowJsonContext.Default.DatabricksCreateMultipartRequest, MlflowJsonContext.Default.DatabricksCreateMultipartResponse, cancellationToken).ConfigureAwait(false);
        var credentials = created.UploadCredentialInfos ?? [];
        if (created.UploadId is null || credentials.Count != parts)
        {
            throw new MlflowException(0, null, $"Databricks answered create-multipart-upload for '{path}' with {credentials.Count} part URLs for {parts} parts.");
        }

        try
        {
            var etags = new DatabricksPartEtag[parts];
            await Parallel.ForAsync(0L, parts, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _options.MaxParallelTransfers), CancellationToken = cancellationToken }, async (i, ct) =>
            {
                var offset = i * partSize;
                var count = Math.Min(partSize, length - offset);
                string etag;
                try
                {
                    etag = await PutPartAsync(credentials[(int)i], localFile, offset, count, ct).ConfigureAwait(false);
                }
                catch (MlflowException ex) when (ex.Status is 401 or 403)
                {
                    // As Python: the part's URL may have expired during a long upload — ask for a new one, once.
                    var renewed = await PostAsync("get-presigned-upload-part-url", new DatabricksPartUrlRequest(_runId, path, created.UploadId, i + 1),
                        MlflowJsonContext.Default.DatabricksPartUrlRequest, MlflowJsonContext.Default.DatabricksPartUrlResponse, ct).ConfigureAwait(false);
                    var again = renewed.UploadCredentialInfo is { SignedUri.Length: > 0 } info
                        ? info
                        : throw new MlflowException(ex.Status, ex.ErrorCode, $"Part {i + 1} of '{path}' was refused ({ex.Status}) and Databricks gave no new URL for it.", ex);
                    etag = await PutPartAsync(again, localFile, offset, count, ct).ConfigureAwait(false);
                }

                etags[i] = new DatabricksPartEtag(i + 1, etag);
                progress?.Report(new ArtifactTransferProgress(path, offset + count, length));
            }).ConfigureAwait(false);
            await PostAsync("complete-multipart-upload", new DatabricksCompleteMultipartRequest(_runId, path, created.UploadId, etags),
                MlflowJsonContext.Default.DatabricksCompleteMultipartRequest, MlflowJsonContext.Default.EmptyMessage, cancellationToken).ConfigureAwait(false);
        }
        catch when (created.AbortCredentialInfo is { SignedUri.Length: > 0 } abort)
        {
            // As Python: abort the upload so that the store does not keep its parts, then report the failure.
            using var request = Signed(HttpMethod.Delete, abort.SignedUri!, abort.Headers);
            try
            {
                using var response = await _client.SendRawAsync(request, CancellationToken.None).ConfigureAwait(false);
            }
            catch (MlflowException)
            {
                // The original failure is what the caller needs to hear.
            }

            throw;
        }
    }

    /// <summary>PUTs one part to its signed URL and returns the ETag the store gave it.</summary>
    private async Task<string> PutPartAsync(DatabricksCredentialInfo credential, string localFile, long offset, long count, CancellationToken cancellationToken)
    {
        string? etag = null;
        await _client.WithRetriesAsync(HttpMethod.Put, new Uri(credential.SignedUri!).GetLeftPart(UriPartial.Path), async _ =>
        {
            var file = new FileStream(localFile, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous);
            await using (file.ConfigureAwait(false))
            {
                file.Position = offset;
                using var request = Signed(HttpMethod.Put, credential.SignedUri!, credential.Headers, new StreamContent(new HttpArtifactRepository.SubStream(file, count)));
                request.Content!.Headers.ContentLength = count;
                request.Options.Set(MlflowHttpPipeline.ResilienceHandler.StreamingKey, true);
                using var response = await _client.SendRawAsync(request, cancellationToken).ConfigureAwait(false);
                etag = response.Headers.ETag?.Tag ?? (response.Headers.TryGetValues("ETag", out var v) ? v.First() : null);
            }
        }, cancellationToken).ConfigureAwait(false);
        return etag ?? throw new MlflowException(0, null, $"A part of '{credential.Path}' was stored without an ETag.");
    }

    /// <summary>
    /// Azure Blob, as Python's <c>put_block</c> / <c>put_block_list</c>: staged blocks, then the block list; a block or the
    /// list refused with 401/403 (the SAS URL expired during a long upload) is sent again once with new write credentials.
    /// </summary>
    private async Task AzureBlocksAsync(DatabricksCredentialInfo credential, string localFile, long length, string path, IProgress<ArtifactTransferProgress>? progress, CancellationToken cancellationToken)
    {
        var blockSize = _options.MultipartPartSize;
        var blocks = (length + blockSize - 1) / blockSize; // an empty file: no block, an empty block list (as Python)
        var ids = new string[blocks];
        for (var i = 0L; i < blocks; i++)
        {
            ids[i] = Convert.ToBase64String(Encoding.UTF8.GetBytes(Guid.NewGuid().ToString("N")));
            var offset = i * blockSize;
            var id = ids[i];
            credential = await WithRenewedSasAsync(credential, path, c =>
            {
                var block = c with
                {
                    SignedUri = Append(c.SignedUri!, "comp=block&blockid=" + Uri.EscapeDataString(id)),
                    Headers = (c.Headers ?? []).Any(h => string.Equals(h.Name, "x-ms-blob-type", StringComparison.OrdinalIgnoreCase))
                        ? c.Headers
                        : [.. c.Headers ?? [], new DatabricksHttpHeader("x-ms-blob-type", "BlockBlob")],
                };
                return PutAsync(block, localFile, offset, Math.Min(blockSize, length - offset), path, progress, cancellationToken);
            }, cancellationToken).ConfigureAwait(false);
        }

        var xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<BlockList>\n" + string.Concat(ids.Select(id => $"<Uncommitted>{id}</Uncommitted>\n")) + "</BlockList>";
        await WithRenewedSasAsync(credential, path, async c =>
        {
            using var request = Signed(HttpMethod.Put, Append(c.SignedUri!, "comp=blocklist"),
                c.Headers?.Where(h => h.Name is not null && (h.Name.StartsWith("x-ms-meta-", StringComparison.Ordinal) || h.Name.StartsWith("x-ms-blob-", StringComparison.Ordinal))).ToList(),
                new StringContent(xml, Encoding.UTF8, "application/xml"));
            using var response = await _client.SendRawAsync(request, cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs <paramref name="send"/>; on 401/403 asks for new write credentials and runs it once more. Returns the credential in use.</summary>
    private async Task<DatabricksCredentialInfo> WithRenewedSasAsync(DatabricksCredentialInfo credential, string path, Func<DatabricksCredentialInfo, Task> send, CancellationToken cancellationToken)
    {
        try
        {
            await send(credential).ConfigureAwait(false);
            return credential;
        }
        catch (MlflowException ex) when (ex.Status is 401 or 403)
        {
            var renewed = await CredentialAsync("credentials-for-write", path, cancellationToken).ConfigureAwait(false);
            await send(renewed).ConfigureAwait(false);
            return renewed;
        }
    }

    /// <summary>
    /// ADLS Gen2, as Python's <c>put_adls_file_creation</c> / <c>patch_adls_file_upload</c> / <c>patch_adls_flush</c>:
    /// create the file, append each chunk at its position (flushed at once when there is one chunk), then flush at the size.
    /// </summary>
    private async Task AdlsGen2Async(DatabricksCredentialInfo credential, string localFile, long length, string path, IProgress<ArtifactTransferProgress>? progress, CancellationToken cancellationToken)
    {
        credential = await WithRenewedSasAsync(credential, path, async c =>
        {
            using var create = Signed(HttpMethod.Put, Append(c.SignedUri!, "resource=file"), c.Headers);
            using var created = await _client.SendRawAsync(create, cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);

        var chunk = _options.MultipartPartSize;
        var chunks = (length + chunk - 1) / chunk; // an empty file: created, then flushed at 0 (as Python)
        for (var i = 0L; i < chunks; i++)
        {
            var offset = i * chunk;
            credential = await WithRenewedSasAsync(credential, path, c =>
            {
                var append = c with { SignedUri = Append(c.SignedUri!, $"action=append&position={offset}" + (chunks == 1 ? "&flush=true" : "")) };
                return SendWindowAsync(HttpMethod.Patch, append, localFile, offset, Math.Min(chunk, length - offset), path, progress, cancellationToken);
            }, cancellationToken).ConfigureAwait(false);
        }

        if (chunks != 1)
        {
            await WithRenewedSasAsync(credential, path, async c =>
            {
                using var flush = Signed(HttpMethod.Patch, Append(c.SignedUri!, $"action=flush&position={length}"), c.Headers);
                using var flushed = await _client.SendRawAsync(flush, cancellationToken).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<TResponse> PostAsync<TRequest, TResponse>(string endpoint, TRequest body,
        System.Text.Json.Serialization.Metadata.JsonTypeInfo<TRequest> requestInfo, System.Text.Json.Serialization.Metadata.JsonTypeInfo<TResponse> responseInfo, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_client.BaseUri, Service + endpoint))
        {
            Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, requestInfo)) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        };
        return await _client.SendAsync(request, responseInfo, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A request to a signed URL with the headers the workspace named: request headers on the request, content headers
    /// (<c>Content-Type</c>, <c>Content-MD5</c>…, which a URL may be signed over) on <paramref name="content"/>.
    /// </summary>
    private static HttpRequestMessage Signed(HttpMethod method, string signedUri, IReadOnlyList<DatabricksHttpHeader>? headers, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, new Uri(signedUri, UriKind.Absolute)) { Content = content };
        foreach (var h in headers ?? [])
        {
            if (string.IsNullOrEmpty(h.Name) || request.Headers.TryAddWithoutValidation(h.Name, h.Value ?? ""))
            {
                continue;
            }

            if (content is not null)
            {
                content.Headers.Remove(h.Name);
                content.Headers.TryAddWithoutValidation(h.Name, h.Value ?? "");
            }
        }

        return request;
    }

    private static string Append(string uri, string query) => uri + (uri.Contains('?', StringComparison.Ordinal) ? "&" : "?") + query;

    [GeneratedRegex(@"^dbfs:/databricks/mlflow-tracking/(?<experiment>[^/]+)/(?<run>[^/]+)/artifacts(?<path>/.*)?$", RegexOptions.IgnoreCase)]
    private static partial Regex AclUri();
}
