using System.Text.RegularExpressions;

namespace MlOps.Client.Tests.Architecture;

/// <summary>The packages' C# sources (<c>src/**/*.cs</c> without build output) for the checks that read them as text.</summary>
internal static class SourceTree
{
    public static string Root { get; } = MlOps.Client.Testing.SampleProcess.RepositoryRoot();

    public static IEnumerable<string> Files() =>
        Directory.EnumerateFiles(Path.Combine(Root, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));

    /// <summary>The code lines (not comments) of <c>src/</c> matching <paramref name="pattern"/>, as <c>file:line: text</c>, outside the files <paramref name="allowed"/> lets through.</summary>
    public static List<string> LinesMatching(Regex pattern, Func<string, bool> allowed) =>
        Files()
            .Where(f => !allowed(f))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (File: Path.GetRelativePath(Root, f), Line: i + 1, Text: line)))
            .Where(l => !l.Text.TrimStart().StartsWith("//", StringComparison.Ordinal) && pattern.IsMatch(l.Text))
            .Select(l => $"{l.File}:{l.Line}: {l.Text.Trim()}")
            .ToList();
}
