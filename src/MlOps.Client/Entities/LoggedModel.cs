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
}

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
