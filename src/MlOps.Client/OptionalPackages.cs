using System.Diagnostics.CodeAnalysis;

namespace MlOps.Client;

/// <summary>
/// The one way the core reaches a type of a package it does not reference (the cloud packages: Azure ML and SageMaker
/// tracking URIs, S3/Azure Blob/GCS artifact stores): by name, when the application references the package, as Python
/// finds its plugins; otherwise a <see cref="NotSupportedException"/> that names the package to add.
/// </summary>
internal static class OptionalPackages
{
    /// <summary>An instance of <paramref name="typeName"/> from <paramref name="package"/> as <typeparamref name="T"/>; <paramref name="missing"/> (which should end with the <c>dotnet add package</c> line) when the package is absent.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2057:Unrecognized value passed to the parameter of method", Justification = "The type names are constants of packages the application references; callers keep them with DynamicDependency.")]
    [UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "The types have a public parameterless constructor, kept by the callers' DynamicDependency.")]
    public static T Create<T>(string package, string typeName, Func<string> missing)
        where T : class
    {
        Type? type;
        try
        {
            type = Type.GetType(typeName + ", " + package, throwOnError: false);
        }
        catch (IOException)
        {
            type = null;
        }

        return type is not null && Activator.CreateInstance(type) is T instance ? instance : throw new NotSupportedException(missing());
    }
}
