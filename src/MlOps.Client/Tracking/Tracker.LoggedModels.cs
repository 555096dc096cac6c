using MlOps.Client.Stores;

namespace MlOps.Client.Tracking;

/// <summary>Reading MLflow 3 logged models back, from a tracking server or an embedded file at the 3.x schema.</summary>
public sealed partial class Tracker
{
    /// <summary>Gets a logged model with its tags, params and linked metrics (Python's <c>mlflow.get_logged_model</c>).</summary>
    /// <param name="modelId">The model id (<c>m-…</c>, e.g. <see cref="Models.LoggedModelInfo.LoggedModelId"/>).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="NotSupportedException">The store has no logged models.</exception>
    /// <exception cref="MlflowException">No such model, or an MLflow 2.x server / 2.x-schema file.</exception>
    public Task<LoggedModel> GetLoggedModelAsync(string modelId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelId);
        return LoggedModels().GetLoggedModelAsync(modelId, cancellationToken);
    }

    /// <summary>
    /// Searches logged models (Python's <c>mlflow.search_logged_models</c>); <c>await foreach</c> follows the pages up to
    /// <see cref="SearchOptions.MaxResults"/>. The experiment of the tracker is searched when the query names none.
    /// </summary>
    /// <param name="query">The query.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    public MlflowPageable<LoggedModel> SearchLoggedModelsAsync(SearchLoggedModelsOptions query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var store = LoggedModels();
        return MlflowPageable.Create<LoggedModel>(async (token, size, ct) =>
        {
            var page = new SearchLoggedModelsOptions { Filter = query.Filter, PageSize = size ?? query.PageSize };
            foreach (var id in query.ExperimentIds.Count > 0 ? query.ExperimentIds : [await GetExperimentIdAsync(ct).ConfigureAwait(false)])
            {
                page.ExperimentIds.Add(id);
            }

            foreach (var order in query.OrderBy)
            {
                page.OrderBy.Add(order);
            }

            foreach (var dataset in query.Datasets)
            {
                page.Datasets.Add(dataset);
            }

            return await store.SearchLoggedModelsPageAsync(page, token, ct).ConfigureAwait(false);
        }, query.MaxResults, query.PageSize, cancellationToken);
    }

    private ILoggedModelStore LoggedModels() => Store.LoggedModelsOf();
}
