using System.Text.RegularExpressions;
using Azure;
using Azure.Core;
using Azure.Identity;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using MlOps.Client.Artifacts;
using MlOps.Client.Configuration;

namespace MlOps.Client.Azure;

/// <summary>
/// Artifacts in Azure Blob Storage (<c>wasbs://container@account.blob.core.windows.net/path</c>), written directly with
/// Azure.Storage.Blobs as Python's <c>AzureBlobArtifactRepository</c> writes them: what an MLflow server started with
/// <c>--no-serve-artifacts --default-artifact-root wasbs://…</c> hands out. Credentials in Python's order:
/// <c>AZURE_STORAGE_CONNECTION_STRING</c>, then <c>AZURE_STORAGE_ACCESS_KEY</c>, then <c>DefaultAzureCredential</c> (or a
/// <see cref="TokenCredential"/> of your own). Files above 64 MiB go up as blocks of 4 MiB (the Python SDK's
/// <c>max_single_put_size</c> and <c>max_block_size</c>), 8 at a time; each request is capped by
/// <c>MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT</c> (600 s by default). Referencing this package is enough:
/// <see cref="ArtifactRepositories.ForUri"/> finds it for <c>wasbs://</c> URIs.
/// </summary>
public sealed partial class BlobArtifactRepository : DelegatingArtifactRepository
{
    /// <summary>Creates the repository of <paramref name="artifactUri"/> with the credentials of the process environment.</summary>
    /// <param name="artifactUri"><c>wasbs://container@account.blob.core.windows.net/path</c>.</param>
    public BlobArtifactRepository(string artifactUri)
        : this(artifactUri, BlobEnvironment.Read(Environment.GetEnvironmentVariable), service: null)
    {
    }

    /// <summary>Creates the repository of <paramref name="artifactUri"/> with a token credential (a managed identity, a service principal…).</summary>
    /// <param name="artifactUri"><c>wasbs://container@account.blob.core.windows.net/path</c>.</param>
    /// <param name="credential">The credential.</param>
    public BlobArtifactRepository(string artifactUri, TokenCredential credential)
        : this(artifactUri, BlobEnvironment.Read(Environment.GetEnvironmentVariable), CreateService(artifactUri, credential ?? throw new ArgumentNullException(nameof(credential))))
    {
    }

    /// <summary>Creates the repository of <paramref name="artifactUri"/> with a service client of your own (its account, credentials and retries).</summary>
    /// <param name="artifactUri"><c>wasbs://container@account.blob.core.windows.net/path</c>.</param>
    /// <param name="service">The client of the storage account.</param>
    public BlobArtifactRepository(string artifactUri, BlobServiceClient service)
        : this(artifactUri, BlobEnvironment.Read(Environment.GetEnvironmentVariable), service ?? throw new ArgumentNullException(nameof(service)))
    {
    }

    internal BlobArtifactRepository(string artifactUri, BlobEnvironment environment, BlobServiceClient? service)
        : base(Create(artifactUri, environment, service))
    {
    }

    private static ObjectStoreArtifactRepository Create(string artifactUri, BlobEnvironment environment, BlobServiceClient? service)
    {
        var (container, account, path, suffix) = Parse(artifactUri);
        service ??= environment.ServiceClient(account, suffix);
        return new ObjectStoreArtifactRepository(artifactUri, new BlobObjectStore(service.GetBlobContainerClient(container)), path);
    }

