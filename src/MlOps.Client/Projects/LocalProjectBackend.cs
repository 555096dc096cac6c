using System.Diagnostics;
using System.Runtime.InteropServices;

namespace MlOps.Client.Projects;

/// <summary>
/// Runs the command on this machine as Python MLflow's local backend does with <c>--env-manager local</c>:
/// <c>bash -c "&lt;command&gt;"</c> (<c>cmd /c</c> on Windows) in the project's folder, with the launcher's environment
/// plus the run's <c>MLFLOW_*</c> variables, its output streamed (inherited, or to the writers given). No environment is
/// built: the project runs with the tools on this machine (<c>dotnet</c>, <c>python</c>), so like Python with
/// <c>--env-manager local</c> no <c>mlflow.project.env</c> tag is set. Projects that ask for a Docker image are refused
/// here (run them with the Kubernetes backend, or in the image yourself).
/// </summary>
public sealed class LocalProjectBackend : IProjectBackend
{
    /// <summary>How long a cancelled command has between SIGTERM and SIGKILL.</summary>
    public static readonly TimeSpan CancelGracePeriod = TimeSpan.FromSeconds(10);

    private readonly TextWriter? _output;
    private readonly TextWriter? _error;

    /// <summary>A backend whose commands write to this process's console.</summary>
    public LocalProjectBackend()
    {
    }

    /// <summary>A backend whose commands' output lines go to the writers given.</summary>
    /// <param name="output">Standard output's lines.</param>
    /// <param name="error">Standard error's lines.</param>
    public LocalProjectBackend(TextWriter output, TextWriter error)
    {
        _output = output ?? throw new ArgumentNullException(nameof(output));
        _error = error ?? throw new ArgumentNullException(nameof(error));
    }

    /// <inheritdoc/>
    public string Name => "local";

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, string> RunTags(MlProject project) => new Dictionary<string, string>();

    /// <inheritdoc/>
    public void Validate(MlProject project)
    {
        ArgumentNullException.ThrowIfNull(project);
        if (project.Environment == ProjectEnvironmentKind.Docker)
        {
            throw new ProjectExecutionException(
                $"The project asks for the Docker image {project.DockerImage} (docker_env): the local backend runs commands on this machine only. Run it with --backend kubernetes, or inside that image.");
        }
    }

    /// <inheritdoc/>
    public Task<ISubmittedProjectRun> SubmitAsync(ProjectLaunch launch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(launch);
        var windows = OperatingSystem.IsWindows();
        var start = new ProcessStartInfo(windows ? "cmd" : "bash")
        {
            WorkingDirectory = launch.Project.Directory,
            UseShellExecute = false,
            RedirectStandardOutput = _output is not null,
            RedirectStandardError = _error is not null,
        };
        start.ArgumentList.Add(windows ? "/c" : "-c");
        start.ArgumentList.Add(launch.Command);
        foreach (var (key, value) in launch.Environment)
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new ProjectExecutionException("The command could not be started: " + launch.Command);
        return Task.FromResult<ISubmittedProjectRun>(new LocalSubmittedRun(launch.RunId, process, _output, _error));
    }

    private sealed class LocalSubmittedRun : ISubmittedProjectRun
    {
        private readonly Process _process;
        private readonly Task _pumps;

        public LocalSubmittedRun(string runId, Process process, TextWriter? output, TextWriter? error)
        {
            RunId = runId;
            _process = process;
            _pumps = Task.WhenAll(
                output is null ? Task.CompletedTask : PumpAsync(process.StandardOutput, output),
                error is null ? Task.CompletedTask : PumpAsync(process.StandardError, error));
        }

        public string RunId { get; }

        public async Task<bool> WaitAsync(CancellationToken cancellationToken)
        {
            await _process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            await _pumps.WaitAsync(cancellationToken).ConfigureAwait(false);
            return _process.ExitCode == 0;
        }

        public async Task CancelAsync(CancellationToken cancellationToken)
        {
            if (_process.HasExited)
            {
                return;
            }

            var tree = OperatingSystem.IsLinux() ? Descendants(_process.Id) : [];
            if (!OperatingSystem.IsWindows())
            {
                // SIGTERM to the shell and everything it started: the command may end its run itself.
                foreach (var pid in tree.Prepend(_process.Id))
                {
                    _ = Kill(pid, 15);
                }
            }

            using var grace = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            grace.CancelAfter(OperatingSystem.IsWindows() ? TimeSpan.Zero : CancelGracePeriod);
            try
            {
                await _process.WaitForExitAsync(grace.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            }

            foreach (var pid in tree)
            {
                _ = Kill(pid, 9); // what outlived the shell (its parent gone, it would run on unowned)
            }
        }

        /// <summary>The processes below <paramref name="root"/>, from <c>/proc/*/stat</c>'s parent ids.</summary>
        private static List<int> Descendants(int root)
        {
            var parents = new Dictionary<int, int>();
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out var pid))
                {
                    continue;
                }

                try
                {
                    var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                    parents[pid] = int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or ArgumentOutOfRangeException or IndexOutOfRangeException)
                {
                    // Gone meanwhile.
                }
            }

            var result = new List<int>();
            var frontier = new Queue<int>([root]);
            while (frontier.Count > 0)
            {
                var parent = frontier.Dequeue();
                foreach (var (pid, ppid) in parents)
                {
                    if (ppid == parent && pid != root && !result.Contains(pid))
                    {
                        result.Add(pid);
                        frontier.Enqueue(pid);
                    }
                }
            }

            return result;
        }

        public ValueTask DisposeAsync()
        {
            _process.Dispose();
            return ValueTask.CompletedTask;
        }

        private static async Task PumpAsync(StreamReader reader, TextWriter writer)
        {
            while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                await writer.WriteLineAsync(line).ConfigureAwait(false);
            }
        }

        [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
#pragma warning disable SYSLIB1054 // blittable; the package compiles without unsafe code
        private static extern int Kill(int pid, int signal);
#pragma warning restore SYSLIB1054
    }
}
