using System.Globalization;
using Microsoft.Data.Sqlite;
using MlOps.Client.Registry;
using MlOps.Client.Validation;

namespace MlOps.Client.Stores;

/// <summary>The model registry on the embedded store, in MLflow's own registry tables.</summary>
public sealed partial class SqliteTrackingStore : IModelRegistryStore
{
    private static readonly string[] Stages = [ModelStages.None, ModelStages.Staging, ModelStages.Production, ModelStages.Archived];

    /// <inheritdoc />
    public Task<RegisteredModel> CreateRegisteredModelAsync(string name, CancellationToken cancellationToken) =>
        WithLockAsync(() =>
        {
            ArgumentException.ThrowIfNullOrEmpty(name);
            using var tx = _connection.BeginTransaction(deferred: false);
            if (Scalar<long>(_connection, tx, "SELECT count(*) FROM registered_models WHERE name = $p0", name) > 0)
            {
                throw new MlflowException(400, MlflowErrorCodes.ResourceAlreadyExists, $"Registered Model (name={name}) already exists.");
            }

            var now = Now();
            Exec(tx, "INSERT INTO registered_models (name, creation_time, last_updated_time, description) VALUES ($p0, $p1, $p1, NULL)", name, now);
            tx.Commit();
            return ReadRegisteredModel(name, null);
        }, cancellationToken);

    /// <inheritdoc />
    public Task<RegisteredModel> GetRegisteredModelAsync(string name, CancellationToken cancellationToken) =>
        WithLockAsync(() => ReadRegisteredModel(name, null), cancellationToken);

    /// <inheritdoc />
    public Task<ModelVersion> CreateModelVersionAsync(string name, string source, string? runId, IReadOnlyDictionary<string, string>? tags, string? description, CancellationToken cancellationToken) =>
        CreateModelVersionCoreAsync(name, source, runId, tags, description, source, cancellationToken);

    /// <summary>Creates a version whose files are at <paramref name="storageLocation"/> (the source itself, or a logged model's location).</summary>
    private Task<ModelVersion> CreateModelVersionCoreAsync(
        string name, string source, string? runId, IReadOnlyDictionary<string, string>? tags, string? description, string storageLocation, CancellationToken cancellationToken) =>
        WithLockAsync(() =>
        {
            ArgumentException.ThrowIfNullOrEmpty(source);
            using var tx = _connection.BeginTransaction(deferred: false);
            ReadRegisteredModel(name, tx);
            var version = Scalar<long>(_connection, tx, "SELECT coalesce(max(version), 0) + 1 FROM model_versions WHERE name = $p0", name);
            var now = Now();
            Exec(tx, """
                INSERT INTO model_versions (name, version, creation_time, last_updated_time, description, user_id, current_stage, source, run_id, status, status_message, run_link, storage_location)
                VALUES ($p0, $p1, $p2, $p2, $p3, NULL, 'None', $p4, $p5, 'READY', NULL, '', $p6)
                """, name, version, now, description ?? "", source, runId ?? "", storageLocation);
            foreach (var (k, v) in tags ?? new Dictionary<string, string>())
            {
                MlflowValidator.ValidateRegistryTag(k, v);
                Exec(tx, "INSERT OR REPLACE INTO model_version_tags (key, value, name, version) VALUES ($p0, $p1, $p2, $p3)", k, v, name, version);
            }

            Exec(tx, "UPDATE registered_models SET last_updated_time = $p0 WHERE name = $p1", now, name);
            tx.Commit();
            return ReadModelVersion(name, version, null);
        }, cancellationToken);

    /// <inheritdoc />
    public Task<ModelVersion> GetModelVersionAsync(string name, string version, CancellationToken cancellationToken) =>
        WithLockAsync(() => ReadModelVersion(name, ParseVersion(version), null), cancellationToken);

    /// <inheritdoc />
    public Task SetRegisteredModelAliasAsync(string name, string alias, string version, CancellationToken cancellationToken) =>
        WithLockAsync(() =>
        {
            MlflowValidator.ValidateAlias(alias);
            using var tx = _connection.BeginTransaction(deferred: false);
            ReadModelVersion(name, ParseVersion(version), tx);
            Exec(tx, "INSERT OR REPLACE INTO registered_model_aliases (alias, version, name) VALUES ($p0, $p1, $p2)", alias, ParseVersion(version), name);
            tx.Commit();
            return true;
        }, cancellationToken);

    /// <inheritdoc />
    public Task DeleteRegisteredModelAliasAsync(string name, string alias, CancellationToken cancellationToken) =>
        WithLockAsync(() =>
        {
            Exec(null, "DELETE FROM registered_model_aliases WHERE name = $p0 AND alias = $p1", name, alias);
            return true;
        }, cancellationToken);

