namespace MlOps.Client.Dvc;

/// <summary>
/// A DVC repository's configuration as DVC merges it (<c>.dvc/config</c>, then <c>.dvc/config.local</c> over it; the
/// user's global and system files are not read): the default remote (<c>core.remote</c>) and each remote's <c>url</c>,
/// names and keys lower-cased as DVC does, relative local URLs resolved against <c>.dvc/</c>. It names where a tracked
/// version is stored: <c>&lt;url&gt;/files/md5/ab/cdef…</c> for DVC 3 entries, <c>&lt;url&gt;/ab/cdef…</c> for DVC 2's.
/// </summary>
public sealed class DvcRepository
{
    private readonly Dictionary<string, Dictionary<string, string>> _sections;

    private DvcRepository(string root, Dictionary<string, Dictionary<string, string>> sections)
    {
        Root = root;
        _sections = sections;
    }

    /// <summary>The repository's folder (the one holding <c>.dvc/</c>).</summary>
    public string Root { get; }

    /// <summary>The default remote's name (<c>core.remote</c>), when set.</summary>
    public string? DefaultRemote => _sections.TryGetValue("core", out var core) && core.TryGetValue("remote", out var r) ? r.ToLowerInvariant() : null;

    /// <summary>The repository <paramref name="path"/> is in (its folder or a parent holds <c>.dvc/</c>); <see langword="null"/> when none.</summary>
    /// <param name="path">A file or folder.</param>
    public static DvcRepository? Find(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        for (var dir = new DirectoryInfo(Directory.Exists(path) ? path : Path.GetDirectoryName(Path.GetFullPath(path))!); dir is not null; dir = dir.Parent)
        {
            var dvc = Path.Combine(dir.FullName, ".dvc");
            if (Directory.Exists(dvc))
            {
                var sections = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
                Read(Path.Combine(dvc, "config"), sections, dvc);
                Read(Path.Combine(dvc, "config.local"), sections, dvc);
                return new DvcRepository(dir.FullName, sections);
            }
        }

        return null;
    }

    /// <summary>A remote's URL; <see langword="null"/> when not configured.</summary>
    /// <param name="name">The remote's name (any case).</param>
    public string? RemoteUrl(string name) =>
        _sections.TryGetValue("remote \"" + name.ToLowerInvariant() + "\"", out var remote) && remote.TryGetValue("url", out var url) ? url : null;

    /// <summary>Where <paramref name="output"/>'s version is stored on its remote (the entry's own <c>remote:</c>, else the default); <see langword="null"/> when no remote is configured.</summary>
    /// <param name="output">A tracked file or folder.</param>
    public (string Remote, string Url)? RemoteObject(DvcOutput output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var name = output.Remote ?? DefaultRemote;
        if (name is null || RemoteUrl(name) is not { } url)
        {
            return null;
        }

        var md5 = output.Md5;
        var relative = (output.HashKind == DvcHashKind.Md5 ? "files/md5/" : string.Empty) + md5[..2] + "/" + md5[2..];
        return (name, url.Contains("://", StringComparison.Ordinal) ? url.TrimEnd('/') + "/" + relative : Path.Combine(url, relative.Replace('/', Path.DirectorySeparatorChar)));
    }

    /// <summary>configobj's INI: <c>[section]</c>, <c>['remote "name"']</c>, <c>key = value</c>, <c>#</c>/<c>;</c> comments; later files win key by key.</summary>
    private static void Read(string file, Dictionary<string, Dictionary<string, string>> sections, string configFolder)
    {
        if (!File.Exists(file))
        {
            return;
        }

        Dictionary<string, string>? current = null;
        var currentName = string.Empty;
        foreach (var raw in File.ReadLines(file))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            if (line[0] == '[' && line[^1] == ']')
            {
                currentName = line[1..^1].Trim().Trim('\'').Trim().ToLowerInvariant();
                var quote = currentName.IndexOf('"', StringComparison.Ordinal);
                if (quote > 0)
                {
                    // remote "name" (any spacing) → remote "name"
                    currentName = currentName[..quote].Trim() + " \"" + currentName[(quote + 1)..].TrimEnd('"').Trim() + "\"";
                }

                if (!sections.TryGetValue(currentName, out current))
                {
                    sections[currentName] = current = new Dictionary<string, string>(StringComparer.Ordinal);
                }

                continue;
            }

            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (current is null || eq <= 0)
            {
                continue;
            }

            var key = line[..eq].Trim().ToLowerInvariant();
            var value = line[(eq + 1)..].Trim().Trim('\'', '"');
            if (key == "url" && currentName.StartsWith("remote ", StringComparison.Ordinal) && !value.Contains("://", StringComparison.Ordinal) && !Path.IsPathRooted(value))
            {
                value = Path.GetFullPath(Path.Combine(configFolder, value)); // relative to .dvc/, as DVC resolves it
            }

            current[key] = value;
        }
    }
}
