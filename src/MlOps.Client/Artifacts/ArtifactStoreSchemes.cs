using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace MlOps.Client.Artifacts;

/// <summary>Creates the repository of an object store's artifact URI; implemented by the cloud packages.</summary>
internal interface IArtifactRepositoryProvider
{
    /// <summary>The repository of <paramref name="artifactUri"/>.</summary>
    IArtifactRepository Create(string artifactUri, ArtifactOptions options);
}

/// <summary>
/// The artifact URI schemes whose repositories live in their own package (so that the core carries no cloud SDK):
/// <c>s3</c> → <c>MlOps.Client.Aws</c>, <c>wasbs</c> → <c>MlOps.Client.Azure</c>, <c>gs</c> → <c>MlOps.Client.GoogleCloud</c>;
/// found when the application references the package, as Python finds its artifact-repository plugins. Also the
/// schemes an application registers itself.
/// </summary>
internal static class ArtifactStoreSchemes
{
    private static readonly ConcurrentDictionary<string, Func<string, IArtifactRepository>> s_registered = new(StringComparer.OrdinalIgnoreCase);

    public static void Register(string scheme, Func<string, IArtifactRepository> factory) => s_registered[scheme.TrimEnd(':')] = factory;

    public static bool Unregister(string scheme) => s_registered.TryRemove(scheme.TrimEnd(':'), out _);

    public static Func<string, IArtifactRepository>? Registered(string artifactUri) =>
        !s_registered.IsEmpty && SchemeOf(artifactUri) is { } scheme && s_registered.TryGetValue(scheme, out var factory) ? factory : null;

    /// <summary>The scheme of a URI (before <c>:</c>), or <see langword="null"/> for a path.</summary>
    public static string? SchemeOf(string uri)
    {
        var colon = uri.IndexOf(':', StringComparison.Ordinal);
        return colon > 1 && uri[..colon].All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '-' or '.') ? uri[..colon] : null;
    }

    /// <summary>The package and provider type of a scheme handled by a cloud package.</summary>
    public static (string Package, string TypeName)? PackageFor(string artifactUri) =>
        SchemeOf(artifactUri)?.ToLowerInvariant() switch
        {
            "s3" => ("MlOps.Client.Aws", "MlOps.Client.Aws.S3ArtifactRepositoryProvider"),
            "wasbs" => ("MlOps.Client.Azure", "MlOps.Client.Azure.BlobArtifactRepositoryProvider"),
            "gs" => ("MlOps.Client.GoogleCloud", "MlOps.Client.GoogleCloud.GcsArtifactRepositoryProvider"),
            _ => null,
        };

    /// <summary>The provider from the scheme's package; <see cref="NotSupportedException"/> naming the package when the application does not reference it.</summary>
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor, "MlOps.Client.Aws.S3ArtifactRepositoryProvider", "MlOps.Client.Aws")]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor, "MlOps.Client.Azure.BlobArtifactRepositoryProvider", "MlOps.Client.Azure")]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor, "MlOps.Client.GoogleCloud.GcsArtifactRepositoryProvider", "MlOps.Client.GoogleCloud")]
    public static IArtifactRepositoryProvider? ForPackage(string artifactUri)
    {
        if (PackageFor(artifactUri) is not var (package, typeName))
        {
            return null;
        }

        return OptionalPackages.Create<IArtifactRepositoryProvider>(package, typeName,
            () => $"Artifact URIs with the scheme '{SchemeOf(artifactUri)}' ('{Configuration.UriRedaction.Redact(artifactUri)}') are written by the package {package}: dotnet add package {package}.");
    }
}