    /// <summary>The container, account, path and endpoint suffix of a <c>wasbs://</c> URI, as Python's <c>parse_wasbs_uri</c>.</summary>
    internal static (string Container, string Account, string Path, string Suffix) Parse(string artifactUri)
    {
        ArgumentException.ThrowIfNullOrEmpty(artifactUri);
        if (!artifactUri.StartsWith("wasbs://", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"Not a WASBS URI: '{artifactUri}'.", nameof(artifactUri));
        }

        var rest = artifactUri["wasbs://".Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var authority = slash < 0 ? rest : rest[..slash];
        var match = WasbsAuthority().Match(authority);
        if (!match.Success)
        {
            throw new ArgumentException(
                $"WASBS URI must be of the form <container>@<account>.blob.core.windows.net or <container>@<account>.blob.core.chinacloudapi.cn; got '{artifactUri}'.",
                nameof(artifactUri));
        }

        var path = slash < 0 ? "" : rest[(slash + 1)..].Split('?', '#')[0].Trim('/');
        return (match.Groups[1].Value, match.Groups[2].Value, path, match.Groups[3].Value);
    }

    private static BlobServiceClient CreateService(string artifactUri, TokenCredential credential)
    {
        var (_, account, _, suffix) = Parse(artifactUri);
        return new BlobServiceClient(new Uri($"https://{account}.{suffix}"), credential, BlobEnvironment.Read(Environment.GetEnvironmentVariable).ClientOptions());
    }

    [GeneratedRegex(@"^([^@]+)@([^.]+)\.(blob\.core\.(windows\.net|chinacloudapi\.cn))$", RegexOptions.CultureInvariant)]
    private static partial Regex WasbsAuthority();
}

/// <summary>Creates <see cref="BlobArtifactRepository"/> for <c>wasbs://</c> URIs; found by the core through its name.</summary>
internal sealed class BlobArtifactRepositoryProvider : IArtifactRepositoryProvider
{
    public IArtifactRepository Create(string artifactUri, ArtifactOptions options) => new BlobArtifactRepository(artifactUri);
}

/// <summary>What the environment says about Azure Blob artifacts: the credential (Python's order) and the transfer timeout.</summary>
/// <param name="ConnectionString"><c>AZURE_STORAGE_CONNECTION_STRING</c>.</param>
/// <param name="AccessKey"><c>AZURE_STORAGE_ACCESS_KEY</c>.</param>
/// <param name="Timeout">Per request; <see cref="Timeout.InfiniteTimeSpan"/> for none.</param>
internal sealed record BlobEnvironment(string? ConnectionString, string? AccessKey, TimeSpan Timeout)
{
    /// <summary>Python's default transfer timeout: 10 minutes.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(600);

    public static BlobEnvironment Read(Func<string, string?> environment)
    {
        string? Get(string name) => environment(name) is { Length: > 0 } v ? v : null;
        var timeout = Get(MlflowEnvironment.ArtifactUploadDownloadTimeout) is { } seconds
            ? MlflowEnvironment.ParseTimeoutSeconds(MlflowEnvironment.ArtifactUploadDownloadTimeout, seconds)
            : DefaultTimeout;

        return new BlobEnvironment(Get(MlflowEnvironment.AzureStorageConnectionString), Get(MlflowEnvironment.AzureStorageAccessKey), timeout);
    }

    /// <summary>Which credential <see cref="ServiceClient"/> uses (for messages and tests; never a secret).</summary>
    public string CredentialKind => ConnectionString is not null ? MlflowEnvironment.AzureStorageConnectionString : AccessKey is not null ? MlflowEnvironment.AzureStorageAccessKey : "DefaultAzureCredential";

    /// <summary>The service client in Python's order: the connection string (its own endpoint), the account key, a default Azure credential.</summary>
    public BlobServiceClient ServiceClient(string account, string suffix)
    {
        var options = ClientOptions();
        if (ConnectionString is not null)
        {
            return new BlobServiceClient(ConnectionString, options);
        }

        var uri = new Uri($"https://{account}.{suffix}");
        return AccessKey is not null
            ? new BlobServiceClient(uri, new StorageSharedKeyCredential(account, AccessKey), options)
            : new BlobServiceClient(uri, new DefaultAzureCredential(), options);
    }

    /// <summary>The client options: the SDK's retries, each request capped by <see cref="Timeout"/> (Python passes it to every call).</summary>
    public BlobClientOptions ClientOptions()
    {
        var options = new BlobClientOptions();
        options.Retry.NetworkTimeout = Timeout;
        return options;
    }

    /// <summary>Never prints the connection string or the key.</summary>
    public override string ToString() => $"BlobEnvironment {{ Credential = {CredentialKind}, Timeout = {Timeout} }}";
}

/// <summary>A container through Azure.Storage.Blobs: hierarchical listings, block uploads, ranged downloads, deletes.</summary>
internal sealed class BlobObjectStore(BlobContainerClient container) : IObjectStore
{
    /// <summary>The Python SDK's <c>max_single_put_size</c> (64 MiB) and <c>max_block_size</c> (4 MiB); 8 blocks in flight.</summary>
    internal static readonly StorageTransferOptions Transfer = new()
    {
        InitialTransferSize = 64L * 1024 * 1024,
        MaximumTransferSize = 4L * 1024 * 1024,
        MaximumConcurrency = 8,
    };

