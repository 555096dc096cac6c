using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using MlOps.Client.Models;
using MlOps.Client.Registry;

namespace MlOps.Client.Stores;

/// <summary>
/// MLflow 3 logged models in a file at the 3.x schema (tables <c>logged_models</c>, <c>logged_model_params</c>,
/// <c>logged_model_tags</c>, <c>logged_model_metrics</c>; outputs in <c>inputs</c>), written as MLflow 3's
/// SQLAlchemy store writes them. A file at the 2.22 schema (what this store creates) has none: model logging stays 2.x.
/// </summary>
public sealed partial class SqliteTrackingStore : ILoggedModelStore, ILoggedModelRegistryStore, IMlflowVersionStore
{
    /// <summary>Whether the file has MLflow 3's logged-model tables (it is at a 3.x schema).</summary>
    public bool HasLoggedModels { get; private set; }

    bool ILoggedModelStore.MayHaveLoggedModels => HasLoggedModels;

    /// <summary>The MLflow whose schema the file has: 3.6.0 for a 3.x file (the 3.x schema this store knows), else 2.22.0.</summary>
    Task<string?> IMlflowVersionStore.MlflowVersionAsync(CancellationToken cancellationToken) =>
        Task.FromResult<string?>(HasLoggedModels ? "3.6.0" : MlflowModel.DefaultMlflowVersion);

    private void DetectLoggedModels() =>
        HasLoggedModels = Scalar<long>(_connection, null, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'logged_models'") > 0;

    Task<LoggedModel?> ILoggedModelStore.TryCreateLoggedModelAsync(
        string experimentId, string? name, string? sourceRunId, IReadOnlyDictionary<string, string>? tags, IReadOnlyDictionary<string, string>? parameters,
        string? modelType, CancellationToken cancellationToken) =>
        !HasLoggedModels ? Task.FromResult<LoggedModel?>(null) : WithLockAsync<LoggedModel?>(() =>
        {
            using var tx = _connection.BeginTransaction(deferred: false);
            var experiment = ReadExperiments("WHERE experiment_id = $p0", [ParseId(experimentId)], tx).SingleOrDefault()
                ?? throw new MlflowException(404, MlflowErrorCodes.ResourceDoesNotExist, $"No Experiment with id={experimentId} exists");
            if (experiment.LifecycleStage == "deleted")
            {
                throw new MlflowException(400, MlflowErrorCodes.InvalidParameterValue, $"The experiment {experimentId} must be in the 'active' state. Current state is deleted.");
            }

            var modelId = "m-" + Guid.NewGuid().ToString("N");
            var location = JoinLocation(experiment.ArtifactLocation ?? ToFileLocation(Path.Combine(_artifactRoot, experimentId)), $"models/{modelId}/artifacts");
            var now = Now();
            Exec(tx, """
                INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, creation_timestamp_ms, last_updated_timestamp_ms, status, lifecycle_stage, model_type, source_run_id)
                VALUES ($p0, $p1, $p2, $p3, $p4, $p4, 1, 'active', $p5, $p6)
                """, modelId, ParseId(experimentId), name ?? RunNames.Generate(), location, now, modelType, sourceRunId);
            foreach (var (k, v) in parameters ?? new Dictionary<string, string>())
            {
                Exec(tx, "INSERT INTO logged_model_params (model_id, experiment_id, param_key, param_value) VALUES ($p0, $p1, $p2, $p3)", modelId, ParseId(experimentId), k, v);
            }

            foreach (var (k, v) in tags ?? new Dictionary<string, string>())
            {
                Exec(tx, "INSERT OR REPLACE INTO logged_model_tags (model_id, experiment_id, tag_key, tag_value) VALUES ($p0, $p1, $p2, $p3)", modelId, ParseId(experimentId), k, v);
            }

            tx.Commit();
            return ReadLoggedModel(modelId, null);
        }, cancellationToken);

    /// <summary>Gets an MLflow 3 logged model with its tags, params and linked metrics (Python's <c>get_logged_model</c>).</summary>
    /// <param name="modelId">The model id (<c>m-…</c>).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="MlflowException">No such model (<c>RESOURCE_DOES_NOT_EXIST</c>), or the file is at the 2.x schema.</exception>
    public Task<LoggedModel> GetLoggedModelAsync(string modelId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelId);
        RequireLoggedModels();
        return WithLockAsync(() => ReadLoggedModel(modelId, null), cancellationToken);
    }

