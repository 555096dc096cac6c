using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace MlOps.Client.Stores;

/// <summary>
/// The embedded store: runs recorded in a local SQLite database in MLflow's own schema (the tables, columns,
/// indexes and <c>alembic_version</c> row that MLflow 2.22 creates, head <c>0584bdc529eb</c>), so
/// <c>mlflow ui --backend-store-uri sqlite:///mlflow.db</c> and <c>mlflow server</c> open what it writes (MLflow 3
/// upgrades the file in place, and this store also opens files in MLflow 3's schema). An existing file — made by
/// Python MLflow or by this store — is used as it is and never altered.
/// </summary>
/// <remarks>
/// Semantics follow MLflow's SQL store: an identical metric (key, timestamp, step, value) is stored once; NaN is
/// stored as <c>is_nan</c> = 1 with value 0 and ±∞ as ±<see cref="double.MaxValue"/>; <c>latest_metrics</c> keeps
/// the value with the highest step, then timestamp, then value; params are immutable; tags are overwritten. Each
/// batch is one transaction. The database runs in WAL mode with a busy timeout, so several processes can write.
/// Artifacts go to a local folder next to the database: <c>&lt;db folder&gt;/mlruns/&lt;experiment id&gt;/&lt;run id&gt;/artifacts</c>.
/// <para>Search follows MLflow's grammar as its SQL store evaluates it (filters on metrics, params, tags, attributes and
/// datasets with <c>LIKE</c>/<c>ILIKE</c>/<c>IN</c>; ordering by any of them); see docs/embedded-store.md.</para>
/// </remarks>
public sealed partial class SqliteTrackingStore : ITrackingStore, ILifecycleStore, IMetricRowsStore
{
    /// <summary>The alembic revision of the schema this store creates (MLflow 2.22).</summary>
    internal const string SchemaRevision = "0584bdc529eb";

    /// <summary>The alembic revision of MLflow 3.5–3.6's schema, which a file opened with <see cref="SqliteSchema.Mlflow3"/> is created in.</summary>
    internal const string TraceSchemaRevision = "bf29a5ff90ea";

    private readonly SqliteConnection _connection;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly string _artifactRoot;
    private readonly TimeProvider _time;

    private SqliteTrackingStore(string uri, string path, SqliteConnection connection, string artifactRoot, string schemaRevision, TimeProvider time)
    {
        Uri = uri;
        DatabasePath = path;
        _connection = connection;
        _artifactRoot = artifactRoot;
        SchemaVersion = schemaRevision;
        _time = time;
        DetectLoggedModels();
    }

    /// <inheritdoc />
    public string Uri { get; }

    /// <summary>The database file.</summary>
    public string DatabasePath { get; }

    /// <summary>The alembic revision found in (or written to) the database.</summary>
    public string SchemaVersion { get; }

    /// <summary>
    /// Opens (creating if needed) the database a <c>sqlite:///…</c> URI names: <c>sqlite:///mlflow.db</c> is relative to
    /// the current directory, <c>sqlite:////abs/path.db</c> is absolute, as in Python MLflow.
    /// </summary>
    /// <param name="uri">The URI.</param>
    /// <param name="timeProvider">The clock for creation and update times; the system clock when <see langword="null"/>.</param>
    public static SqliteTrackingStore Open(string uri, TimeProvider? timeProvider = null) => Open(uri, SqliteSchema.Mlflow2, timeProvider);

