using MlOps.Client.Rest;

namespace MlOps.Client;

public partial class MlflowClient
{
    private int _loggedModelsSupport; // 0 unknown, 1 supported, -1 not (MLflow 2.x)

    /// <summary>
    /// Creates an MLflow 3 logged model (<c>POST logged-models</c>, Python's <c>MlflowClient.create_logged_model</c>).
    /// A server without the logged-model API (MLflow 2.x) refuses it with an <see cref="MlflowException"/> (404), as it
    /// does Python's call.
    /// </summary>
    /// <param name="experimentId">The experiment.</param>
    /// <param name="name">The name; the server generates one when <see langword="null"/>.</param>
    /// <param name="sourceRunId">The run that produced it.</param>
    /// <param name="modelType">A type, e.g. <c>Classifier</c>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual async Task<LoggedModel> CreateLoggedModelAsync(string experimentId, string? name = null, string? sourceRunId = null, string? modelType = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(experimentId);
        var response = await PostAsync("logged-models", new CreateLoggedModelRequest(experimentId, name, modelType, sourceRunId, null, null),
            MlflowJsonContext.Default.CreateLoggedModelRequest, MlflowJsonContext.Default.LoggedModelResponse, cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _loggedModelsSupport, 1);
        return response.Model?.Info ?? throw MissingField("logged-models", "model.info");
    }

    /// <summary>
    /// Creates a logged model where the server has the API, or returns <see langword="null"/> (MLflow 2.x answers 404);
    /// the answer is remembered for this client. Used by model logging, which works on both.
    /// </summary>
    internal async Task<LoggedModel?> TryCreateLoggedModelAsync(string experimentId, string? name = null, string? sourceRunId = null, string? modelType = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(experimentId);
        if (Volatile.Read(ref _loggedModelsSupport) < 0)
        {
            return null;
        }

        try
        {
            return await CreateLoggedModelAsync(experimentId, name, sourceRunId, modelType, cancellationToken).ConfigureAwait(false);
        }
        catch (MlflowException ex) when (ex.Status is 404 or 405 && (ex.ErrorCode is null or MlflowErrorCodes.EndpointNotFound))
        {
            Volatile.Write(ref _loggedModelsSupport, -1); // an MLflow 2.x server: no logged-model API
            return null;
        }
    }

    /// <summary>Sets a logged model's final status (<c>PATCH logged-models/&lt;id&gt;</c>), e.g. <c>LOGGED_MODEL_READY</c>.</summary>
    /// <param name="modelId">The model id.</param>
    /// <param name="status">Ready (the files are uploaded) or upload failed.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual async Task<LoggedModel> FinalizeLoggedModelAsync(string modelId, LoggedModelStatus status = LoggedModelStatus.Ready, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelId);
        var wire = status switch
        {
            LoggedModelStatus.Ready => "LOGGED_MODEL_READY",
            LoggedModelStatus.UploadFailed => "LOGGED_MODEL_UPLOAD_FAILED",
            LoggedModelStatus.Pending => "LOGGED_MODEL_PENDING",
            _ => throw new ArgumentOutOfRangeException(nameof(status), status, "Unknown logged-model status."),
        };
        var response = await SendJsonAsync(HttpMethod.Patch, "logged-models/" + Uri.EscapeDataString(modelId), new FinalizeLoggedModelRequest(modelId, wire),
            MlflowJsonContext.Default.FinalizeLoggedModelRequest, MlflowJsonContext.Default.LoggedModelResponse, cancellationToken).ConfigureAwait(false);
        return response.Model?.Info ?? throw MissingField("logged-models", "model.info");
    }

    /// <summary>Links logged models to a run as its outputs (<c>POST runs/outputs</c>, MLflow 3).</summary>
    /// <param name="runId">The run.</param>
    /// <param name="modelId">The logged model.</param>
    /// <param name="step">The step the model was produced at.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task LogOutputsAsync(string runId, string modelId, long step = 0, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        ArgumentException.ThrowIfNullOrEmpty(modelId);
        return PostAsync("runs/outputs", new LogOutputsRequest(runId, [new ModelOutput(modelId, step)]), MlflowJsonContext.Default.LogOutputsRequest, cancellationToken);
    }
}
