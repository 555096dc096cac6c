namespace MlOps.Client;

/// <summary>An MLflow experiment: a named group of runs (<c>mlflow.entities.Experiment</c>).</summary>
public sealed class Experiment
{
    /// <summary>The experiment id (a string; the SQL store counts from <c>"0"</c>, the default experiment).</summary>
    public string ExperimentId { get; init => field = value ?? ""; } = "";

    /// <summary>The unique experiment name.</summary>
    public string Name { get; init => field = value ?? ""; } = "";

    /// <summary>Where the runs of this experiment store their artifacts, e.g. <c>mlflow-artifacts:/1</c>.</summary>
    public string? ArtifactLocation { get; init; }

    /// <summary><c>active</c> or <c>deleted</c>.</summary>
    public string? LifecycleStage { get; init; }

    /// <summary>Last update time in milliseconds since the Unix epoch.</summary>
    public long? LastUpdateTime { get; init; }

    /// <summary>Creation time in milliseconds since the Unix epoch.</summary>
    public long? CreationTime { get; init; }

    /// <summary>The experiment's tags.</summary>
    public IReadOnlyList<ExperimentTag> Tags { get; init => field = value ?? []; } = [];

    /// <inheritdoc />
    public override string ToString() => $"Experiment {ExperimentId} '{Name}' ({LifecycleStage})";
}

/// <summary>A tag on an experiment.</summary>
/// <param name="Key">The tag key.</param>
/// <param name="Value">The tag value.</param>
public sealed record ExperimentTag(string Key, string Value);

/// <summary>Which experiments or runs a search returns, by lifecycle stage (<c>ViewType</c> in MLflow).</summary>
public enum ViewType
{
    /// <summary>Only active entities (the default).</summary>
    ActiveOnly,

    /// <summary>Only deleted entities.</summary>
    DeletedOnly,

    /// <summary>Active and deleted entities.</summary>
    All,
}