    /// <summary>
    /// Opens the database a <c>sqlite:///…</c> URI names, creating a new file in the schema asked for: MLflow 2.22's (the
    /// default: every MLflow from 2.22 opens it, MLflow 3 upgrading it in place) or MLflow 3.5–3.6's (alembic
    /// <c>bf29a5ff90ea</c>), which holds traces as well (<see cref="LogSpansAsync"/>). An existing file is used as it is.
    /// </summary>
    /// <param name="uri">The URI.</param>
    /// <param name="newFileSchema">The schema of a file created now.</param>
    /// <param name="timeProvider">The clock for creation and update times; the system clock when <see langword="null"/>.</param>
    public static SqliteTrackingStore Open(string uri, SqliteSchema newFileSchema, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(uri);
        var path = PathFromUri(uri);
        var fullPath = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(fullPath)!;
        Directory.CreateDirectory(dir);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = fullPath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString());
        try
        {
            connection.Open();
            Execute(connection, "PRAGMA busy_timeout = 30000;");
            Execute(connection, "PRAGMA journal_mode = WAL;");
            Execute(connection, "PRAGMA synchronous = NORMAL;");
            Execute(connection, "PRAGMA foreign_keys = ON;");
            Execute(connection, "PRAGMA cache_size = -65536;"); // 64 MiB of page cache: index inserts stay in memory
            Execute(connection, "PRAGMA wal_autocheckpoint = 10000;"); // checkpoint every ~40 MB of WAL rather than every 4 MB
            var time = timeProvider ?? TimeProvider.System;
            var artifactRoot = Path.Combine(dir, "mlruns");
            var revision = EnsureSchema(connection, artifactRoot, time, newFileSchema == SqliteSchema.Mlflow3 ? TraceSchemaRevision : SchemaRevision);
            return new SqliteTrackingStore("sqlite:///" + (Path.IsPathRooted(path) ? fullPath.TrimStart('/').Insert(0, "/") : path).Replace('\\', '/'), fullPath, connection, artifactRoot, revision, time);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    internal static string PathFromUri(string uri)
    {
        const string prefix = "sqlite:///";
        if (!uri.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) || uri.Length == prefix.Length)
        {
            throw new NotSupportedException(
                $"'{uri}' is not a SQLite URI of the form sqlite:///relative/path.db or sqlite:////absolute/path.db.");
        }

        var path = uri[prefix.Length..];
        var query = path.IndexOf('?', StringComparison.Ordinal);
        if (query >= 0)
        {
            path = path[..query];
        }

        if (path == ":memory:")
        {
            throw new NotSupportedException("An in-memory SQLite database cannot be shared with MLflow's UI; use a file path.");
        }

        return Uri_UnescapePath(path);
    }

    private static string Uri_UnescapePath(string path) => System.Uri.UnescapeDataString(path);

