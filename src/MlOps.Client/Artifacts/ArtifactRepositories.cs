namespace MlOps.Client.Artifacts;

/// <summary>Chooses the <see cref="IArtifactRepository"/> for an artifact URI, and moves whole folders.</summary>
public static class ArtifactRepositories
{
    /// <summary>
    /// The repository for <paramref name="artifactUri"/>, chosen by its scheme as Python's <c>get_artifact_repository</c>
    /// does: a scheme given to <see cref="Register"/> first; <c>mlflow-artifacts:</c> and
    /// <c>http(s)://…/mlflow-artifacts/…</c> through the tracking server's proxy (needs <paramref name="client"/>);
    /// Databricks' <c>dbfs:/</c> roots through the workspace; <c>s3://</c> (package <c>MlOps.Client.Aws</c>),
    /// <c>wasbs://</c> (<c>MlOps.Client.Azure</c>) and <c>gs://</c> (<c>MlOps.Client.GoogleCloud</c>) directly in the
    /// object store, when the application references that package; <c>file:</c> URIs and local paths on disk.
    /// </summary>
    /// <param name="artifactUri">A run's artifact URI.</param>
    /// <param name="client">The client of the tracking server, for proxied URIs.</param>
    /// <param name="options">Transfer options.</param>
    /// <exception cref="NotSupportedException">No repository handles the scheme, or its package is not referenced (the message names it).</exception>
    public static IArtifactRepository ForUri(string artifactUri, MlflowClient? client, ArtifactOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(artifactUri);
        if (ArtifactStoreSchemes.Registered(artifactUri) is { } factory)
        {
            return factory(artifactUri);
        }

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

        if (ArtifactStoreSchemes.ForPackage(artifactUri) is { } provider)
        {
            return provider.Create(artifactUri, options ?? new ArtifactOptions());
        }

        var scheme = artifactUri[..artifactUri.IndexOf(':', StringComparison.Ordinal)];
        throw new NotSupportedException(
            $"Artifact URIs with the scheme '{scheme}' ('{Configuration.UriRedaction.Redact(artifactUri)}') are not supported by this client. " +
            "Register a repository for it with ArtifactRepositories.Register, or run the tracking server with --serve-artifacts (the default for `mlflow server`) so it proxies the artifact store, and create experiments whose artifact location is mlflow-artifacts:/.");
    }

    /// <summary>
    /// Makes <see cref="ForUri"/> answer URIs of <paramref name="scheme"/> with <paramref name="factory"/> (as Python's
    /// <c>mlflow.artifact_repository</c> entry points): a scheme of your own, or a built-in one with your own settings,
    /// e.g. <c>Register("s3", uri =&gt; new S3ArtifactRepository(uri, myS3Client))</c>. Replaces an earlier registration.
    /// </summary>
    /// <param name="scheme">The URI scheme, without <c>:</c> (case-insensitive).</param>
    /// <param name="factory">Creates the repository of an artifact URI.</param>
    public static void Register(string scheme, Func<string, IArtifactRepository> factory)
    {
        ArgumentException.ThrowIfNullOrEmpty(scheme);
        ArgumentNullException.ThrowIfNull(factory);
        ArtifactStoreSchemes.Register(scheme, factory);
    }

    /// <summary>Removes a registration made with <see cref="Register"/>; the built-in repository answers the scheme again.</summary>
    /// <param name="scheme">The URI scheme.</param>
    /// <returns>Whether a registration was removed.</returns>
    public static bool Unregister(string scheme)
    {
        ArgumentException.ThrowIfNullOrEmpty(scheme);
        return ArtifactStoreSchemes.Unregister(scheme);
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
