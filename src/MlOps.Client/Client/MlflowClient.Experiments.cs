using MlOps.Client.Rest;
using MlOps.Client.Validation;

namespace MlOps.Client;

public partial class MlflowClient
{
    /// <summary>Creates an experiment (<c>POST experiments/create</c>) and returns its id.</summary>
    /// <param name="name">The unique name (at most 500 characters).</param>
    /// <param name="artifactLocation">Where its runs store artifacts; the server's default when <see langword="null"/>.</param>
    /// <param name="tags">Experiment tags.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="MlflowException"><c>RESOURCE_ALREADY_EXISTS</c> when the name is taken.</exception>
    public virtual async Task<string> CreateExperimentAsync(
        string name, string? artifactLocation = null, IReadOnlyDictionary<string, string>? tags = null, CancellationToken cancellationToken = default)
    {
        MlflowValidator.ValidateExperimentName(name);
        List<ExperimentTag>? tagList = null;
        if (tags is not null)
        {
            tagList = [];
            foreach (var (key, value) in tags)
            {
                MlflowValidator.ValidateExperimentTag(key, value);
                tagList.Add(new ExperimentTag(key, value));
            }
        }

        var response = await PostAsync(
            "experiments/create", new CreateExperimentRequest(name, artifactLocation, tagList),
            MlflowJsonContext.Default.CreateExperimentRequest, MlflowJsonContext.Default.CreateExperimentResponse, cancellationToken).ConfigureAwait(false);
        return response.ExperimentId;
    }

    /// <summary>Gets an experiment by id (<c>GET experiments/get</c>); deleted experiments are returned too.</summary>
    /// <param name="experimentId">The id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="MlflowException"><c>RESOURCE_DOES_NOT_EXIST</c> (404) for an unknown id.</exception>
    public virtual async Task<Experiment> GetExperimentAsync(string experimentId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(experimentId);
        var response = await GetAsync("experiments/get", new QueryString().Add("experiment_id", experimentId),
            MlflowJsonContext.Default.ExperimentResponse, cancellationToken).ConfigureAwait(false);
        return response.Experiment ?? throw MissingField("experiments/get", "experiment");
    }

    /// <summary>Gets an experiment by name (<c>GET experiments/get-by-name</c>).</summary>
    /// <param name="name">The name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="MlflowException"><c>RESOURCE_DOES_NOT_EXIST</c> (404) for an unknown name.</exception>
    public virtual async Task<Experiment> GetExperimentByNameAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var response = await GetAsync("experiments/get-by-name", new QueryString().Add("experiment_name", name),
            MlflowJsonContext.Default.ExperimentResponse, cancellationToken).ConfigureAwait(false);
        return response.Experiment ?? throw MissingField("experiments/get-by-name", "experiment");
    }

    /// <summary>Gets an experiment by name, or <see langword="null"/> when none has that name.</summary>
    /// <param name="name">The name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual async Task<Experiment?> FindExperimentByNameAsync(string name, CancellationToken cancellationToken = default)
    {
        try
        {
            return await GetExperimentByNameAsync(name, cancellationToken).ConfigureAwait(false);
        }
        catch (MlflowException ex) when (ex.ErrorCode == MlflowErrorCodes.ResourceDoesNotExist)
        {
            return null;
        }
    }

    /// <summary>Searches experiments (<c>POST experiments/search</c>), following page tokens as you enumerate.</summary>
    /// <param name="query">The query; all active experiments when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    public virtual MlflowPageable<Experiment> SearchExperimentsAsync(SearchExperimentsOptions? query = null, CancellationToken cancellationToken = default)
    {
        query ??= new SearchExperimentsOptions();
        return MlflowPageable.Create<Experiment>((token, size, ct) => SearchExperimentsPageAsync(query, token, size, ct), query.MaxResults, query.PageSize, cancellationToken);
    }

    /// <summary>Fetches one page of an experiment search.</summary>
    /// <param name="query">The query.</param>
    /// <param name="pageToken">The page token from the previous page, or <see langword="null"/> for the first.</param>
    /// <param name="pageSize">Overrides <see cref="SearchOptions.PageSize"/> (and the cap of <see cref="SearchOptions.MaxResults"/>).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual async Task<MlflowPage<Experiment>> SearchExperimentsPageAsync(
        SearchExperimentsOptions query, string? pageToken = null, int? pageSize = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var size = CheckPageSize(pageSize ?? query.FirstPageSize);
        var response = await PostAsync("experiments/search",
            new SearchExperimentsRequest(size, pageToken, query.Filter, query.OrderBy.Count == 0 ? null : [.. query.OrderBy], query.ViewType),
            MlflowJsonContext.Default.SearchExperimentsRequest, MlflowJsonContext.Default.SearchExperimentsResponse, cancellationToken).ConfigureAwait(false);
        return new MlflowPage<Experiment>(response.Experiments ?? [], NullIfEmpty(response.NextPageToken));
    }

    /// <summary>Renames an experiment (<c>POST experiments/update</c>).</summary>
    /// <param name="experimentId">The id.</param>
    /// <param name="newName">The new name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task UpdateExperimentAsync(string experimentId, string newName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(experimentId);
        MlflowValidator.ValidateExperimentName(newName);
        return PostAsync("experiments/update", new UpdateExperimentRequest(experimentId, newName), MlflowJsonContext.Default.UpdateExperimentRequest, cancellationToken);
    }

    /// <summary>Marks an experiment deleted (<c>POST experiments/delete</c>); its runs are deleted with it.</summary>
    /// <param name="experimentId">The id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task DeleteExperimentAsync(string experimentId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(experimentId);
        return PostAsync("experiments/delete", new ExperimentIdRequest(experimentId), MlflowJsonContext.Default.ExperimentIdRequest, cancellationToken);
    }

    /// <summary>Restores a deleted experiment (<c>POST experiments/restore</c>).</summary>
    /// <param name="experimentId">The id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task RestoreExperimentAsync(string experimentId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(experimentId);
        return PostAsync("experiments/restore", new ExperimentIdRequest(experimentId), MlflowJsonContext.Default.ExperimentIdRequest, cancellationToken);
    }

    /// <summary>Sets a tag on an experiment (<c>POST experiments/set-experiment-tag</c>).</summary>
    /// <param name="experimentId">The id.</param>
    /// <param name="key">The tag key.</param>
    /// <param name="value">The tag value (at most 5000 characters).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task SetExperimentTagAsync(string experimentId, string key, string value, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(experimentId);
        MlflowValidator.ValidateExperimentTag(key, value);
        return PostAsync("experiments/set-experiment-tag", new SetExperimentTagRequest(experimentId, key, value),
            MlflowJsonContext.Default.SetExperimentTagRequest, cancellationToken);
    }

    internal static int CheckPageSize(int size)
    {
        if (size < 1 || size > MlflowLimits.MaxResultsPerPage)
        {
            throw new MlflowValidationException("max_results",
                $"max_results must be between 1 and {MlflowLimits.MaxResultsPerPage}; got {size}.");
        }

        return size;
    }

    internal static string? NullIfEmpty(string? token) => string.IsNullOrEmpty(token) ? null : token;

    internal static MlflowException MissingField(string endpoint, string field) =>
        new(200, null, $"MLflow {endpoint} answered without the '{field}' field.");
}
