using System.Net.Http.Headers;
using System.Text.Json;
using MlOps.Client.Configuration;
using MlOps.Client.Rest;

namespace MlOps.Client.Artifacts;

/// <summary>
/// Artifacts through the tracking server's proxy (<c>mlflow server --serve-artifacts</c>):
/// <c>PUT/GET/DELETE /api/2.0/mlflow-artifacts/artifacts/&lt;root&gt;/&lt;path&gt;</c> and listing with
/// <c>GET /api/2.0/mlflow-artifacts/artifacts?path=</c>. Uploads stream the file; files of at least
/// <see cref="ArtifactOptions.MultipartThreshold"/> use the proxy's multipart endpoints when the server offers them
/// (cloud artifact stores) and fall back to one streamed PUT when it answers 501 (a local artifact store). Each file is
/// retried on transient failures by reopening it.
/// </summary>
internal sealed class HttpArtifactRepository : IArtifactRepository
{
    private const string ProxyPrefix = "api/2.0/mlflow-artifacts/";
    private readonly MlflowClient _client;
    private readonly Uri _server;
    private readonly string _root;
    private readonly ArtifactOptions _options;

    /// <summary>Creates a repository for an artifact root served by <paramref name="client"/>'s server.</summary>
    /// <param name="client">The client (pipeline, credentials, retries).</param>
    /// <param name="rootUri"><c>mlflow-artifacts:/&lt;path&gt;</c>, <c>mlflow-artifacts://host:port/&lt;path&gt;</c> or <c>http(s)://host/…/api/2.0/mlflow-artifacts/artifacts/&lt;path&gt;</c>.</param>
    /// <param name="options">Transfer options; defaults when <see langword="null"/>.</param>
    public HttpArtifactRepository(MlflowClient client, string rootUri, ArtifactOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(rootUri);
        _client = client;
        RootUri = rootUri;
        _options = options ?? new ArtifactOptions();
        (_server, _root) = ParseRoot(client.BaseUri, rootUri);
    }

    /// <inheritdoc />
    public string RootUri { get; }

    internal static (Uri Server, string Root) ParseRoot(Uri trackingServer, string rootUri)
    {
        if (rootUri.StartsWith("mlflow-artifacts://", StringComparison.OrdinalIgnoreCase))
        {
            var uri = new Uri(rootUri);
            var scheme = string.Equals(uri.Host, trackingServer.Host, StringComparison.OrdinalIgnoreCase) ? trackingServer.Scheme : Uri.UriSchemeHttp;
            return (new Uri($"{scheme}://{uri.Authority}/"), ArtifactPaths.Normalize(Uri.UnescapeDataString(uri.AbsolutePath).TrimStart('/'), allowEmpty: true));
        }

        if (rootUri.StartsWith("mlflow-artifacts:", StringComparison.OrdinalIgnoreCase))
        {
            return (trackingServer, ArtifactPaths.Normalize(rootUri["mlflow-artifacts:".Length..].TrimStart('/'), allowEmpty: true));
        }

        const string marker = "/api/2.0/mlflow-artifacts/artifacts";
        var index = rootUri.IndexOf(marker, StringComparison.Ordinal);
        if ((rootUri.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || rootUri.StartsWith("https://", StringComparison.OrdinalIgnoreCase)) && index > 0)
        {
            return (new Uri(rootUri[..(index + 1)]), ArtifactPaths.Normalize(Uri.UnescapeDataString(rootUri[(index + marker.Length)..]).TrimStart('/'), allowEmpty: true));
        }

        throw new NotSupportedException($"'{rootUri}' is not an MLflow artifact proxy URI (mlflow-artifacts:/…).");
    }

    private Uri ArtifactUri(string path, string kind = "artifacts") =>
        new(_server, ProxyPrefix + kind + "/" + EscapePath(ArtifactPaths.Join(_root, path)));

    private static string EscapePath(string path) => string.Join('/', path.Split('/').Select(Uri.EscapeDataString));

