namespace MlOps.Client;

/// <summary>A file or folder in a run's artifacts (<c>FileInfo</c> in MLflow).</summary>
public sealed class ArtifactFileInfo
{
    /// <summary>The path, relative to the run's artifact root (for <c>artifacts/list</c>).</summary>
    public string Path { get; init => field = value ?? ""; } = "";

    /// <summary>Whether the entry is a folder.</summary>
    public bool IsDir { get; init; }

    /// <summary>The size in bytes (files only).</summary>
    public long? FileSize { get; init; }
}

/// <summary>The result of listing a run's artifacts.</summary>
public sealed class ArtifactListing
{
    /// <summary>The run's artifact root URI.</summary>
    public string? RootUri { get; init; }

    /// <summary>The entries directly under the listed path.</summary>
    public IReadOnlyList<ArtifactFileInfo> Files { get; init => field = value ?? []; } = [];

    /// <summary>A token for the next page (servers that page listings).</summary>
    public string? NextPageToken { get; init; }
}
