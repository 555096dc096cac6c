namespace MlOps.Client.Registry;

/// <summary>
/// The model registry workflow on top of <see cref="MlflowClient"/>: register a logged model, wait until its version
/// is ready, promote it with aliases (<c>champion</c>, <c>challenger</c>) or legacy stages.
/// </summary>
public sealed class ModelRegistry
{
    private readonly IModelRegistryStore _client;
    private readonly TimeProvider _time;

    /// <summary>Creates the workflow helper for a tracking server's registry.</summary>
    /// <param name="client">The client of the tracking server that hosts the registry.</param>
    public ModelRegistry(MlflowClient client)
        : this(new ServerRegistryStore(client ?? throw new ArgumentNullException(nameof(client))), client.Options.TimeProvider)
    {
    }

    /// <summary>Creates the workflow helper over any registry store (a server, or the embedded <see cref="Stores.SqliteTrackingStore"/>).</summary>
    /// <param name="store">The registry store.</param>
    /// <param name="timeProvider">The clock for polling; the system clock when <see langword="null"/>.</param>
    public ModelRegistry(IModelRegistryStore store, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        _client = store;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>How often a pending version is polled. Default 1 second.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Registers the model at <paramref name="modelUri"/> under <paramref name="name"/>: creates the registered model
    /// if missing, creates a version with the right <c>source</c> and <c>run_id</c>, and waits (bounded by
    /// <paramref name="timeout"/>, default 5 minutes; cancellable) until the version is <c>READY</c>.
    /// </summary>
    /// <param name="modelUri"><c>runs:/&lt;run id&gt;/&lt;path&gt;</c> or an artifact URI of the model folder.</param>
    /// <param name="name">The registered model name.</param>
    /// <param name="tags">Tags of the new version.</param>
    /// <param name="description">A description of the new version.</param>
    /// <param name="timeout">How long to wait for <c>READY</c>.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <exception cref="TimeoutException">The version was still pending when <paramref name="timeout"/> passed.</exception>
    /// <exception cref="MlflowException">The registration failed (<c>FAILED_REGISTRATION</c>, with the server's status message).</exception>
    public async Task<ModelVersion> RegisterModelAsync(
        string modelUri, string name, IReadOnlyDictionary<string, string>? tags = null, string? description = null, TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelUri);
        ArgumentException.ThrowIfNullOrEmpty(name);
        string? runId = null;
        if (Models.ModelUris.TryParseRuns(modelUri, out var parsedRunId, out var path))
        {
            runId = parsedRunId;
            if (path.Length == 0)
            {
                throw new ArgumentException($"'{modelUri}' must name the model folder inside the run: runs:/<run id>/<path>.", nameof(modelUri));
            }
        }
        else if (modelUri.StartsWith(Models.ModelUris.ModelsScheme, StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{modelUri}' is already a registered model; register the run's model (runs:/<run id>/<path>) instead.", nameof(modelUri));
        }

        try
        {
            await _client.CreateRegisteredModelAsync(name, cancellationToken).ConfigureAwait(false);
        }
        catch (MlflowException ex) when (ex.ErrorCode == MlflowErrorCodes.ResourceAlreadyExists)
        {
            // registered before: add a version
        }

        var version = await _client.CreateModelVersionAsync(name, modelUri, runId, tags, description, cancellationToken).ConfigureAwait(false);
        return await WaitUntilReadyAsync(version, timeout ?? TimeSpan.FromMinutes(5), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Waits until a version leaves <c>PENDING_REGISTRATION</c>.</summary>
    /// <param name="version">The version.</param>
    /// <param name="timeout">The longest wait.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public async Task<ModelVersion> WaitUntilReadyAsync(ModelVersion version, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(version);
        var start = _time.GetTimestamp();
        while (version.Status == ModelVersionStatus.PendingRegistration)
        {
            if (_time.GetElapsedTime(start) >= timeout)
            {
                throw new TimeoutException($"Model version {version.Name} v{version.Version} was still pending registration after {timeout.TotalSeconds:0.#} s.");
            }

            await Task.Delay(PollInterval, _time, cancellationToken).ConfigureAwait(false);
            version = await _client.GetModelVersionAsync(version.Name, version.Version, cancellationToken).ConfigureAwait(false);
        }

        if (version.Status == ModelVersionStatus.FailedRegistration)
        {
            throw new MlflowException(0, MlflowErrorCodes.InvalidState,
                $"Registration of {version.Name} v{version.Version} failed: {version.StatusMessage ?? "no status message"}.");
        }

        return version;
    }

    /// <summary>Points <paramref name="alias"/> (e.g. <c>champion</c>) at <paramref name="version"/>.</summary>
    /// <param name="name">The registered model.</param>
    /// <param name="alias">The alias.</param>
    /// <param name="version">The version.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task SetRegisteredModelAliasAsync(string name, string alias, string version, CancellationToken cancellationToken = default)
    {
        MlOps.Client.Validation.MlflowValidator.ValidateAlias(alias);
        return _client.SetRegisteredModelAliasAsync(name, alias, version, cancellationToken);
    }

    /// <summary>The version an alias points at, or <see langword="null"/> when the alias is not set.</summary>
    /// <param name="name">The registered model.</param>
    /// <param name="alias">The alias.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<ModelVersion?> FindModelVersionByAliasAsync(string name, string alias, CancellationToken cancellationToken = default)
    {
        try
        {
            return await _client.GetModelVersionByAliasAsync(name, alias, cancellationToken).ConfigureAwait(false);
        }
        catch (MlflowException ex) when (ex.ErrorCode is MlflowErrorCodes.ResourceDoesNotExist
            || (ex.ErrorCode == MlflowErrorCodes.InvalidParameterValue && (ex.ServerMessage?.Contains("not found", StringComparison.OrdinalIgnoreCase) ?? false)))
        {
            return null; // MLflow 2.22 answers 400 "Registered model alias … not found."
        }
    }

    /// <summary>Removes an alias.</summary>
    /// <param name="name">The registered model.</param>
    /// <param name="alias">The alias.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task DeleteRegisteredModelAliasAsync(string name, string alias, CancellationToken cancellationToken = default) =>
        _client.DeleteRegisteredModelAliasAsync(name, alias, cancellationToken);

    /// <summary>Moves a version to a legacy stage (servers that still use stages).</summary>
    /// <param name="name">The registered model.</param>
    /// <param name="version">The version.</param>
    /// <param name="stage">See <see cref="ModelStages"/>.</param>
    /// <param name="archiveExistingVersions">Whether versions already in that stage move to <c>Archived</c>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<ModelVersion> TransitionModelVersionStageAsync(string name, string version, string stage, bool archiveExistingVersions = false, CancellationToken cancellationToken = default) =>
        _client.TransitionModelVersionStageAsync(name, version, stage, archiveExistingVersions, cancellationToken);

    /// <summary>Every version of a registered model.</summary>
    /// <param name="name">The registered model.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<IReadOnlyList<ModelVersion>> GetModelVersionsAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return _client.GetModelVersionsAsync(name, cancellationToken);
    }
}
