namespace MlOps.Client;

/// <summary>An MLflow 3 logged model (<c>/api/2.0/mlflow/logged-models</c>): a model entity of its own, with artifacts.</summary>
public sealed class LoggedModel
{
    /// <summary>The id, <c>m-&lt;32 hex&gt;</c>.</summary>
    public string ModelId { get; init => field = value ?? ""; } = "";

    /// <summary>The experiment.</summary>
    public string ExperimentId { get; init => field = value ?? ""; } = "";

    /// <summary>The name.</summary>
    public string? Name { get; init; }

    /// <summary>Where its files go, e.g. <c>mlflow-artifacts:/1/models/&lt;model id&gt;/artifacts</c>.</summary>
    public string? ArtifactUri { get; init; }

    /// <summary><c>LOGGED_MODEL_PENDING</c>, <c>LOGGED_MODEL_READY</c> or <c>LOGGED_MODEL_UPLOAD_FAILED</c>.</summary>
    public string? Status { get; init; }

    /// <summary>The model type, e.g. <c>Classifier</c>.</summary>
    public string? ModelType { get; init; }

    /// <summary>The run that produced it.</summary>
    public string? SourceRunId { get; init; }

    /// <summary>Creation time in milliseconds since the Unix epoch.</summary>
    public long? CreationTimestampMs { get; init; }

    /// <summary>Last update time in milliseconds since the Unix epoch.</summary>
    public long? LastUpdatedTimestampMs { get; init; }

    /// <summary>The model's tags.</summary>
    public IReadOnlyList<LoggedModelTag> Tags { get; init => field = value ?? []; } = [];

    /// <summary>The model's params (from the response's <c>data</c>).</summary>
    public IReadOnlyList<Param> Params { get; init => field = value ?? []; } = [];

    /// <summary>The metrics linked to the model (from the response's <c>data</c>).</summary>
    public IReadOnlyList<Metric> Metrics { get; init => field = value ?? []; } = [];

    /// <summary>Returns the value of tag <paramref name="key"/>, or <see langword="null"/>.</summary>
    /// <param name="key">The tag key.</param>
    public string? GetTag(string key) => Tags.FirstOrDefault(t => string.Equals(t.Key, key, StringComparison.Ordinal))?.Value;

    /// <inheritdoc/>
    public override string ToString() => $"LoggedModel {ModelId} '{Name}' in experiment {ExperimentId} ({Status})";
}

/// <summary>A tag of a logged model.</summary>
/// <param name="Key">The key.</param>
/// <param name="Value">The value.</param>
public sealed record LoggedModelTag(string Key, string Value);

/// <summary>The statuses of an MLflow 3 logged model (MLflow's <c>LoggedModelStatus</c>: <c>LOGGED_MODEL_PENDING</c>, <c>…_READY</c>, <c>…_UPLOAD_FAILED</c>).</summary>
public enum LoggedModelStatus
{
    /// <summary>Created; its files are being uploaded.</summary>
    Pending,

    /// <summary>Its files are uploaded: it can be loaded.</summary>
    Ready,

    /// <summary>The upload of its files failed.</summary>
    UploadFailed,
}
