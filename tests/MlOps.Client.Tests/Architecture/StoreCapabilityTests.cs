using System.Text.RegularExpressions;

namespace MlOps.Client.Tests.Architecture;

/// <summary>
/// What a store can do beyond <c>ITrackingStore</c> (a registry beyond <c>IModelRegistryStore</c>) is asked in one place, <c>Stores/Abstractions/StoreCapabilities.cs</c> (<c>Registry/RegistryCapabilities.cs</c>)
/// (<c>LoggedModelsOf</c>, <c>RegistryOf</c>, <c>LifecycleOf</c>, …): callers never test a store's type, so adding a
/// capability (or a store) changes that file, not every caller. The check scans <c>src/</c> for <c>is</c>/<c>as</c>
/// tests against the store interfaces and the concrete stores.
/// </summary>
public sealed partial class StoreCapabilityTests
{
    [Fact]
    public void Store_capabilities_are_asked_only_through_StoreCapabilities()
    {
        var offenders = SourceTree.LinesMatching(TypeTest(), f =>
            f.EndsWith(Path.Combine("Stores", "Abstractions", "StoreCapabilities.cs"), StringComparison.Ordinal)
            || f.EndsWith(Path.Combine("Registry", "RegistryCapabilities.cs"), StringComparison.Ordinal));
        Assert.True(offenders.Count == 0, "store type tests outside StoreCapabilities:\n" + string.Join("\n", offenders));
    }

    [GeneratedRegex(@"\b(is|as)\s+(not\s+)?(I\w*Store|RestTrackingStore|SqliteTrackingStore)\b")]
    private static partial Regex TypeTest();
}
