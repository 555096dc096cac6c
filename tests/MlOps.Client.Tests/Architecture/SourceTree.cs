namespace MlOps.Client.Tests.Architecture;

/// <summary>The packages' C# sources (<c>src/**/*.cs</c> without build output) for the checks that read them as text.</summary>
internal static class SourceTree
{
    public static string Root { get; } = MlOps.Client.Testing.SampleProcess.RepositoryRoot();

    public static IEnumerable<string> Files() =>
        Directory.EnumerateFiles(Path.Combine(Root, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
}
