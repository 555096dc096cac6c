using System.Diagnostics.CodeAnalysis;

namespace MlOps.Client.Authentication;

/// <summary>Turns a managed service's tracking URI into the https endpoint and the provider of its credentials.</summary>
internal interface ITrackingUriResolver
{
    /// <summary>The REST base URI (the <c>api/2.0/mlflow/…</c> paths go below it) and the credentials' provider.</summary>
    (Uri BaseUri, IMlflowAuthProvider Auth) Resolve(string trackingUri, MlflowClientOptions options);
}

/// <summary>
/// The tracking URIs of managed MLflow services whose support lives in its own package (so that the core does not carry
/// Azure.Identity or the AWS SDK): <c>azureml://…</c> → <c>MlOps.Client.Azure</c>, <c>arn:aws:sagemaker:…</c> →
/// <c>MlOps.Client.Aws</c>. The package is found when the application references it, as Python finds its plugins.
/// </summary>
internal static class TrackingUriResolvers
{
    /// <summary>Whether <paramref name="trackingUri"/> is one of these services' URIs.</summary>
    public static bool IsManaged(string trackingUri) => PackageFor(trackingUri) is not null;

    /// <summary>The resolver from the service's package; <see cref="NotSupportedException"/> naming the package when the application does not reference it.</summary>
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor, "MlOps.Client.Azure.AzureMlTrackingUri", "MlOps.Client.Azure")]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor, "MlOps.Client.Aws.SageMakerTrackingUri", "MlOps.Client.Aws")]
    public static ITrackingUriResolver For(string trackingUri)
    {
        var (package, typeName) = PackageFor(trackingUri) ?? throw new ArgumentException($"'{trackingUri}' is not a managed service's tracking URI.", nameof(trackingUri));
        return Create(package, typeName, trackingUri);
    }

    /// <summary>The resolver of an open-source server behind API Gateway (<c>MLFLOW_TRACKING_AWS_SIGV4=true</c>), from <c>MlOps.Client.Aws</c>.</summary>
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor, "MlOps.Client.Aws.ApiGatewayTrackingUri", "MlOps.Client.Aws")]
    public static ITrackingUriResolver ApiGateway(string trackingUri) => Create("MlOps.Client.Aws", "MlOps.Client.Aws.ApiGatewayTrackingUri", trackingUri);

    private static ITrackingUriResolver Create(string package, string typeName, string trackingUri) =>
        OptionalPackages.Create<ITrackingUriResolver>(package, typeName,
            () => $"The tracking URI '{Configuration.UriRedaction.Redact(trackingUri)}' needs the package {package}: dotnet add package {package}.");

    private static (string Package, string TypeName)? PackageFor(string trackingUri) =>
        trackingUri.StartsWith("azureml://", StringComparison.OrdinalIgnoreCase) ? ("MlOps.Client.Azure", "MlOps.Client.Azure.AzureMlTrackingUri")
        : trackingUri.StartsWith("arn:aws:sagemaker:", StringComparison.OrdinalIgnoreCase) ? ("MlOps.Client.Aws", "MlOps.Client.Aws.SageMakerTrackingUri")
        : null;
}
