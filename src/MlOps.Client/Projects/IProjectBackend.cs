namespace MlOps.Client.Projects;

/// <summary>
/// Where a project's command runs: <see cref="LocalProjectBackend"/> (a process on this machine) or a cluster
/// (<c>MlOps.Client.Kubernetes</c>'s Jobs). The run exists before the backend is asked: the backend starts the command
/// with <see cref="ProjectLaunch.Environment"/> so that the tracker inside attaches to that run.
/// </summary>
public interface IProjectBackend
{
    /// <summary>The backend's name, recorded as <c>mlflow.project.backend</c> (<c>local</c>, <c>kubernetes</c>).</summary>
    string Name { get; }

    /// <summary>The tags this backend adds to the run, as Python MLflow's backend sets them (<c>mlflow.project.env</c>, <c>mlflow.docker.image.uri</c>…).</summary>
    /// <param name="project">The project.</param>
    IReadOnlyDictionary<string, string> RunTags(MlProject project);

    /// <summary>Throws when this backend cannot run the project (before the run is created).</summary>
    /// <param name="project">The project.</param>
    /// <exception cref="ProjectExecutionException">The project cannot run here (the message says why).</exception>
    void Validate(MlProject project);

    /// <summary>Starts the command.</summary>
    /// <param name="launch">What to run, where, with which environment.</param>
    /// <param name="cancellationToken">Cancels the submission (not the started run: see <see cref="ISubmittedProjectRun.CancelAsync"/>).</param>
    Task<ISubmittedProjectRun> SubmitAsync(ProjectLaunch launch, CancellationToken cancellationToken);
}

/// <summary>A started project command.</summary>
public interface ISubmittedProjectRun : IAsyncDisposable
{
    /// <summary>The MLflow run it reports to.</summary>
    string RunId { get; }

    /// <summary>Waits for the end: <see langword="true"/> when the command succeeded.</summary>
    /// <param name="cancellationToken">Stops waiting (the command goes on: cancel it with <see cref="CancelAsync"/>).</param>
    Task<bool> WaitAsync(CancellationToken cancellationToken);

    /// <summary>Stops the command (terminate, then kill after a grace period; a Job is deleted).</summary>
    /// <param name="cancellationToken">Stops waiting for it to stop.</param>
    Task CancelAsync(CancellationToken cancellationToken);
}

/// <summary>What a backend starts.</summary>
public sealed class ProjectLaunch
{
    /// <summary>Creates the launch.</summary>
    /// <param name="project">The project.</param>
    /// <param name="entryPoint">The entry point.</param>
    /// <param name="command">The command line (parameters substituted and quoted).</param>
    /// <param name="runId">The run.</param>
    /// <param name="experimentId">The run's experiment.</param>
    /// <param name="environment">The variables the command gets besides the launcher's own: <c>MLFLOW_RUN_ID</c>, <c>MLFLOW_TRACKING_URI</c>, <c>MLFLOW_EXPERIMENT_ID</c>.</param>
    public ProjectLaunch(MlProject project, ProjectEntryPoint entryPoint, string command, string runId, string experimentId, IReadOnlyDictionary<string, string> environment)
    {
        Project = project;
        EntryPoint = entryPoint;
        Command = command;
        RunId = runId;
        ExperimentId = experimentId;
        Environment = environment;
    }

    /// <summary>The project (its folder is the working directory).</summary>
    public MlProject Project { get; }

    /// <summary>The entry point.</summary>
    public ProjectEntryPoint EntryPoint { get; }

    /// <summary>The command line.</summary>
    public string Command { get; }

    /// <summary>The run.</summary>
    public string RunId { get; }

    /// <summary>The run's experiment.</summary>
    public string ExperimentId { get; }

    /// <summary>The MLflow variables in Python's order: <c>MLFLOW_RUN_ID</c>, <c>MLFLOW_TRACKING_URI</c>, <c>MLFLOW_EXPERIMENT_ID</c>.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; }

    /// <summary>Where the backend reports (a notice per state change, the Job's log lines); the console's standard error when not set.</summary>
    public TextWriter? Messages { get; init; }
}
