using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace MlOps.Client.Stores;

/// <summary>
/// Traces in the embedded store, in MLflow 3's tables (<c>trace_info</c>, <c>trace_tags</c>,
/// <c>trace_request_metadata</c>, <c>spans</c>) as MLflow's SQL store writes them when its OTLP endpoint receives spans
/// (<c>SqlAlchemyStore.log_spans</c>) and then the trace's info (<c>start_trace</c>): Python MLflow 3 opening the file
/// reads them with <c>MlflowClient.get_trace</c> / <c>search_traces</c> and shows them in the UI.
/// </summary>
public sealed partial class SqliteTrackingStore
{
    private const string SpansLocationTag = "mlflow.trace.spansLocation";
    private const string ArtifactLocationTag = "mlflow.artifactLocation";
    private bool _hasTraceTables; // once true, for good; asked again while false (another process may upgrade the file)

    /// <summary>Whether the file holds MLflow 3's trace tables (a file in MLflow 2.22's schema does not).</summary>
    public bool SupportsTraces => _hasTraceTables || (_hasTraceTables = Scalar<long>(_connection, null, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'spans'") > 0);

    /// <summary>
    /// Writes spans as MLflow's SQL store does with the spans its OTLP endpoint receives (<c>log_spans</c>): a trace not
    /// yet known is created (its start, duration and state from the spans, the tags <c>mlflow.trace.spansLocation</c> and
    /// <c>mlflow.artifactLocation</c>); each span is stored (again: replaced) with its content as Python's
    /// <c>Span.to_dict</c>; the root gives the state and the request and response previews; the spans' token usage is
    /// added to the trace's <c>mlflow.trace.tokenUsage</c>. One transaction per trace.
    /// </summary>
    /// <param name="experimentId">The experiment of new traces.</param>
    /// <param name="spans">Spans of one or more traces (ids as <see cref="TraceSpan"/> has them: <c>tr-</c> and 32 hex digits, 16 hex digits).</param>
    /// <param name="cancellationToken">Cancels before the write.</param>
    /// <exception cref="MlflowException">The file is in MLflow 2.22's schema (no trace tables), or the experiment does not exist.</exception>
    public Task LogSpansAsync(string experimentId, IReadOnlyList<TraceSpan> spans, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(experimentId);
        ArgumentNullException.ThrowIfNull(spans);
        return WithLockAsync(() =>
        {
            LogSpans(experimentId, spans);
            return true;
        }, cancellationToken);
    }

    /// <summary>
    /// Writes a trace's info as MLflow's SQL store does (<c>start_trace</c>): created, or — when its spans came first —
    /// updated with the info's time, state, previews, tags and metadata (the tags <c>mlflow.trace.spansLocation</c> and
    /// <c>mlflow.artifactLocation</c> added).
    /// </summary>
    /// <param name="info">The trace's info; its <see cref="TraceInfo.ExperimentId"/> is required.</param>
    /// <param name="cancellationToken">Cancels before the write.</param>
    /// <exception cref="MlflowException">The file has no trace tables, or the experiment does not exist or is deleted.</exception>
    public Task StartTraceAsync(TraceInfo info, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentException.ThrowIfNullOrEmpty(info.TraceId);
        ArgumentException.ThrowIfNullOrEmpty(info.ExperimentId);
        return WithLockAsync(() =>
        {
            StartTrace(info);
            return true;
        }, cancellationToken);
    }

    /// <summary>A trace with its spans, as Python's <c>MlflowClient.get_trace</c> reads it from this file.</summary>
    /// <param name="traceId">The trace's id (<c>tr-…</c>).</param>
    /// <param name="cancellationToken">Cancels before the read.</param>
    /// <exception cref="MlflowException">No such trace (404, <c>RESOURCE_DOES_NOT_EXIST</c>), or no trace tables.</exception>
    public Task<Trace> GetTraceAsync(string traceId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(traceId);
        return WithLockAsync(() => ReadTrace(traceId), cancellationToken);
    }

    /// <summary>
    /// Searches the traces of experiments as MLflow's SQL store does (<c>search_traces</c>): a filter on the trace's
    /// attributes (<c>trace.status = 'OK'</c>, <c>trace.timestamp_ms &gt; …</c>, <c>trace.name</c>, <c>trace.run_id</c>),
    /// tags (<c>tags.team = 'support'</c>) and metadata (<c>metadata.`mlflow.modelId` = 'm-…'</c>) with <c>= != LIKE
    /// ILIKE</c> (numbers with <c>&lt; &lt;= &gt; &gt;=</c>); ordered by the clauses given, then newest first. Infos only, as
    /// MLflow's search returns them (<see cref="GetTraceAsync"/> for the spans).
    /// </summary>
    /// <param name="experimentIds">The experiments (at least one).</param>
    /// <param name="filter">MLflow's filter, or <see langword="null"/>.</param>
    /// <param name="orderBy">Order clauses (<c>timestamp_ms DESC</c>, <c>execution_time_ms ASC</c>, <c>tags.x</c>…).</param>
    /// <param name="maxResults">The page size (1–50,000).</param>
    /// <param name="pageToken">The previous page's <see cref="MlflowPage{T}.NextPageToken"/>.</param>
    /// <param name="cancellationToken">Cancels before the read.</param>
    /// <exception cref="MlflowException">A filter or order clause MLflow would refuse (400, naming it), or no trace tables.</exception>
    public Task<MlflowPage<TraceInfo>> SearchTracesAsync(
        IReadOnlyList<string> experimentIds, string? filter = null, IReadOnlyList<string>? orderBy = null, int maxResults = 100, string? pageToken = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(experimentIds);
        if (experimentIds.Count == 0)
        {
            throw new ArgumentException("Give at least one experiment id.", nameof(experimentIds));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(maxResults, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxResults, 50_000);
        return WithLockAsync(() =>
        {
            RequireTraceTables();
            var args = new List<object>();
            var sql = new StringBuilder("SELECT trace_info.request_id FROM trace_info WHERE trace_info.experiment_id IN (");
            sql.Append(string.Join(", ", experimentIds.Select(id => SearchSql.Slot(args, ParseId(id))))).Append(')');
            if (!string.IsNullOrWhiteSpace(filter))
            {
                SearchSql.TraceFilter(filter, sql, args);
            }

            var offset = DecodeToken(pageToken);
            sql.Append(" ORDER BY ").Append(SearchSql.TraceOrder([.. orderBy ?? []], args))
                .Append(CultureInfo.InvariantCulture, $" LIMIT {maxResults + 1} OFFSET {offset}");
            var ids = new List<string>();
            using (var cmd = Command(null, sql.ToString(), [.. args]))
            using (var reader = cmd.ExecuteReader())
            {
                while (reader.Read())
                {
                    ids.Add(reader.GetString(0));
                }
            }

            var more = ids.Count > maxResults;
            var infos = ids.Take(maxResults).Select(id => ReadTraceInfo(id)!).ToList();
            return new MlflowPage<TraceInfo>(infos, more ? EncodeToken(offset + maxResults) : null);
        }, cancellationToken);
    }

    /// <summary>
    /// Upgrades a file in MLflow 2.22's schema (alembic <c>0584bdc529eb</c>) to MLflow 3.5–3.6's (<c>bf29a5ff90ea</c>), as
    /// MLflow 3's migrations do when Python MLflow 3 opens it (they only add tables, indexes and columns and widen one
    /// column): afterwards the file holds traces, and MLflow 2.x no longer opens it. One transaction; a file already in
    /// MLflow 3's schema is left as it is.
    /// </summary>
    /// <param name="cancellationToken">Cancels before the upgrade.</param>
    /// <returns>Whether the file was upgraded now.</returns>
    /// <exception cref="MlflowException">The file is at another alembic revision this store does not know how to upgrade.</exception>
    public Task<bool> UpgradeToMlflow3Async(CancellationToken cancellationToken = default) => WithLockAsync(UpgradeToMlflow3, cancellationToken);

    /// <summary>The synchronous body of <see cref="UpgradeToMlflow3Async"/>.</summary>
    internal bool UpgradeToMlflow3()
    {
        using var tx = _connection.BeginTransaction(deferred: false);
        var revision = Scalar<string>(_connection, tx, "SELECT version_num FROM alembic_version LIMIT 1");
        if (Scalar<long>(_connection, tx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'spans'") > 0)
        {
            _hasTraceTables = true;
            return false;
        }

        if (revision != SchemaRevision)
        {
            throw new MlflowException(400, MlflowErrorCodes.InvalidState,
                $"The SQLite file {DatabasePath} is at alembic revision {revision}, which this store cannot upgrade to MLflow 3's schema: upgrade it with Python MLflow 3 ('mlflow db upgrade sqlite:///…').");
        }

        var existing = new HashSet<string>(StringComparer.Ordinal);
        using (var cmd = Command(tx, "SELECT name FROM sqlite_master WHERE type = 'table'"))
        using (var reader = cmd.ExecuteReader())
        {
            while (reader.Read())
            {
                existing.Add(reader.GetString(0));
            }
        }

        // The tables (and their indexes) MLflow 3 added, as its migrations create them: the statements of its fresh schema.
        using var stream = typeof(SqliteTrackingStore).Assembly.GetManifestResourceStream("MlOps.Client.Stores.Sqlite.mlflow-schema-" + TraceSchemaRevision + ".sql")!;
        using var text = new StreamReader(stream, Encoding.UTF8);
        var statements = text.ReadToEnd().Split(";\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => string.Join('\n', s.Split('\n').Where(l => !l.StartsWith("--", StringComparison.Ordinal))).Trim()).ToList();
        foreach (var statement in statements)
        {
            var table = TableOf(statement);
            if (table is not null && !existing.Contains(table))
            {
                Exec(tx, statement);
            }
        }

        // The columns MLflow 3 added (migrations 6953534de441, cbc13b556ace), as alembic adds them on SQLite.
        Exec(tx, "ALTER TABLE inputs ADD COLUMN step BIGINT DEFAULT '0' NOT NULL");
        Exec(tx, "ALTER TABLE trace_info ADD COLUMN client_request_id VARCHAR(50)");
        Exec(tx, "ALTER TABLE trace_info ADD COLUMN request_preview VARCHAR(1000)");
        Exec(tx, "ALTER TABLE trace_info ADD COLUMN response_preview VARCHAR(1000)");
        // bda7b8c39065 widens model_version_tags.value to TEXT: alembic's batch mode on SQLite copies the table into MLflow 3's definition.
        var tags = statements.Single(s => s.StartsWith("CREATE TABLE \"model_version_tags\"", StringComparison.Ordinal));
        Exec(tx, "CREATE TABLE _alembic_tmp_model_version_tags" + tags["CREATE TABLE \"model_version_tags\"".Length..]);
        Exec(tx, "INSERT INTO _alembic_tmp_model_version_tags (\"key\", value, name, version) SELECT \"key\", value, name, version FROM model_version_tags");
        Exec(tx, "DROP TABLE model_version_tags");
        Exec(tx, "ALTER TABLE _alembic_tmp_model_version_tags RENAME TO model_version_tags");
        Exec(tx, "UPDATE alembic_version SET version_num = $p0", TraceSchemaRevision);
        tx.Commit();
        _hasTraceTables = true;
        return true;
    }

    /// <summary>The table a <c>CREATE TABLE</c> or <c>CREATE INDEX … ON</c> statement is about, or <see langword="null"/>.</summary>
    private static string? TableOf(string statement)
    {
        var match = System.Text.RegularExpressions.Regex.Match(statement, @"^CREATE (?:TABLE ""?(\w+)""?|(?:UNIQUE )?INDEX \w+ ON ""?(\w+)""?)", System.Text.RegularExpressions.RegexOptions.CultureInvariant);
        return !match.Success ? null : match.Groups[1].Success ? match.Groups[1].Value : match.Groups[2].Value;
    }

    /// <summary>The synchronous body of <see cref="LogSpansAsync"/>, for an exporter's thread (SQLite's work is synchronous).</summary>
    internal void LogSpans(string experimentId, IReadOnlyList<TraceSpan> spans)
    {
        RequireTraceTables();
        foreach (var trace in spans.GroupBy(s => s.TraceId, StringComparer.Ordinal))
        {
            LogTraceSpans(experimentId, trace.Key, [.. trace]);
        }
    }

    /// <summary>The synchronous body of <see cref="StartTraceAsync"/>.</summary>
    internal void StartTrace(TraceInfo info)
    {
        RequireTraceTables();
        using var tx = _connection.BeginTransaction(deferred: false);
        var experiment = ExperimentForTrace(tx, info.ExperimentId!);
        var exists = Scalar<long>(_connection, tx, "SELECT count(*) FROM trace_info WHERE request_id = $p0", info.TraceId) > 0;
        var time = info.RequestTime?.ToUnixTimeMilliseconds() ?? Now();
        var duration = info.ExecutionDuration is { } d ? (long?)(long)d.TotalMilliseconds : null;
        var state = string.IsNullOrEmpty(info.State) ? "STATE_UNSPECIFIED" : info.State;
        if (exists)
        {
            Exec(tx, "UPDATE trace_info SET timestamp_ms = $p1, execution_time_ms = $p2, status = $p3, request_preview = $p4, response_preview = $p5 WHERE request_id = $p0",
                info.TraceId, time, duration, state, info.RequestPreview, info.ResponsePreview);
        }
        else
        {
            Exec(tx, "INSERT INTO trace_info (request_id, experiment_id, timestamp_ms, execution_time_ms, status, client_request_id, request_preview, response_preview) VALUES ($p0, $p1, $p2, $p3, $p4, NULL, $p5, $p6)",
                info.TraceId, long.Parse(experiment.ExperimentId, CultureInfo.InvariantCulture), time, duration, state, info.RequestPreview, info.ResponsePreview);
        }

        foreach (var (key, value) in info.Tags)
        {
            Exec(tx, "INSERT OR REPLACE INTO trace_tags (key, value, request_id) VALUES ($p0, $p1, $p2)", key, value, info.TraceId);
        }

        AddLocationTags(tx, experiment, info.TraceId);
        foreach (var (key, value) in info.Metadata)
        {
            Exec(tx, "INSERT OR REPLACE INTO trace_request_metadata (key, value, request_id) VALUES ($p0, $p1, $p2)", key, value, info.TraceId);
        }

        tx.Commit();
    }

    private void LogTraceSpans(string experimentId, string traceId, IReadOnlyList<TraceSpan> spans)
    {
        var start = spans.Min(s => Nanoseconds(s.StartTime)) / 1_000_000;
        long? end = spans.Any(s => s.EndTime is not null) ? spans.Where(s => s.EndTime is not null).Max(s => Nanoseconds(s.EndTime!.Value)) / 1_000_000 : null;
        var root = spans.FirstOrDefault(s => s.ParentSpanId is null);
        string? rootState = root is null ? null : root.Status == "ERROR" ? "ERROR" : "OK";
        using var tx = _connection.BeginTransaction(deferred: false);
        long experiment;
        var existing = Scalar<long?>(_connection, tx, "SELECT experiment_id FROM trace_info WHERE request_id = $p0", traceId);
        if (existing is { } known)
        {
            experiment = known;
        }
        else
        {
            var entity = ExperimentForTrace(tx, experimentId);
            experiment = long.Parse(entity.ExperimentId, CultureInfo.InvariantCulture);
            Exec(tx, "INSERT INTO trace_info (request_id, experiment_id, timestamp_ms, execution_time_ms, status, client_request_id) VALUES ($p0, $p1, $p2, $p3, $p4, NULL)",
                traceId, experiment, start, end is { } e ? e - start : null, rootState ?? "IN_PROGRESS");
            AddLocationTags(tx, entity, traceId);
        }

        // The trace's time range grows to cover these spans; its state comes from the root while it is still open.
        Exec(tx, """
            UPDATE trace_info SET
              execution_time_ms = CASE WHEN $p2 IS NULL THEN execution_time_ms
                ELSE max(coalesce(timestamp_ms + execution_time_ms, $p2), $p2) - min(timestamp_ms, $p1) END,
              timestamp_ms = min(timestamp_ms, $p1),
              status = CASE WHEN $p3 IS NOT NULL AND status IN ('IN_PROGRESS', 'STATE_UNSPECIFIED') THEN $p3 ELSE status END
            WHERE request_id = $p0
            """, traceId, start, end, rootState);

        long input = 0, output = 0, total = 0;
        var anyUsage = false;
        foreach (var span in spans)
        {
            var attributes = new Dictionary<string, JsonElement>(span.Attributes, StringComparer.Ordinal);
            if (!attributes.ContainsKey(SpanAttributeKeys.TraceRequestId))
            {
                attributes[SpanAttributeKeys.TraceRequestId] = StringElement(traceId);
            }

            if (attributes.TryGetValue(SpanAttributeKeys.ChatTokenUsage, out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                anyUsage = true;
                input += Tokens(usage, "input_tokens");
                output += Tokens(usage, "output_tokens");
                total += Tokens(usage, "total_tokens");
            }

            Exec(tx, """
                INSERT OR REPLACE INTO spans (trace_id, experiment_id, span_id, parent_span_id, name, type, status, start_time_unix_nano, end_time_unix_nano, content)
                VALUES ($p0, $p1, $p2, $p3, $p4, $p5, $p6, $p7, $p8, $p9)
                """,
                traceId, experiment, span.SpanId, span.ParentSpanId, span.Name, span.SpanType, span.Status is "OK" or "ERROR" ? span.Status : "UNSET",
                Nanoseconds(span.StartTime), span.EndTime is { } spanEnd ? Nanoseconds(spanEnd) : null, Content(traceId, span, attributes));
            if (span.ParentSpanId is null)
            {
                // Previews from the root, once (MLflow's _update_trace_info_attributes).
                if (attributes.TryGetValue(SpanAttributeKeys.Inputs, out var inputs))
                {
                    Exec(tx, "UPDATE trace_info SET request_preview = coalesce(request_preview, $p1) WHERE request_id = $p0", traceId, TracePreviews.Preview(inputs.GetRawText(), "user"));
                }

                if (attributes.TryGetValue(SpanAttributeKeys.Outputs, out var outputs))
                {
                    Exec(tx, "UPDATE trace_info SET response_preview = coalesce(response_preview, $p1) WHERE request_id = $p0", traceId, TracePreviews.Preview(outputs.GetRawText(), "assistant"));
                }
            }
        }

        if (anyUsage)
        {
            // Added to what the trace already has, as the server does (a span sent twice counts twice there too).
            var before = Scalar<string>(_connection, tx, "SELECT value FROM trace_request_metadata WHERE request_id = $p0 AND key = $p1", traceId, TraceMetadataKeys.TokenUsage);
            if (before is not null)
            {
                using var document = JsonDocument.Parse(before);
                input += Tokens(document.RootElement, "input_tokens");
                output += Tokens(document.RootElement, "output_tokens");
                total += Tokens(document.RootElement, "total_tokens");
            }

            Exec(tx, "INSERT OR REPLACE INTO trace_request_metadata (key, value, request_id) VALUES ($p0, $p1, $p2)", TraceMetadataKeys.TokenUsage,
                string.Create(CultureInfo.InvariantCulture, $$"""{"input_tokens": {{input}}, "output_tokens": {{output}}, "total_tokens": {{total}}}"""), traceId);
        }

        tx.Commit();
    }

    private static JsonElement StringElement(string text)
    {
        using var document = JsonDocument.Parse("\"" + JsonEncodedText.Encode(text) + "\"");
        return document.RootElement.Clone();
    }

    private static long Tokens(JsonElement usage, string key) => usage.TryGetProperty(key, out var v) && v.TryGetInt64(out var n) ? n : 0;

    private Experiment ExperimentForTrace(SqliteTransaction tx, string experimentId)
    {
        var experiment = ReadExperiments("WHERE experiment_id = $p0", [ParseId(experimentId)], tx).FirstOrDefault()
            ?? throw new MlflowException(404, MlflowErrorCodes.ResourceDoesNotExist, $"No Experiment with id={experimentId} exists");
        if (experiment.LifecycleStage != "active")
        {
            throw new MlflowException(400, MlflowErrorCodes.InvalidParameterValue, $"The experiment {experimentId} must be in the 'active' state. Current state: {experiment.LifecycleStage}.");
        }

        return experiment;
    }

    private void AddLocationTags(SqliteTransaction tx, Experiment experiment, string traceId)
    {
        var location = JoinLocation(experiment.ArtifactLocation ?? ToFileLocation(Path.Combine(_artifactRoot, experiment.ExperimentId)), $"traces/{traceId}/artifacts");
        Exec(tx, "INSERT OR REPLACE INTO trace_tags (key, value, request_id) VALUES ($p0, $p1, $p2)", ArtifactLocationTag, location, traceId);
        Exec(tx, "INSERT OR REPLACE INTO trace_tags (key, value, request_id) VALUES ($p0, $p1, $p2)", SpansLocationTag, "TRACKING_STORE", traceId);
    }

    private void RequireTraceTables()
    {
        if (!SupportsTraces)
        {
            throw new MlflowException(400, MlflowErrorCodes.InvalidState,
                $"The SQLite file {DatabasePath} is in MLflow 2.22's schema (alembic {SchemaVersion}), which has no table for spans. " +
                "Upgrade it as MLflow 3 does when it opens it (UpgradeToMlflow3Async, which the trace exporter does by itself; MLflow 2.x no longer opens it then), " +
                "or create new files in MLflow 3's schema: SqliteTrackingStore.Open(uri, SqliteSchema.Mlflow3).");
        }
    }

    /// <summary>The span as Python's <c>Span.to_dict</c> stores it: base64 ids, OTLP status names, each attribute as JSON text.</summary>
    private static string Content(string traceId, TraceSpan span, IReadOnlyDictionary<string, JsonElement> attributes)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("trace_id", Convert.ToBase64String(Convert.FromHexString(traceId.StartsWith("tr-", StringComparison.Ordinal) ? traceId[3..] : traceId)));
            json.WriteString("span_id", Convert.ToBase64String(Convert.FromHexString(span.SpanId)));
            if (span.ParentSpanId is { } parent)
            {
                json.WriteString("parent_span_id", Convert.ToBase64String(Convert.FromHexString(parent)));
            }
            else
            {
                json.WriteNull("parent_span_id");
            }

            json.WriteString("name", span.Name);
            json.WriteNumber("start_time_unix_nano", Nanoseconds(span.StartTime));
            if (span.EndTime is { } end)
            {
                json.WriteNumber("end_time_unix_nano", Nanoseconds(end));
            }
            else
            {
                json.WriteNull("end_time_unix_nano");
            }

            json.WriteStartArray("events");
            foreach (var e in span.Events)
            {
                json.WriteStartObject();
                json.WriteString("name", e.Name);
                json.WriteNumber("time_unix_nano", Nanoseconds(e.Time));
                json.WriteStartObject("attributes");
                foreach (var (key, value) in e.Attributes)
                {
                    json.WritePropertyName(key);
                    value.WriteTo(json);
                }

                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartObject("status");
            json.WriteString("code", span.Status switch { "OK" => "STATUS_CODE_OK", "ERROR" => "STATUS_CODE_ERROR", _ => "STATUS_CODE_UNSET" });
            json.WriteString("message", span.StatusMessage ?? "");
            json.WriteEndObject();
            json.WriteStartObject("attributes");
            foreach (var (key, value) in attributes)
            {
                json.WriteString(key, value.GetRawText()); // each value JSON-encoded, as MLflow keeps span attributes
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private Trace ReadTrace(string traceId)
    {
        RequireTraceTables();
        var info = ReadTraceInfo(traceId) ?? throw new MlflowException(404, MlflowErrorCodes.ResourceDoesNotExist, $"Trace with ID {traceId} is not found.");
        var spans = new List<TraceSpan>();
        using (var cmd = Command(null, "SELECT content FROM spans WHERE trace_id = $p0 ORDER BY start_time_unix_nano, span_id", traceId))
        using (var reader = cmd.ExecuteReader())
        {
            while (reader.Read())
            {
                spans.Add(SpanFromContent(traceId, reader.GetString(0)));
            }
        }

        return new Trace { Info = info, Spans = spans };
    }

    private TraceInfo? ReadTraceInfo(string traceId)
    {
        using var cmd = Command(null, "SELECT experiment_id, timestamp_ms, execution_time_ms, status, request_preview, response_preview FROM trace_info WHERE request_id = $p0", traceId);
        using var reader = cmd.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        return new TraceInfo
        {
            TraceId = traceId,
            ExperimentId = reader.GetInt64(0).ToString(CultureInfo.InvariantCulture),
            RequestTime = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)),
            ExecutionDuration = reader.IsDBNull(2) ? null : TimeSpan.FromMilliseconds(reader.GetInt64(2)),
            State = reader.GetString(3),
            RequestPreview = reader.IsDBNull(4) ? null : reader.GetString(4),
            ResponsePreview = reader.IsDBNull(5) ? null : reader.GetString(5),
            Tags = Pairs("SELECT key, value FROM trace_tags WHERE request_id = $p0", traceId),
            Metadata = Pairs("SELECT key, value FROM trace_request_metadata WHERE request_id = $p0", traceId),
        };
    }

    private Dictionary<string, string> Pairs(string sql, string traceId)
    {
        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        using var cmd = Command(null, sql, traceId);
        using var reader = cmd.ExecuteReader();
        while (reader.Read())
        {
            pairs[reader.GetString(0)] = reader.IsDBNull(1) ? "" : reader.GetString(1);
        }

        return pairs;
    }

    /// <summary>A stored span (Python's <c>Span.from_dict</c>): each attribute's JSON text decoded, as <c>span.get_attribute</c> does.</summary>
    private static TraceSpan SpanFromContent(string traceId, string content)
    {
        using var document = JsonDocument.Parse(content);
        var root = document.RootElement;
        static string? Hex(JsonElement e) => e.ValueKind == JsonValueKind.String && e.GetString() is { Length: > 0 } b64 ? Convert.ToHexString(Convert.FromBase64String(b64)).ToLowerInvariant() : null;
        var attributes = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (root.TryGetProperty("attributes", out var stored) && stored.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in stored.EnumerateObject())
            {
                attributes[property.Name] = Decode(property.Value);
            }
        }

        var events = new List<TraceSpanEvent>();
        if (root.TryGetProperty("events", out var storedEvents) && storedEvents.ValueKind == JsonValueKind.Array)
        {
            foreach (var e in storedEvents.EnumerateArray())
            {
                var eventAttributes = e.TryGetProperty("attributes", out var a) && a.ValueKind == JsonValueKind.Object
                    ? a.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone(), StringComparer.Ordinal)
                    : new Dictionary<string, JsonElement>();
                events.Add(new TraceSpanEvent(e.GetProperty("name").GetString() ?? "", FromNanoseconds(e.GetProperty("time_unix_nano").GetInt64()), eventAttributes));
            }
        }

        var status = root.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.Object ? s : default;
        var code = status.ValueKind == JsonValueKind.Object && status.TryGetProperty("code", out var c) ? c.GetString() : null;
        var end = root.TryGetProperty("end_time_unix_nano", out var endValue) && endValue.ValueKind == JsonValueKind.Number ? FromNanoseconds(endValue.GetInt64()) : (DateTimeOffset?)null;
        return new TraceSpan
        {
            TraceId = traceId,
            SpanId = Hex(root.GetProperty("span_id")) ?? "",
            ParentSpanId = root.TryGetProperty("parent_span_id", out var p) ? Hex(p) : null,
            Name = root.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "",
            StartTime = FromNanoseconds(root.GetProperty("start_time_unix_nano").GetInt64()),
            EndTime = end,
            Status = code switch { "STATUS_CODE_OK" or "OK" => "OK", "STATUS_CODE_ERROR" or "ERROR" => "ERROR", _ => "UNSET" },
            StatusMessage = status.ValueKind == JsonValueKind.Object && status.TryGetProperty("message", out var m) && m.GetString() is { Length: > 0 } message ? message : null,
            Attributes = attributes,
            Events = events,
        };
    }

    /// <summary>A stored attribute: its JSON text decoded (a value that is not JSON text stays the string it is).</summary>
    private static JsonElement Decode(JsonElement stored)
    {
        if (stored.ValueKind == JsonValueKind.String)
        {
            try
            {
                using var inner = JsonDocument.Parse(stored.GetString()!);
                return inner.RootElement.Clone();
            }
            catch (JsonException)
            {
                // A plain string set by another writer.
            }
        }

        return stored.Clone();
    }

    private static long Nanoseconds(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;

    private static DateTimeOffset FromNanoseconds(long nanoseconds) => DateTimeOffset.UnixEpoch.AddTicks(nanoseconds / 100);
}
