using System.Reflection;

namespace MlOps.Client.Tests.Architecture;

/// <summary>
/// No public type name is declared twice across the packages: a user who imports two of their namespaces (say
/// <c>MlOps.Client.XGBoost</c> and <c>MlOps.Client.Evaluation</c>) never meets CS0104. Generic arity distinguishes
/// (<c>MlflowPageable</c> and <c>MlflowPageable&lt;T&gt;</c> coexist in C#); nested types are qualified by their parent.
/// </summary>
public sealed class PublicNameTests
{
    /// <summary>Every package of <c>src/</c>: a new one is checked without being listed here.</summary>
    private static readonly string[] Packages = [.. Directory.GetDirectories(Path.Combine(SourceTree.Root, "src")).Select(d => Path.GetFileName(d)!).Order(StringComparer.Ordinal)];

    [Fact]
    public void Every_package_is_here_to_be_checked()
    {
        Assert.True(Packages.Length >= 10, $"only {Packages.Length} packages found under src/");
        foreach (var package in Packages)
        {
            Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, package + ".dll")), package + ".dll is not beside the tests");
        }
    }

    [Fact]
    public void No_public_type_name_is_declared_twice_across_the_packages()
    {
        var types = Packages
            .Select(p => Assembly.LoadFrom(Path.Combine(AppContext.BaseDirectory, p + ".dll")))
            .SelectMany(a => a.GetExportedTypes())
            .Where(t => !t.IsNested);
        var duplicates = types.GroupBy(t => t.Name)
            .Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(t => t.FullName))}")
            .ToList();
        Assert.True(duplicates.Count == 0, "public type names declared twice:\n" + string.Join("\n", duplicates));
    }
}
