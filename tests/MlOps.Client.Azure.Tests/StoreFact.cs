namespace MlOps.Client.Testing;

/// <summary>A conformance fact of this project's store (skipped with the reason when its emulator cannot be installed).</summary>
public sealed class StoreFactAttribute : FactAttribute
{
    public StoreFactAttribute() => Skip = Emulators.SkipReason;
}
