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
    /// Registers the model at <paramref name="modelUri"/> under <paramref name="name"/> as Python's
    /// <c>mlflow.register_model</c> does: creates the registered model if missing, creates a version with the right
    /// <c>source</c>, <c>run_id</c> and (MLflow 3) <c>model_id</c>, and waits (bounded by <paramref name="timeout"/>,
    /// default 5 minutes; cancellable) until the version is <c>READY</c>. An MLflow 3 logged model — given as
    /// <c>models:/&lt;model id&gt;</c>, or as <c>runs:/&lt;run id&gt;/&lt;name&gt;</c> when the run's artifacts have no
    /// model there — is registered from <c>models:/&lt;model id&gt;</c> and gets the version in its
    /// <c>mlflow.modelVersions</c> tag.
    /// </summary>
    /// <param name="modelUri"><c>runs:/&lt;run id&gt;/&lt;path&gt;</c>, <c>models:/&lt;model id&gt;</c> or an artifact URI of the model folder.</param>
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
        string? modelId = null;
        var source = modelUri;
        var logged = _client.LoggedModelsOf();
        if (Models.ModelUris.TryParseRuns(modelUri, out var parsedRunId, out var path))
        {
            runId = parsedRunId;
            if (path.Length == 0)
            {
                throw new ArgumentException($"'{modelUri}' must name the model folder inside the run: runs:/<run id>/<path>.", nameof(modelUri));
            }

            if (logged is not null && await logged.FindRunLoggedModelAsync(runId, path, cancellationToken).ConfigureAwait(false) is { } model)
            {
                modelId = model.ModelId;
                source = Models.ModelUris.ModelsScheme + modelId; // Python: "registering model based on models:/<id> instead"
            }
        }
        else if (Models.ModelUris.TryParseModels(modelUri, out var parsed))
        {
            if (parsed.ModelId is null)
            {
                throw new ArgumentException($"'{modelUri}' is already a registered model; register the run's model (runs:/<run id>/<path>) or a logged model (models:/<model id>) instead.", nameof(modelUri));
            }

            modelId = parsed.ModelId;
            if (logged is null)
            {
                throw new NotSupportedException($"'{modelUri}': this registry has no MLflow 3 logged models.");
            }
        }

        try
        {
            await _client.CreateRegisteredModelAsync(name, cancellationToken).ConfigureAwait(false);
        }
        catch (MlflowException ex) when (ex.ErrorCode == MlflowErrorCodes.ResourceAlreadyExists)
        {
            // registered before: add a version
        }

        var version = modelId is null
            ? await _client.CreateModelVersionAsync(name, source, runId, tags, description, cancellationToken).ConfigureAwait(false)
            : await logged!.CreateModelVersionAsync(name, source, runId, modelId, tags, description, cancellationToken).ConfigureAwait(false);
        version = await WaitUntilReadyAsync(version, timeout ?? TimeSpan.FromMinutes(5), cancellationToken).ConfigureAwait(false);
        if (modelId is not null)
        {
            await LinkVersionAsync(logged!, modelId, version, cancellationToken).ConfigureAwait(false);
        }

        return version;
    }

    /// <summary>
    /// Appends the version to the logged model's <c>mlflow.modelVersions</c> tag, as Python's <c>_register_model</c>
    /// does (a JSON list of <c>{"name", "version"}</c>, written with Python's <c>json.dumps</c> separators).
    /// </summary>
    private static async Task LinkVersionAsync(ILoggedModelRegistryStore store, string modelId, ModelVersion version, CancellationToken cancellationToken)
    {
        var model = await store.GetLoggedModelAsync(modelId, cancellationToken).ConfigureAwait(false);
        var list = new List<string>();
        if (model.GetTag(MlflowTags.ModelVersions) is { } existing)
        {
            try
            {
                if (System.Text.Json.Nodes.JsonNode.Parse(existing) is System.Text.Json.Nodes.JsonArray items)
                {
                    list.AddRange(items.Select(item => Formatting.PythonFormat.JsonDumps(item)));
                }
            }
            catch (System.Text.Json.JsonException)
            {
                // a hand-written tag that is not JSON: start a new list, as Python would fail to
                list.Clear();
            }
        }

        list.Add(Formatting.PythonFormat.JsonDumps(new System.Text.Json.Nodes.JsonObject { ["name"] = version.Name, ["version"] = version.Version }));
        await store.SetLoggedModelTagsAsync(modelId, new Dictionary<string, string> { [MlflowTags.ModelVersions] = "[" + string.Join(", ", list) + "]" }, cancellationToken).ConfigureAwait(false);
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
