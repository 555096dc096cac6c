namespace MlOps.Client.Artifacts;

/// <summary>Chooses the <see cref="IArtifactRepository"/> for an artifact URI, and moves whole folders.</summary>
public static class ArtifactRepositories
{
    /// <summary>
    /// The repository for <paramref name="artifactUri"/>: <c>mlflow-artifacts:</c> and <c>http(s)://…/mlflow-artifacts/…</c>
    /// through the tracking server's proxy (needs <paramref name="client"/>), <c>file:</c> URIs and local paths on disk.
    /// Other schemes (<c>s3://</c>, <c>gs://</c>, <c>wasbs://</c>, <c>dbfs:/</c>…) are refused: run the server with
    /// <c>--serve-artifacts</c> so it proxies them.
    /// </summary>
    /// <param name="artifactUri">A run's artifact URI.</param>
    /// <param name="client">The client of the tracking server, for proxied URIs.</param>
    /// <param name="options">Transfer options.</param>
    public static IArtifactRepository ForUri(string artifactUri, MlflowClient? client, ArtifactOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(artifactUri);
        if (artifactUri.StartsWith("mlflow-artifacts:", StringComparison.OrdinalIgnoreCase)
            || ((artifactUri.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || artifactUri.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
                && artifactUri.Contains("/api/2.0/mlflow-artifacts/artifacts", StringComparison.Ordinal)))
        {
            return new HttpArtifactRepository(client ?? throw new InvalidOperationException(
                $"Artifact URI '{artifactUri}' is served by a tracking server: an MlflowClient for that server is needed."), artifactUri, options);
        }

        if (DatabricksFilesArtifactRepository.Handles(artifactUri))
        {
            return new DatabricksFilesArtifactRepository(client ?? throw new InvalidOperationException(
                $"Artifact URI '{artifactUri}' belongs to a Databricks workspace: an MlflowClient for that workspace is needed."), artifactUri);
        }

        if (DatabricksArtifactRepository.Handles(artifactUri))
        {
            return new DatabricksArtifactRepository(client ?? throw new InvalidOperationException(
                $"Artifact URI '{artifactUri}' belongs to a Databricks workspace: an MlflowClient for that workspace is needed."), artifactUri, options);
        }

        if (artifactUri.StartsWith("file:", StringComparison.OrdinalIgnoreCase) || Path.IsPathRooted(artifactUri) || !artifactUri.Contains("://", StringComparison.Ordinal) && !artifactUri.Contains(':', StringComparison.Ordinal))
        {
            return new LocalArtifactRepository(artifactUri);
        }

        var scheme = artifactUri[..artifactUri.IndexOf(':', StringComparison.Ordinal)];
        throw new NotSupportedException(
            $"Artifact URIs with the scheme '{scheme}' ('{artifactUri}') are not supported by this client. " +
            "Run the tracking server with --serve-artifacts (the default for `mlflow server`) so it proxies the artifact store, and create experiments whose artifact location is mlflow-artifacts:/.");
    }

    /// <summary>Uploads every file under <paramref name="localDirectory"/> to <paramref name="artifactPath"/>, a bounded number at a time.</summary>
    /// <param name="repository">The repository.</param>
    /// <param name="localDirectory">The folder.</param>
    /// <param name="artifactPath">The destination folder (the root when <see langword="null"/>).</param>
    /// <param name="maxParallel">Files in flight at once.</param>
    /// <param name="progress">Receives per-file progress.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    public static async Task UploadDirectoryAsync(
        this IArtifactRepository repository, string localDirectory, string? artifactPath = null, int maxParallel = 4,
        IProgress<ArtifactTransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(repository);
        var root = Path.GetFullPath(localDirectory);
        var files = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).ToList();
        await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, maxParallel), CancellationToken = cancellationToken },
            async (file, ct) =>
            {
                var relative = Path.GetRelativePath(root, file).Replace(Path.DirectorySeparatorChar, '/');
                await repository.UploadFileAsync(file, ArtifactPaths.Join(artifactPath, relative), progress, ct).ConfigureAwait(false);
            }).ConfigureAwait(false);
    }

    /// <summary>
    /// Downloads the artifact file or folder <paramref name="artifactPath"/> into <paramref name="destination"/>
    /// (as <c>destination/&lt;artifactPath&gt;</c>), a bounded number of files at a time. Entries that would land outside
    /// <paramref name="destination"/> are refused before anything is written for them.
    /// </summary>
    /// <param name="repository">The repository.</param>
    /// <param name="artifactPath">A file or folder; the whole root when <see langword="null"/> or empty.</param>
    /// <param name="destination">The local folder.</param>
    /// <param name="maxParallel">Files in flight at once.</param>
    /// <param name="progress">Receives per-file progress.</param>
    /// <param name="cancellationToken">Cancels the download.</param>
    /// <returns>The local path of the downloaded file or folder.</returns>
    public static async Task<string> DownloadAsync(
        this IArtifactRepository repository, string? artifactPath, string destination, int maxParallel = 4,
        IProgress<ArtifactTransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(repository);
        ArgumentException.ThrowIfNullOrEmpty(destination);
        var start = ArtifactPaths.Normalize(artifactPath, allowEmpty: true);
        var files = new List<string>();
        var pending = new Queue<string>();
        pending.Enqueue(start);
        var isFolder = false;
        while (pending.Count > 0)
        {
            var folder = pending.Dequeue();
            var entries = await repository.ListAsync(folder, cancellationToken).ConfigureAwait(false);
            if (folder == start && entries.Count == 0 && start.Length > 0)
            {
                break; // a file (or nothing): download it as a file
            }

            isFolder = true;
            foreach (var entry in entries)
            {
                ArtifactPaths.ResolveInside(destination, entry.Path); // refuse before writing anything
                if (entry.IsDir)
                {
                    pending.Enqueue(entry.Path);
                }
                else
                {
                    files.Add(entry.Path);
                }
            }
        }

        if (!isFolder)
        {
            files.Add(start);
        }

        foreach (var f in files)
        {
            ArtifactPaths.ResolveInside(destination, f);
        }

        await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, maxParallel), CancellationToken = cancellationToken },
            async (file, ct) =>
            {
                var target = ArtifactPaths.ResolveInside(destination, file);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                var temp = target + ".part";
                try
                {
                    var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous);
                    await using (stream.ConfigureAwait(false))
                    {
                        await repository.DownloadFileAsync(file, stream, progress, ct).ConfigureAwait(false);
                    }

                    File.Move(temp, target, overwrite: true);
                }
                catch
                {
                    File.Delete(temp); // no partial file is left behind
                    throw;
                }
            }).ConfigureAwait(false);

        return start.Length == 0 ? Path.GetFullPath(destination) : ArtifactPaths.ResolveInside(destination, start);
    }
}
