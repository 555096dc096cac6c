using System.Diagnostics;
using System.Text;
using MlOps.Client.Tracking;

namespace MlOps.Client.Projects;

/// <summary>
/// Where a project comes from, as Python MLflow's <c>mlflow/projects/utils.py</c> resolves it: <c>uri#subdirectory</c>;
/// an existing local folder runs in place; anything else is a git URL, cloned (depth 1) into a temporary folder — of
/// <c>--version</c> (a branch, tag or commit) when given, else of the remote's HEAD branch — with its submodules.
/// Unlike Python, a local folder run at a <c>--version</c> is cloned too, so that the user's checkout is not switched.
/// </summary>
internal sealed partial class ProjectSource : IDisposable
{
    private ProjectSource(string directory, string sourceName, string? temporaryRoot, GitInfo? git, string? branch)
    {
        Directory = directory;
        SourceName = sourceName;
        _temporaryRoot = temporaryRoot;
        Git = git;
        Branch = branch;
    }

    private readonly string? _temporaryRoot;

    /// <summary>The project's folder (after the subdirectory).</summary>
    public string Directory { get; }

    /// <summary><c>mlflow.source.name</c>: <c>file://&lt;checkout&gt;#&lt;subpath&gt;</c> for a local folder in git, its absolute path otherwise, the URI as given for git URLs.</summary>
    public string SourceName { get; }

    /// <summary>The commit and origin of the project's checkout, when it is one.</summary>
    public GitInfo? Git { get; }

    /// <summary><c>mlflow.source.git.branch</c>: the <c>--version</c> when it names a branch.</summary>
    public string? Branch { get; }

    /// <summary>Splits <c>uri#subdirectory</c> (quotes around the URI are dropped; a <c>.</c> in the subdirectory is refused, as Python does).</summary>
    public static (string Location, string Subdirectory) ParseSubdirectory(string uri)
    {
        var unquoted = uri.Trim('\'', '"');
        var hash = unquoted.IndexOf('#', StringComparison.Ordinal);
        if (hash < 0)
        {
            return (unquoted, string.Empty);
        }

        var sub = unquoted[(hash + 1)..];
        if (sub.Contains('.', StringComparison.Ordinal))
        {
            throw new ProjectExecutionException("'.' is not allowed in project subdirectory paths.");
        }

        return (unquoted[..hash], sub);
    }

