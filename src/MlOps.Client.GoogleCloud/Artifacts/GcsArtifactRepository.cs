using System.Net;
using Google;
using Google.Apis.Upload;
using Google.Cloud.Storage.V1;
using MlOps.Client.Artifacts;
using MlOps.Client.Configuration;

namespace MlOps.Client.GoogleCloud;

/// <summary>
/// Artifacts in Google Cloud Storage (<c>gs://bucket/path</c>), written directly with Google.Cloud.Storage.V1 as Python's
/// <c>GCSArtifactRepository</c> writes them: what an MLflow server started with
/// <c>--no-serve-artifacts --default-artifact-root gs://…</c> hands out. Credentials are the application default
/// credentials (<c>GOOGLE_APPLICATION_CREDENTIALS</c>, gcloud's, the metadata server); without any, an anonymous client
/// for public buckets, as Python falls back. Uploads are resumable, in chunks of <c>MLFLOW_GCS_UPLOAD_CHUNK_SIZE</c>
/// (the SDK's 10 MiB when unset); each request is capped by <c>MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT</c> or
/// <c>MLFLOW_GCS_DEFAULT_TIMEOUT</c> (60 s, Python's default). Referencing this package is enough:
/// <see cref="ArtifactRepositories.ForUri"/> finds it for <c>gs://</c> URIs.
/// </summary>
public sealed class GcsArtifactRepository : DelegatingArtifactRepository
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<TimeSpan, Lazy<StorageClient>> s_defaults = new();
    /// <summary>Creates the repository of <paramref name="artifactUri"/> with the application default credentials (one client per process, made at first use).</summary>
    /// <param name="artifactUri"><c>gs://bucket/path</c>.</param>
    public GcsArtifactRepository(string artifactUri)
        : this(artifactUri, GcsSettings.Read(Environment.GetEnvironmentVariable), client: null)
    {
    }

    /// <summary>Creates the repository of <paramref name="artifactUri"/> with a client of your own (credentials, project, endpoint).</summary>
    /// <param name="artifactUri"><c>gs://bucket/path</c>.</param>
    /// <param name="client">The storage client; not disposed by the repository.</param>
    public GcsArtifactRepository(string artifactUri, StorageClient client)
        : this(artifactUri, GcsSettings.Read(Environment.GetEnvironmentVariable), client ?? throw new ArgumentNullException(nameof(client)))
    {
    }

    internal GcsArtifactRepository(string artifactUri, GcsSettings settings, StorageClient? client)
        : base(Create(artifactUri, settings, client))
    {
    }

    private static ObjectStoreArtifactRepository Create(string artifactUri, GcsSettings settings, StorageClient? client)
    {
        var (bucket, path) = Parse(artifactUri);
        return new ObjectStoreArtifactRepository(artifactUri, new GcsObjectStore(client is null ? () => s_defaults.GetOrAdd(settings.Timeout, t => new Lazy<StorageClient>(() => DefaultClient(t))).Value : () => client, bucket, settings), path);
    }

    /// <summary>The bucket and path of a <c>gs://</c> URI, as Python's <c>parse_gcs_uri</c>.</summary>
    internal static (string Bucket, string Path) Parse(string artifactUri)
    {
        ArgumentException.ThrowIfNullOrEmpty(artifactUri);
        if (!artifactUri.StartsWith("gs://", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"Not a GCS URI: '{artifactUri}' (expected gs://bucket/path).", nameof(artifactUri));
        }

        var rest = artifactUri["gs://".Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var bucket = slash < 0 ? rest : rest[..slash];
        if (bucket.Length == 0)
        {
            throw new ArgumentException($"The GCS URI '{artifactUri}' names no bucket (expected gs://bucket/path).", nameof(artifactUri));
        }

        return (bucket, slash < 0 ? "" : rest[(slash + 1)..].Split('?', '#')[0].Trim('/'));
    }

    /// <summary>The application default credentials' client; an anonymous one when there are none (Python's <c>create_anonymous_client</c> fallback).</summary>
    private static StorageClient DefaultClient(TimeSpan timeout)
    {
        StorageClient client;
        try
        {
            client = StorageClient.Create();
        }
        catch (InvalidOperationException)
        {
            client = StorageClient.CreateUnauthenticated();
        }

        client.Service.HttpClient.Timeout = timeout; // per request, before the first one (a client of the caller's is left as it is)
        return client;
    }
}

