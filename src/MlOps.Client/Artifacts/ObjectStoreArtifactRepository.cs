namespace MlOps.Client.Artifacts;

/// <summary>One page of an object listing: the "folders" (common prefixes, ending in <c>/</c>) and the objects.</summary>
/// <param name="Prefixes">Common prefixes under the listed prefix, when listed with a delimiter.</param>
/// <param name="Objects">Object keys and sizes.</param>
/// <param name="Next">The continuation of the listing; <see langword="null"/> on the last page.</param>
internal sealed record ObjectPage(IReadOnlyList<string> Prefixes, IReadOnlyList<(string Key, long Size)> Objects, string? Next);

/// <summary>
/// A bucket of an object store (S3, Azure Blob Storage, Google Cloud Storage) as the artifact repositories need it:
/// the calls of its SDK, nothing of MLflow's semantics (those live in <see cref="ObjectStoreArtifactRepository"/>).
/// A missing object is reported as <see cref="FileNotFoundException"/>.
/// </summary>
internal interface IObjectStore
{
    /// <summary>One page of the keys that start with <paramref name="prefix"/>; grouped at <c>/</c> when <paramref name="delimited"/>.</summary>
    Task<ObjectPage> ListAsync(string prefix, bool delimited, string? continuation, CancellationToken cancellationToken);

    /// <summary>Uploads <paramref name="localFile"/> (<paramref name="length"/> bytes) to <paramref name="key"/>, replacing it; reports bytes sent so far.</summary>
    Task UploadAsync(string key, string localFile, long length, IProgress<long>? progress, CancellationToken cancellationToken);

    /// <summary>Streams the object <paramref name="key"/> into <paramref name="destination"/>; reports bytes received so far and the size when known.</summary>
    Task DownloadAsync(string key, Stream destination, IProgress<(long Done, long? Total)>? progress, CancellationToken cancellationToken);

    /// <summary>Deletes objects (at most 1000 at a time); a key that is already gone is not an error.</summary>
    Task DeleteAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken);
}

/// <summary>
/// MLflow's artifact semantics over a bucket, as Python's <c>S3ArtifactRepository</c>, <c>AzureBlobArtifactRepository</c>
/// and <c>GCSArtifactRepository</c> have them: paths relative to the root prefix joined with <c>/</c>; a listing is the
/// entries directly under a folder, sorted by path, folders from common prefixes, and empty for a file; every listed key
/// must lie under the root (else the listing is refused, as Python does). Deleting removes the object of that exact name
/// and everything under <c>path/</c> — not the siblings that merely start with the same letters, which Python's
/// prefix match would also take.
/// </summary>
internal sealed class ObjectStoreArtifactRepository : IArtifactRepository
{
    private readonly IObjectStore _store;
    private readonly string _root;

    /// <summary>Creates the repository of <paramref name="rootUri"/>, whose objects are under <paramref name="rootPrefix"/> in <paramref name="store"/>.</summary>
    public ObjectStoreArtifactRepository(string rootUri, IObjectStore store, string rootPrefix)
    {
        RootUri = rootUri;
        _store = store;
        _root = rootPrefix.Trim('/');
    }

    /// <inheritdoc />
    public string RootUri { get; }

    /// <summary>The object key of an artifact path.</summary>
    internal string KeyOf(string artifactPath) => Under(ArtifactPaths.Normalize(artifactPath));

    /// <summary>The root joined as Python's <c>posixpath.join</c> does: the root kept verbatim (a <c>//</c> in it too).</summary>
    private string Under(string relative) => _root.Length == 0 ? relative : relative.Length == 0 ? _root : _root + "/" + relative;

    /// <inheritdoc />
    public async Task UploadFileAsync(string localFile, string artifactPath, IProgress<ArtifactTransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(localFile);
        var path = ArtifactPaths.Normalize(artifactPath);
        var length = new FileInfo(localFile).Length;
        var reporter = progress is null ? null : new Reporter(path, length, progress);
        await _store.UploadAsync(KeyOf(path), localFile, length, reporter, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ArtifactFileInfo>> ListAsync(string? path = null, CancellationToken cancellationToken = default)
    {
        var relative = ArtifactPaths.Normalize(path, allowEmpty: true);
        var folder = Under(relative);
        var prefix = folder.Length == 0 ? "" : folder + "/";
        var entries = new List<ArtifactFileInfo>();
        string? next = null;
        do
        {
            var page = await _store.ListAsync(prefix, delimited: true, next, cancellationToken).ConfigureAwait(false);
            foreach (var p in page.Prefixes)
            {
                entries.Add(new ArtifactFileInfo { Path = RelativeToRoot(p.TrimEnd('/')), IsDir = true });
            }

            foreach (var (key, size) in page.Objects)
            {
                if (key == prefix)
                {
                    continue; // the folder's own marker object, as some tools write it
                }

                entries.Add(new ArtifactFileInfo { Path = RelativeToRoot(key), IsDir = false, FileSize = size });
            }

            next = page.Next;
        }
        while (next is not null);

        return [.. entries.OrderBy(e => e.Path, StringComparer.Ordinal)];
    }

    private string RelativeToRoot(string key)
    {
        if (_root.Length == 0)
        {
            return key;
        }

        if (!key.StartsWith(_root + "/", StringComparison.Ordinal))
        {
            throw new InvalidOperationException(
                $"The path of a listed object does not begin with the artifact path. Artifact path: {_root}. Object path: {key}.");
        }

        return key[(_root.Length + 1)..];
    }

    /// <inheritdoc />
    public async Task DownloadFileAsync(string artifactPath, Stream destination, IProgress<ArtifactTransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var path = ArtifactPaths.Normalize(artifactPath);
        var reporter = progress is null ? null : new DownloadReporter(path, progress);
        try
        {
            await _store.DownloadAsync(KeyOf(path), destination, reporter, cancellationToken).ConfigureAwait(false);
        }
        catch (FileNotFoundException)
        {
            throw new MlflowException(404, MlflowErrorCodes.ResourceDoesNotExist, $"Artifact '{path}' does not exist under {RootUri}.");
        }
    }

    /// <inheritdoc />
    public async Task DeleteAsync(string artifactPath, CancellationToken cancellationToken = default)
    {
        var key = KeyOf(artifactPath);
        var keys = new List<string>();
        string? next = null;
        do
        {
            var page = await _store.ListAsync(key, delimited: false, next, cancellationToken).ConfigureAwait(false);
            keys.AddRange(page.Objects.Select(o => o.Key).Where(k => k == key || k.StartsWith(key + "/", StringComparison.Ordinal)));
            next = page.Next;
        }
        while (next is not null);

        foreach (var chunk in keys.Chunk(1000))
        {
            await _store.DeleteAsync(chunk, cancellationToken).ConfigureAwait(false);
        }
    }

    private sealed class Reporter(string path, long total, IProgress<ArtifactTransferProgress> progress) : IProgress<long>
    {
        public void Report(long value) => progress.Report(new ArtifactTransferProgress(path, value, total));
    }

    private sealed class DownloadReporter(string path, IProgress<ArtifactTransferProgress> progress) : IProgress<(long Done, long? Total)>
    {
        public void Report((long Done, long? Total) value) => progress.Report(new ArtifactTransferProgress(path, value.Done, value.Total));
    }
}
