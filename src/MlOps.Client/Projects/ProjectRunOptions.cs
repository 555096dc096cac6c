namespace MlOps.Client.Projects;

/// <summary>What <see cref="ProjectRunner.RunAsync"/> runs — the arguments of Python's <c>mlflow run</c>.</summary>
public sealed class ProjectRunOptions
{
    /// <summary>The project: a local folder, or a git URL; either with <c>#subdirectory</c>.</summary>
    public string Uri { get; set; } = ".";

    /// <summary>The entry point (<c>-e</c>): a declared one, or a script or .NET project file in the project.</summary>
    public string EntryPoint { get; set; } = "main";

    /// <summary>The git branch, tag or commit to run (<c>--version</c>).</summary>
    public string? Version { get; set; }

    /// <summary>The parameter values (<c>-P name=value</c>), in the order given: undeclared ones are appended to the command in this order.</summary>
    public IList<KeyValuePair<string, string>> Parameters { get; } = [];

    /// <summary>The experiment by name (created if missing); else <see cref="ExperimentId"/>; else <c>MLFLOW_EXPERIMENT_NAME</c>/<c>MLFLOW_EXPERIMENT_ID</c>; else the default experiment 0.</summary>
    public string? ExperimentName { get; set; }

    /// <summary>The experiment by id.</summary>
    public string? ExperimentId { get; set; }

    /// <summary>The run's name (<c>--run-name</c>); the store makes one up when not set.</summary>
    public string? RunName { get; set; }

    /// <summary>Makes the run a child of this one (<c>mlflow.parentRunId</c>): a sweep's trials.</summary>
    public string? ParentRunId { get; set; }

    /// <summary>Where <c>path</c> parameters given as remote URIs are downloaded (a new folder inside it per run); the system's temporary folder when not set.</summary>
    public string? StorageDirectory { get; set; }

    /// <summary>Where the command runs; <see cref="LocalProjectBackend"/> when not set.</summary>
    public IProjectBackend? Backend { get; set; }

    /// <summary>More tags for the run.</summary>
    public IDictionary<string, string> Tags { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Record the digests of the project's DVC-tracked data as tags (<c>mlops.dvc.&lt;path&gt;</c>); on by default.</summary>
    public bool RecordDvcDigests { get; set; } = true;

    /// <summary>Where the launcher's notices go (<c>=== Running command … ===</c>, as Python's launcher logs them); none when not set.</summary>
    public TextWriter? Messages { get; set; }
}

/// <summary>How a project run ended.</summary>
/// <param name="RunId">The run.</param>
/// <param name="ExperimentId">Its experiment.</param>
/// <param name="Status">FINISHED (the command succeeded), FAILED (it failed or could not start), KILLED (cancelled).</param>
public sealed record ProjectRunResult(string RunId, string ExperimentId, RunStatus Status);
