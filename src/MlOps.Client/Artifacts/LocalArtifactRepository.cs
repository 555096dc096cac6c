namespace MlOps.Client.Artifacts;

/// <summary>Artifacts in a local folder (the embedded store's <c>file:</c> artifact URIs, or a plain path).</summary>
internal sealed class LocalArtifactRepository : IArtifactRepository
{
    private readonly string _root;

    /// <summary>Creates a repository over a <c>file:</c> URI or a local path.</summary>
    /// <param name="rootUri">The artifact root.</param>
    public LocalArtifactRepository(string rootUri)
    {
        ArgumentException.ThrowIfNullOrEmpty(rootUri);
        RootUri = rootUri;
        _root = Path.GetFullPath(rootUri.StartsWith("file:", StringComparison.OrdinalIgnoreCase) ? new Uri(rootUri).LocalPath : rootUri);
    }

    /// <inheritdoc />
    public string RootUri { get; }

    private string Local(string artifactPath) => ArtifactPaths.ResolveInside(_root, artifactPath);

    /// <inheritdoc />
    public async Task UploadFileAsync(string localFile, string artifactPath, IProgress<ArtifactTransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var target = Local(ArtifactPaths.Normalize(artifactPath));
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var source = new FileStream(localFile, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (source.ConfigureAwait(false))
        {
            var destination = new FileStream(target, FileMode.Create, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous);
            await using (destination.ConfigureAwait(false))
            {
                await HttpArtifactRepository.CopyAsync(source, destination, artifactPath, source.Length, progress, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<ArtifactFileInfo>> ListAsync(string? path = null, CancellationToken cancellationToken = default)
    {
        var relative = ArtifactPaths.Normalize(path, allowEmpty: true);
        var dir = relative.Length == 0 ? _root : Local(relative);
        if (!Directory.Exists(dir))
        {
            return Task.FromResult<IReadOnlyList<ArtifactFileInfo>>([]);
        }

        var entries = new DirectoryInfo(dir).EnumerateFileSystemInfos()
            .OrderBy(e => e.Name, StringComparer.Ordinal)
            .Select(e => new ArtifactFileInfo
            {
                Path = ArtifactPaths.Join(relative, e.Name),
                IsDir = e is DirectoryInfo,
                FileSize = e is FileInfo f ? f.Length : null,
            })
            .ToList();
        return Task.FromResult<IReadOnlyList<ArtifactFileInfo>>(entries);
    }

    /// <inheritdoc />
    public async Task DownloadFileAsync(string artifactPath, Stream destination, IProgress<ArtifactTransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var file = Local(ArtifactPaths.Normalize(artifactPath));
        if (!File.Exists(file))
        {
            throw new MlflowException(404, MlflowErrorCodes.ResourceDoesNotExist, $"Artifact '{artifactPath}' does not exist under {RootUri}.");
        }

        var source = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (source.ConfigureAwait(false))
        {
            await HttpArtifactRepository.CopyAsync(source, destination, artifactPath, source.Length, progress, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public Task DeleteAsync(string artifactPath, CancellationToken cancellationToken = default)
    {
        var target = Local(ArtifactPaths.Normalize(artifactPath));
        if (Directory.Exists(target))
        {
            Directory.Delete(target, recursive: true);
        }
        else if (File.Exists(target))
        {
            File.Delete(target);
        }

        return Task.CompletedTask;
    }
}
