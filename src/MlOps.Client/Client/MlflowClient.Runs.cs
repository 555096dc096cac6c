using MlOps.Client.Rest;
using MlOps.Client.Validation;

namespace MlOps.Client;

public partial class MlflowClient
{
    /// <summary>Creates a run (<c>POST runs/create</c>).</summary>
    /// <param name="experimentId">The experiment.</param>
    /// <param name="options">Name, start time, user and tags.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual async Task<Run> CreateRunAsync(string experimentId, CreateRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(experimentId);
        options ??= new CreateRunOptions();
        List<RunTag>? tags = null;
        if (options.Tags.Count > 0)
        {
            tags = [];
            foreach (var (key, value) in options.Tags)
            {
                if (key == MlflowTags.RunName && string.IsNullOrEmpty(value))
                {
                    continue; // as Python: an empty run name means "generate one"
                }

                MlflowValidator.ValidateTag(key, value);
                tags.Add(new RunTag(key, value));
            }
        }

        var start = (options.StartTime ?? Options.TimeProvider.GetUtcNow()).ToUnixTimeMilliseconds();
        var response = await PostAsync("runs/create", new CreateRunRequest(experimentId, options.UserId, string.IsNullOrEmpty(options.RunName) ? null : options.RunName, start, tags is { Count: 0 } ? null : tags),
            MlflowJsonContext.Default.CreateRunRequest, MlflowJsonContext.Default.RunResponse, cancellationToken).ConfigureAwait(false);
        return response.Run ?? throw MissingField("runs/create", "run");
    }

    /// <summary>Gets a run with its latest metrics, params, tags and inputs (<c>GET runs/get</c>).</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="MlflowException"><c>RESOURCE_DOES_NOT_EXIST</c> (404) for an unknown id.</exception>
    public virtual async Task<Run> GetRunAsync(string runId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        var response = await GetAsync("runs/get", new QueryString().Add("run_id", runId).Add("run_uuid", runId),
            MlflowJsonContext.Default.RunResponse, cancellationToken).ConfigureAwait(false);
        return response.Run ?? throw MissingField("runs/get", "run");
    }

    /// <summary>Updates a run's status, end time or name (<c>POST runs/update</c>).</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="status">The new status, or <see langword="null"/> to keep it.</param>
    /// <param name="endTime">The end time, or <see langword="null"/>.</param>
    /// <param name="runName">A new name, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task<RunInfo> UpdateRunAsync(
        string runId, RunStatus? status = null, DateTimeOffset? endTime = null, string? runName = null, CancellationToken cancellationToken = default) =>
        UpdateRunCoreAsync(runId, status, endTime, runName, singleAttempt: false, cancellationToken);

    /// <summary><c>runs/update</c>; with <paramref name="singleAttempt"/> one attempt (the uploader's run end).</summary>
    internal async Task<RunInfo> UpdateRunCoreAsync(string runId, RunStatus? status, DateTimeOffset? endTime, string? runName, bool singleAttempt, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        var response = await SendJsonAsync(HttpMethod.Post, "runs/update", new UpdateRunRequest(runId, runId, status, endTime?.ToUnixTimeMilliseconds(), runName),
            MlflowJsonContext.Default.UpdateRunRequest, MlflowJsonContext.Default.UpdateRunResponse, cancellationToken, singleAttempt).ConfigureAwait(false);
        return response.RunInfo ?? throw MissingField("runs/update", "run_info");
    }

    /// <summary>Ends a run: sets <paramref name="status"/> and the end time (now when not given).</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="status">The final status. Default <see cref="RunStatus.Finished"/>.</param>
    /// <param name="endTime">The end time; now when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task<RunInfo> SetTerminatedAsync(string runId, RunStatus status = RunStatus.Finished, DateTimeOffset? endTime = null, CancellationToken cancellationToken = default) =>
        UpdateRunAsync(runId, status, endTime ?? Options.TimeProvider.GetUtcNow(), null, cancellationToken);

    /// <summary>Marks a run deleted (<c>POST runs/delete</c>).</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task DeleteRunAsync(string runId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        return PostAsync("runs/delete", new RunIdRequest(runId), MlflowJsonContext.Default.RunIdRequest, cancellationToken);
    }

    /// <summary>Restores a deleted run (<c>POST runs/restore</c>).</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task RestoreRunAsync(string runId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        return PostAsync("runs/restore", new RunIdRequest(runId), MlflowJsonContext.Default.RunIdRequest, cancellationToken);
    }

    /// <summary>Searches runs (<c>POST runs/search</c>), following page tokens as you enumerate.</summary>
    /// <param name="query">The query (experiment ids are required).</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    public virtual MlflowPageable<Run> SearchRunsAsync(SearchRunsOptions query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        return MlflowPageable.Create<Run>((token, size, ct) => SearchRunsPageAsync(query, token, size, ct), query.MaxResults, query.PageSize, cancellationToken);
    }

    /// <summary>Fetches one page of a run search.</summary>
    /// <param name="query">The query (experiment ids are required).</param>
    /// <param name="pageToken">The page token from the previous page, or <see langword="null"/> for the first.</param>
    /// <param name="pageSize">Overrides <see cref="SearchOptions.PageSize"/> (and the cap of <see cref="SearchOptions.MaxResults"/>).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual async Task<MlflowPage<Run>> SearchRunsPageAsync(
        SearchRunsOptions query, string? pageToken = null, int? pageSize = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.ExperimentIds.Count == 0)
        {
            throw new MlflowValidationException("experiment_ids", "A run search needs at least one experiment id.");
        }

        var size = CheckPageSize(pageSize ?? query.FirstPageSize);
        var response = await PostAsync("runs/search",
            new SearchRunsRequest([.. query.ExperimentIds], query.Filter, query.ViewType, size, query.OrderBy.Count == 0 ? null : [.. query.OrderBy], pageToken),
            MlflowJsonContext.Default.SearchRunsRequest, MlflowJsonContext.Default.SearchRunsResponse, cancellationToken).ConfigureAwait(false);
        return new MlflowPage<Run>(response.Runs ?? [], NullIfEmpty(response.NextPageToken));
    }

    /// <summary>Logs one metric value (<c>POST runs/log-metric</c>). Prefer <see cref="LogBatchAsync(string, RunBatch, CancellationToken)"/> or the tracker for many values.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="key">The metric name.</param>
    /// <param name="value">The value; NaN and infinities are sent as MLflow expects.</param>
    /// <param name="step">The step. Default 0.</param>
    /// <param name="timestamp">When it was measured; now when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task LogMetricAsync(string runId, string key, double value, long step = 0, DateTimeOffset? timestamp = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        var ts = (timestamp ?? Options.TimeProvider.GetUtcNow()).ToUnixTimeMilliseconds();
        MlflowValidator.ValidateMetric(new Metric(key, value, ts, step));
        return PostAsync("runs/log-metric", new LogMetricRequest(runId, runId, key, value, ts, step), MlflowJsonContext.Default.LogMetricRequest, cancellationToken);
    }

    /// <summary>
    /// Logs one metric value as given (<c>POST runs/log-metric</c>), with its MLflow 3 links: <see cref="Metric.ModelId"/>
    /// (a logged model) and <see cref="Metric.DatasetName"/>/<see cref="Metric.DatasetDigest"/> (Python's
    /// <c>log_metric(..., model_id=, dataset=)</c>). MLflow 2.x servers ignore the links.
    /// </summary>
    /// <param name="runId">The run id.</param>
    /// <param name="metric">The metric.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task LogMetricAsync(string runId, Metric metric, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        ArgumentNullException.ThrowIfNull(metric);
        MlflowValidator.ValidateMetric(metric);
        return PostAsync("runs/log-metric",
            new LogMetricRequest(runId, runId, metric.Key, metric.Value, metric.Timestamp, metric.Step, metric.ModelId, metric.DatasetName, metric.DatasetDigest),
            MlflowJsonContext.Default.LogMetricRequest, cancellationToken);
    }

    /// <summary>Logs a param (<c>POST runs/log-parameter</c>). Logging the same value again is accepted; another value is refused by the server.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="key">The param key.</param>
    /// <param name="value">The value (at most 6000 characters).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task LogParamAsync(string runId, string key, string value, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        MlflowValidator.ValidateParam(key, value);
        return PostAsync("runs/log-parameter", new LogParamRequest(runId, runId, key, value), MlflowJsonContext.Default.LogParamRequest, cancellationToken);
    }

    /// <summary>Sets a run tag (<c>POST runs/set-tag</c>); tags may be overwritten.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="key">The tag key.</param>
    /// <param name="value">The value (at most 8000 characters).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task SetTagAsync(string runId, string key, string value, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        MlflowValidator.ValidateTag(key, value);
        return PostAsync("runs/set-tag", new SetTagRequest(runId, runId, key, value), MlflowJsonContext.Default.SetTagRequest, cancellationToken);
    }

    /// <summary>Deletes a run tag (<c>POST runs/delete-tag</c>); 404 when the tag does not exist.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="key">The tag key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task DeleteTagAsync(string runId, string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        ArgumentException.ThrowIfNullOrEmpty(key);
        return PostAsync("runs/delete-tag", new DeleteTagRequest(runId, key), MlflowJsonContext.Default.DeleteTagRequest, cancellationToken);
    }

    /// <summary>
    /// Logs metrics, params and tags in one request (<c>POST runs/log-batch</c>). The batch must be within MLflow's
    /// limits (1000 metrics, 100 params, 100 tags, 1000 in all, one value per param key); the tracker's uploader
    /// splits for you.
    /// </summary>
    /// <param name="runId">The run id.</param>
    /// <param name="batch">The entities.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task LogBatchAsync(string runId, RunBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        ArgumentNullException.ThrowIfNull(batch);
        return LogBatchCoreAsync(runId, [.. batch.Metrics], [.. batch.Params], [.. batch.Tags], cancellationToken);
    }

    /// <summary>Validates and sends one <c>log-batch</c> request (the uploader's entry point).</summary>
    internal virtual Task LogBatchCoreAsync(
        string runId, IReadOnlyList<Metric>? metrics, IReadOnlyList<Param>? parameters, IReadOnlyList<RunTag>? tags, CancellationToken cancellationToken, bool singleAttempt = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        metrics ??= [];
        parameters ??= [];
        tags ??= [];
        MlflowValidator.ValidateBatchCounts(metrics.Count, parameters, tags.Count);
        foreach (var m in metrics)
        {
            MlflowValidator.ValidateMetric(m);
        }

        ValidateParamsAndTags(parameters, tags);
        return SendJsonAsync(HttpMethod.Post, "runs/log-batch",
            new LogBatchRequest(runId, metrics.Count == 0 ? null : metrics, parameters.Count == 0 ? null : parameters, tags.Count == 0 ? null : tags),
            MlflowJsonContext.Default.LogBatchRequest, MlflowJsonContext.Default.EmptyMessage, cancellationToken, singleAttempt);
    }

    /// <summary>
    /// Validates and sends one <c>log-batch</c> request from the uploader's metric rows, one attempt: the same checks and
    /// the same request bytes as <see cref="LogBatchCoreAsync"/>, written into a pooled buffer without a
    /// <see cref="Metric"/> object per value.
    /// </summary>
    internal async Task LogBatchOnceAsync(string runId, ReadOnlyMemory<MetricRow> metrics, IReadOnlyList<Param> parameters, IReadOnlyList<RunTag> tags, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        MlflowValidator.ValidateBatchCounts(metrics.Length, parameters, tags.Count);
        ValidateMetricRows(metrics.Span);
        ValidateParamsAndTags(parameters, tags);
        var body = new PooledBufferWriter(256 + (metrics.Length * 112) + ((parameters.Count + tags.Count) * 128)); // about a request's size: no growing copies
        LogBatchWriter.Write(body, runId, metrics.Span, parameters, tags);
        await SendBodyAsync(HttpMethod.Post, "runs/log-batch", body.WrittenMemory, MlflowJsonContext.Default.EmptyMessage, cancellationToken, singleAttempt: true).ConfigureAwait(false);
        // Back to the pool only once the server has answered success, having read the whole body. After a failure the
        // buffer is left to the garbage collector: a connection that failed mid-request may still be reading it.
        body.Dispose();
    }

    /// <summary>The checks <see cref="MlflowValidator.ValidateMetric(Metric)"/> makes, for rows: a key once per run of the same key.</summary>
    internal static void ValidateMetricRows(ReadOnlySpan<MetricRow> metrics)
    {
        string? lastKey = null;
        foreach (ref readonly var m in metrics)
        {
            if (!ReferenceEquals(m.Key, lastKey))
            {
                MlflowValidator.ValidateMetricKey(m.Key);
                lastKey = m.Key;
            }

            MlflowValidator.ValidateMetricTimestamp(m.Key, m.Timestamp);
        }
    }

    private static void ValidateParamsAndTags(IReadOnlyList<Param> parameters, IReadOnlyList<RunTag> tags)
    {
        foreach (var p in parameters)
        {
            MlflowValidator.ValidateParam(p.Key, p.Value);
        }

        foreach (var t in tags)
        {
            MlflowValidator.ValidateTag(t.Key, t.Value);
        }
    }

    /// <summary>Logs datasets used by a run (<c>POST runs/log-inputs</c>).</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="datasets">The dataset inputs (with tags such as <c>mlflow.data.context</c>).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task LogInputsAsync(string runId, IReadOnlyList<DatasetInput> datasets, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        ArgumentNullException.ThrowIfNull(datasets);
        foreach (var d in datasets)
        {
            MlflowValidator.ValidateDatasetInput(d);
        }

        return PostAsync("runs/log-inputs", new LogInputsRequest(runId, datasets), MlflowJsonContext.Default.LogInputsRequest, cancellationToken);
    }

    /// <summary>Appends a model description to the run's <c>mlflow.log-model.history</c> tag (<c>POST runs/log-model</c>).</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="modelJson">The model description as JSON (the <c>MLmodel</c> content as a dictionary).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task LogModelAsync(string runId, string modelJson, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        ArgumentException.ThrowIfNullOrEmpty(modelJson);
        return PostAsync("runs/log-model", new LogModelRequest(runId, modelJson), MlflowJsonContext.Default.LogModelRequest, cancellationToken);
    }

    /// <summary>
    /// Gets every value of a metric (<c>GET metrics/get-history</c>, all pages), as Python's
    /// <c>MlflowClient.get_metric_history</c> returns them — and as <see cref="Stores.ITrackingStore.GetMetricHistoryAsync"/> does.
    /// <c>max_results</c> is always sent: MLflow 3 answers nothing without it. Page by page: <see cref="GetMetricHistoryPageAsync"/>.
    /// </summary>
    /// <param name="runId">The run id.</param>
    /// <param name="metricKey">The metric name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual async Task<IReadOnlyList<Metric>> GetMetricHistoryAsync(string runId, string metricKey, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        ArgumentException.ThrowIfNullOrEmpty(metricKey);
        var all = new List<Metric>();
        await foreach (var page in MlflowPageable.Create<Metric>((token, size, ct) => GetMetricHistoryPageAsync(runId, metricKey, token, size, ct), cancellationToken)
            .AsPages().WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            all.AddRange(page.Values);
        }

        return all;
    }

    /// <summary>Fetches one page of a metric's history.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="metricKey">The metric name.</param>
    /// <param name="pageToken">The page token from the previous page, or <see langword="null"/>.</param>
    /// <param name="pageSize">Values per page. Default 25,000.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual async Task<MlflowPage<Metric>> GetMetricHistoryPageAsync(
        string runId, string metricKey, string? pageToken = null, int? pageSize = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        ArgumentException.ThrowIfNullOrEmpty(metricKey);
        var query = new QueryString().Add("run_id", runId).Add("run_uuid", runId).Add("metric_key", metricKey)
            .Add("max_results", pageSize ?? MlflowLimits.MetricHistoryPageSize).Add("page_token", pageToken);
        var response = await GetAsync("metrics/get-history", query, MlflowJsonContext.Default.MetricHistoryResponse, cancellationToken).ConfigureAwait(false);
        return new MlflowPage<Metric>(response.Metrics ?? [], NullIfEmpty(response.NextPageToken));
    }

    /// <summary>Lists a run's artifacts directly under <paramref name="path"/> (<c>GET artifacts/list</c>).</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="path">A folder relative to the artifact root; the root when <see langword="null"/>.</param>
    /// <param name="pageToken">A page token, for servers that page listings.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task<ArtifactListing> ListArtifactsAsync(string runId, string? path = null, string? pageToken = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        var query = new QueryString().Add("run_id", runId).Add("run_uuid", runId).Add("path", path).Add("page_token", pageToken);
        return GetAsync("artifacts/list", query, MlflowJsonContext.Default.ArtifactListing, cancellationToken);
    }
}
