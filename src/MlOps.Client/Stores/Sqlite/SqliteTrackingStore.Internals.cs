using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;

namespace MlOps.Client.Stores;

public sealed partial class SqliteTrackingStore
{
    private async Task<T> WithLockAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return work();
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is 5 or 6) // SQLITE_BUSY, SQLITE_LOCKED past the busy timeout
        {
            throw new MlflowException(503, MlflowErrorCodes.TemporarilyUnavailable, $"The SQLite database {DatabasePath} is locked by another writer: {ex.Message}", ex);
        }
        finally
        {
            _gate.Release();
        }
    }

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private SqliteCommand Command(SqliteTransaction? tx, string sql, params object?[] args)
    {
        var cmd = _connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        for (var i = 0; i < args.Length; i++)
        {
            cmd.Parameters.AddWithValue("$p" + i.ToString(CultureInfo.InvariantCulture), args[i] ?? DBNull.Value);
        }

        return cmd;
    }

    private void Exec(SqliteTransaction? tx, string sql, params object?[] args)
    {
        using var cmd = Command(tx, sql, args);
        cmd.ExecuteNonQuery();
    }

    private static T? Scalar<T>(SqliteConnection connection, SqliteTransaction? tx, string sql, params object?[] args)
    {
        using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        for (var i = 0; i < args.Length; i++)
        {
            cmd.Parameters.AddWithValue("$p" + i.ToString(CultureInfo.InvariantCulture), args[i] ?? DBNull.Value);
        }

        var value = cmd.ExecuteScalar();
        var target = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        return value is null or DBNull ? default : (T)Convert.ChangeType(value, target, CultureInfo.InvariantCulture);
    }

    private static long ParseId(string experimentId) =>
        long.TryParse(experimentId, NumberStyles.Integer, CultureInfo.InvariantCulture, out var id)
            ? id
            : throw new MlflowException(404, MlflowErrorCodes.ResourceDoesNotExist, $"No Experiment with id={experimentId} exists");

    private static string LifecycleClause(string column, ViewType view) => view switch
    {
        ViewType.DeletedOnly => column + " = 'deleted'",
        ViewType.All => column + " IN ('active', 'deleted')",
        _ => column + " = 'active'",
    };

    private List<Experiment> ReadExperiments(string where, object?[] args, SqliteTransaction? tx = null)
    {
        var list = new List<Experiment>();
        using (var cmd = Command(tx, "SELECT experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time FROM experiments " + where, args))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                list.Add(new Experiment
                {
                    ExperimentId = r.GetInt64(0).ToString(CultureInfo.InvariantCulture),
                    Name = r.GetString(1),
                    ArtifactLocation = r.IsDBNull(2) ? null : r.GetString(2),
                    LifecycleStage = r.IsDBNull(3) ? null : r.GetString(3),
                    CreationTime = r.IsDBNull(4) ? null : r.GetInt64(4),
                    LastUpdateTime = r.IsDBNull(5) ? null : r.GetInt64(5),
                });
            }
        }

        for (var i = 0; i < list.Count; i++)
        {
            var tags = new List<ExperimentTag>();
            using var cmd = Command(tx, "SELECT key, value FROM experiment_tags WHERE experiment_id = $p0", long.Parse(list[i].ExperimentId, CultureInfo.InvariantCulture));
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                tags.Add(new ExperimentTag(r.GetString(0), r.IsDBNull(1) ? "" : r.GetString(1)));
            }

            list[i] = new Experiment
            {
                ExperimentId = list[i].ExperimentId, Name = list[i].Name, ArtifactLocation = list[i].ArtifactLocation, LifecycleStage = list[i].LifecycleStage,
                CreationTime = list[i].CreationTime, LastUpdateTime = list[i].LastUpdateTime, Tags = tags,
            };
        }

        return list;
    }

    private Run ReadRun(string runId, SqliteTransaction? tx)
    {
        RunInfo info;
        using (var cmd = Command(tx, "SELECT run_uuid, experiment_id, name, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage FROM runs WHERE run_uuid = $p0", runId))
        using (var r = cmd.ExecuteReader())
        {
            if (!r.Read())
            {
                throw new MlflowException(404, MlflowErrorCodes.ResourceDoesNotExist, $"Run with id={runId} not found");
            }

            info = new RunInfo
            {
                RunId = r.GetString(0),
                ExperimentId = r.IsDBNull(1) ? "" : r.GetInt64(1).ToString(CultureInfo.InvariantCulture),
                RunName = r.IsDBNull(2) ? null : r.GetString(2),
                UserId = r.IsDBNull(3) ? null : r.GetString(3),
                Status = r.IsDBNull(4) ? RunStatus.Running : ParseStatus(r.GetString(4)),
                StartTime = r.IsDBNull(5) ? null : r.GetInt64(5),
                EndTime = r.IsDBNull(6) ? null : r.GetInt64(6),
                ArtifactUri = r.IsDBNull(7) ? null : r.GetString(7),
                LifecycleStage = r.IsDBNull(8) ? null : r.GetString(8),
            };
        }

        var metrics = new List<Metric>();
        using (var cmd = Command(tx, "SELECT key, value, timestamp, step, is_nan FROM latest_metrics WHERE run_uuid = $p0 ORDER BY key", runId))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                metrics.Add(new Metric(r.GetString(0), r.GetBoolean(4) ? double.NaN : r.GetDouble(1), r.IsDBNull(2) ? 0 : r.GetInt64(2), r.GetInt64(3)));
            }
        }

        var parameters = new List<Param>();
        using (var cmd = Command(tx, "SELECT key, value FROM params WHERE run_uuid = $p0 ORDER BY key", runId))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                parameters.Add(new Param(r.GetString(0), r.GetString(1)));
            }
        }

        var tags = new List<RunTag>();
        using (var cmd = Command(tx, "SELECT key, value FROM tags WHERE run_uuid = $p0 ORDER BY key", runId))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                tags.Add(new RunTag(r.GetString(0), r.IsDBNull(1) ? "" : r.GetString(1)));
            }
        }

        var inputs = new List<DatasetInput>();
        using (var cmd = Command(tx, """
            SELECT i.input_uuid, d.name, d.digest, d.dataset_source_type, d.dataset_source, d.dataset_schema, d.dataset_profile
            FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id
            WHERE i.destination_type = 'RUN' AND i.destination_id = $p0 AND i.source_type = 'DATASET'
            """, runId))
        using (var r = cmd.ExecuteReader())
        {
            var rows = new List<(string Input, Dataset Dataset)>();
            while (r.Read())
            {
                rows.Add((r.GetString(0), new Dataset
                {
                    Name = r.GetString(1), Digest = r.GetString(2), SourceType = r.GetString(3), Source = r.GetString(4),
                    Schema = r.IsDBNull(5) ? null : r.GetString(5), Profile = r.IsDBNull(6) ? null : r.GetString(6),
                }));
            }

            r.Close();
            foreach (var (input, dataset) in rows)
            {
                var inputTags = new List<InputTag>();
                using var tcmd = Command(tx, "SELECT name, value FROM input_tags WHERE input_uuid = $p0", input);
                using var tr = tcmd.ExecuteReader();
                while (tr.Read())
                {
                    inputTags.Add(new InputTag(tr.GetString(0), tr.GetString(1)));
                }

                inputs.Add(new DatasetInput { Dataset = dataset, Tags = inputTags });
            }
        }

        var (outputs, modelInputs) = ReadModelLinks(runId, tx);
        return new Run
        {
            Info = info, Data = new RunData { Metrics = metrics, Params = parameters, Tags = tags },
            Inputs = new RunInputs { DatasetInputs = inputs, ModelInputs = modelInputs }, Outputs = outputs,
        };
    }

    private long EnsureRunActive(string runId, SqliteTransaction? tx)
    {
        using var cmd = Command(tx, "SELECT lifecycle_stage, experiment_id FROM runs WHERE run_uuid = $p0", runId);
        using var r = cmd.ExecuteReader();
        if (!r.Read())
        {
            throw new MlflowException(404, MlflowErrorCodes.ResourceDoesNotExist, $"Run with id={runId} not found");
        }

        if (!r.IsDBNull(0) && r.GetString(0) != "active")
        {
            throw new MlflowException(400, MlflowErrorCodes.InvalidParameterValue,
                $"The run {runId} must be in the 'active' state. Current state is {r.GetString(0)}.") { ServerMessage = $"The run {runId} must be in the 'active' state. Current state is {r.GetString(0)}." };
        }

        return r.GetInt64(1);
    }

    private void EnsureRunExists(string runId, SqliteTransaction? tx)
    {
        if (Scalar<long>(_connection, tx, "SELECT count(*) FROM runs WHERE run_uuid = $p0", runId) == 0)
        {
            throw new MlflowException(404, MlflowErrorCodes.ResourceDoesNotExist, $"Run with id={runId} not found");
        }
    }

    private void WriteParams(string runId, IReadOnlyList<Param> parameters, SqliteTransaction tx)
    {
        if (parameters.Count == 0)
        {
            return;
        }

        var conflicts = new List<string>();
        using var select = Command(tx, "SELECT value FROM params WHERE run_uuid = $p0 AND key = $p1", runId, "");
        using var insert = Command(tx, "INSERT INTO params (key, value, run_uuid) VALUES ($p1, $p2, $p0)", runId, "", "");
        foreach (var p in parameters)
        {
            Validation.MlflowValidator.ValidateParam(p.Key, p.Value);
            select.Parameters["$p1"].Value = p.Key;
            var existing = select.ExecuteScalar() as string;
            if (existing is null)
            {
                insert.Parameters["$p1"].Value = p.Key;
                insert.Parameters["$p2"].Value = p.Value;
                insert.ExecuteNonQuery();
            }
            else if (existing != p.Value)
            {
                conflicts.Add($"{{'key': '{p.Key}', 'old_value': '{existing}', 'new_value': '{p.Value}'}}");
            }
        }

        if (conflicts.Count > 0)
        {
            var message = $"Changing param values is not allowed. Params were already logged='[{string.Join(", ", conflicts)}]' for run ID='{runId}'.";
            throw new MlflowException(400, MlflowErrorCodes.InvalidParameterValue, message) { ServerMessage = message };
        }
    }

    private void WriteMetrics(string runId, ReadOnlySpan<MetricRow> metrics, SqliteTransaction tx)
    {
        if (metrics.IsEmpty)
        {
            return;
        }

        var latest = new Dictionary<string, (double Value, long Ts, long Step, bool IsNan)>(StringComparer.Ordinal);
        // The hot loop of the embedded store: one prepared statement driven through SQLite's C API (the ADO.NET
        // layer's per-execution cost dominated), inside the batch's transaction.
        var db = _connection.Handle!;
        Check(db, SQLitePCL.raw.sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", out var statement));
        using (statement)
        {
            Check(db, SQLitePCL.raw.sqlite3_bind_text(statement, 4, runId));
            string? lastValidated = null;
            foreach (ref readonly var m in metrics)
            {
                if (!ReferenceEquals(m.Key, lastValidated) && !latest.ContainsKey(m.Key))
                {
                    Validation.MlflowValidator.ValidateMetricKey(m.Key); // once per distinct key in the batch
                    lastValidated = m.Key;
                }

                Validation.MlflowValidator.ValidateMetricTimestamp(m.Key, m.Timestamp);

                var isNan = double.IsNaN(m.Value);
                var value = isNan ? 0 : double.IsPositiveInfinity(m.Value) ? double.MaxValue : double.IsNegativeInfinity(m.Value) ? double.MinValue : m.Value;
                Check(db, SQLitePCL.raw.sqlite3_bind_text(statement, 1, m.Key));
                Check(db, SQLitePCL.raw.sqlite3_bind_double(statement, 2, value));
                Check(db, SQLitePCL.raw.sqlite3_bind_int64(statement, 3, m.Timestamp));
                Check(db, SQLitePCL.raw.sqlite3_bind_int64(statement, 5, m.Step));
                Check(db, SQLitePCL.raw.sqlite3_bind_int(statement, 6, isNan ? 1 : 0));
                var rc = SQLitePCL.raw.sqlite3_step(statement);
                if (rc != SQLitePCL.raw.SQLITE_DONE)
                {
                    Check(db, rc);
                }

                SQLitePCL.raw.sqlite3_reset(statement);
                if (!latest.TryGetValue(m.Key, out var cur) || IsNewer((value, m.Timestamp, m.Step), (cur.Value, cur.Ts, cur.Step)))
                {
                    latest[m.Key] = (value, m.Timestamp, m.Step, isNan);
                }
            }
        }

        using var select = Command(tx, "SELECT value, timestamp, step FROM latest_metrics WHERE run_uuid = $p0 AND key = $p1", runId, "");
        using var upsert = Command(tx, "INSERT OR REPLACE INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES ($p1, $p2, $p3, $p4, $p5, $p0)", runId, "", 0.0, 0L, 0L, false);
        foreach (var (key, m) in latest)
        {
            select.Parameters["$p1"].Value = key;
            using (var r = select.ExecuteReader())
            {
                if (r.Read() && !IsNewer((m.Value, m.Ts, m.Step), (r.GetDouble(0), r.IsDBNull(1) ? 0 : r.GetInt64(1), r.GetInt64(2))))
                {
                    continue;
                }
            }

            upsert.Parameters["$p1"].Value = key;
            upsert.Parameters["$p2"].Value = m.Value;
            upsert.Parameters["$p3"].Value = m.Ts;
            upsert.Parameters["$p4"].Value = m.Step;
            upsert.Parameters["$p5"].Value = m.IsNan;
            upsert.ExecuteNonQuery();
        }
    }

    private static void Check(SQLitePCL.sqlite3 db, int rc)
    {
        if (rc != SQLitePCL.raw.SQLITE_OK && rc != SQLitePCL.raw.SQLITE_DONE && rc != SQLitePCL.raw.SQLITE_ROW)
        {
            throw new SqliteException(SQLitePCL.raw.sqlite3_errmsg(db).utf8_to_string(), rc);
        }
    }

    // MLflow's order for the latest value: step, then timestamp, then value.
    private static bool IsNewer((double Value, long Ts, long Step) a, (double Value, long Ts, long Step) b) =>
        a.Step > b.Step || (a.Step == b.Step && (a.Ts > b.Ts || (a.Ts == b.Ts && a.Value > b.Value)));

    private static string StatusName(RunStatus status) => status.ToString().ToUpperInvariant();

    private static RunStatus ParseStatus(string status) =>
        Enum.TryParse<RunStatus>(status, ignoreCase: true, out var s) ? s : RunStatus.Running;

    internal static string ToFileLocation(string path) => new System.Uri(Path.GetFullPath(path)).AbsoluteUri;

    private static string JoinLocation(string location, string relative) => location.TrimEnd('/') + "/" + relative;

    internal static string EncodeToken(int offset) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes("{\"offset\": " + offset.ToString(CultureInfo.InvariantCulture) + "}"));

    internal static int DecodeToken(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return 0;
        }

        try
        {
            using var doc = JsonDocument.Parse(Convert.FromBase64String(token));
            return doc.RootElement.GetProperty("offset").GetInt32();
        }
        catch (Exception ex) when (ex is FormatException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new MlflowException(400, MlflowErrorCodes.InvalidParameterValue, "Invalid page token.", ex);
        }
    }

    /// <summary>Run names like MLflow's: adjective-noun-number.</summary>
    private static class RunNames
    {
        private static readonly string[] Adjectives =
        [
            "able", "agreeable", "amazing", "auspicious", "bald", "beautiful", "bold", "brave", "bright", "calm", "capable",
            "clean", "clever", "crawling", "dapper", "delicate", "enchanting", "fearless", "gentle", "glamorous", "grandiose",
            "honorable", "illustrious", "judicious", "kindly", "learned", "luminous", "mercurial", "nimble", "orderly",
            "placid", "polite", "resilient", "rogue", "sedate", "silent", "stylish", "thoughtful", "unique", "valuable", "wise",
        ];

        private static readonly string[] Nouns =
        [
            "ant", "bass", "bat", "bear", "bird", "carp", "cat", "colt", "crab", "deer", "doe", "dove", "duck", "eel", "elk",
            "fawn", "finch", "fly", "fox", "frog", "goat", "gull", "hare", "hawk", "hen", "hog", "jay", "koi", "lamb", "lark",
            "mole", "moth", "mouse", "newt", "owl", "ox", "panda", "pig", "ram", "seal", "shrike", "skunk", "slug", "snail",
            "sow", "squid", "stag", "swan", "toad", "trout", "wasp", "whale", "wolf", "worm", "wren", "yak",
        ];

        public static string Generate() =>
            $"{Adjectives[Random.Shared.Next(Adjectives.Length)]}-{Nouns[Random.Shared.Next(Nouns.Length)]}-{Random.Shared.Next(0, 1000)}";
    }
}
