using System.Globalization;
using MlOps.Client.Artifacts;
using MlOps.Client.Configuration;
using MlOps.Client.Stores;
using MlOps.Client.Tracking;

namespace MlOps.Client.Projects;

/// <summary>
/// Runs MLflow projects as Python's <c>mlflow run</c> does (<c>mlflow/projects/__init__.py</c>): finds or fetches the
/// project, checks the entry point and its parameters (a mistake fails before any run exists), creates the run with the
/// tags Python's launcher sets (<c>mlflow.source.type</c> PROJECT, <c>mlflow.source.name</c>, git commit, repository
/// URL and branch, <c>mlflow.project.entryPoint</c>, <c>mlflow.project.backend</c>, <c>mlflow.user</c>) and every
/// parameter (declared ones with their defaults, then the extras; values quoted for the shell, as Python logs them),
/// starts the command on the backend with <c>MLFLOW_RUN_ID</c>, <c>MLFLOW_TRACKING_URI</c> and
/// <c>MLFLOW_EXPERIMENT_ID</c>, and ends the run with the command's outcome — FINISHED, FAILED, or KILLED when
/// cancelled — unless the command ended it itself.
/// </summary>
public sealed class ProjectRunner : IAsyncDisposable
{
    private readonly ITrackingStore _store;
    private readonly bool _ownsStore;
    private readonly MlflowClientOptions _options;

    /// <summary>A runner for the tracking store <paramref name="options"/> name (the <c>MLFLOW_*</c> environment when not given).</summary>
    /// <param name="options">The tracking URI and credentials.</param>
    public ProjectRunner(MlflowClientOptions? options = null)
        : this(options ?? MlflowClientOptions.FromEnvironment(), null)
    {
    }

    internal ProjectRunner(MlflowClientOptions options, ITrackingStore? store)
    {
        _options = options;
        _store = store ?? TrackingStores.Open(options);
        _ownsStore = store is null;
    }

    /// <summary>The tracking URI the command gets (<c>MLFLOW_TRACKING_URI</c>): the launcher's, with a relative <c>sqlite:///</c> path made absolute (the command runs in the project's folder).</summary>
    public string TrackingUri
    {
        get
        {
            var uri = string.IsNullOrWhiteSpace(_options.TrackingUri) ? TrackingStores.DefaultUri : _options.TrackingUri.Trim();
            if (uri.StartsWith("sqlite:///", StringComparison.OrdinalIgnoreCase) && !uri.StartsWith("sqlite:////", StringComparison.OrdinalIgnoreCase))
            {
                var path = uri["sqlite:///".Length..];
                if (!Path.IsPathRooted(path) && !path.StartsWith(':'))
                {
                    return "sqlite:///" + Path.GetFullPath(path).Replace('\\', '/');
                }
            }

            return uri;
        }
    }

    /// <summary>Runs the project and waits for its end.</summary>
    /// <param name="options">What to run.</param>
    /// <param name="cancellationToken">Cancels the command (SIGTERM, then SIGKILL after a grace period; a Job is deleted): the run ends KILLED.</param>
    /// <returns>The run and how it ended.</returns>
    /// <exception cref="ProjectExecutionException">The project cannot run as asked (no run is created), or its command could not be started (the run ends FAILED).</exception>
    public async Task<ProjectRunResult> RunAsync(ProjectRunOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.ExperimentName is not null && options.ExperimentId is not null)
        {
            throw new ArgumentException("Specify only one of 'experiment_name' or 'experiment_id'.", nameof(options));
        }

        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        var order = new List<KeyValuePair<string, string>>();
        foreach (var (key, value) in options.Parameters)
        {
            if (!parameters.TryAdd(key, value))
            {
                throw new ProjectExecutionException($"Repeated parameter: '{key}'");
            }

            order.Add(new(key, value));
        }

        var backend = options.Backend ?? new LocalProjectBackend();
        using var source = await ProjectSource.FetchAsync(options.Uri, options.Version, cancellationToken).ConfigureAwait(false);
        var project = MlProject.Load(source.Directory);
        var entryPoint = project.GetEntryPoint(options.EntryPoint);
        var values = entryPoint.ResolveParameters(new OrderedValues(order));
        var localPaths = LocalPathValues(entryPoint, values); // a missing local file fails here, before the run exists
        backend.Validate(project);
        var experimentId = await ExperimentIdAsync(options, cancellationToken).ConfigureAwait(false);

        var create = new CreateRunOptions { RunName = options.RunName, UserId = SystemTags.SafeUserName() };
        foreach (var (key, value) in Tags(options, source, backend, project))
        {
            create.Tags[key] = value;
        }