    private static string EnsureSchema(SqliteConnection connection, string artifactRoot, TimeProvider time, string newFileRevision)
    {
        using var tx = connection.BeginTransaction(deferred: false); // BEGIN IMMEDIATE: one process creates the schema
        var hasAlembic = Scalar<long>(connection, tx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'") > 0;
        string revision;
        if (!hasAlembic)
        {
            var tables = Scalar<long>(connection, tx, "SELECT count(*) FROM sqlite_master WHERE type = 'table'");
            if (tables > 0)
            {
                throw new MlflowException(0, MlflowErrorCodes.InvalidState,
                    "The SQLite file already holds tables but no alembic_version: it is not an MLflow tracking database.");
            }

            using var stream = typeof(SqliteTrackingStore).Assembly.GetManifestResourceStream("MlOps.Client.Stores.Sqlite.mlflow-schema-" + newFileRevision + ".sql")!;
            using var reader = new StreamReader(stream, Encoding.UTF8);
            using (var create = connection.CreateCommand())
            {
                create.Transaction = tx;
                create.CommandText = reader.ReadToEnd();
                create.ExecuteNonQuery();
            }

            revision = newFileRevision;
        }
        else
        {
            revision = Scalar<string>(connection, tx, "SELECT version_num FROM alembic_version LIMIT 1") ?? "";
        }

        if (Scalar<long>(connection, tx, "SELECT count(*) FROM experiments WHERE experiment_id = 0") == 0)
        {
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            using var insert = connection.CreateCommand();
            insert.Transaction = tx;
            insert.CommandText = "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time) VALUES (0, 'Default', $loc, 'active', $now, $now)";
            insert.Parameters.AddWithValue("$loc", ToFileLocation(Path.Combine(artifactRoot, "0")));
            insert.Parameters.AddWithValue("$now", now);
            insert.ExecuteNonQuery();
        }

        tx.Commit();
        return revision;
    }

    /// <inheritdoc />
    public Task<string> CreateExperimentAsync(string name, string? artifactLocation, IReadOnlyDictionary<string, string>? tags, CancellationToken cancellationToken) =>
        WithLockAsync(() =>
        {
            Validation.MlflowValidator.ValidateExperimentName(name);
            using var tx = _connection.BeginTransaction(deferred: false);
            if (Scalar<long>(_connection, tx, "SELECT count(*) FROM experiments WHERE name = $p0", name) > 0)
            {
                throw new MlflowException(400, MlflowErrorCodes.ResourceAlreadyExists, $"Experiment(name={name}) already exists.");
            }

            var now = Now();
            var id = Scalar<long>(_connection, tx, "SELECT coalesce(max(experiment_id), -1) + 1 FROM experiments");
            var location = artifactLocation ?? ToFileLocation(Path.Combine(_artifactRoot, id.ToString(CultureInfo.InvariantCulture)));
            Exec(tx, "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time) VALUES ($p0, $p1, $p2, 'active', $p3, $p3)", id, name, location, now);
            if (tags is not null)
            {
                foreach (var (key, value) in tags)
                {
                    Exec(tx, "INSERT OR REPLACE INTO experiment_tags (key, value, experiment_id) VALUES ($p0, $p1, $p2)", key, value, id);
                }
            }

            tx.Commit();
            return id.ToString(CultureInfo.InvariantCulture);
        }, cancellationToken);

    /// <inheritdoc />
    public Task<Experiment> GetExperimentAsync(string experimentId, CancellationToken cancellationToken) =>
        WithLockAsync(() => ReadExperiments("WHERE experiment_id = $p0", [ParseId(experimentId)]).FirstOrDefault()
            ?? throw new MlflowException(404, MlflowErrorCodes.ResourceDoesNotExist, $"No Experiment with id={experimentId} exists"), cancellationToken);

    /// <inheritdoc />
    public Task<Experiment?> FindExperimentByNameAsync(string name, CancellationToken cancellationToken) =>
        WithLockAsync(() => ReadExperiments("WHERE name = $p0", [name]).FirstOrDefault(), cancellationToken);

    /// <inheritdoc cref="SearchExperimentsPageAsync"/>
    [Obsolete("Renamed SearchExperimentsPageAsync: it returns one page (MlflowClient.SearchExperimentsAsync returns a pageable). Removed in the next release.")]
    public Task<MlflowPage<Experiment>> SearchExperimentsAsync(SearchExperimentsOptions query, string? pageToken, CancellationToken cancellationToken) =>
        SearchExperimentsPageAsync(query, pageToken, cancellationToken);

    /// <inheritdoc />
    public Task<MlflowPage<Experiment>> SearchExperimentsPageAsync(SearchExperimentsOptions query, string? pageToken, CancellationToken cancellationToken) =>
        WithLockAsync(() =>
        {
            ArgumentNullException.ThrowIfNull(query);
            var where = new StringBuilder(LifecycleClause("experiments.lifecycle_stage", query.ViewType));
            var args = new List<object>();
            if (!string.IsNullOrWhiteSpace(query.Filter))
            {
                SearchSql.ExperimentFilter(query.Filter, where, args);
            }

            var order = SearchSql.ExperimentOrder(query.OrderBy);
            var offset = DecodeToken(pageToken);
            var all = ReadExperiments("WHERE " + where + " ORDER BY " + order, [.. args]);
            var page = all.Skip(offset).Take(query.FirstPageSize).ToList();
            var next = offset + page.Count < all.Count ? EncodeToken(offset + page.Count) : null;
            return new MlflowPage<Experiment>(page, next);
        }, cancellationToken);

    /// <inheritdoc />
    public Task<Run> CreateRunAsync(string experimentId, CreateRunOptions options, CancellationToken cancellationToken) =>
        WithLockAsync(() =>
        {
            ArgumentNullException.ThrowIfNull(options);
            var expId = ParseId(experimentId);
            using var tx = _connection.BeginTransaction(deferred: false);
            var experiment = ReadExperiments("WHERE experiment_id = $p0", [expId], tx).FirstOrDefault()
                ?? throw new MlflowException(404, MlflowErrorCodes.ResourceDoesNotExist, $"No Experiment with id={experimentId} exists");
            if (experiment.LifecycleStage != "active")
            {
                throw new MlflowException(400, MlflowErrorCodes.InvalidParameterValue,
                    $"The experiment {experimentId} must be in the 'active' state. Current state is {experiment.LifecycleStage}.");
            }

            var runId = Guid.NewGuid().ToString("N");
            var name = string.IsNullOrEmpty(options.RunName)
                ? options.Tags.TryGetValue(MlflowTags.RunName, out var tagged) && !string.IsNullOrEmpty(tagged) ? tagged : RunNames.Generate()
                : options.RunName;
            var start = (options.StartTime ?? _time.GetUtcNow()).ToUnixTimeMilliseconds();
            var artifactUri = JoinLocation(experiment.ArtifactLocation ?? ToFileLocation(Path.Combine(_artifactRoot, experimentId)), runId + "/artifacts");
            Exec(tx, """
                INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id)
                VALUES ($p0, $p1, 'UNKNOWN', '', '', $p2, 'RUNNING', $p3, NULL, '', 'active', $p4, $p5)
                """, runId, name, options.UserId ?? "", start, artifactUri, expId);
            var tags = new Dictionary<string, string>(options.Tags, StringComparer.Ordinal) { [MlflowTags.RunName] = name };
            foreach (var (key, value) in tags)
            {
                Exec(tx, "INSERT OR REPLACE INTO tags (key, value, run_uuid) VALUES ($p0, $p1, $p2)", key, value, runId);
            }

            tx.Commit();
            return ReadRun(runId, null);
        }, cancellationToken);

    /// <inheritdoc />
    public Task<Run> GetRunAsync(string runId, CancellationToken cancellationToken) =>
        WithLockAsync(() => ReadRun(runId, null), cancellationToken);

    /// <inheritdoc />
    public Task<RunInfo> UpdateRunAsync(string runId, RunStatus? status, DateTimeOffset? endTime, string? runName, CancellationToken cancellationToken) =>
        WithLockAsync(() =>
        {
            using var tx = _connection.BeginTransaction(deferred: false);
            EnsureRunActive(runId, tx);
            if (status is { } s)
            {
                Exec(tx, "UPDATE runs SET status = $p0 WHERE run_uuid = $p1", StatusName(s), runId);
            }

            if (endTime is { } e)
            {
                Exec(tx, "UPDATE runs SET end_time = $p0 WHERE run_uuid = $p1", e.ToUnixTimeMilliseconds(), runId);
            }

            if (runName is not null)
            {
                Exec(tx, "UPDATE runs SET name = $p0 WHERE run_uuid = $p1", runName, runId);
                Exec(tx, "INSERT OR REPLACE INTO tags (key, value, run_uuid) VALUES ($p0, $p1, $p2)", MlflowTags.RunName, runName, runId);
            }

            tx.Commit();
            return ReadRun(runId, null).Info;
        }, cancellationToken);

    /// <inheritdoc />
    public Task LogBatchAsync(string runId, IReadOnlyList<Metric> metrics, IReadOnlyList<Param> parameters, IReadOnlyList<RunTag> tags, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var rows = new MetricRow[metrics.Count];
        for (var i = 0; i < rows.Length; i++)
        {
            ArgumentNullException.ThrowIfNull(metrics[i], nameof(metrics));
            rows[i] = MetricRow.Of(metrics[i]);
        }

        return LogRowsAsync(runId, rows, parameters, tags, cancellationToken);
    }

    /// <inheritdoc />
    Task IMetricRowsStore.LogBatchAsync(string runId, ReadOnlyMemory<MetricRow> metrics, IReadOnlyList<Param> parameters, IReadOnlyList<RunTag> tags, CancellationToken cancellationToken) =>
        LogRowsAsync(runId, metrics, parameters, tags, cancellationToken);

    private Task<bool> LogRowsAsync(string runId, ReadOnlyMemory<MetricRow> metrics, IReadOnlyList<Param> parameters, IReadOnlyList<RunTag> tags, CancellationToken cancellationToken) =>
        WithLockAsync(() =>
        {
            Validation.MlflowValidator.ValidateBatchCounts(metrics.Length, parameters, tags.Count);
            using var tx = _connection.BeginTransaction(deferred: false);
            var experimentId = EnsureRunActive(runId, tx);
            WriteParams(runId, parameters, tx);
            WriteMetrics(runId, metrics.Span, tx);
            WriteModelMetrics(runId, experimentId, metrics.Span, tx);
            foreach (var t in tags)
            {
                Validation.MlflowValidator.ValidateTag(t.Key, t.Value);
                Exec(tx, "INSERT OR REPLACE INTO tags (key, value, run_uuid) VALUES ($p0, $p1, $p2)", t.Key, t.Value, runId);
                if (t.Key == MlflowTags.RunName)
                {
                    Exec(tx, "UPDATE runs SET name = $p0 WHERE run_uuid = $p1", t.Value, runId);
                }
            }

            tx.Commit();
            return true;
        }, cancellationToken);

    /// <inheritdoc />
    public Task LogInputsAsync(string runId, IReadOnlyList<DatasetInput> datasets, CancellationToken cancellationToken) =>
        WithLockAsync(() =>
        {
            using var tx = _connection.BeginTransaction(deferred: false);
            var expId = EnsureRunActive(runId, tx);
            foreach (var input in datasets)
            {
                Validation.MlflowValidator.ValidateDatasetInput(input);
                var d = input.Dataset;
                var digest = d.Digest ?? "";
                var datasetUuid = Scalar<string>(_connection, tx, "SELECT dataset_uuid FROM datasets WHERE experiment_id = $p0 AND name = $p1 AND digest = $p2", expId, d.Name, digest);
                if (datasetUuid is null)
                {
                    datasetUuid = Guid.NewGuid().ToString("N");
                    Exec(tx, "INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, dataset_source_type, dataset_source, dataset_schema, dataset_profile) VALUES ($p0, $p1, $p2, $p3, $p4, $p5, $p6, $p7)",
                        datasetUuid, expId, d.Name, digest, d.SourceType, d.Source, (object?)d.Schema ?? DBNull.Value, (object?)d.Profile ?? DBNull.Value);
                }

                if (Scalar<long>(_connection, tx, "SELECT count(*) FROM inputs WHERE source_type = 'DATASET' AND source_id = $p0 AND destination_type = 'RUN' AND destination_id = $p1", datasetUuid, runId) > 0)
                {
                    continue; // the same dataset again adds nothing, as on the server
                }

                var inputUuid = Guid.NewGuid().ToString("N");
                Exec(tx, "INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, destination_id) VALUES ($p0, 'DATASET', $p1, 'RUN', $p2)", inputUuid, datasetUuid, runId);
                foreach (var tag in input.Tags)
                {
                    Exec(tx, "INSERT OR REPLACE INTO input_tags (input_uuid, name, value) VALUES ($p0, $p1, $p2)", inputUuid, tag.Key, tag.Value);
                }
            }

            tx.Commit();
            return true;
        }, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<Metric>> GetMetricHistoryAsync(string runId, string metricKey, CancellationToken cancellationToken) =>
        WithLockAsync<IReadOnlyList<Metric>>(() =>
        {
            EnsureRunExists(runId, null);
            using var cmd = Command(null, "SELECT key, value, timestamp, step, is_nan FROM metrics WHERE run_uuid = $p0 AND key = $p1 ORDER BY step, timestamp", runId, metricKey);
            using var r = cmd.ExecuteReader();
            var list = new List<Metric>();
            while (r.Read())
            {
                list.Add(new Metric(r.GetString(0), r.GetBoolean(4) ? double.NaN : r.GetDouble(1), r.GetInt64(2), r.GetInt64(3)));
            }

            return list;
        }, cancellationToken);

    /// <inheritdoc cref="SearchRunsPageAsync"/>
    [Obsolete("Renamed SearchRunsPageAsync: it returns one page (MlflowClient.SearchRunsAsync returns a pageable). Removed in the next release.")]
    public Task<MlflowPage<Run>> SearchRunsAsync(SearchRunsOptions query, string? pageToken, CancellationToken cancellationToken) =>
        SearchRunsPageAsync(query, pageToken, cancellationToken);

    /// <inheritdoc />
    public Task<MlflowPage<Run>> SearchRunsPageAsync(SearchRunsOptions query, string? pageToken, CancellationToken cancellationToken) =>
        WithLockAsync(() =>
        {
            ArgumentNullException.ThrowIfNull(query);
            if (query.ExperimentIds.Count == 0)
            {
                return new MlflowPage<Run>([], null);
            }

            var args = new List<object>();
            var (joins, order) = SearchSql.RunOrder(query.OrderBy, args);
            var sql = new StringBuilder("SELECT runs.run_uuid FROM runs").Append(joins).Append(" WHERE runs.experiment_id IN (");
            for (var i = 0; i < query.ExperimentIds.Count; i++)
            {
                sql.Append(i == 0 ? "" : ", ").Append(SearchSql.Slot(args, ParseId(query.ExperimentIds[i])));
            }

            sql.Append(") AND ").Append(LifecycleClause("runs.lifecycle_stage", query.ViewType));
            if (!string.IsNullOrWhiteSpace(query.Filter))
            {
                SearchSql.RunFilter(query.Filter, sql, args);
            }

            sql.Append(" ORDER BY ").Append(order);
            var offset = DecodeToken(pageToken);
            sql.Append(CultureInfo.InvariantCulture, $" LIMIT {query.FirstPageSize + 1} OFFSET {offset}");
            var ids = new List<string>();
            using (var cmd = Command(null, sql.ToString(), [.. args]))
            using (var r = cmd.ExecuteReader())
            {
                while (r.Read())
                {
                    ids.Add(r.GetString(0));
                }
            }

            var more = ids.Count > query.FirstPageSize;
            var runs = ids.Take(query.FirstPageSize).Select(id => ReadRun(id, null)).ToList();
            return new MlflowPage<Run>(runs, more ? EncodeToken(offset + runs.Count) : null);
        }, cancellationToken);

    /// <inheritdoc />
    Task ILifecycleStore.DeleteRunAsync(string runId, CancellationToken cancellationToken) =>
        WithLockAsync(() => SetRunStage(runId, "deleted", Now()), cancellationToken);

    /// <inheritdoc />
    Task ILifecycleStore.RestoreRunAsync(string runId, CancellationToken cancellationToken) =>
        WithLockAsync(() => SetRunStage(runId, "active", null), cancellationToken);

    /// <inheritdoc />
    Task ILifecycleStore.DeleteExperimentAsync(string experimentId, CancellationToken cancellationToken) =>
        WithLockAsync(() => SetExperimentStage(experimentId, "deleted"), cancellationToken);

    /// <inheritdoc />
    Task ILifecycleStore.RestoreExperimentAsync(string experimentId, CancellationToken cancellationToken) =>
        WithLockAsync(() => SetExperimentStage(experimentId, "active"), cancellationToken);

    /// <summary>As MLflow's SQL store: the stage and <c>deleted_time</c> (set on delete, cleared on restore), whatever the stage was.</summary>
    private bool SetRunStage(string runId, string stage, long? deletedTime)
    {
        using var tx = _connection.BeginTransaction(deferred: false);
        using var cmd = Command(tx, "UPDATE runs SET lifecycle_stage = $p0, deleted_time = $p1 WHERE run_uuid = $p2", stage, deletedTime, runId);
        if (cmd.ExecuteNonQuery() == 0)
        {
            throw new MlflowException(404, MlflowErrorCodes.ResourceDoesNotExist, $"Run with id={runId} not found");
        }

        tx.Commit();
        return true;
    }

    /// <summary>
    /// As MLflow's SQL store: only an active experiment is deleted and only a deleted one restored (otherwise "No Experiment
    /// with id=… exists"); every run of the experiment follows it.
    /// </summary>
    private bool SetExperimentStage(string experimentId, string stage)
    {
        var now = Now();
        using var tx = _connection.BeginTransaction(deferred: false);
        using (var cmd = Command(tx, "UPDATE experiments SET lifecycle_stage = $p0, last_update_time = $p1 WHERE experiment_id = $p2 AND lifecycle_stage = $p3",
            stage, now, ParseId(experimentId), stage == "deleted" ? "active" : "deleted"))
        {
            if (cmd.ExecuteNonQuery() == 0)
            {
                throw new MlflowException(404, MlflowErrorCodes.ResourceDoesNotExist, $"No Experiment with id={experimentId} exists");
            }
        }

        Exec(tx, "UPDATE runs SET lifecycle_stage = $p0, deleted_time = $p1 WHERE experiment_id = $p2", stage, stage == "deleted" ? now : null, ParseId(experimentId));
        tx.Commit();
        return true;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        Close();
        return ValueTask.CompletedTask;
    }

    /// <summary>Closes the connection (synchronous: what <see cref="DisposeAsync"/> does, for an exporter's synchronous disposal).</summary>
    internal void Close()
    {
        _connection.Dispose();
        _gate.Dispose();
    }

    /// <inheritdoc />
    public override string ToString() => $"SqliteTrackingStore({Uri})";
}
