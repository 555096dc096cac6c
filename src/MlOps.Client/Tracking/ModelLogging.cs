using System.Text.Json.Nodes;
using MlOps.Client.Artifacts;
using MlOps.Client.Models;
using MlOps.Client.Stores;

namespace MlOps.Client.Tracking;

/// <summary>Logging and loading MLflow models.</summary>
public static class ModelLogging
{
    /// <summary>
    /// Logs <paramref name="model"/> under <paramref name="artifactPath"/> with the defaults of
    /// <see cref="LogModelAsync{TModel}(RunScope, TModel, LogModelOptions, IModelFlavor{TModel}?, CancellationToken)"/>.
    /// </summary>
    /// <typeparam name="TModel">The model type.</typeparam>
    /// <param name="run">The run.</param>
    /// <param name="model">The model.</param>
    /// <param name="flavor">The flavor; the registered one for <typeparamref name="TModel"/> when <see langword="null"/>.</param>
    /// <param name="artifactPath">The model's name (MLflow 2.x: the folder inside the run's artifacts). Default <c>model</c>.</param>
    /// <param name="signature">The signature, if known.</param>
    /// <param name="cancellationToken">Cancels the logging.</param>
    public static Task<LoggedModelInfo> LogModelAsync<TModel>(
        this RunScope run, TModel model, IModelFlavor<TModel>? flavor = null, string artifactPath = "model", ModelSignature? signature = null, CancellationToken cancellationToken = default) =>
        LogModelAsync(run, model, new LogModelOptions { Name = artifactPath, Signature = signature }, flavor, cancellationToken);

    /// <summary>
    /// Logs <paramref name="model"/> as an MLflow model, the way Python MLflow's <c>Model.log</c> does for the server it
    /// talks to. <b>MLflow 3</b> (a server or embedded file with logged models): creates a logged model with the run's
    /// params (plus <see cref="LogModelOptions.Params"/>), the source tags and <see cref="LogModelOptions.ModelType"/>;
    /// links it to the run as an output at <see cref="LogModelOptions.Step"/>; re-logs the run's metrics of that step
    /// with the model's id so they show on the model; writes the folder (its <c>MLmodel</c> carries <c>model_id</c>) and
    /// uploads it once, to the model's own location; finalizes the model <c>READY</c> (<c>UPLOAD_FAILED</c> when any of
    /// this fails); registers <c>models:/&lt;model id&gt;</c> when <see cref="LogModelOptions.RegisteredModelName"/> is
    /// set. <b>MLflow 2.x</b>: uploads the folder into the run's artifacts under <see cref="LogModelOptions.Name"/>,
    /// records it in the run's <c>mlflow.log-model.history</c> tag and registers <c>runs:/&lt;run&gt;/&lt;name&gt;</c>.
    /// The run end waits for it.
    /// </summary>
    /// <typeparam name="TModel">The model type.</typeparam>
    /// <param name="run">The run.</param>
    /// <param name="model">The model.</param>
    /// <param name="options">Name, signature, registration and the MLflow 3 logged model's params, tags, type and step.</param>
    /// <param name="flavor">The flavor; the registered one for <typeparamref name="TModel"/> when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the logging.</param>
    /// <returns>The model's URI (<c>models:/&lt;model id&gt;</c> on MLflow 3, <c>runs:/&lt;run&gt;/&lt;name&gt;</c> on 2.x) and its <c>MLmodel</c>.</returns>
    public static Task<LoggedModelInfo> LogModelAsync<TModel>(
        this RunScope run, TModel model, LogModelOptions options, IModelFlavor<TModel>? flavor = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(options);
        flavor ??= ModelFlavors.Get<TModel>();
        var snapshot = options.Copy();
        snapshot.Name = ArtifactPaths.Normalize(snapshot.Name);
        var task = LogCoreAsync(run, model, flavor, snapshot, cancellationToken);
        run.TrackPending(task);
        return task;
    }

