using System.Text.RegularExpressions;

namespace MlOps.Client.Tests.Architecture;

/// <summary>
/// The folders of every package depend on each other one way, at every depth (tracking → uploading/stores → REST,
/// registry → client, <c>Stores/Sqlite</c> → <c>Stores</c>…): a folder's types used by a second folder whose types it
/// uses — directly or around a longer loop — is a cycle and fails here. A folder is a directory at its full depth; a
/// package's root folder is one folder too. A type "is used" when its (distinct) name appears in the code, not as a member
/// access or an enum member's declaration.
/// </summary>
public sealed partial class FolderDependencyTests
{
    public static TheoryData<string> Packages() => [.. Directory.GetDirectories(Path.Combine(SourceTree.Root, "src")).Select(d => Path.GetFileName(d)!).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(Packages))]
    public void No_folder_cycles_at_any_depth(string package)
    {
        var uses = Dependencies(Path.Combine(SourceTree.Root, "src", package));
        var cycles = Cycles(uses).Select(c => string.Join(" → ", c.Select((f, i) => i == 0 ? f : $"{f} ({uses[c[i - 1]][f]})"))).ToList();
        Assert.True(cycles.Count == 0, $"Folder cycles in {package}:\n" + string.Join("\n", cycles));
    }

    [Fact]
    public void The_check_sees_the_core_packages_folders_and_finds_a_planted_cycle()
    {
        var uses = Dependencies(Path.Combine(SourceTree.Root, "src", "MlOps.Client"));
        Assert.True(uses.Count >= 12, $"only {uses.Count} folders with dependencies found");
        Assert.True(uses["Stores/Sqlite"].ContainsKey("Stores/Abstractions"), "Stores/Sqlite uses Stores/Abstractions (ITrackingStore)");

        var planted = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal)
        {
            ["A"] = new(StringComparer.Ordinal) { ["B"] = "TB" },
            ["B"] = new(StringComparer.Ordinal) { ["C"] = "TC" },
            ["C"] = new(StringComparer.Ordinal) { ["A"] = "TA" },
            ["D"] = new(StringComparer.Ordinal) { ["A"] = "TA" },
        };
        var cycle = Assert.Single(Cycles(planted));
        Assert.Equal(["A", "B", "C", "A"], cycle);
    }

    /// <summary>Folder → folder it uses → a type that shows it.</summary>
    private static Dictionary<string, Dictionary<string, string>> Dependencies(string root)
    {
        var files = SourceTree.Files()
            .Where(f => f.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
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
        var uses = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var (folder, text) in files)
        {
            var code = EnumMember().Replace(StringLiteral().Replace(LineComment().Replace(text, ""), "\"\""), "");
            foreach (Match word in Identifier().Matches(code))
            {
                if (owners.TryGetValue(word.Value, out var other) && other != folder)
                {
                    (uses.TryGetValue(folder, out var map) ? map : uses[folder] = new(StringComparer.Ordinal)).TryAdd(other, word.Value);
                }
            }
        }

        return uses;
    }

    /// <summary>One shortest loop per strongly connected group of folders (Tarjan), each starting and ending at its first folder.</summary>
    private static List<List<string>> Cycles(Dictionary<string, Dictionary<string, string>> uses)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var low = new Dictionary<string, int>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        var onStack = new HashSet<string>(StringComparer.Ordinal);
        var groups = new List<List<string>>();
        IEnumerable<string> Next(string f) => uses.TryGetValue(f, out var m) ? m.Keys.Order(StringComparer.Ordinal) : [];

        void Visit(string f)
        {
            index[f] = low[f] = index.Count;
            stack.Push(f);
            onStack.Add(f);
            foreach (var g in Next(f))
            {
                if (!index.TryGetValue(g, out var seen))
                {
                    Visit(g);
                    low[f] = Math.Min(low[f], low[g]);
                }
                else if (onStack.Contains(g))
                {
                    low[f] = Math.Min(low[f], seen);
                }
            }

            if (low[f] == index[f])
            {
                var group = new List<string>();
                string g;
                do
                {
                    g = stack.Pop();
                    onStack.Remove(g);
                    group.Add(g);
                }
                while (g != f);
                if (group.Count > 1)
                {
                    groups.Add(group);
                }
            }
        }

        foreach (var f in uses.Keys.Order(StringComparer.Ordinal))
        {
            if (!index.ContainsKey(f))
            {
                Visit(f);
            }
        }

        var cycles = new List<List<string>>();
        foreach (var group in groups)
        {
            // The shortest loop through the group's first folder (breadth-first inside the group).
            var members = group.ToHashSet(StringComparer.Ordinal);
            var start = group.Min(StringComparer.Ordinal)!;
            var parent = new Dictionary<string, string>(StringComparer.Ordinal);
            var queue = new Queue<string>([start]);
            string? last = null;
            while (queue.Count > 0 && last is null)
            {
                var f = queue.Dequeue();
                foreach (var g in Next(f).Where(members.Contains))
                {
                    if (g == start)
                    {
                        last = f;
                        break;
                    }

                    if (parent.TryAdd(g, f))
                    {
                        queue.Enqueue(g);
                    }
                }
            }

            var path = new List<string> { start };
            for (var f = last!; f != start; f = parent[f])
            {
                path.Insert(1, f);
            }

            path.Add(start);
            cycles.Add(path);
            if (group.Count > path.Count - 1)
            {
                cycles.Add([$"(and {string.Join(", ", group.Except(path).Order(StringComparer.Ordinal))} in the same loop group)"]);
            }
        }

        return cycles;
    }

    private static string FolderOf(string root, string file)
    {
        var relative = Path.GetRelativePath(root, Path.GetDirectoryName(file)!).Replace(Path.DirectorySeparatorChar, '/');
        return relative == "." ? "(root)" : relative;
    }

    [GeneratedRegex(@"\b(?:class|interface|record|struct|enum)\s+([A-Z]\w+)")]
    private static partial Regex Declaration();

    [GeneratedRegex(@"//.*")]
    private static partial Regex LineComment();

    [GeneratedRegex("\"[^\"\\n]*\"")]
    private static partial Regex StringLiteral();

    /// <summary>A name that is not a member access (<c>SpoolRecordKind.RunEnd</c> names a member, not the type <c>RunEnd</c>).</summary>
    [GeneratedRegex(@"(?<!\.)\b[A-Z]\w+\b")]
    private static partial Regex Identifier();

    /// <summary>An enum member's declaration (<c>Batch = 1,</c>), which names no type.</summary>
    [GeneratedRegex(@"^\s*[A-Z]\w*\s*=\s*-?\d+,?\s*$", RegexOptions.Multiline)]
    private static partial Regex EnumMember();
}