/// <summary>Creates <see cref="GcsArtifactRepository"/> for <c>gs://</c> URIs; found by the core through its name.</summary>
internal sealed class GcsArtifactRepositoryProvider : IArtifactRepositoryProvider
{
    public IArtifactRepository Create(string artifactUri, ArtifactOptions options) => new GcsArtifactRepository(artifactUri);
}

/// <summary>The variables Python's GCS repository reads: chunk sizes and the per-request timeout.</summary>
/// <param name="UploadChunkSize"><c>MLFLOW_GCS_UPLOAD_CHUNK_SIZE</c> (a multiple of 256 KiB, as the API requires), or the SDK's default.</param>
/// <param name="DownloadChunkSize"><c>MLFLOW_GCS_DOWNLOAD_CHUNK_SIZE</c>, or the SDK's default.</param>
/// <param name="Timeout">Per request; <see cref="Timeout.InfiniteTimeSpan"/> for none.</param>
internal sealed record GcsSettings(int? UploadChunkSize, int? DownloadChunkSize, TimeSpan Timeout)
{
    /// <summary>google-cloud-storage's <c>_DEFAULT_TIMEOUT</c>: 60 s.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    public static GcsSettings Read(Func<string, string?> environment)
    {
        string? Get(string name) => environment(name) is { Length: > 0 } v ? v : null;
        int? Chunk(string name)
        {
            if (Get(name) is not { } text)
            {
                return null;
            }

            var value = MlflowEnvironment.ParseInt(name, text, 1);
            return value % UploadObjectOptions.MinimumChunkSize == 0
                ? value
                : throw new FormatException($"{name} must be a multiple of {UploadObjectOptions.MinimumChunkSize} bytes (256 KiB), as Cloud Storage requires; got {value}.");
        }

        var timeout = Get(MlflowEnvironment.ArtifactUploadDownloadTimeout) is { } seconds
            ? MlflowEnvironment.ParseTimeoutSeconds(MlflowEnvironment.ArtifactUploadDownloadTimeout, seconds)
            : Get(MlflowEnvironment.GcsDefaultTimeout) is { } deprecated
                ? MlflowEnvironment.ParseTimeoutSeconds(MlflowEnvironment.GcsDefaultTimeout, deprecated)
                : DefaultTimeout;

        return new GcsSettings(Chunk(MlflowEnvironment.GcsUploadChunkSize), Chunk(MlflowEnvironment.GcsDownloadChunkSize), timeout);
    }
}

/// <summary>A bucket through Google.Cloud.Storage.V1: objects.list with a delimiter, resumable uploads, media downloads, deletes.</summary>
internal sealed class GcsObjectStore(Func<StorageClient> client, string bucket, GcsSettings settings) : IObjectStore
{
    private StorageClient Client => client();

    public Task<ObjectPage> ListAsync(string prefix, bool delimited, string? continuation, CancellationToken cancellationToken) =>
        Call(async () =>
        {
            var request = Client.Service.Objects.List(bucket);
            request.Prefix = prefix;
            request.Delimiter = delimited ? "/" : null;
            request.PageToken = continuation;
            var page = await request.ExecuteAsync(cancellationToken).ConfigureAwait(false);
            return new ObjectPage(
                [.. page.Prefixes ?? []],
                [.. (page.Items ?? []).Select(o => (o.Name, (long)(o.Size ?? 0UL)))],
                string.IsNullOrEmpty(page.NextPageToken) ? null : page.NextPageToken);
        }, prefix);

