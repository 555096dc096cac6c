namespace MlOps.Client;

/// <summary>Options of <see cref="MlflowClient.CreateRunAsync"/>.</summary>
public sealed class CreateRunOptions
{
    /// <summary>The run name; the server generates one (e.g. <c>agreeable-fawn-34</c>) when absent.</summary>
    public string? RunName { get; set; }

    /// <summary>The start time; now when absent.</summary>
    public DateTimeOffset? StartTime { get; set; }

    /// <summary>The user id recorded with the run.</summary>
    public string? UserId { get; set; }

    /// <summary>Tags set at creation (system tags such as <c>mlflow.user</c> included).</summary>
    public IDictionary<string, string> Tags { get; } = new Dictionary<string, string>(StringComparer.Ordinal);
}

/// <summary>A query of <see cref="MlflowClient.SearchExperimentsAsync"/>.</summary>
public sealed class SearchExperimentsOptions() : SearchOptions(1000)
{
    /// <summary>Which lifecycle stages to return. Default active only.</summary>
    public ViewType ViewType { get; set; } = ViewType.ActiveOnly;
}

/// <summary>A query of <see cref="MlflowClient.SearchRunsAsync"/>.</summary>
public sealed class SearchRunsOptions() : SearchOptions(1000)
{
    /// <summary>The experiments to search (at least one).</summary>
    public IList<string> ExperimentIds { get; } = [];

    /// <summary>Which lifecycle stages to return. Default active only.</summary>
    public ViewType ViewType { get; set; } = ViewType.ActiveOnly;
}

/// <summary>A set of metrics, params and tags to log in one <c>log-batch</c> request (within MLflow's limits).</summary>
public sealed class RunBatch
{
    /// <summary>Metrics (at most 1000).</summary>
    public IList<Metric> Metrics { get; } = [];

    /// <summary>Params (at most 100, one value per key).</summary>
    public IList<Param> Params { get; } = [];

    /// <summary>Tags (at most 100).</summary>
    public IList<RunTag> Tags { get; } = [];

    /// <summary>Metrics + params + tags.</summary>
    public int Count => Metrics.Count + Params.Count + Tags.Count;
}

/// <summary>A query of <see cref="MlflowClient.SearchRegisteredModelsAsync"/>.</summary>
public sealed class SearchRegisteredModelsOptions() : SearchOptions(100);

/// <summary>A query of <see cref="MlflowClient.SearchModelVersionsAsync"/>.</summary>
public sealed class SearchModelVersionsOptions() : SearchOptions(200);

/// <summary>What every search takes: a filter, an order, how many results in all and per request.</summary>
/// <param name="defaultPageSize">The page size MLflow's clients use for this search.</param>
public abstract class SearchOptions(int defaultPageSize)
{
    /// <summary>A filter in MLflow's search syntax, e.g. <c>metrics.acc &gt; 0.9 and params.optimizer = 'adam'</c> or <c>name LIKE 'iris%'</c>.</summary>
    public string? Filter { get; set; }

    /// <summary>Order clauses, e.g. <c>metrics.acc DESC</c>, <c>name ASC</c>.</summary>
    public IList<string> OrderBy { get; } = [];

    /// <summary>
    /// The most results the search returns, as Python's <c>max_results</c> (<c>await foreach</c> stops there);
    /// <see langword="null"/> (the default): every match, page after page.
    /// </summary>
    public int? MaxResults
    {
        get;
        set => field = value is null or > 0 ? value : throw new ArgumentOutOfRangeException(nameof(MaxResults), value, "MaxResults must be at least 1 (or null for every match).");
    }

    /// <summary>Results per request (1 to 50,000).</summary>
    public int PageSize { get; set; } = defaultPageSize;

    /// <summary>The size of the first request: <see cref="PageSize"/>, or fewer when <see cref="MaxResults"/> is smaller.</summary>
    internal int FirstPageSize => Math.Min(PageSize, MaxResults ?? int.MaxValue);
}

/// <summary>A query of <see cref="MlflowClient.SearchLoggedModelsAsync"/> (MLflow 3, Python's <c>search_logged_models</c>).</summary>
public sealed class SearchLoggedModelsOptions() : SearchOptions(100)
{
    /// <summary>The experiments to search (at least one).</summary>
    public IList<string> ExperimentIds { get; } = [];

    /// <summary>Restrict metric filters and orders to metrics computed on these datasets (name, and digest when given).</summary>
    public IList<(string Name, string? Digest)> Datasets { get; } = [];
}
