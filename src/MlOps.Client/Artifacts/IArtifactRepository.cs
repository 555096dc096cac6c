namespace MlOps.Client.Artifacts;

/// <summary>
/// Where a run's artifacts live: the tracking server's artifact proxy (<c>mlflow-artifacts:</c>) or a local folder
/// (the embedded store). Paths are relative to the run's artifact root and use <c>/</c>. Implementations stream
/// both ways (a file never sits in memory whole) and are thread-safe.
/// </summary>
public interface IArtifactRepository
{
    /// <summary>The artifact root URI this repository serves.</summary>
    string RootUri { get; }

    /// <summary>Uploads one file to <paramref name="artifactPath"/> (a file path relative to the root).</summary>
    /// <param name="localFile">The file.</param>
    /// <param name="artifactPath">The destination file path, e.g. <c>model/MLmodel</c>.</param>
    /// <param name="progress">Receives bytes transferred.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    Task UploadFileAsync(string localFile, string artifactPath, IProgress<ArtifactTransferProgress>? progress = null, CancellationToken cancellationToken = default);

    /// <summary>Lists the entries directly under <paramref name="path"/> (the root when <see langword="null"/>), with paths relative to the root.</summary>
    /// <param name="path">A folder.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<IReadOnlyList<ArtifactFileInfo>> ListAsync(string? path = null, CancellationToken cancellationToken = default);

    /// <summary>Streams one artifact file into <paramref name="destination"/>.</summary>
    /// <param name="artifactPath">The file.</param>
    /// <param name="destination">The stream to write to.</param>
    /// <param name="progress">Receives bytes transferred.</param>
    /// <param name="cancellationToken">Cancels the download.</param>
    Task DownloadFileAsync(string artifactPath, Stream destination, IProgress<ArtifactTransferProgress>? progress = null, CancellationToken cancellationToken = default);

    /// <summary>Deletes an artifact file or folder.</summary>
    /// <param name="artifactPath">The path.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task DeleteAsync(string artifactPath, CancellationToken cancellationToken = default);
}

/// <summary>Progress of an artifact transfer.</summary>
/// <param name="Path">The artifact path.</param>
/// <param name="BytesTransferred">Bytes sent or received so far for this file.</param>
/// <param name="TotalBytes">The file size when known.</param>
public readonly record struct ArtifactTransferProgress(string Path, long BytesTransferred, long? TotalBytes);
