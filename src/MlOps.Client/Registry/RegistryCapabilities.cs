namespace MlOps.Client.Registry;

/// <summary>What a registry can do beyond <see cref="IModelRegistryStore"/> is asked of it here, never by its concrete type.</summary>
internal static class RegistryCapabilities
{
    /// <summary>The registry's MLflow 3 logged-model operations (a 3.x server, or an embedded file at the 3.x schema), or <see langword="null"/>.</summary>
    public static ILoggedModelRegistryStore? LoggedModelsOf(this IModelRegistryStore registry) => registry as ILoggedModelRegistryStore;
}
