using System.Text;

namespace MlOps.Client.Dvc;

/// <summary>The digests of a project's DVC-tracked data: each tracked path (relative to the project, usable in a tag key) and the md5 DVC recorded.</summary>
internal static class DvcProvenance
{
    private static readonly HashSet<string> s_skipped = new(StringComparer.Ordinal) { ".git", ".dvc", "bin", "obj", "node_modules", ".venv", "mlruns", "mlartifacts" };

    /// <summary>Every <c>.dvc</c> file's and <c>dvc.lock</c>'s outputs under <paramref name="directory"/> (paths relative to it; at most 100).</summary>
    public static Dictionary<string, string> Digests(string directory)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Files(directory).Take(1000))
        {
            try
            {
                var outputs = Path.GetFileName(file) == "dvc.lock"
                    ? DvcFiles.ReadLockFile(file).Select(o => o.Output)
                    : DvcFiles.ReadDvcFile(file);
                foreach (var output in outputs)
                {
                    if (tags.Count >= 100)
                    {
                        return tags;
                    }

                    tags[TagSafe(Path.GetRelativePath(directory, output.FullPath).Replace('\\', '/'))] = output.Md5;
                }
            }
            catch (Exception ex) when (ex is FormatException or IOException or UnauthorizedAccessException)
            {
                // Not a DVC file after all: provenance is recorded for what can be read.
            }
        }

        return tags;
    }

    private static IEnumerable<string> Files(string directory)
    {
        var pending = new Stack<string>([directory]);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            IEnumerable<string> entries;
            try
            {
                entries = Directory.EnumerateFileSystemEntries(dir).ToList();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            foreach (var entry in entries.Order(StringComparer.Ordinal))
            {
                var name = Path.GetFileName(entry);
                if (Directory.Exists(entry))
                {
                    if (!s_skipped.Contains(name))
                    {
                        pending.Push(entry);
                    }
                }
                else if (name.EndsWith(".dvc", StringComparison.Ordinal) || name == "dvc.lock")
                {
                    yield return entry;
                }
            }
        }
    }

    /// <summary>A path as a tag key: MLflow allows letters, digits, <c>_ - . / space</c>; anything else becomes <c>_</c>; at most 250 characters in all.</summary>
    private static string TagSafe(string path)
    {
        var text = new StringBuilder(path.Length);
        foreach (var c in path)
        {
            text.Append(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or '/' or ' ' ? c : '_');
        }

        return text.Length > 240 ? text.ToString()[..240] : text.ToString();
    }
}