    public Task UploadAsync(string key, string localFile, long length, IProgress<long>? progress, CancellationToken cancellationToken) =>
        Call(async () =>
        {
            var source = new FileStream(localFile, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan);
            await using (source.ConfigureAwait(false))
            {
                var options = new UploadObjectOptions();
                if (settings.UploadChunkSize is { } chunk)
                {
                    options.ChunkSize = chunk;
                }

                var contentType = ContentTypes.Guess(localFile).Type;
                await Client.UploadObjectAsync(bucket, key, contentType, source, options, cancellationToken,
                    progress is null ? null : new UploadProgress(progress)).ConfigureAwait(false);
            }

            return 0;
        }, key);

    public Task DownloadAsync(string key, Stream destination, IProgress<(long Done, long? Total)>? progress, CancellationToken cancellationToken) =>
        Call(async () =>
        {
            var options = new DownloadObjectOptions();
            if (settings.DownloadChunkSize is { } chunk)
            {
                options.ChunkSize = chunk;
            }

            long? total = null;
            if (progress is not null)
            {
                total = (long?)(await Client.GetObjectAsync(bucket, key, cancellationToken: cancellationToken).ConfigureAwait(false)).Size;
            }

            await Client.DownloadObjectAsync(bucket, key, destination, options, cancellationToken,
                progress is null ? null : new DownloadProgress(total, progress)).ConfigureAwait(false);
            return 0;
        }, key);

    public Task DeleteAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken) =>
        Call(async () =>
        {
            await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (key, ct) =>
            {
                try
                {
                    await Client.DeleteObjectAsync(bucket, key, cancellationToken: ct).ConfigureAwait(false);
                }
                catch (GoogleApiException ex) when (ex.HttpStatusCode == HttpStatusCode.NotFound)
                {
                    // already gone
                }
            }).ConfigureAwait(false);
            return 0;
        }, keys[0]);

    /// <summary>Cloud Storage's answers as the rest of the SDK states them: a missing object is <see cref="FileNotFoundException"/>; others an <see cref="MlflowException"/> with the status.</summary>
    private async Task<T> Call<T>(Func<Task<T>> call, string key)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (GoogleApiException ex) when (ex.HttpStatusCode == HttpStatusCode.NotFound && ex.Error?.Message?.Contains("The specified bucket does not exist", StringComparison.Ordinal) != true)
        {
            throw new FileNotFoundException($"gs://{bucket}/{key} does not exist.", key, ex);
        }
        catch (GoogleApiException ex)
        {
            var status = (int)ex.HttpStatusCode;
            var code = status == 404 ? MlflowErrorCodes.ResourceDoesNotExist
                : status is 401 or 403 ? MlflowErrorCodes.PermissionDenied
                : status is 0 or 408 or 429 or >= 500 ? MlflowErrorCodes.TemporarilyUnavailable
                : MlflowErrorCodes.InvalidParameterValue;
            throw new MlflowException(status, code, $"Cloud Storage {status} for gs://{bucket}/{key}: {ex.Error?.Message ?? ex.Message}", ex);
        }
        catch (HttpRequestException ex)
        {
            throw new MlflowException(0, MlflowErrorCodes.TemporarilyUnavailable, $"Cloud Storage is unreachable for gs://{bucket}/{key}: {ex.Message}", ex);
        }
        catch (TaskCanceledException ex) when (ex.InnerException is TimeoutException)
        {
            throw new MlflowException(0, MlflowErrorCodes.TemporarilyUnavailable,
                $"A Cloud Storage request for gs://{bucket}/{key} took longer than {settings.Timeout.TotalSeconds:0} s ({MlflowEnvironment.ArtifactUploadDownloadTimeout}).", ex);
        }
    }

    private sealed class UploadProgress(IProgress<long> inner) : IProgress<IUploadProgress>
    {
        public void Report(IUploadProgress value) => inner.Report(value.BytesSent);
    }

    private sealed class DownloadProgress(long? total, IProgress<(long Done, long? Total)> inner) : IProgress<Google.Apis.Download.IDownloadProgress>
    {
        public void Report(Google.Apis.Download.IDownloadProgress value) => inner.Report((value.BytesDownloaded, total));
    }
}
