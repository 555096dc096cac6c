using System.Text.RegularExpressions;

namespace MlOps.Client.Tests.Architecture;

/// <summary>
/// Folders of the core package depend on each other one way (tracking → uploading/stores → REST, registry → client…):
/// a type declared in folder A and used in folder B, while a type of B is used in A, is a cycle and fails here.
/// </summary>
public sealed partial class FolderDependencyTests
{
    [Fact]
    public void No_two_folders_of_the_core_package_depend_on_each_other()
    {
        var root = Path.Combine(FindRoot(), "src", "MlOps.Client");
        var files = Directory.GetFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(f => (Folder: FolderOf(root, f), Text: File.ReadAllText(f)))
            .ToList();
        var declaredIn = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var (folder, text) in files)
        {
            foreach (Match m in Declaration().Matches(text))
            {
                (declaredIn.TryGetValue(m.Groups[1].Value, out var set) ? set : declaredIn[m.Groups[1].Value] = []).Add(folder);
            }
        }

        var owners = declaredIn.Where(kv => kv.Value.Count == 1).ToDictionary(kv => kv.Key, kv => kv.Value.Single(), StringComparer.Ordinal);
        var uses = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal); // folder → other folder → a type that shows it
        foreach (var (folder, text) in files)
        {
            var code = StringLiteral().Replace(LineComment().Replace(text, ""), "\"\"");
            foreach (Match word in Identifier().Matches(code))
            {
                if (owners.TryGetValue(word.Value, out var other) && other != folder)
                {
                    (uses.TryGetValue(folder, out var map) ? map : uses[folder] = new(StringComparer.Ordinal)).TryAdd(other, word.Value);
                }
            }
        }

        var cycles = (from a in uses
                      from b in a.Value
                      where string.CompareOrdinal(a.Key, b.Key) < 0 && uses.TryGetValue(b.Key, out var back) && back.ContainsKey(a.Key)
                      select $"{a.Key} → {b.Key} ({b.Value}) and {b.Key} → {a.Key} ({uses[b.Key][a.Key]})").ToList();
        Assert.True(cycles.Count == 0, "Folder cycles:\n" + string.Join("\n", cycles));
        Assert.True(uses.Count >= 8, $"only {uses.Count} folders with dependencies found under {root}");
    }

    private static string FolderOf(string root, string file)
    {
        var relative = Path.GetRelativePath(root, file);
        var slash = relative.IndexOf(Path.DirectorySeparatorChar, StringComparison.Ordinal);
        return slash < 0 ? "(root)" : relative[..slash];
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MlOps.Client.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("MlOps.Client.sln not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"\b(?:class|interface|record|struct|enum)\s+([A-Z]\w+)")]
    private static partial Regex Declaration();

    [GeneratedRegex(@"//.*")]
    private static partial Regex LineComment();

    [GeneratedRegex("\"[^\"\\n]*\"")]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"\b[A-Z]\w+\b")]
    private static partial Regex Identifier();
}