    /// <inheritdoc />
    public Task<ModelVersion> GetModelVersionByAliasAsync(string name, string alias, CancellationToken cancellationToken) =>
        WithLockAsync(() =>
        {
            var version = Scalar<long?>(_connection, null, "SELECT version FROM registered_model_aliases WHERE name = $p0 AND alias = $p1", name, alias)
                ?? throw new MlflowException(400, MlflowErrorCodes.InvalidParameterValue, $"Registered model alias {alias} not found.") { ServerMessage = $"Registered model alias {alias} not found." };
            return ReadModelVersion(name, version, null);
        }, cancellationToken);

    /// <inheritdoc />
    public Task<ModelVersion> TransitionModelVersionStageAsync(string name, string version, string stage, bool archiveExistingVersions, CancellationToken cancellationToken) =>
        WithLockAsync(() =>
        {
            var canonical = Array.Find(Stages, s => s.Equals(stage, StringComparison.OrdinalIgnoreCase))
                ?? throw new MlflowValidationException("stage", $"Invalid model version stage '{stage}'. Value must be one of {string.Join(", ", Stages)}.");
            var v = ParseVersion(version);
            using var tx = _connection.BeginTransaction(deferred: false);
            ReadModelVersion(name, v, tx);
            var now = Now();
            if (archiveExistingVersions && canonical is ModelStages.Staging or ModelStages.Production)
            {
                Exec(tx, "UPDATE model_versions SET current_stage = 'Archived', last_updated_time = $p0 WHERE name = $p1 AND current_stage = $p2 AND version != $p3", now, name, canonical, v);
            }

            Exec(tx, "UPDATE model_versions SET current_stage = $p0, last_updated_time = $p1 WHERE name = $p2 AND version = $p3", canonical, now, name, v);
            tx.Commit();
            return ReadModelVersion(name, v, null);
        }, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<ModelVersion>> GetModelVersionsAsync(string name, CancellationToken cancellationToken) =>
        WithLockAsync<IReadOnlyList<ModelVersion>>(() =>
        {
            var versions = new List<long>();
            using (var cmd = Command(null, "SELECT version FROM model_versions WHERE name = $p0 ORDER BY version DESC", name))
            using (var r = cmd.ExecuteReader())
            {
                while (r.Read())
                {
                    versions.Add(r.GetInt64(0));
                }
            }

            return [.. versions.Select(v => ReadModelVersion(name, v, null))];
        }, cancellationToken);

    /// <inheritdoc />
    public Task<string> GetModelVersionDownloadUriAsync(string name, string version, CancellationToken cancellationToken) =>
        WithLockAsync(() =>
        {
            var mv = ReadModelVersion(name, ParseVersion(version), null);
            // As MLflow's store: where the files are (a logged model's location for an MLflow 3 version), else the source.
            var location = Scalar<string>(_connection, null, "SELECT storage_location FROM model_versions WHERE name = $p0 AND version = $p1", name, ParseVersion(version));
            return (string.IsNullOrEmpty(location) ? mv.Source : location)
                ?? throw new MlflowException(404, MlflowErrorCodes.ResourceDoesNotExist, $"Model version {name} v{version} has no source.");
        }, cancellationToken);

    private static long ParseVersion(string version) =>
        long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new MlflowValidationException("version", $"Model version must be an integer, got '{version}'.");

    /// <summary>Every registered model (with latest versions and aliases), sorted by name (Python's <c>search_registered_models()</c> without a filter).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<IReadOnlyList<RegisteredModel>> ListRegisteredModelsAsync(CancellationToken cancellationToken = default) =>
        WithLockAsync<IReadOnlyList<RegisteredModel>>(() =>
        {
            var names = new List<string>();
            using (var cmd = Command(null, "SELECT name FROM registered_models ORDER BY name"))
            using (var r = cmd.ExecuteReader())
            {
                while (r.Read())
                {
                    names.Add(r.GetString(0));
                }
            }

            return names.Select(n => ReadRegisteredModel(n, null)).ToList();
        }, cancellationToken);

    private RegisteredModel ReadRegisteredModel(string name, SqliteTransaction? tx)
    {
        RegisteredModel model;
        using (var cmd = Command(tx, "SELECT name, creation_time, last_updated_time, description FROM registered_models WHERE name = $p0", name))
        using (var r = cmd.ExecuteReader())
        {
            if (!r.Read())
            {
                throw new MlflowException(404, MlflowErrorCodes.ResourceDoesNotExist, $"Registered Model with name={name} not found");
            }

            model = new RegisteredModel
            {
                Name = r.GetString(0), CreationTimestamp = r.IsDBNull(1) ? null : r.GetInt64(1), LastUpdatedTimestamp = r.IsDBNull(2) ? null : r.GetInt64(2),
                Description = r.IsDBNull(3) ? null : r.GetString(3),
            };
        }

        var aliases = new List<RegisteredModelAlias>();
        using (var cmd = Command(tx, "SELECT alias, version FROM registered_model_aliases WHERE name = $p0 ORDER BY alias", name))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                aliases.Add(new RegisteredModelAlias(r.GetString(0), r.GetInt64(1).ToString(CultureInfo.InvariantCulture)));
            }
        }

