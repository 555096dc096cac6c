namespace MlOps.Client.Testing;

/// <summary>A conformance fact of this project's store (its fake needs nothing).</summary>
public sealed class StoreFactAttribute : FactAttribute
{
    // the fake of the JSON API runs in process: never skipped
}
