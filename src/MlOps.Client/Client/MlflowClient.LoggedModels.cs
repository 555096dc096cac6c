using MlOps.Client.Rest;

namespace MlOps.Client;

public partial class MlflowClient
{
    private int _loggedModelsSupport; // 0 unknown, 1 supported, -1 not (MLflow 2.x)

    /// <summary>
    /// Creates an MLflow 3 logged model in the <c>LOGGED_MODEL_PENDING</c> state (<c>POST logged-models</c>, Python's
    /// <c>MlflowClient.create_logged_model</c>). A server without the logged-model API (MLflow 2.x) refuses it with an
    /// <see cref="MlflowException"/> (404), as it does Python's call.
    /// </summary>
    /// <param name="experimentId">The experiment.</param>
    /// <param name="name">The name; the server generates one when <see langword="null"/>.</param>
    /// <param name="sourceRunId">The run that produced it.</param>
    /// <param name="tags">Tags of the model.</param>
    /// <param name="parameters">Params of the model (Python's <c>params</c>).</param>
    /// <param name="modelType">A type, e.g. <c>Classifier</c>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual async Task<LoggedModel> CreateLoggedModelAsync(
        string experimentId, string? name = null, string? sourceRunId = null, IReadOnlyDictionary<string, string>? tags = null,
        IReadOnlyDictionary<string, string>? parameters = null, string? modelType = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(experimentId);
        var request = new CreateLoggedModelRequest(experimentId, name, modelType, sourceRunId,
            parameters is null ? null : [.. parameters.Select(p => new Param(p.Key, p.Value))],
            tags is null ? null : [.. tags.Select(t => new RunTag(t.Key, t.Value))]);
        var response = await PostAsync("logged-models", request,
            MlflowJsonContext.Default.CreateLoggedModelRequest, MlflowJsonContext.Default.LoggedModelResponse, cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _loggedModelsSupport, 1);
        return response.Model?.ToEntity() ?? throw MissingField("logged-models", "model.info");
    }

    /// <summary>
    /// Creates a logged model where the server has the API, or returns <see langword="null"/> (MLflow 2.x answers 404);
    /// the answer is remembered for this client. Used by model logging, which works on both.
    /// </summary>
    internal async Task<LoggedModel?> TryCreateLoggedModelAsync(
        string experimentId, string? name, string? sourceRunId, IReadOnlyDictionary<string, string>? tags, IReadOnlyDictionary<string, string>? parameters,
        string? modelType, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(experimentId);
        if (!MayHaveLoggedModels)
        {
            return null;
        }

        try
        {
            return await CreateLoggedModelAsync(experimentId, name, sourceRunId, tags, parameters, modelType, cancellationToken).ConfigureAwait(false);
        }
        catch (MlflowException ex) when (IsMissingLoggedModelApi(ex))
        {
            Volatile.Write(ref _loggedModelsSupport, -1); // an MLflow 2.x server: no logged-model API
            return null;
        }
    }

    /// <summary><see langword="false"/> once the server answered that it has no logged-model API (MLflow 2.x).</summary>
    internal bool MayHaveLoggedModels => Volatile.Read(ref _loggedModelsSupport) >= 0;

    /// <summary>Whether <paramref name="ex"/> says the endpoint does not exist (MLflow 2.x), not that a model does not.</summary>
    internal static bool IsMissingLoggedModelApi(MlflowException ex) =>
        ex.Status is 404 or 405 && (ex.ErrorCode is null or MlflowErrorCodes.EndpointNotFound);

    /// <summary>Remembers that the server has no logged-model API.</summary>
    internal void NoteNoLoggedModels() => Volatile.Write(ref _loggedModelsSupport, -1);

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
        return response.Model?.ToEntity() ?? throw MissingField("logged-models", "model.info");
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
        return PostAsync("runs/outputs", new LogOutputsRequest(runId, [new LoggedModelOutput(modelId, step)]), MlflowJsonContext.Default.LogOutputsRequest, cancellationToken);
    }

    /// <summary>Gets a logged model with its tags, params and linked metrics (<c>GET logged-models/&lt;id&gt;</c>, Python's <c>get_logged_model</c>).</summary>
    /// <param name="modelId">The model id (<c>m-…</c>).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual async Task<LoggedModel> GetLoggedModelAsync(string modelId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelId);
        var response = await GetAsync("logged-models/" + Uri.EscapeDataString(modelId), new QueryString(), MlflowJsonContext.Default.LoggedModelResponse, cancellationToken).ConfigureAwait(false);
        return response.Model?.ToEntity() ?? throw MissingField("logged-models", "model.info");
    }

    /// <summary>
    /// Searches logged models (<c>POST logged-models/search</c>, Python's <c>search_logged_models</c>): filter on
    /// params, metrics, tags and attributes, ordered by any of them; <c>await foreach</c> follows the pages up to
    /// <see cref="SearchOptions.MaxResults"/>. Order clauses are written as for runs: <c>metrics.accuracy DESC</c>, <c>creation_timestamp</c>.
    /// </summary>
    /// <param name="query">The query (experiment ids are required).</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    public virtual MlflowPageable<LoggedModel> SearchLoggedModelsAsync(SearchLoggedModelsOptions query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        return MlflowPageable.Create<LoggedModel>((token, size, ct) => SearchLoggedModelsPageAsync(query, token, size, ct), query.MaxResults, query.PageSize, cancellationToken);
    }

    /// <summary>Fetches one page of a logged-model search.</summary>
    /// <param name="query">The query (experiment ids are required).</param>
    /// <param name="pageToken">The page token from the previous page, or <see langword="null"/> for the first.</param>
    /// <param name="pageSize">Overrides <see cref="SearchOptions.PageSize"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual async Task<MlflowPage<LoggedModel>> SearchLoggedModelsPageAsync(
        SearchLoggedModelsOptions query, string? pageToken = null, int? pageSize = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.ExperimentIds.Count == 0)
        {
            throw new MlflowValidationException("experiment_ids", "A logged-model search needs at least one experiment id.");
        }

        var size = CheckPageSize(pageSize ?? query.FirstPageSize);
        var orderBy = query.OrderBy.Count == 0 ? null : query.OrderBy.Select(ParseLoggedModelOrder).ToList();
        var datasets = query.Datasets.Count == 0 ? null : query.Datasets.Select(d => new LoggedModelDatasetFilter(d.Name, d.Digest)).ToList();
        var response = await PostAsync("logged-models/search",
            new SearchLoggedModelsRequest([.. query.ExperimentIds], query.Filter, datasets, size, orderBy, pageToken),
            MlflowJsonContext.Default.SearchLoggedModelsRequest, MlflowJsonContext.Default.SearchLoggedModelsResponse, cancellationToken).ConfigureAwait(false);
        return new MlflowPage<LoggedModel>([.. (response.Models ?? []).Select(m => m.ToEntity()).OfType<LoggedModel>()], NullIfEmpty(response.NextPageToken));
    }

    /// <summary>Sets tags on a logged model (<c>PATCH logged-models/&lt;id&gt;/tags</c>, Python's <c>set_logged_model_tags</c>).</summary>
    /// <param name="modelId">The model id.</param>
    /// <param name="tags">Key → value.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual async Task SetLoggedModelTagsAsync(string modelId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelId);
        ArgumentNullException.ThrowIfNull(tags);
        foreach (var (key, value) in tags)
        {
            Validation.MlflowValidator.ValidateTag(key, value);
        }

        await SendJsonAsync(HttpMethod.Patch, "logged-models/" + Uri.EscapeDataString(modelId) + "/tags",
            new SetLoggedModelTagsRequest([.. tags.Select(t => new LoggedModelTag(t.Key, t.Value))]),
            MlflowJsonContext.Default.SetLoggedModelTagsRequest, MlflowJsonContext.Default.EmptyMessage, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes a tag of a logged model (<c>DELETE logged-models/&lt;id&gt;/tags/&lt;key&gt;</c>, Python's <c>delete_logged_model_tag</c>).</summary>
    /// <param name="modelId">The model id.</param>
    /// <param name="key">The tag key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual async Task DeleteLoggedModelTagAsync(string modelId, string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelId);
        ArgumentException.ThrowIfNullOrEmpty(key);
        using var request = new HttpRequestMessage(HttpMethod.Delete, ApiUri("logged-models/" + Uri.EscapeDataString(modelId) + "/tags/" + Uri.EscapeDataString(key)));
        await SendAsync(request, MlflowJsonContext.Default.EmptyMessage, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes a logged model (<c>DELETE logged-models/&lt;id&gt;</c>, Python's <c>delete_logged_model</c>).</summary>
    /// <param name="modelId">The model id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual async Task DeleteLoggedModelAsync(string modelId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelId);
        using var request = new HttpRequestMessage(HttpMethod.Delete, ApiUri("logged-models/" + Uri.EscapeDataString(modelId)));
        await SendAsync(request, MlflowJsonContext.Default.EmptyMessage, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>"metrics.accuracy DESC" → {field_name: "metrics.accuracy", ascending: false}, as Python's order_by strings.</summary>
    private static LoggedModelOrderByWire ParseLoggedModelOrder(string clause)
    {
        var parts = clause.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        bool? ascending = parts.Length switch
        {
            1 => null,
            2 when parts[1].Equals("ASC", StringComparison.OrdinalIgnoreCase) => true,
            2 when parts[1].Equals("DESC", StringComparison.OrdinalIgnoreCase) => false,
            _ => throw new MlflowValidationException("order_by", $"Invalid order clause '{clause}': write '<field> [ASC|DESC]'."),
        };
        return new LoggedModelOrderByWire(parts[0], ascending, null, null);
    }
}
