using System.Reflection;
using System.Text.RegularExpressions;

namespace MlOps.Client.Tracking;

/// <summary>The system tags Python MLflow sets on a new run, computed for a .NET process.</summary>
internal static partial class SystemTags
{
    public static Dictionary<string, string> Create(string? sourceName, string? workingDirectory)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [MlflowTags.User] = SafeUserName(),
            [MlflowTags.SourceType] = "LOCAL",
        };
        var source = sourceName ?? EntrySourceName();
        if (!string.IsNullOrEmpty(source))
        {
            tags[MlflowTags.SourceName] = source;
        }

        if (GitInfo.Read(workingDirectory ?? Environment.CurrentDirectory) is { } git)
        {
            tags[MlflowTags.GitCommit] = git.Commit;
            if (git.Branch is { } branch)
            {
                tags[MlflowTags.GitBranch] = branch;
            }

            if (git.RepoUrl is { } url)
            {
                tags[MlflowTags.GitRepoUrl] = url;
            }
        }

        return tags;
    }

    internal static string SafeUserName()
    {
        try
        {
            return Environment.UserName;
        }
        catch (InvalidOperationException)
        {
            return "unknown";
        }
    }

    private static string? EntrySourceName()
    {
        var entry = Assembly.GetEntryAssembly();
        if (entry is null)
        {
            return null;
        }

        // The entry assembly's file, as Python records the script that was launched (single-file apps: the process path).
        var name = entry.GetName().Name;
        var path = name is null ? null : Path.Combine(AppContext.BaseDirectory, name + ".dll");
        return path is not null && File.Exists(path) ? path : Environment.ProcessPath ?? name;
    }
}

/// <summary>Reads the commit, branch and origin URL of a git checkout from its files (no git process).</summary>
internal sealed partial record GitInfo(string Commit, string? Branch, string? RepoUrl)
{
    /// <summary>The checkout's top folder (the one holding <c>.git</c>).</summary>
    public string? WorkTree { get; init; }

    public static GitInfo? Read(string startDirectory)
    {
        try
        {
            for (var dir = new DirectoryInfo(startDirectory); dir is not null; dir = dir.Parent)
            {
                var dotGit = Path.Combine(dir.FullName, ".git");
                if (Directory.Exists(dotGit))
                {
                    return ReadGitDir(dotGit, dotGit) is { } info ? info with { WorkTree = dir.FullName } : null;
                }

                if (File.Exists(dotGit))
                {
                    // A worktree or submodule: ".git" is a file "gitdir: <path>".
                    var line = File.ReadAllText(dotGit).Trim();
                    if (!line.StartsWith("gitdir:", StringComparison.Ordinal))
                    {
                        return null;
                    }

                    var gitDir = Path.GetFullPath(Path.Combine(dir.FullName, line["gitdir:".Length..].Trim()));
                    var commonDir = gitDir;
                    var commonFile = Path.Combine(gitDir, "commondir");
                    if (File.Exists(commonFile))
                    {
                        commonDir = Path.GetFullPath(Path.Combine(gitDir, File.ReadAllText(commonFile).Trim()));
                    }

                    return ReadGitDir(gitDir, commonDir) is { } info ? info with { WorkTree = dir.FullName } : null;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }

        return null;
    }

    private static GitInfo? ReadGitDir(string gitDir, string commonDir)
    {
        var headFile = Path.Combine(gitDir, "HEAD");
        if (!File.Exists(headFile))
        {
            return null;
        }

        var head = File.ReadAllText(headFile).Trim();
        string? branch = null;
        string? commit;
        if (head.StartsWith("ref:", StringComparison.Ordinal))
        {
            var refName = head[4..].Trim();
            branch = refName.StartsWith("refs/heads/", StringComparison.Ordinal) ? refName["refs/heads/".Length..] : refName;
            commit = ResolveRef(gitDir, commonDir, refName);
            if (commit is null)
            {
                return null; // a branch without commits yet
            }
        }
        else
        {
            commit = head;
        }

        if (!ShaPattern().IsMatch(commit))
        {
            return null;
        }

        return new GitInfo(commit, branch, ReadOriginUrl(commonDir));
    }

    private static string? ResolveRef(string gitDir, string commonDir, string refName)
    {
        foreach (var root in new[] { gitDir, commonDir })
        {
            var loose = Path.Combine(root, refName.Replace('/', Path.DirectorySeparatorChar));
            if (File.Exists(loose))
            {
                return File.ReadAllText(loose).Trim();
            }
        }

        var packed = Path.Combine(commonDir, "packed-refs");
        if (File.Exists(packed))
        {
            foreach (var line in File.ReadLines(packed))
            {
                if (line.Length > 41 && line[40] == ' ' && line.AsSpan(41).SequenceEqual(refName))
                {
                    return line[..40];
                }
            }
        }

        return null;
    }

    private static string? ReadOriginUrl(string commonDir)
    {
        var config = Path.Combine(commonDir, "config");
        if (!File.Exists(config))
        {
            return null;
        }

        var inOrigin = false;
        foreach (var raw in File.ReadLines(config))
        {
            var line = raw.Trim();
            if (line.StartsWith('['))
            {
                inOrigin = line.Replace(" ", "", StringComparison.Ordinal).Equals("[remote\"origin\"]", StringComparison.Ordinal);
                continue;
            }

            if (inOrigin && line.StartsWith("url", StringComparison.Ordinal))
            {
                var eq = line.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0)
                {
                    return Configuration.UriRedaction.StripUserInfo(line[(eq + 1)..].Trim());
                }
            }
        }

        return null;
    }

    [GeneratedRegex("^[0-9a-f]{40}([0-9a-f]{24})?$")]
    private static partial Regex ShaPattern();
}
