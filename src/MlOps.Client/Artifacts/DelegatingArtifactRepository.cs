namespace MlOps.Client.Artifacts;

/// <summary>
/// An artifact repository that hands every call to another one, as <see cref="DelegatingHandler"/> does for HTTP: the
/// base of the object-store repositories (S3, Azure Blob, GCS) and of a repository of your own that adds to another
/// (auditing, a cache) by overriding what it changes.
/// </summary>
public abstract class DelegatingArtifactRepository : IArtifactRepository
{
    /// <summary>Creates a repository that forwards to <paramref name="inner"/>.</summary>
    /// <param name="inner">The repository that does the work.</param>
    protected DelegatingArtifactRepository(IArtifactRepository inner) => Inner = inner ?? throw new ArgumentNullException(nameof(inner));

    /// <summary>The repository calls are forwarded to.</summary>
    protected IArtifactRepository Inner { get; }

    /// <inheritdoc />
    public virtual string RootUri => Inner.RootUri;

    /// <inheritdoc />
    public virtual Task UploadFileAsync(string localFile, string artifactPath, IProgress<ArtifactTransferProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Inner.UploadFileAsync(localFile, artifactPath, progress, cancellationToken);

    /// <inheritdoc />
    public virtual Task<IReadOnlyList<ArtifactFileInfo>> ListAsync(string? path = null, CancellationToken cancellationToken = default) =>
        Inner.ListAsync(path, cancellationToken);

    /// <inheritdoc />
    public virtual Task DownloadFileAsync(string artifactPath, Stream destination, IProgress<ArtifactTransferProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Inner.DownloadFileAsync(artifactPath, destination, progress, cancellationToken);

    /// <inheritdoc />
    public virtual Task DeleteAsync(string artifactPath, CancellationToken cancellationToken = default) =>
        Inner.DeleteAsync(artifactPath, cancellationToken);

    /// <summary>The type and the root, never credentials.</summary>
    public override string ToString() => $"{GetType().Name}({RootUri})";
}
