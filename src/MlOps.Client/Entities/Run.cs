namespace MlOps.Client;

/// <summary>An MLflow run: its metadata, its data (metrics, params, tags) and its inputs.</summary>
public sealed class Run
{
    /// <summary>Run metadata.</summary>
    public RunInfo Info { get; init => field = value ?? new(); } = new();

    /// <summary>The latest value of each metric, the params and the tags.</summary>
    public RunData Data { get; init => field = value ?? new(); } = new();

    /// <summary>Datasets (and, on MLflow 3, models) used as inputs of the run.</summary>
    public RunInputs Inputs { get; init => field = value ?? new(); } = new();

    /// <summary>The run's outputs: the MLflow 3 logged models it produced (empty on MLflow 2.x).</summary>
    public RunOutputs Outputs { get; init => field = value ?? new(); } = new();

    /// <inheritdoc />
    public override string ToString() => Info.ToString();
}

/// <summary>Metadata of a run (<c>mlflow.entities.RunInfo</c>).</summary>
public sealed class RunInfo
{
    /// <summary>The run id (32 hex characters on a tracking server).</summary>
    public string RunId { get; init => field = value ?? ""; } = "";

    /// <summary>The id of the experiment the run belongs to.</summary>
    public string ExperimentId { get; init => field = value ?? ""; } = "";

    /// <summary>The run's name.</summary>
    public string? RunName { get; init; }

    /// <summary>The user who created the run (empty when not sent).</summary>
    public string? UserId { get; init; }

    /// <summary>The run's status.</summary>
    public RunStatus Status { get; init; } = RunStatus.Running;

    /// <summary>Start time in milliseconds since the Unix epoch.</summary>
    public long? StartTime { get; init; }

    /// <summary>End time in milliseconds since the Unix epoch, when the run has ended.</summary>
    public long? EndTime { get; init; }

    /// <summary>Root of the run's artifacts, e.g. <c>mlflow-artifacts:/1/&lt;run id&gt;/artifacts</c>.</summary>
    public string? ArtifactUri { get; init; }

    /// <summary><c>active</c> or <c>deleted</c>.</summary>
    public string? LifecycleStage { get; init; }

    /// <inheritdoc />
    public override string ToString() => $"Run {RunId} '{RunName}' in experiment {ExperimentId} ({Status})";
}

/// <summary>Metrics (latest value per key), params and tags of a run.</summary>
public sealed class RunData
{
    /// <summary>The latest value of each metric.</summary>
    public IReadOnlyList<Metric> Metrics { get; init => field = value ?? []; } = [];

    /// <summary>The run's params.</summary>
    public IReadOnlyList<Param> Params { get; init => field = value ?? []; } = [];

    /// <summary>The run's tags, system tags (<c>mlflow.*</c>) included.</summary>
    public IReadOnlyList<RunTag> Tags { get; init => field = value ?? []; } = [];

    /// <summary>Returns the value of tag <paramref name="key"/>, or <see langword="null"/>.</summary>
    /// <param name="key">The tag key.</param>
    public string? GetTag(string key)
    {
        foreach (var tag in Tags)
        {
            if (string.Equals(tag.Key, key, StringComparison.Ordinal))
            {
                return tag.Value;
            }
        }

        return null;
    }

    /// <summary>Returns the value of param <paramref name="key"/>, or <see langword="null"/>.</summary>
    /// <param name="key">The param key.</param>
    public string? GetParam(string key)
    {
        foreach (var param in Params)
        {
            if (string.Equals(param.Key, key, StringComparison.Ordinal))
            {
                return param.Value;
            }
        }

        return null;
    }
}

/// <summary>The inputs of a run.</summary>
public sealed class RunInputs
{
    /// <summary>Datasets logged with <c>log-inputs</c>.</summary>
    public IReadOnlyList<DatasetInput> DatasetInputs { get; init => field = value ?? []; } = [];

    /// <summary>MLflow 3 logged models the run used as inputs.</summary>
    public IReadOnlyList<LoggedModelInput> ModelInputs { get; init => field = value ?? []; } = [];
}

/// <summary>The outputs of a run (MLflow 3).</summary>
public sealed class RunOutputs
{
    /// <summary>The logged models the run produced, with the step each was produced at (<c>runs/outputs</c>).</summary>
    public IReadOnlyList<LoggedModelOutput> ModelOutputs { get; init => field = value ?? []; } = [];
}

/// <summary>A logged model produced by a run at a step (MLflow's <c>LoggedModelOutput</c>).</summary>
/// <param name="ModelId">The logged model.</param>
/// <param name="Step">The step.</param>
public sealed record LoggedModelOutput(string ModelId, long Step);

/// <summary>A logged model used by a run (MLflow's <c>LoggedModelInput</c>).</summary>
/// <param name="ModelId">The logged model.</param>
public sealed record LoggedModelInput(string ModelId);

/// <summary>A metric value at a step and time (<c>mlflow.entities.Metric</c>).</summary>
/// <param name="Key">The metric name.</param>
/// <param name="Value">The value; NaN and infinities are allowed (the server clamps infinities to ±<see cref="double.MaxValue"/>).</param>
/// <param name="Timestamp">Milliseconds since the Unix epoch when the value was logged.</param>
/// <param name="Step">The training step (0 when not given).</param>
/// <remarks>
/// MLflow 3 links a metric to a logged model and to the dataset it was measured on (<see cref="ModelId"/>,
/// <see cref="DatasetName"/>, <see cref="DatasetDigest"/>); the linked metrics show on the model. MLflow 2.x servers
/// ignore these fields.
/// </remarks>
public sealed record Metric(string Key, double Value, long Timestamp, long Step = 0)
{
    /// <summary>The run that logged it, where the server says (a logged model's metrics carry it).</summary>
    public string? RunId { get; init; }