    /// <summary>
    /// One page of a logged-model search (Python's <c>search_logged_models</c>): filters on <c>name</c>,
    /// <c>model_type</c>, <c>source_run_id</c>, <c>status</c> (<c>=</c>, <c>!=</c>, <c>LIKE</c>), <c>params.&lt;key&gt;</c>,
    /// <c>tags.&lt;key&gt;</c> (<c>=</c>, <c>!=</c>) and <c>metrics.&lt;key&gt; &lt;op&gt; &lt;number&gt;</c>, joined by
    /// <c>AND</c>; ordered by <c>creation_timestamp</c>, <c>last_updated_timestamp</c> or <c>name</c> (newest first by default).
    /// </summary>
    /// <param name="query">The query (experiment ids are required).</param>
    /// <param name="pageToken">The previous page's token, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<MlflowPage<LoggedModel>> SearchLoggedModelsPageAsync(SearchLoggedModelsOptions query, string? pageToken = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        RequireLoggedModels();
        if (query.ExperimentIds.Count == 0)
        {
            throw new MlflowValidationException("experiment_ids", "A logged-model search needs at least one experiment id.");
        }

        return WithLockAsync(() =>
        {
            var args = new List<object>();
            var sql = new StringBuilder("SELECT model_id FROM logged_models WHERE lifecycle_stage = 'active' AND experiment_id IN (");
            sql.Append(string.Join(", ", query.ExperimentIds.Select(id =>
            {
                args.Add(ParseId(id));
                return "$p" + (args.Count - 1).ToString(CultureInfo.InvariantCulture);
            }))).Append(')');
            if (!string.IsNullOrWhiteSpace(query.Filter))
            {
                LoggedModelFilter.AppendSql(query.Filter, sql, args);
            }

            var size = Math.Min(query.FirstPageSize, query.PageSize);
            var offset = DecodeToken(pageToken);
            sql.Append(" ORDER BY ").Append(LoggedModelFilter.OrderBy(query.OrderBy)).Append(CultureInfo.InvariantCulture, $" LIMIT {size + 1} OFFSET {offset}");
            var ids = new List<string>();
            using (var cmd = Command(null, sql.ToString(), [.. args]))
            using (var r = cmd.ExecuteReader())
            {
                while (r.Read())
                {
                    ids.Add(r.GetString(0));
                }
            }

            var page = ids.Take(size).Select(id => ReadLoggedModel(id, null)).ToList();
            return new MlflowPage<LoggedModel>(page, ids.Count > size ? EncodeToken(offset + size) : null);
        }, cancellationToken);
    }

    Task<MlflowPage<LoggedModel>> ILoggedModelStore.SearchLoggedModelsPageAsync(SearchLoggedModelsOptions query, string? pageToken, CancellationToken cancellationToken) =>
        SearchLoggedModelsPageAsync(query, pageToken, cancellationToken);

    Task<LoggedModel> ILoggedModelStore.GetLoggedModelAsync(string modelId, CancellationToken cancellationToken) => GetLoggedModelAsync(modelId, cancellationToken);

    Task<LoggedModel> ILoggedModelRegistryStore.GetLoggedModelAsync(string modelId, CancellationToken cancellationToken) => GetLoggedModelAsync(modelId, cancellationToken);

    Task ILoggedModelStore.FinalizeLoggedModelAsync(string modelId, LoggedModelStatus status, CancellationToken cancellationToken) =>
        WithLockAsync(() =>
        {
            RequireModel(modelId, null);
            Exec(null, "UPDATE logged_models SET status = $p0, last_updated_timestamp_ms = $p1 WHERE model_id = $p2", StatusNumber(status), Now(), modelId);
            return true;
        }, cancellationToken);

    Task ILoggedModelStore.LogOutputsAsync(string runId, string modelId, long step, CancellationToken cancellationToken) =>
        WithLockAsync(() =>
        {
            using var tx = _connection.BeginTransaction(deferred: false);
            EnsureRunActive(runId, tx);
            Exec(tx, "INSERT OR REPLACE INTO inputs (input_uuid, source_type, source_id, destination_type, destination_id, step) VALUES ($p0, 'RUN_OUTPUT', $p1, 'MODEL_OUTPUT', $p2, $p3)",
                Guid.NewGuid().ToString("N"), runId, modelId, step);
            tx.Commit();
            return true;
        }, cancellationToken);

    /// <summary>Sets (upserts) tags on a logged model (Python's <c>set_logged_model_tags</c>).</summary>
    /// <param name="modelId">The model id.</param>
    /// <param name="tags">Key → value.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task SetLoggedModelTagsAsync(string modelId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelId);
        ArgumentNullException.ThrowIfNull(tags);
        RequireLoggedModels();
        return WithLockAsync(() =>
        {
            using var tx = _connection.BeginTransaction(deferred: false);
            var experimentId = RequireModel(modelId, tx);
            foreach (var (k, v) in tags)
            {
                Exec(tx, "INSERT OR REPLACE INTO logged_model_tags (model_id, experiment_id, tag_key, tag_value) VALUES ($p0, $p1, $p2, $p3)", modelId, experimentId, k, v);
            }

            tx.Commit();
            return true;
        }, cancellationToken);
    }

    async Task<LoggedModel?> ILoggedModelRegistryStore.FindRunLoggedModelAsync(string runId, string path, CancellationToken cancellationToken)
    {
        if (!HasLoggedModels)
        {
            return null;
        }

        var run = await GetRunAsync(runId, cancellationToken).ConfigureAwait(false);
        var artifacts = Artifacts.ArtifactRepositories.ForUri(run.Info.ArtifactUri ?? throw new MlflowException($"Run {runId} has no artifact URI."), null);
        return await LoggedModelLookup.FindForRunPathAsync(run, path, artifacts, (q, token, ct) => SearchLoggedModelsPageAsync(q, token, ct), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A version of a logged model, as MLflow 3's server makes it: the files' location is the model's, the run is the
    /// model's source run, and the model's <c>mlflow.modelVersions</c> tag gets the version (the server's
    /// <c>set_model_versions_tags</c>).
    /// </summary>
    async Task<ModelVersion> ILoggedModelRegistryStore.CreateModelVersionAsync(
        string name, string source, string? runId, string modelId, IReadOnlyDictionary<string, string>? tags, string? description, CancellationToken cancellationToken)
    {
        var model = await GetLoggedModelAsync(modelId, cancellationToken).ConfigureAwait(false);
        var version = await CreateModelVersionCoreAsync(name, source, runId ?? model.SourceRunId, tags, description, model.ArtifactUri ?? source, cancellationToken).ConfigureAwait(false);
        var entry = new JsonObject { ["name"] = version.Name, ["version"] = long.Parse(version.Version, CultureInfo.InvariantCulture) };
        var list = new JsonArray(entry.DeepClone());
        if (model.GetTag(MlflowTags.ModelVersions) is { } existing && JsonNode.Parse(existing) is JsonArray items && !items.Any(i => JsonNode.DeepEquals(i, entry)))
        {
            list = new JsonArray([.. items.Select(i => i?.DeepClone()), entry]);
        }

        await SetLoggedModelTagsAsync(modelId, new Dictionary<string, string> { [MlflowTags.ModelVersions] = Formatting.PythonFormat.JsonDumps(list) }, cancellationToken).ConfigureAwait(false);
        return version;
    }

    Task ILoggedModelRegistryStore.SetLoggedModelTagsAsync(string modelId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken) =>
        SetLoggedModelTagsAsync(modelId, tags, cancellationToken);

    /// <summary>Writes the metrics linked to a logged model into <c>logged_model_metrics</c> too (Python's <c>_log_model_metrics</c>).</summary>
    private void WriteModelMetrics(string runId, long experimentId, ReadOnlySpan<MetricRow> metrics, Microsoft.Data.Sqlite.SqliteTransaction tx)
    {
        if (!HasLoggedModels)
        {
            return;
        }

        HashSet<MetricRow>? written = null;
        foreach (ref readonly var m in metrics)
        {
            if (m.Link?.ModelId is not { } modelId || !(written ??= []).Add(m))
            {
                continue; // not linked to a model, or the same value again
            }

            var isNan = double.IsNaN(m.Value);
            var value = isNan ? 0 : Math.Clamp(m.Value, double.MinValue, double.MaxValue);
            Exec(tx, """
                INSERT OR IGNORE INTO logged_model_metrics (model_id, metric_name, metric_timestamp_ms, metric_step, metric_value, experiment_id, run_id, dataset_uuid, dataset_name, dataset_digest)
                VALUES ($p0, $p1, $p2, $p3, $p4, $p5, $p6, NULL, $p7, $p8)
                """, modelId, m.Key, m.Timestamp, m.Step, isNan ? DBNull.Value : value, experimentId, runId, m.Link.DatasetName, m.Link.DatasetDigest);
        }
    }

    /// <summary>The run's MLflow 3 outputs and model inputs (rows of <c>inputs</c>), empty on a 2.x file.</summary>
    private (RunOutputs Outputs, IReadOnlyList<LoggedModelInput> ModelInputs) ReadModelLinks(string runId, Microsoft.Data.Sqlite.SqliteTransaction? tx)
    {
        if (!HasLoggedModels)
        {
            return (new RunOutputs(), []);
        }

        var outputs = new List<LoggedModelOutput>();
        var inputs = new List<LoggedModelInput>();
        using var cmd = Command(tx, "SELECT source_type, destination_id, step FROM inputs WHERE source_id = $p0 AND ((source_type = 'RUN_OUTPUT' AND destination_type = 'MODEL_OUTPUT') OR (source_type = 'RUN_INPUT' AND destination_type = 'MODEL_INPUT'))", runId);
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            if (r.GetString(0) == "RUN_OUTPUT")
            {
                outputs.Add(new LoggedModelOutput(r.GetString(1), r.GetInt64(2)));
            }
            else
            {
                inputs.Add(new LoggedModelInput(r.GetString(1)));
            }
        }

        return (new RunOutputs { ModelOutputs = outputs }, inputs);
    }

    private LoggedModel ReadLoggedModel(string modelId, Microsoft.Data.Sqlite.SqliteTransaction? tx)
    {
        LoggedModel info;
        using (var cmd = Command(tx, "SELECT model_id, experiment_id, name, artifact_location, creation_timestamp_ms, last_updated_timestamp_ms, status, model_type, source_run_id FROM logged_models WHERE model_id = $p0 AND lifecycle_stage != 'deleted'", modelId))
        using (var r = cmd.ExecuteReader())
        {
            if (!r.Read())
            {
                throw new MlflowException(404, MlflowErrorCodes.ResourceDoesNotExist, $"Logged model with ID '{modelId}' not found.");
            }

            info = new LoggedModel
            {
                ModelId = r.GetString(0),
                ExperimentId = r.GetInt64(1).ToString(CultureInfo.InvariantCulture),
                Name = r.GetString(2),
                ArtifactUri = r.GetString(3),
                CreationTimestampMs = r.GetInt64(4),
                LastUpdatedTimestampMs = r.GetInt64(5),
                Status = r.GetInt64(6) switch { 1 => "LOGGED_MODEL_PENDING", 2 => "LOGGED_MODEL_READY", 3 => "LOGGED_MODEL_UPLOAD_FAILED", _ => "LOGGED_MODEL_STATUS_UNSPECIFIED" },
                ModelType = r.IsDBNull(7) ? "" : r.GetString(7),
                SourceRunId = r.IsDBNull(8) ? null : r.GetString(8),
            };
        }

        var tags = new List<LoggedModelTag>();
        using (var cmd = Command(tx, "SELECT tag_key, tag_value FROM logged_model_tags WHERE model_id = $p0 ORDER BY tag_key", modelId))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                tags.Add(new LoggedModelTag(r.GetString(0), r.GetString(1)));
            }
        }

        var parameters = new List<Param>();
        using (var cmd = Command(tx, "SELECT param_key, param_value FROM logged_model_params WHERE model_id = $p0 ORDER BY param_key", modelId))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                parameters.Add(new Param(r.GetString(0), r.GetString(1)));
            }
        }

        var metrics = new List<Metric>();
        using (var cmd = Command(tx, "SELECT metric_name, metric_value, metric_timestamp_ms, metric_step, run_id, dataset_name, dataset_digest FROM logged_model_metrics WHERE model_id = $p0 ORDER BY metric_name, metric_step, metric_timestamp_ms", modelId))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                metrics.Add(new Metric(r.GetString(0), r.IsDBNull(1) ? double.NaN : r.GetDouble(1), r.GetInt64(2), r.GetInt64(3))
                {
                    RunId = r.GetString(4), ModelId = modelId, DatasetName = r.IsDBNull(5) ? null : r.GetString(5), DatasetDigest = r.IsDBNull(6) ? null : r.GetString(6),
                });
            }
        }

        return new LoggedModel
        {
            ModelId = info.ModelId, ExperimentId = info.ExperimentId, Name = info.Name, ArtifactUri = info.ArtifactUri, Status = info.Status, ModelType = info.ModelType,
            SourceRunId = info.SourceRunId, CreationTimestampMs = info.CreationTimestampMs, LastUpdatedTimestampMs = info.LastUpdatedTimestampMs,
            Tags = tags, Params = parameters, Metrics = metrics,
        };
    }

    /// <summary>The experiment of an existing (not deleted) model; 404 otherwise.</summary>
    private long RequireModel(string modelId, Microsoft.Data.Sqlite.SqliteTransaction? tx) =>
        Scalar<long?>(_connection, tx, "SELECT experiment_id FROM logged_models WHERE model_id = $p0 AND lifecycle_stage != 'deleted'", modelId)
        ?? throw new MlflowException(404, MlflowErrorCodes.ResourceDoesNotExist, $"Logged model with ID '{modelId}' not found.");

    private void RequireLoggedModels()
    {
        if (!HasLoggedModels)
        {
            throw new MlflowException(0, MlflowErrorCodes.InvalidState,
                $"The SQLite file {DatabasePath} is at MLflow 2.x's schema ({SchemaVersion}), which has no logged models; upgrade it with `mlflow db upgrade` (MLflow 3) to use them.");
        }
    }

    private static int StatusNumber(LoggedModelStatus status) => status switch
    {
        LoggedModelStatus.Pending => 1,
        LoggedModelStatus.Ready => 2,
        LoggedModelStatus.UploadFailed => 3,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "Unknown logged-model status."),
    };

    /// <summary>The logged-model filter (MLflow 3's <c>search_logged_models</c>): the model's attributes, its params and tags, and the latest value of a metric (highest step, then timestamp).</summary>
    private static class LoggedModelFilter
    {
        public static void AppendSql(string filter, StringBuilder sql, List<object> args)
        {
            foreach (var c in SearchGrammar.ParseFilter(filter, SearchGrammar.LoggedModels))
            {
                sql.Append(" AND ");
                switch (c.Entity)
                {
                    case "attribute" when c.Key == "status":
                        sql.Append(StatusCondition(c, args));
                        break;
                    case "attribute":
                        sql.Append(SearchSql.Compare(c.Key switch
                        {
                            "creation_timestamp" or "creation_time" => "creation_timestamp_ms",
                            "last_updated_timestamp" => "last_updated_timestamp_ms",
                            var k => k,
                        }, c, args));
                        break;
                    case "metric":
                        var latest = $"(SELECT l.metric_value FROM logged_model_metrics l WHERE l.model_id = logged_models.model_id AND l.metric_name = {SearchSql.Slot(args, c.Key)} ORDER BY l.metric_step DESC, l.metric_timestamp_ms DESC LIMIT 1)";
                        sql.Append(SearchSql.Compare(latest, c, args));
                        break;
                    case "parameter":
                        sql.Append(CultureInfo.InvariantCulture, $"EXISTS (SELECT 1 FROM logged_model_params x WHERE x.model_id = logged_models.model_id AND x.param_key = {SearchSql.Slot(args, c.Key)} AND {SearchSql.Compare("x.param_value", c, args)})");
                        break;
                    default:
                        sql.Append(CultureInfo.InvariantCulture, $"EXISTS (SELECT 1 FROM logged_model_tags t WHERE t.model_id = logged_models.model_id AND t.tag_key = {SearchSql.Slot(args, c.Key)} AND {SearchSql.Compare("t.tag_value", c, args)})");
                        break;
                }
            }
        }

        /// <summary><c>status = 'READY'</c> or <c>!=</c> (or <c>LOGGED_MODEL_READY</c>, <c>PENDING</c>, <c>FAILED</c>/<c>UPLOAD_FAILED</c>) against the stored number.</summary>
        private static string StatusCondition(SearchComparison c, List<object> args)
        {
            static long Number(string text) => text.ToUpperInvariant().Replace("LOGGED_MODEL_", "", StringComparison.Ordinal) switch
            {
                "PENDING" => 1L,
                "READY" => 2L,
                "FAILED" or "UPLOAD_FAILED" => 3L,
                _ => throw new MlflowException(400, MlflowErrorCodes.InvalidParameterValue,
                    $"Invalid logged model status '{text}' in the filter: one of PENDING, READY, FAILED (or LOGGED_MODEL_…)."),
            };

            if (c.Comparator is not ("=" or "!="))
            {
                throw new MlflowException(400, MlflowErrorCodes.InvalidParameterValue, "A logged model's status is compared with = or !=, not " + c.Comparator + ".");
            }

            return $"status {c.Comparator} {SearchSql.Slot(args, Number(c.Text!))}";
        }

        public static string OrderBy(IList<string> orderBy)
        {
            if (orderBy.Count == 0)
            {
                return "creation_timestamp_ms DESC, model_id ASC";
            }

            var parts = new List<string>();
            foreach (var clause in orderBy)
            {
                var words = clause.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var column = words[0].ToLowerInvariant() switch
                {
                    "creation_timestamp" or "creation_time" => "creation_timestamp_ms",
                    "last_updated_timestamp" => "last_updated_timestamp_ms",
                    "name" => "name",
                    _ => throw new MlflowException(400, MlflowErrorCodes.InvalidParameterValue,
                        $"The embedded store orders logged models by creation_timestamp, last_updated_timestamp or name (ASC or DESC); got '{clause}'. Use a tracking server for the full grammar."),
                };
                var descending = words.Length > 1 && words[1].Equals("DESC", StringComparison.OrdinalIgnoreCase);
                parts.Add(column + (descending ? " DESC" : " ASC"));
            }

            return string.Join(", ", parts) + ", model_id ASC";
        }


    }
}