    public async Task<ObjectPage> ListAsync(string prefix, bool delimited, string? continuation, CancellationToken cancellationToken)
    {
        return await Call(async () =>
        {
            if (delimited)
            {
                await foreach (var page in container.GetBlobsByHierarchyAsync(new GetBlobsByHierarchyOptions { Prefix = prefix, Delimiter = "/" }, cancellationToken).AsPages(continuation).ConfigureAwait(false))
                {
                    return new ObjectPage(
                        [.. page.Values.Where(i => i.IsPrefix).Select(i => i.Prefix)],
                        [.. page.Values.Where(i => i.IsBlob).Select(i => (i.Blob.Name, i.Blob.Properties.ContentLength ?? 0L))],
                        string.IsNullOrEmpty(page.ContinuationToken) ? null : page.ContinuationToken);
                }
            }
            else
            {
                await foreach (var page in container.GetBlobsAsync(new GetBlobsOptions { Prefix = prefix }, cancellationToken).AsPages(continuation).ConfigureAwait(false))
                {
                    return new ObjectPage([], [.. page.Values.Select(b => (b.Name, b.Properties.ContentLength ?? 0L))],
                        string.IsNullOrEmpty(page.ContinuationToken) ? null : page.ContinuationToken);
                }
            }

            return new ObjectPage([], [], null);
        }, prefix).ConfigureAwait(false);
    }

    public Task UploadAsync(string key, string localFile, long length, IProgress<long>? progress, CancellationToken cancellationToken) =>
        Call(async () =>
        {
            await container.GetBlobClient(key).UploadAsync(localFile, new BlobUploadOptions { TransferOptions = Transfer, ProgressHandler = progress }, cancellationToken).ConfigureAwait(false);
            return 0;
        }, key);

    public Task DownloadAsync(string key, Stream destination, IProgress<(long Done, long? Total)>? progress, CancellationToken cancellationToken) =>
        Call(async () =>
        {
            var blob = container.GetBlobClient(key);
            long? total = null;
            if (progress is not null)
            {
                total = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value.ContentLength;
            }

            await blob.DownloadToAsync(destination, new BlobDownloadToOptions
            {
                TransferOptions = Transfer,
                ProgressHandler = progress is null ? null : new Progress(total, progress),
            }, cancellationToken).ConfigureAwait(false);
            return 0;
        }, key);

    public Task DeleteAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken) =>
        Call(async () =>
        {
            await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
                async (key, ct) => await container.DeleteBlobIfExistsAsync(key, DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: ct).ConfigureAwait(false)).ConfigureAwait(false);
            return 0;
        }, keys[0]);

    /// <summary>Azure's answers as the rest of the SDK states them: a missing blob is <see cref="FileNotFoundException"/>; others an <see cref="MlflowException"/> with the status.</summary>
    private async Task<T> Call<T>(Func<Task<T>> call, string key)
    {
        var where = $"{container.Uri.GetLeftPart(UriPartial.Path).TrimEnd('/')}/{key}";
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404 && ex.ErrorCode is "BlobNotFound" or null)
        {
            throw new FileNotFoundException($"{where} does not exist.", key, ex);
        }
        catch (RequestFailedException ex)
        {
            var code = ex.Status == 404 ? MlflowErrorCodes.ResourceDoesNotExist
                : ex.Status is 401 or 403 ? MlflowErrorCodes.PermissionDenied
                : ex.Status is 0 or 408 or 429 or >= 500 ? MlflowErrorCodes.TemporarilyUnavailable
                : MlflowErrorCodes.InvalidParameterValue;
            throw new MlflowException(ex.Status, code, $"Azure Blob Storage {ex.ErrorCode ?? ex.Status.ToString(System.Globalization.CultureInfo.InvariantCulture)} for {where}: {FirstLine(ex.Message)}", ex);
        }
        catch (AuthenticationFailedException ex)
        {
            throw new MlflowException(401, MlflowErrorCodes.Unauthenticated, $"No Azure credential for {where} (set AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCESS_KEY, or sign in for DefaultAzureCredential): {FirstLine(ex.Message)}", ex);
        }
    }

    private static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();

    private sealed class Progress(long? total, IProgress<(long Done, long? Total)> inner) : IProgress<long>
    {
        public void Report(long value) => inner.Report((value, total));
    }
}