    /// <summary>The MLflow 3 logged model (<c>m-…</c>) the value belongs to, or <see langword="null"/>.</summary>
    public string? ModelId { get; init; }

    /// <summary>The name of the dataset the value was measured on, or <see langword="null"/>.</summary>
    public string? DatasetName { get; init; }

    /// <summary>The digest of that dataset, or <see langword="null"/>.</summary>
    public string? DatasetDigest { get; init; }
}

/// <summary>A run parameter. Params are immutable once logged.</summary>
/// <param name="Key">The param key.</param>
/// <param name="Value">The value, as a string.</param>
public sealed record Param(string Key, string Value);

/// <summary>A run tag. Tags may be overwritten.</summary>
/// <param name="Key">The tag key.</param>
/// <param name="Value">The tag value.</param>
public sealed record RunTag(string Key, string Value);

/// <summary>The status of a run.</summary>
public enum RunStatus
{
    /// <summary>The run is in progress.</summary>
    Running,

    /// <summary>The run is scheduled but has not started.</summary>
    Scheduled,

    /// <summary>The run ended normally.</summary>
    Finished,

    /// <summary>The run ended with an error.</summary>
    Failed,

    /// <summary>The run was cancelled.</summary>
    Killed,
}

/// <summary>A dataset (<c>mlflow.entities.Dataset</c>). <see cref="Source"/>, <see cref="Schema"/> and <see cref="Profile"/> are JSON strings.</summary>
public sealed class Dataset
{
    /// <summary>The dataset name.</summary>
    public string Name { get; init => field = value ?? ""; } = "";

    /// <summary>A digest identifying the dataset's content (at most 36 characters).</summary>
    public string? Digest { get; init; }

    /// <summary>The kind of source, e.g. <c>local</c>, <c>http</c>, <c>code</c>.</summary>
    public string SourceType { get; init => field = value ?? ""; } = "";

    /// <summary>The source, as a JSON string, e.g. <c>{"uri": "data/iris.csv"}</c>.</summary>
    public string Source { get; init => field = value ?? ""; } = "";

    /// <summary>The schema, as a JSON string (optional).</summary>
    public string? Schema { get; init; }

    /// <summary>A profile (row counts, statistics), as a JSON string (optional).</summary>
    public string? Profile { get; init; }
}

/// <summary>A dataset used by a run, with input tags such as <c>mlflow.data.context</c>.</summary>
public sealed class DatasetInput
{
    /// <summary>Tags of this use of the dataset, e.g. <c>mlflow.data.context</c> = <c>train</c>.</summary>
    public IReadOnlyList<InputTag> Tags { get; init => field = value ?? []; } = [];

    /// <summary>The dataset.</summary>
    public Dataset Dataset { get; init => field = value ?? new(); } = new();
}

/// <summary>A tag on a dataset input.</summary>
/// <param name="Key">The tag key.</param>
/// <param name="Value">The tag value.</param>
public sealed record InputTag(string Key, string Value);

/// <summary>Well-known tag keys that MLflow and its UI use.</summary>
public static class MlflowTags
{
    /// <summary><c>mlflow.runName</c>.</summary>
    public const string RunName = "mlflow.runName";

    /// <summary><c>mlflow.parentRunId</c>: makes a run a child of another in the UI.</summary>
    public const string ParentRunId = "mlflow.parentRunId";

    /// <summary><c>mlflow.user</c>.</summary>
    public const string User = "mlflow.user";

    /// <summary><c>mlflow.source.name</c>.</summary>
    public const string SourceName = "mlflow.source.name";

    /// <summary><c>mlflow.source.type</c> (<c>LOCAL</c>, <c>NOTEBOOK</c>, <c>JOB</c>, <c>PROJECT</c>).</summary>
    public const string SourceType = "mlflow.source.type";

    /// <summary><c>mlflow.source.git.commit</c>.</summary>
    public const string GitCommit = "mlflow.source.git.commit";

    /// <summary><c>mlflow.source.git.branch</c>.</summary>
    public const string GitBranch = "mlflow.source.git.branch";

    /// <summary><c>mlflow.source.git.repoURL</c>.</summary>
    public const string GitRepoUrl = "mlflow.source.git.repoURL";

    /// <summary><c>mlflow.note.content</c>: the run's description in the UI.</summary>
    public const string NoteContent = "mlflow.note.content";

    /// <summary><c>mlflow.log-model.history</c>: JSON array of the models logged in the run.</summary>
    public const string LogModelHistory = "mlflow.log-model.history";

    /// <summary><c>mlflow.loggedArtifacts</c>: the tables a run logged (<c>[{"path": …, "type": "table"}]</c>), which the MLflow UI shows.</summary>
    public const string LoggedArtifacts = "mlflow.loggedArtifacts";

    /// <summary><c>mlflow.loggedImages</c>: <c>True</c> once the run logged an image series (<c>log_image</c> with a key), which the MLflow UI shows.</summary>
    public const string LoggedImages = "mlflow.loggedImages";

    /// <summary>On an MLflow 3 logged model: the registered versions made from it, a JSON list of <c>{"name", "version"}</c>.</summary>
    public const string ModelVersions = "mlflow.modelVersions";

    /// <summary><c>mlflow.data.context</c>: input tag saying how a dataset was used (train, eval…).</summary>
    public const string DatasetContext = "mlflow.data.context";
}