    private static async Task<LoggedModelInfo> LogCoreAsync<TModel>(RunScope run, TModel model, IModelFlavor<TModel> flavor, LogModelOptions options, CancellationToken cancellationToken)
    {
        // The flavor's files are written first, before any call to the server: the caller may dispose the model as soon
        // as LogModelAsync returns its task (autologging does). MLmodel is written once the model's identity is known.
        var dir = Directory.CreateTempSubdirectory("mlops-model-");
        try
        {
            var config = await flavor.SaveAsync(model, dir.FullName, cancellationToken).ConfigureAwait(false);
            var profile = options.ReferenceProfile;
            if (profile is null && options.PendingReferenceProfile is { } pending)
            {
                profile = await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            profile?.Save(Path.Combine(dir.FullName, Monitoring.ReferenceProfile.FileName));
            // As Python pins the MLflow it runs: the server's version (3.6.1.dev0 → 3.6.0), in the environment files and the MLmodel.
            var mlflowVersion = MlflowModel.PinnedMlflowVersion(await run.Tracker.Store.MlflowVersionAsync(cancellationToken).ConfigureAwait(false));
            MlflowModel.PinMlflow(dir.FullName, mlflowVersion);
            var store = run.Tracker.Store;
            if (store.LoggedModelsIfAny() is { } models)
            {
                // Python reads the run's params from the server: what the uploader holds must be there first.
                await run.Tracker.Uploader.FlushAsync(run.Tracker.Options.Uploader.FlushTimeout, cancellationToken).ConfigureAwait(false);
                var runParams = (await store.GetRunAsync(run.RunId, cancellationToken).ConfigureAwait(false)).Data.Params;
                var parameters = new Dictionary<string, string>(options.Params, StringComparer.Ordinal);
                foreach (var p in runParams)
                {
                    parameters[p.Key] = p.Value; // Python: {**params, **run.data.params}
                }

                // Python resolves the same context tags as for a run (user, source, git); off when the tracker sets none.
                var tags = run.Tracker.Options.SetSystemTags
                    ? SystemTags.Create(run.Tracker.Options.SourceName, run.Tracker.Options.WorkingDirectory)
                    : new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var (k, v) in options.Tags)
                {
                    tags[k] = v;
                }

                var logged = await models.TryCreateLoggedModelAsync(run.ExperimentId, options.Name, run.RunId, tags, parameters, options.ModelType, cancellationToken).ConfigureAwait(false);
                if (logged is not null)
                {
                    return await LogLoggedModelAsync(run, models, logged, dir.FullName, flavor.Name, config, options, mlflowVersion, cancellationToken).ConfigureAwait(false);
                }
            }

            // MLflow 2.x: the files go into the run's artifacts, the run's log-model history tag records them.
            var description = Describe(MlflowModel.Create(options.Name, run.RunId, run.Tracker.Options.TimeProvider), dir.FullName, flavor.Name, config, options, mlflowVersion);
            await run.GetArtifactRepository().UploadDirectoryAsync(dir.FullName, options.Name, 4, null, cancellationToken).ConfigureAwait(false);
            await RecordAsync(run, description, cancellationToken).ConfigureAwait(false);
            var uri = $"{ModelUris.RunsScheme}{run.RunId}/{options.Name}";
            var version = await RegisterAsync(run, uri, options, cancellationToken).ConfigureAwait(false);
            return new LoggedModelInfo(uri, description) { RegisteredModelVersion = version?.Version };
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>The MLflow 3 part of Python's <c>Model.log</c>, inside its <c>_use_logged_model</c> (READY, or FAILED on any error).</summary>
    private static async Task<LoggedModelInfo> LogLoggedModelAsync(
        RunScope run, ILoggedModelStore models, LoggedModel logged, string directory, string flavorName, FlavorConfiguration config, LogModelOptions options,
        string mlflowVersion, CancellationToken cancellationToken)
    {
        MlflowModel description;
        try
        {
            var artifactUri = logged.ArtifactUri ?? throw new MlflowException($"The server created logged model {logged.ModelId} without an artifact URI.");
            await models.LogOutputsAsync(run.RunId, logged.ModelId, options.Step, cancellationToken).ConfigureAwait(false);
            await LinkStepMetricsAsync(run.Tracker.Store, run.RunId, logged.ModelId, options.Step, cancellationToken).ConfigureAwait(false);
            var created = MlflowModel.Create(artifactUri, run.RunId, run.Tracker.Options.TimeProvider);
            created.ModelUuid = logged.ModelId;
            created.ModelId = logged.ModelId;
            description = Describe(created, directory, flavorName, config, options, mlflowVersion);
            await run.Tracker.Store.ArtifactsFor(artifactUri).UploadDirectoryAsync(directory, null, 4, null, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await models.FinalizeLoggedModelAsync(logged.ModelId, LoggedModelStatus.UploadFailed, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        await models.FinalizeLoggedModelAsync(logged.ModelId, LoggedModelStatus.Ready, cancellationToken).ConfigureAwait(false);
        var uri = ModelUris.ModelsScheme + logged.ModelId;
        var version = await RegisterAsync(run, uri, options, cancellationToken).ConfigureAwait(false);
        return new LoggedModelInfo(uri, description) { LoggedModelId = logged.ModelId, RegisteredModelVersion = version?.Version };
    }

    /// <summary>
    /// Python's <c>log_model_metrics_for_step</c>: every metric of the run logged at <paramref name="step"/> and not yet
    /// linked to a model is logged again with <paramref name="modelId"/>, so that it shows on the model.
    /// </summary>
    private static async Task LinkStepMetricsAsync(ITrackingStore store, string runId, string modelId, long step, CancellationToken cancellationToken)
    {
        var keys = (await store.GetRunAsync(runId, cancellationToken).ConfigureAwait(false)).Data.Metrics.Select(m => m.Key).Distinct(StringComparer.Ordinal).ToList();
        var linked = new List<Metric>();
        foreach (var key in keys)
        {
            var history = await store.GetMetricHistoryAsync(runId, key, cancellationToken).ConfigureAwait(false);
            linked.AddRange(history.Where(m => m.Step == step && m.ModelId is null).Select(m => m with { ModelId = modelId }));
        }

        foreach (var chunk in linked.Chunk(Validation.MlflowLimits.MaxMetricsPerBatch))
        {
            await store.LogBatchAsync(runId, chunk, [], [], cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Completes <paramref name="description"/> with the flavor's sections and writes it as <c>MLmodel</c> beside the flavor's files.</summary>
    private static MlflowModel Describe(MlflowModel description, string directory, string flavorName, FlavorConfiguration config, LogModelOptions options, string mlflowVersion)
    {
        description.MlflowVersion = mlflowVersion;
        description.Flavors[flavorName] = config.Flavor;
        if (config.PythonFunction is { } pyfunc)
        {
            description.Flavors["python_function"] = pyfunc;
        }

        description.Signature = options.Signature;
        description.SavedInputExampleInfo = options.InputExample?.Save(directory);
        description.ModelSizeBytes = new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories)
            .Where(f => f.Name != MlflowModel.FileName).Sum(f => f.Length);
        description.Save(directory);
        return description;
    }

    private static async Task<ModelVersion?> RegisterAsync(RunScope run, string modelUri, LogModelOptions options, CancellationToken cancellationToken)
    {
        if (options.RegisteredModelName is not { } name)
        {
            return null;
        }

        var registry = run.Tracker.Store.RegistryOf()
            ?? throw new NotSupportedException($"Cannot register '{modelUri}' as '{name}': the tracking store has no model registry.");
        return await new Registry.ModelRegistry(registry, run.Tracker.Options.TimeProvider)
            .RegisterModelAsync(modelUri, name, timeout: options.AwaitRegistrationFor, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private static async Task RecordAsync(RunScope run, MlflowModel description, CancellationToken cancellationToken)
    {
        var json = description.ToJson();
        if (run.Tracker.Store.ModelHistoryOf() is { } serverSide)
        {
            await serverSide.AppendModelHistoryAsync(run.RunId, json, cancellationToken).ConfigureAwait(false);
            return;
        }

        // Stores without it: append to the tag here, as MLflow's own stores do for runs/log-model.
        var current = (await run.Tracker.Store.GetRunAsync(run.RunId, cancellationToken).ConfigureAwait(false)).Data.GetTag(MlflowTags.LogModelHistory);
        var history = current is null ? new JsonArray() : JsonNode.Parse(current) as JsonArray ?? new JsonArray();
        history.Add(JsonNode.Parse(json));
        await run.Tracker.Store.LogBatchAsync(run.RunId, [], [], [new RunTag(MlflowTags.LogModelHistory, history.ToJsonString())], cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Downloads and loads a model: <c>runs:/&lt;run id&gt;/&lt;path&gt;</c>, <c>models:/&lt;model id&gt;</c> (MLflow 3),
    /// <c>models:/&lt;name&gt;/&lt;version|stage|latest&gt;</c>, <c>models:/&lt;name&gt;@&lt;alias&gt;</c> (through
    /// <paramref name="store"/>) or a local model folder — resolved as Python MLflow resolves them.
    /// </summary>
    /// <typeparam name="TModel">The model type.</typeparam>
    /// <param name="store">The store (a tracking server for <c>models:/</c> URIs).</param>
    /// <param name="modelUri">The URI.</param>
    /// <param name="flavor">The flavor; the registered one for <typeparamref name="TModel"/> when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the load.</param>
    public static async Task<TModel> LoadModelAsync<TModel>(this ITrackingStore store, string modelUri, IModelFlavor<TModel>? flavor = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(modelUri);
        flavor ??= ModelFlavors.Get<TModel>();
        return await WithLocalCopyAsync(store, modelUri, directory => LoadFromDirectoryAsync(directory, flavor, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs <paramref name="load"/> on a local copy of the model <paramref name="modelUri"/> names: the folder itself, or
    /// a download (resolved as <see cref="ResolveAsync"/> does) into a temporary folder deleted afterwards.
    /// </summary>
    /// <typeparam name="T">What <paramref name="load"/> returns.</typeparam>
    /// <param name="store">The store that resolves the URI.</param>
    /// <param name="modelUri">A model URI or a local folder.</param>
    /// <param name="load">Loads from the local folder.</param>
    /// <param name="cancellationToken">Cancels the download.</param>
    internal static async Task<T> WithLocalCopyAsync<T>(ITrackingStore store, string modelUri, Func<string, Task<T>> load, CancellationToken cancellationToken)
    {
        if (Directory.Exists(modelUri))
        {
            return await load(modelUri).ConfigureAwait(false);
        }

        var (artifactRoot, path) = await ResolveAsync(store, modelUri, cancellationToken).ConfigureAwait(false);
        var artifacts = store.ArtifactsFor(artifactRoot);
        await EnsureModelAtAsync(artifacts, modelUri, path, cancellationToken).ConfigureAwait(false);
        var dir = Directory.CreateTempSubdirectory("mlops-load-");
        try
        {
            var local = await artifacts.DownloadAsync(path, dir.FullName, 4, null, cancellationToken).ConfigureAwait(false);
            return await load(local).ConfigureAwait(false);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>
    /// A model is a folder with an <c>MLmodel</c> file: said in words before anything is downloaded (a download of a path
    /// that does not exist is a 500 from some servers, retried for minutes, whose message names the server's own paths).
    /// </summary>
    internal static async Task EnsureModelAtAsync(IArtifactRepository artifacts, string modelUri, string path, CancellationToken cancellationToken)
    {
        var listed = await artifacts.ListAsync(path.Length == 0 ? null : path, cancellationToken).ConfigureAwait(false);
        if (listed.Any(f => !f.IsDir && ArtifactPaths.Normalize(f.Path) is var file && (file == "MLmodel" || file.EndsWith("/MLmodel", StringComparison.Ordinal))))
        {
            return;
        }

        if (listed.Count == 0)
        {
            var parent = path.Contains('/', StringComparison.Ordinal) ? path[..path.LastIndexOf('/')] : null;
            var siblings = await artifacts.ListAsync(parent, cancellationToken).ConfigureAwait(false);
            var there = siblings.Count == 0 ? "none" : string.Join(", ", siblings.Take(10).Select(f => ArtifactPaths.Normalize(f.Path) + (f.IsDir ? "/" : "")));
            throw new MlflowException(404, MlflowErrorCodes.ResourceDoesNotExist,
                $"No model at {modelUri}: there are no artifacts at '{(path.Length == 0 ? "/" : path)}' (artifacts {(parent is null ? "at the top" : "in '" + parent + "'")}: {there}).");
        }

        throw new MlflowException(404, MlflowErrorCodes.ResourceDoesNotExist,
            $"No model at {modelUri}: '{(path.Length == 0 ? "/" : path)}' has no MLmodel file, so it is not an MLflow model (it holds: {string.Join(", ", listed.Take(10).Select(f => ArtifactPaths.Normalize(f.Path) + (f.IsDir ? "/" : "")))}).");
    }

    /// <summary>
    /// Resolves a model URI to (artifact root URI, path inside it) as Python's artifact repositories do:
    /// <c>runs:/&lt;run&gt;/&lt;path&gt;</c> is the run's own files, or — when the run has no model there and the store
    /// has MLflow 3 logged models — the logged model of that name from that run; <c>models:/&lt;model id&gt;</c> is the
    /// logged model's location; <c>models:/&lt;name&gt;/&lt;version|stage|latest&gt;</c> and <c>models:/&lt;name&gt;@&lt;alias&gt;</c>
    /// go through the registry to the version's download URI (itself resolved when it is a <c>runs:/</c> or <c>models:/</c> URI).
    /// </summary>
    /// <param name="store">The store.</param>
    /// <param name="modelUri">A <c>runs:/</c> or <c>models:/</c> URI.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    internal static async Task<(string ArtifactRoot, string Path)> ResolveAsync(ITrackingStore store, string modelUri, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (ModelUris.TryParseRuns(modelUri, out var runId, out var path))
        {
            var run = await store.GetRunAsync(runId, cancellationToken).ConfigureAwait(false);
            var runRoot = run.Info.ArtifactUri ?? throw new MlflowException($"Run {runId} has no artifact URI.");
            if (store.LoggedModelsIfAny() is { } models
                && await FindRunLoggedModelAsync(store, models, run, runRoot, path, cancellationToken).ConfigureAwait(false) is { ArtifactUri: { } modelRoot })
            {
                var slash = path.IndexOf('/', StringComparison.Ordinal);
                return (modelRoot, slash < 0 ? "" : path[(slash + 1)..]);
            }

            return (runRoot, path);
        }

        if (ModelUris.TryParseModels(modelUri, out var parsed))
        {
            if (parsed.ModelId is { } modelId)
            {
                var models = store.LoggedModelsOf($"'{modelUri}' (a models:/<model id> URI)");
                var logged = await models.GetLoggedModelAsync(modelId, cancellationToken).ConfigureAwait(false);
                return (logged.ArtifactUri ?? throw new MlflowException($"Logged model {modelId} has no artifact URI."), "");
            }

            var registry = store.RegistryOf()
                ?? throw new NotSupportedException($"'{modelUri}': models:/ URIs need a store with a model registry.");
            var name = parsed.Name!;
            var version = parsed.Version ?? (await Registry.RegisteredVersions.ResolveAsync(registry, parsed, cancellationToken).ConfigureAwait(false)).Version;
            var source = await registry.GetModelVersionDownloadUriAsync(name, version, cancellationToken).ConfigureAwait(false);
            return source.StartsWith(ModelUris.RunsScheme, StringComparison.Ordinal) || source.StartsWith(ModelUris.ModelsScheme, StringComparison.Ordinal)
                ? await ResolveAsync(store, source, cancellationToken).ConfigureAwait(false)
                : (source, "");
        }

        if (Artifacts.ArtifactStoreSchemes.SchemeOf(modelUri) is not null)
        {
            // An artifact URI of the model folder itself (s3://…/model, mlflow-artifacts:/…, file:///…), as Python's
            // load_model takes: its store is chosen by the scheme.
            return (modelUri.TrimEnd('/'), "");
        }

        throw new ArgumentException($"'{modelUri}' is not a model URI (runs:/…, models:/…, an artifact URI such as s3://… or an existing local folder).", nameof(modelUri));
    }

    private static async Task<LoggedModel?> FindRunLoggedModelAsync(ITrackingStore store, ILoggedModelStore models, Run run, string runRoot, string path, CancellationToken cancellationToken)
    {
        try
        {
            return await LoggedModelLookup.FindForRunPathAsync(run, path, store.ArtifactsFor(runRoot), models.SearchLoggedModelsPageAsync, cancellationToken).ConfigureAwait(false);
        }
        catch (MlflowException ex) when (MlflowClient.IsMissingLoggedModelApi(ex))
        {
            return null; // MLflow 2.x: the run's files are the model
        }
    }

    private static async Task<TModel> LoadFromDirectoryAsync<TModel>(string directory, IModelFlavor<TModel> flavor, CancellationToken cancellationToken)
    {
        var description = MlflowModel.Load(directory);
        if (!description.Flavors.ContainsKey(flavor.Name))
        {
            throw new InvalidOperationException(
                $"The model in '{directory}' has the flavors {string.Join(", ", description.Flavors.Keys)}, not '{flavor.Name}'.");
        }

        return await flavor.LoadAsync(directory, description, cancellationToken).ConfigureAwait(false);
    }
}