    /// <summary>Finds or fetches the project.</summary>
    public static async Task<ProjectSource> FetchAsync(string uri, string? version, CancellationToken cancellationToken)
    {
        var (location, sub) = ParseSubdirectory(uri);
        var localPath = LocalPath(location);
        if (location.EndsWith(".zip", StringComparison.OrdinalIgnoreCase))
        {
            throw new ProjectExecutionException($"Zip archives are not supported as project URIs ({location}): unpack it and run the folder.");
        }

        if (localPath is not null && System.IO.Directory.Exists(localPath) && !IsBareRepository(localPath))
        {
            var git = GitInfo.Read(localPath);
            if (version is null)
            {
                var directory = Path.GetFullPath(Path.Combine(localPath, sub));
                CheckSubdirectory(directory, sub, localPath);
                return new ProjectSource(directory, LocalSourceName(localPath, sub, uri), null, GitInfo.Read(directory), null);
            }

            if (git?.WorkTree is null)
            {
                throw new ProjectExecutionException("Setting a version is only supported for Git project URIs");
            }

            var cloned = await CloneAsync(localPath, version, cancellationToken).ConfigureAwait(false);
            var dir = Path.GetFullPath(Path.Combine(cloned, sub));
            CheckSubdirectory(dir, sub, cloned);
            var clonedGit = GitInfo.Read(dir);
            return new ProjectSource(dir, LocalSourceName(localPath, sub, uri), cloned, clonedGit is null ? null : clonedGit with { RepoUrl = git.RepoUrl }, await BranchAsync(cloned, version, cancellationToken).ConfigureAwait(false));
        }

        if (localPath is not null && !System.IO.Directory.Exists(localPath))
        {
            // Python would try it as a git URL and fail there; a missing folder is the likelier mistake.
            throw new ProjectExecutionException($"The project folder {localPath} does not exist (and {location} is not a git URL).");
        }

        var root = await CloneAsync(location, version, cancellationToken).ConfigureAwait(false);
        var work = Path.GetFullPath(Path.Combine(root, sub));
        CheckSubdirectory(work, sub, root);
        return new ProjectSource(work, WithoutCredentials(uri.Trim('\'', '"')), root, GitInfo.Read(work), version is null ? null : await BranchAsync(root, version, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Deletes a temporary clone.</summary>
    public void Dispose()
    {
        if (_temporaryRoot is not null)
        {
            try
            {
                foreach (var f in System.IO.Directory.EnumerateFiles(_temporaryRoot, "*", SearchOption.AllDirectories))
                {
                    File.SetAttributes(f, FileAttributes.Normal); // git's pack files are read-only (Windows refuses to delete them)
                }

                System.IO.Directory.Delete(_temporaryRoot, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // A temporary folder left behind.
            }
        }
    }

    /// <summary>Text with the user info of every URL in it removed (<c>https://user:token@host</c> → <c>https://host</c>): git URLs may carry tokens, which never reach tags, logs or messages.</summary>
    internal static string WithoutCredentials(string text) => UserInfo().Replace(text, "://");

    [System.Text.RegularExpressions.GeneratedRegex(@"://[^/\s@]+@")]
    private static partial System.Text.RegularExpressions.Regex UserInfo();

    private static string? LocalPath(string location)
    {
        if (location.StartsWith("file://", StringComparison.OrdinalIgnoreCase))
        {
            return Uri.TryCreate(location, UriKind.Absolute, out var u) ? u.LocalPath : location["file://".Length..];
        }

        return location.Contains("://", StringComparison.Ordinal) || (location.Contains('@', StringComparison.Ordinal) && location.Contains(':', StringComparison.Ordinal))
            ? null
            : Path.GetFullPath(location);
    }

    /// <summary>A bare repository (a folder of HEAD, objects and refs) is a git URL, not a project folder.</summary>
    private static bool IsBareRepository(string path) =>
        File.Exists(Path.Combine(path, "HEAD")) && System.IO.Directory.Exists(Path.Combine(path, "objects")) && System.IO.Directory.Exists(Path.Combine(path, "refs"));

    private static void CheckSubdirectory(string directory, string sub, string root)
    {
        if (!System.IO.Directory.Exists(directory))
        {
            throw new ProjectExecutionException($"Could not find subdirectory {sub} of {root}");
        }
    }

    private static string LocalSourceName(string localPath, string sub, string uri)
    {
        if (sub.Length > 0)
        {
            return uri.Trim('\'', '"'); // not an existing path as written: Python records it verbatim
        }

        var git = GitInfo.Read(localPath);
        if (git?.WorkTree is { } tree)
        {
            var relative = Path.GetRelativePath(tree, localPath);
            return "file://" + tree + (relative == "." ? string.Empty : "#" + relative.Replace('\\', '/'));
        }

        return localPath;
    }

    private static async Task<string> CloneAsync(string uri, string? version, CancellationToken cancellationToken)
    {
        var root = Path.Combine(Path.GetTempPath(), "mlops-project-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(root);
        try
        {
            if (version is null)
            {
                await GitAsync(root, cancellationToken, "clone", "--depth", "1", "--", uri, ".").ConfigureAwait(false);
            }
            else
            {
                await GitAsync(root, cancellationToken, "init", "-q").ConfigureAwait(false);
                await GitAsync(root, cancellationToken, "remote", "add", "origin", uri).ConfigureAwait(false);
                try
                {
                    await GitAsync(root, cancellationToken, "fetch", "-q", "--depth", "1", "--tags", "origin", version).ConfigureAwait(false);
                    await GitAsync(root, cancellationToken, "checkout", "-q", version).ConfigureAwait(false);
                }
                catch (ProjectExecutionException ex)
                {
                    throw new ProjectExecutionException($"Unable to checkout version '{version}' of git repo {WithoutCredentials(uri)} - please ensure that the version exists in the repo. Error: {ex.Message}", ex);
                }
            }

            await GitAsync(root, cancellationToken, "submodule", "update", "--init", "--recursive").ConfigureAwait(false);
            return root;
        }
        catch
        {
            new ProjectSource(root, string.Empty, root, null, null).Dispose();
            throw;
        }
    }

    private static async Task<string?> BranchAsync(string root, string version, CancellationToken cancellationToken)
    {
        try
        {
            await GitAsync(root, cancellationToken, "rev-parse", "--verify", "-q", "refs/heads/" + version).ConfigureAwait(false);
            return version;
        }
        catch (ProjectExecutionException)
        {
            return null;
        }
    }

    /// <summary>Runs git in <paramref name="directory"/>; a non-zero exit throws with git's own error lines (credentials in URLs redacted).</summary>
    internal static async Task<string> GitAsync(string directory, CancellationToken cancellationToken, params string[] arguments)
    {
        var start = new ProcessStartInfo("git") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["GIT_TERMINAL_PROMPT"] = "0"; // never wait for a password nobody will type
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new ProjectExecutionException("git could not be started.");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new ProjectExecutionException("Running a project from a git URL needs git on the PATH: " + ex.Message, ex);
        }

        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var error = process.StandardError.ReadToEndAsync(cancellationToken);
            try
            {
                await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }

            var text = await output.ConfigureAwait(false);
            var err = await error.ConfigureAwait(false);
            if (process.ExitCode != 0)
            {
                var lines = new StringBuilder();
                foreach (var line in err.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    lines.Append(lines.Length > 0 ? " " : string.Empty).Append(WithoutCredentials(line));
                }

                throw new ProjectExecutionException($"git {arguments[0]} failed (exit code {process.ExitCode}): {lines}");
            }

            return text;
        }
    }
}