    /// <inheritdoc />
    public async Task UploadFileAsync(string localFile, string artifactPath, IProgress<ArtifactTransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(localFile);
        var path = ArtifactPaths.Normalize(artifactPath);
        var length = new FileInfo(localFile).Length;
        if (length >= _options.MultipartThreshold && await TryMultipartAsync(localFile, path, length, progress, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        await _client.WithRetriesAsync(HttpMethod.Put, path, async _ =>
        {
            var stream = new FileStream(localFile, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan);
            await using (stream.ConfigureAwait(false))
            {
                using var request = new HttpRequestMessage(HttpMethod.Put, ArtifactUri(path));
                request.Content = new ProgressStreamContent(stream, path, length, progress);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                request.Options.Set(MlflowHttpPipeline.ResilienceHandler.StreamingKey, true);
                using var response = await _client.SendRawAsync(request, cancellationToken, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task<bool> TryMultipartAsync(string localFile, string path, long length, IProgress<ArtifactTransferProgress>? progress, CancellationToken cancellationToken)
    {
        // As Python's client: the URL names the destination folder, the body the file, whose name the server appends
        // (its repository joins folder and basename(path)); a URL that named the file would store folder/file/file.
        var slash = path.LastIndexOf('/');
        var folder = slash < 0 ? "" : path[..slash];
        var fileName = path[(slash + 1)..];
        var mpu = (string kind) => new Uri(_server, ProxyPrefix + kind + "/" + EscapePath(ArtifactPaths.Join(_root, folder).TrimEnd('/')));
        var parts = (int)Math.Max(1, (length + _options.MultipartPartSize - 1) / _options.MultipartPartSize);
        CreateMultipartResponse created;
        try
        {
            created = await SendAsync(HttpMethod.Post, mpu("mpu/create"), new CreateMultipartRequest(fileName, parts),
                MlflowJsonContext.Default.CreateMultipartRequest, MlflowJsonContext.Default.CreateMultipartResponse, cancellationToken).ConfigureAwait(false);
        }
        catch (MlflowException ex) when (ex.Status is 501 or 404 or 405 || ex.ErrorCode == MlflowErrorCodes.NotImplemented)
        {
            return false; // no multipart support (local artifact store): one streamed PUT instead
        }

        if (created.UploadId is null || created.Credentials is not { Count: > 0 } credentials)
        {
            return false;
        }

        var done = new MultipartPart[credentials.Count];
        try
        {
            long sent = 0; // across parts, for one progress figure
            var ordered = credentials.OrderBy(c => c.PartNumber).ToList();
            await Parallel.ForEachAsync(Enumerable.Range(0, ordered.Count),
                new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _options.MaxParallelTransfers), CancellationToken = cancellationToken },
                async (index, ct) =>
                {
                    var credential = ordered[index];
                    var offset = (long)(credential.PartNumber - 1) * _options.MultipartPartSize;
                    var size = Math.Min(_options.MultipartPartSize, length - offset);
                    string? etag = null;
                    long partSent = 0;
                    var partProgress = progress is null ? null : new PartProgress(bytes =>
                    {
                        lock (done)
                        {
                            sent += bytes - partSent; // a retried part starts again at 0
                            partSent = bytes;
                            progress.Report(new ArtifactTransferProgress(path, sent, length)); // under the lock: in order
                        }
                    });
                    await _client.WithRetriesAsync(HttpMethod.Put, path, async _ =>
                    {
                        var stream = new FileStream(localFile, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous);
                        await using (stream.ConfigureAwait(false))
                        {
                            stream.Position = offset;
                            using var request = new HttpRequestMessage(HttpMethod.Put, new Uri(_server, credential.Url));
                            request.Content = new ProgressStreamContent(new SubStream(stream, size), path, size, partProgress);
                            foreach (var (k, v) in credential.Headers ?? new Dictionary<string, string>())
                            {
                                if (!request.Headers.TryAddWithoutValidation(k, v))
                                {
                                    request.Content.Headers.TryAddWithoutValidation(k, v);
                                }
                            }

                            request.Options.Set(MlflowHttpPipeline.ResilienceHandler.StreamingKey, true);
                            using var response = await _client.SendRawAsync(request, ct, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
                            etag = response.Headers.ETag?.Tag ?? (response.Headers.TryGetValues("ETag", out var values) ? values.FirstOrDefault() : null);
                        }
                    }, ct).ConfigureAwait(false);
                    done[index] = new MultipartPart(credential.PartNumber, etag, credential.Url);
                }).ConfigureAwait(false);

            await SendAsync(HttpMethod.Post, mpu("mpu/complete"), new CompleteMultipartRequest(fileName, created.UploadId, [.. done]),
                MlflowJsonContext.Default.CompleteMultipartRequest, MlflowJsonContext.Default.EmptyMessage, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch
        {
            try
            {
                await SendAsync(HttpMethod.Post, mpu("mpu/abort"), new AbortMultipartRequest(fileName, created.UploadId),
                    MlflowJsonContext.Default.AbortMultipartRequest, MlflowJsonContext.Default.EmptyMessage, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is MlflowException or HttpRequestException or IOException or OperationCanceledException)
            {
                // the original failure matters more
            }

            throw;
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ArtifactFileInfo>> ListAsync(string? path = null, CancellationToken cancellationToken = default)
    {
        var relative = ArtifactPaths.Normalize(path, allowEmpty: true);
        var full = ArtifactPaths.Join(_root, relative);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_server, ProxyPrefix + "artifacts" + new QueryString().Add("path", full)));
        var response = await _client.SendAsync(request, MlflowJsonContext.Default.ProxyListResponse, cancellationToken).ConfigureAwait(false);
        // The proxy answers names relative to the listed folder: make them relative to the root, as artifacts/list does.
        // Names are kept as the server sent them (downloads check each one before writing anything).
        return [.. (response.Files ?? []).Select(f => new ArtifactFileInfo { Path = relative.Length == 0 ? f.Path : relative + "/" + f.Path, IsDir = f.IsDir, FileSize = f.FileSize })];
    }

    /// <inheritdoc />
    public async Task DownloadFileAsync(string artifactPath, Stream destination, IProgress<ArtifactTransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var path = ArtifactPaths.Normalize(artifactPath);
        using var request = new HttpRequestMessage(HttpMethod.Get, ArtifactUri(path));
        using var response = await _client.SendRawAsync(request, cancellationToken, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        var source = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (source.ConfigureAwait(false))
        {
            await CopyAsync(source, destination, path, response.Content.Headers.ContentLength, progress, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task DeleteAsync(string artifactPath, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete, ArtifactUri(ArtifactPaths.Normalize(artifactPath)));
        using var response = await _client.SendRawAsync(request, cancellationToken).ConfigureAwait(false);
    }

    internal static async Task CopyAsync(Stream source, Stream destination, string path, long? total, IProgress<ArtifactTransferProgress>? progress, CancellationToken cancellationToken)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            long copied = 0;
            int read;
            while ((read = await source.ReadAsync(buffer.AsMemory(0, buffer.Length), cancellationToken).ConfigureAwait(false)) > 0)
            {
                await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                copied += read;
                progress?.Report(new ArtifactTransferProgress(path, copied, total));
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task<TResponse> SendAsync<TRequest, TResponse>(
        HttpMethod method, Uri uri, TRequest body, System.Text.Json.Serialization.Metadata.JsonTypeInfo<TRequest> requestInfo,
        System.Text.Json.Serialization.Metadata.JsonTypeInfo<TResponse> responseInfo, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, uri)
        {
            Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, requestInfo)) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        };
        return await _client.SendAsync(request, responseInfo, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One part's bytes sent so far, for the whole file's progress.</summary>
    private sealed class PartProgress(Action<long> report) : IProgress<ArtifactTransferProgress>
    {
        public void Report(ArtifactTransferProgress value) => report(value.BytesTransferred);
    }

    /// <summary>Streams a file as request content, reporting progress; never buffers it.</summary>
    private sealed class ProgressStreamContent(Stream source, string path, long total, IProgress<ArtifactTransferProgress>? progress, long already = 0) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) =>
            await SerializeToStreamAsync(stream, context, CancellationToken.None).ConfigureAwait(false);

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context, CancellationToken cancellationToken)
        {
            var reporter = progress is null ? null : new Progress(path, total, already, progress);
            await CopyAsync(source, stream, path, total, reporter, cancellationToken).ConfigureAwait(false);
        }

        protected override bool TryComputeLength(out long length)
        {
            if (source.CanSeek)
            {
                length = source.Length - source.Position;
                return true;
            }

            length = -1;
            return false;
        }

        private sealed class Progress(string path, long total, long offset, IProgress<ArtifactTransferProgress> inner) : IProgress<ArtifactTransferProgress>
        {
            public void Report(ArtifactTransferProgress value) => inner.Report(new ArtifactTransferProgress(path, offset + value.BytesTransferred, total));
        }
    }

    /// <summary>A read-only window of <c>length</c> bytes from the current position of a stream.</summary>
    /// <summary>A window of <c>windowLength</c> bytes of a stream from its position (a multipart part).</summary>
    internal sealed class SubStream(Stream inner, long windowLength) : Stream
    {
        private readonly long _length = windowLength;
        private long _remaining = windowLength;

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => _length;

        public override long Position { get => _length - _remaining; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer[..(int)Math.Min(buffer.Length, _remaining)]);
            _remaining -= n;
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _remaining)], cancellationToken).ConfigureAwait(false);
            _remaining -= n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

/// <summary>Artifact transfer options.</summary>
public sealed class ArtifactOptions
{
    /// <summary>
    /// Files at least this large try the multipart upload endpoints. Default <c>MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE</c>,
    /// else 500 MiB (MLflow's own default).
    /// </summary>
    public long MultipartThreshold
    {
        get => field > 0 ? field : field = FromEnvironment(MlflowEnvironment.MultipartUploadMinimumFileSize, 500L * 1024 * 1024); // read when used (an s3:// URI never needs it)
        set;
    }

    /// <summary>
    /// The size of each multipart part. Default <c>MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE</c>, else 10 MiB (MLflow's own
    /// default; S3 takes at most 10,000 parts, so files above ~97 GiB need a larger part).
    /// </summary>
    public long MultipartPartSize
    {
        get => field > 0 ? field : field = FromEnvironment(MlflowEnvironment.MultipartUploadChunkSize, 10L * 1024 * 1024);
        set;
    }

    private static long FromEnvironment(string name, long fallback) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? MlflowEnvironment.ParseLong(name, value, 1) : fallback;

    /// <summary>Files (or parts of one multipart upload) transferred at once. Default 4.</summary>
    public int MaxParallelTransfers { get; set; } = 4;
}