        var tags = new List<RegisteredModelTag>();
        using (var cmd = Command(tx, "SELECT key, value FROM registered_model_tags WHERE name = $p0", name))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                tags.Add(new RegisteredModelTag(r.GetString(0), r.IsDBNull(1) ? "" : r.GetString(1)));
            }
        }

        var latest = new List<ModelVersion>();
        using (var cmd = Command(tx, "SELECT max(version) FROM model_versions WHERE name = $p0 GROUP BY current_stage ORDER BY 1", name))
        using (var r = cmd.ExecuteReader())
        {
            var versions = new List<long>();
            while (r.Read())
            {
                versions.Add(r.GetInt64(0));
            }

            r.Close();
            latest.AddRange(versions.Select(v => ReadModelVersion(name, v, tx)));
        }

        return new RegisteredModel
        {
            Name = model.Name, CreationTimestamp = model.CreationTimestamp, LastUpdatedTimestamp = model.LastUpdatedTimestamp, Description = model.Description,
            Aliases = aliases, Tags = tags, LatestVersions = latest,
        };
    }

    private ModelVersion ReadModelVersion(string name, long version, SqliteTransaction? tx)
    {
        ModelVersion mv;
        using (var cmd = Command(tx, "SELECT creation_time, last_updated_time, description, current_stage, source, run_id, status, status_message, run_link FROM model_versions WHERE name = $p0 AND version = $p1", name, version))
        using (var r = cmd.ExecuteReader())
        {
            if (!r.Read())
            {
                throw new MlflowException(404, MlflowErrorCodes.ResourceDoesNotExist, $"Model Version (name={name}, version={version}) not found");
            }

            mv = new ModelVersion
            {
                Name = name,
                Version = version.ToString(CultureInfo.InvariantCulture),
                CreationTimestamp = r.IsDBNull(0) ? null : r.GetInt64(0),
                LastUpdatedTimestamp = r.IsDBNull(1) ? null : r.GetInt64(1),
                Description = r.IsDBNull(2) ? null : r.GetString(2),
                CurrentStage = r.IsDBNull(3) ? null : r.GetString(3),
                Source = r.IsDBNull(4) ? null : r.GetString(4),
                RunId = r.IsDBNull(5) ? null : r.GetString(5),
                Status = r.IsDBNull(6) ? ModelVersionStatus.Ready : r.GetString(6) switch
                {
                    "PENDING_REGISTRATION" => ModelVersionStatus.PendingRegistration,
                    "FAILED_REGISTRATION" => ModelVersionStatus.FailedRegistration,
                    _ => ModelVersionStatus.Ready,
                },
                StatusMessage = r.IsDBNull(7) ? null : r.GetString(7),
                RunLink = r.IsDBNull(8) ? null : r.GetString(8),
            };
        }

        var tags = new List<ModelVersionTag>();
        using (var cmd = Command(tx, "SELECT key, value FROM model_version_tags WHERE name = $p0 AND version = $p1", name, version))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                tags.Add(new ModelVersionTag(r.GetString(0), r.IsDBNull(1) ? "" : r.GetString(1)));
            }
        }

        var aliases = new List<string>();
        using (var cmd = Command(tx, "SELECT alias FROM registered_model_aliases WHERE name = $p0 AND version = $p1 ORDER BY alias", name, version))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                aliases.Add(r.GetString(0));
            }
        }

        return new ModelVersion
        {
            Name = mv.Name, Version = mv.Version, CreationTimestamp = mv.CreationTimestamp, LastUpdatedTimestamp = mv.LastUpdatedTimestamp, Description = mv.Description,
            CurrentStage = mv.CurrentStage, Source = mv.Source, RunId = mv.RunId, Status = mv.Status, StatusMessage = mv.StatusMessage, RunLink = mv.RunLink,
            Tags = tags, Aliases = aliases,
        };
    }
}