        var run = await _store.CreateRunAsync(experimentId, create, cancellationToken).ConfigureAwait(false);
        var runId = run.Info.RunId;
        var status = RunStatus.Failed;
        try
        {
            var logged = ProjectEntryPoint.LoggedParameters(values).Select(p => new Param(p.Key, p.Value)).ToList();
            if (logged.Count > 0)
            {
                await _store.LogBatchAsync(runId, [], logged, [], cancellationToken).ConfigureAwait(false);
            }

            var commandValues = await PathValuesAsync(entryPoint, values, localPaths, options, runId, cancellationToken).ConfigureAwait(false);
            var command = entryPoint.FormatCommand(commandValues);
            var environment = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [MlflowEnvironment.RunId] = runId,
                [MlflowEnvironment.TrackingUri] = TrackingUri,
                [MlflowEnvironment.ExperimentId] = experimentId,
            };
            options.Messages?.WriteLine($"=== Running command '{command}' in run with ID '{runId}' === ");
            var launch = new ProjectLaunch(project, entryPoint, command, runId, experimentId, environment) { Messages = options.Messages };
            await using var submitted = await backend.SubmitAsync(launch, cancellationToken).ConfigureAwait(false);
            try
            {
                var succeeded = await submitted.WaitAsync(cancellationToken).ConfigureAwait(false);
                status = succeeded ? RunStatus.Finished : RunStatus.Failed;
                options.Messages?.WriteLine(succeeded ? $"=== Run (ID '{runId}') succeeded ===" : $"=== Run (ID '{runId}') failed ===");
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                options.Messages?.WriteLine($"=== Run (ID '{runId}') interrupted, cancelling run ===");
                await submitted.CancelAsync(CancellationToken.None).ConfigureAwait(false);
                status = RunStatus.Killed;
            }
        }
        finally
        {
            // The command may have ended the run itself (its tracker's status wins); else the command's outcome.
            var current = await _store.GetRunAsync(runId, CancellationToken.None).ConfigureAwait(false);
            if (current.Info.Status is RunStatus.Running or RunStatus.Scheduled)
            {
                await _store.UpdateRunAsync(runId, status, DateTimeOffset.UtcNow, null, CancellationToken.None).ConfigureAwait(false);
            }
            else
            {
                status = current.Info.Status;
            }
        }

        return new ProjectRunResult(runId, experimentId, status);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_ownsStore)
        {
            await _store.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static Dictionary<string, string> Tags(ProjectRunOptions options, ProjectSource source, IProjectBackend backend, MlProject project)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [MlflowTags.User] = SystemTags.SafeUserName(),
            [MlflowTags.SourceName] = source.SourceName,
            [MlflowTags.SourceType] = "PROJECT",
            [ProjectTags.EntryPoint] = options.EntryPoint,
            [ProjectTags.Backend] = backend.Name,
        };
        if (source.Git is { } git)
        {
            tags[MlflowTags.GitCommit] = git.Commit;
            if (git.RepoUrl is { } url)
            {
                tags[MlflowTags.GitRepoUrl] = url;
            }
        }

        if (source.Branch is { } branch)
        {
            tags[MlflowTags.GitBranch] = branch;
        }

        if (options.ParentRunId is { } parent)
        {
            tags[MlflowTags.ParentRunId] = parent;
        }

        foreach (var (key, value) in backend.RunTags(project))
        {
            tags[key] = value;
        }

        if (options.RecordDvcDigests)
        {
            foreach (var (path, md5) in Dvc.DvcProvenance.Digests(project.Directory))
            {
                tags[ProjectTags.DvcPrefix + path] = md5;
            }
        }

        foreach (var (key, value) in options.Tags)
        {
            tags[key] = value;
        }

        return tags;
    }

    private Task<string> ExperimentIdAsync(ProjectRunOptions options, CancellationToken cancellationToken) =>
        ExperimentChoice.ResolveAsync(
            options.ExperimentId, options.ExperimentName,
            async (name, ct) => (await _store.FindExperimentByNameAsync(name, ct).ConfigureAwait(false))?.ExperimentId,
            (name, ct) => _store.CreateExperimentAsync(name, null, null, ct),
            name => options.Messages?.WriteLine($"Experiment '{name}' does not exist. Creating a new experiment"),
            cancellationToken);

    /// <summary><c>path</c> parameters given as local paths (no scheme, or <c>file:</c>): they must exist, and are made absolute (against the launcher's folder, as Python does).</summary>
    private static Dictionary<string, string> LocalPathValues(ProjectEntryPoint entryPoint, ProjectParameterValues values)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in entryPoint.Parameters.Where(p => p.Type == "path"))
        {
            var value = values.Declared.First(v => v.Key == p.Name).Value;
            string? local = !ProjectEntryPoint.HasScheme(value) ? value
                : value.StartsWith("file:", StringComparison.OrdinalIgnoreCase) && !value.StartsWith("file://", StringComparison.OrdinalIgnoreCase) ? value[5..]
                : value.StartsWith("file:///", StringComparison.OrdinalIgnoreCase) ? new Uri(value).LocalPath
                : null;
            if (local is null)
            {
                continue;
            }

            if (!File.Exists(local) && !Directory.Exists(local))
            {
                throw new ProjectExecutionException($"Got value {value} for parameter {p.Name}, but no such file or directory was found.");
            }

            result[p.Name] = Path.GetFullPath(local);
        }

        return result;
    }

    /// <summary>The command's values: local paths absolute, remote <c>path</c> values downloaded into <c>&lt;storage&gt;/param_&lt;i&gt;</c> (Python's layout).</summary>
    private async Task<ProjectParameterValues> PathValuesAsync(
        ProjectEntryPoint entryPoint, ProjectParameterValues values, Dictionary<string, string> localPaths, ProjectRunOptions options, string runId, CancellationToken cancellationToken)
    {
        var declared = new List<KeyValuePair<string, string>>(values.Declared.Count);
        string? storage = null;
        for (var i = 0; i < values.Declared.Count; i++)
        {
            var (key, value) = values.Declared[i];
            var parameter = entryPoint.Parameters[i];
            if (parameter.Type != "path")
            {
                declared.Add(new(key, value));
                continue;
            }

            if (localPaths.TryGetValue(key, out var local))
            {
                declared.Add(new(key, local));
                continue;
            }

            if (storage is null)
            {
                var parent = options.StorageDirectory ?? Path.GetTempPath();
                Directory.CreateDirectory(parent);
                storage = Path.Combine(parent, "mlops-project-" + runId);
                Directory.CreateDirectory(storage);
                options.Messages?.WriteLine($"=== Created directory {storage} for downloading remote URIs passed to arguments of type 'path' ===");
            }

            var target = Path.Combine(storage, "param_" + i.ToString(CultureInfo.InvariantCulture));
            Directory.CreateDirectory(target);
            value = await ResolveRunsUriAsync(value, cancellationToken).ConfigureAwait(false);
            var slash = value.TrimEnd('/').LastIndexOf('/');
            var (root, name) = slash > 0 && !value[..slash].EndsWith(':') && !value[..slash].EndsWith("//", StringComparison.Ordinal)
                ? (value[..slash], value[(slash + 1)..].TrimEnd('/'))
                : (value.TrimEnd('/'), (string?)null);
            try
            {
                var repository = _store.ArtifactsFor(root); // the store knows its server (a proxied URI needs its client)
                declared.Add(new(key, await repository.DownloadAsync(name, target, cancellationToken: cancellationToken).ConfigureAwait(false)));
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not ProjectExecutionException)
            {
                throw new ProjectExecutionException($"Could not download {ProjectSource.WithoutCredentials(value)} for parameter {key}: {ex.Message}", ex);
            }
        }

        return new ProjectParameterValues(declared, values.Extra);
    }

    /// <summary><c>runs:/&lt;run id&gt;/&lt;path&gt;</c> as the run's artifact location and that path (Python's <c>RunsArtifactRepository</c>); other URIs as they are.</summary>
    private async Task<string> ResolveRunsUriAsync(string value, CancellationToken cancellationToken)
    {
        if (!value.StartsWith("runs:/", StringComparison.OrdinalIgnoreCase))
        {
            return value;
        }

        var rest = value["runs:/".Length..].TrimStart('/');
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var runId = slash < 0 ? rest : rest[..slash];
        var path = slash < 0 ? string.Empty : rest[(slash + 1)..];
        var run = await _store.GetRunAsync(runId, cancellationToken).ConfigureAwait(false);
        var root = run.Info.ArtifactUri ?? throw new ProjectExecutionException($"Run {runId} has no artifact location, so {value} cannot be downloaded.");
        return root.TrimEnd('/') + (path.Length > 0 ? "/" + path : string.Empty);
    }

    /// <summary>The given values as a dictionary that enumerates in the order given (the extras' order on the command line).</summary>
    private sealed class OrderedValues(List<KeyValuePair<string, string>> order) : IReadOnlyDictionary<string, string>
    {
        private readonly Dictionary<string, string> _map = order.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

        public string this[string key] => _map[key];

        public IEnumerable<string> Keys => order.Select(p => p.Key);

        public IEnumerable<string> Values => order.Select(p => p.Value);

        public int Count => order.Count;

        public bool ContainsKey(string key) => _map.ContainsKey(key);

        public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out string value) => _map.TryGetValue(key, out value);

        public IEnumerator<KeyValuePair<string, string>> GetEnumerator() => order.GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}

/// <summary>The tags a project run carries besides MLflow's general ones (<see cref="MlflowTags"/>).</summary>
public static class ProjectTags
{
    /// <summary><c>mlflow.project.entryPoint</c>: the entry point as given.</summary>
    public const string EntryPoint = "mlflow.project.entryPoint";

    /// <summary><c>mlflow.project.env</c>: <c>docker</c>, <c>conda</c>, <c>virtualenv</c> — set only when an environment was built for the run.</summary>
    public const string Environment = "mlflow.project.env";

    /// <summary><c>mlflow.project.backend</c>: <c>local</c>, <c>kubernetes</c>.</summary>
    public const string Backend = "mlflow.project.backend";

    /// <summary><c>mlflow.docker.image.uri</c>: the image a Kubernetes Job ran.</summary>
    public const string DockerImageUri = "mlflow.docker.image.uri";

    /// <summary>The prefix of the DVC digest tags: <c>mlops.dvc.&lt;tracked path&gt;</c> = the md5 DVC recorded.</summary>
    public const string DvcPrefix = "mlops.dvc.";
}
