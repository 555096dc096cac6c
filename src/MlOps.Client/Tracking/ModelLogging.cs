using System.Text.Json.Nodes;
using MlOps.Client.Artifacts;
using MlOps.Client.Models;
using MlOps.Client.Stores;

namespace MlOps.Client.Tracking;

/// <summary>Logging and loading MLflow models.</summary>
public static class ModelLogging
{
    /// <summary>
    /// Writes <paramref name="model"/> as an MLflow model folder (the flavor's files + <c>MLmodel</c>), uploads it under
    /// <paramref name="artifactPath"/> and records it in the run's <c>mlflow.log-model.history</c> tag, as MLflow 2.x
    /// clients do. The run end waits for it.
    /// </summary>
    /// <typeparam name="TModel">The model type.</typeparam>
    /// <param name="run">The run.</param>
    /// <param name="model">The model.</param>
    /// <param name="flavor">The flavor; the registered one for <typeparamref name="TModel"/> when <see langword="null"/>.</param>
    /// <param name="artifactPath">The folder inside the run's artifacts. Default <c>model</c>.</param>
    /// <param name="signature">The signature, if known.</param>
    /// <param name="cancellationToken">Cancels the logging.</param>
    public static Task<LoggedModelInfo> LogModelAsync<TModel>(
        this RunScope run, TModel model, IModelFlavor<TModel>? flavor = null, string artifactPath = "model", ModelSignature? signature = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        flavor ??= ModelFlavors.Get<TModel>();
        var path = ArtifactPaths.Normalize(artifactPath);
        var task = LogCoreAsync(run, model, flavor, path, signature, cancellationToken);
        run.TrackPending(task);
        return task;
    }

    private static async Task<LoggedModelInfo> LogCoreAsync<TModel>(RunScope run, TModel model, IModelFlavor<TModel> flavor, string path, ModelSignature? signature, CancellationToken cancellationToken)
    {
        var dir = Directory.CreateTempSubdirectory("mlops-model-");
        try
        {
            var config = await flavor.SaveAsync(model, dir.FullName, cancellationToken).ConfigureAwait(false);
            var description = MlflowModel.Create(path, run.RunId, run.Tracker.Options.TimeProvider);
            description.Flavors[flavor.Name] = config.Flavor;
            if (config.PythonFunction is { } pyfunc)
            {
                description.Flavors["python_function"] = pyfunc;
            }

            description.Signature = signature;
            description.ModelSizeBytes = dir.EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
            description.Save(dir.FullName);
            await run.GetArtifactRepository().UploadDirectoryAsync(dir.FullName, path, 4, null, cancellationToken).ConfigureAwait(false);
            await RecordAsync(run, description, cancellationToken).ConfigureAwait(false);
            var loggedModelId = await RecordLoggedModelAsync(run, dir.FullName, path, cancellationToken).ConfigureAwait(false);
            return new LoggedModelInfo($"runs:/{run.RunId}/{path}", description) { LoggedModelId = loggedModelId };
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>On an MLflow 3 server, also records the model as a logged-model entity with its own copy of the files.</summary>
    private static async Task<string?> RecordLoggedModelAsync(RunScope run, string directory, string name, CancellationToken cancellationToken)
    {
        if (run.Tracker.Store is not ILoggedModelStore models)
        {
            return null;
        }

        var logged = await models.TryCreateLoggedModelAsync(run.ExperimentId, name, run.RunId, cancellationToken).ConfigureAwait(false);
        if (logged?.ArtifactUri is not { } uri)
        {
            return null; // MLflow 2.x: the log-model history tag is the record
        }

        try
        {
            await run.Tracker.Store.ArtifactsFor(uri).UploadDirectoryAsync(directory, null, 4, null, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await models.FinalizeLoggedModelAsync(logged.ModelId, LoggedModelStatus.UploadFailed, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        await models.FinalizeLoggedModelAsync(logged.ModelId, LoggedModelStatus.Ready, cancellationToken).ConfigureAwait(false);
        await models.LogOutputsAsync(run.RunId, logged.ModelId, 0, cancellationToken).ConfigureAwait(false);
        return logged.ModelId;
    }

    private static async Task RecordAsync(RunScope run, MlflowModel description, CancellationToken cancellationToken)
    {
        var json = description.ToJson();
        if (run.Tracker.Store is IModelHistoryStore history2)
        {
            await history2.AppendModelHistoryAsync(run.RunId, json, cancellationToken).ConfigureAwait(false);
            return;
        }

        // Stores without it: append to the tag here, as MLflow's own stores do for runs/log-model.
        var current = (await run.Tracker.Store.GetRunAsync(run.RunId, cancellationToken).ConfigureAwait(false)).Data.GetTag(MlflowTags.LogModelHistory);
        var history = current is null ? new JsonArray() : JsonNode.Parse(current) as JsonArray ?? new JsonArray();
        history.Add(JsonNode.Parse(json));
        await run.Tracker.Store.LogBatchAsync(run.RunId, [], [], [new RunTag(MlflowTags.LogModelHistory, history.ToJsonString())], cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Downloads and loads a model: <c>runs:/&lt;run id&gt;/&lt;path&gt;</c>, <c>models:/&lt;name&gt;/&lt;version&gt;</c>,
    /// <c>models:/&lt;name&gt;@&lt;alias&gt;</c> (through <paramref name="store"/>'s tracking server) or a local model folder.
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
        if (Directory.Exists(modelUri))
        {
            return await LoadFromDirectoryAsync(modelUri, flavor, cancellationToken).ConfigureAwait(false);
        }

        var (artifactRoot, path) = await ResolveAsync(store, modelUri, cancellationToken).ConfigureAwait(false);
        var repository = store.ArtifactsFor(artifactRoot);
        var dir = Directory.CreateTempSubdirectory("mlops-load-");
        try
        {
            var local = await repository.DownloadAsync(path, dir.FullName, 4, null, cancellationToken).ConfigureAwait(false);
            return await LoadFromDirectoryAsync(local, flavor, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>Resolves a model URI to (artifact root URI, path inside it).</summary>
    /// <param name="store">The store.</param>
    /// <param name="modelUri">A <c>runs:/</c> or <c>models:/</c> URI.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    internal static async Task<(string ArtifactRoot, string Path)> ResolveAsync(ITrackingStore store, string modelUri, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (ModelUris.TryParseRuns(modelUri, out var runId, out var path))
        {
            var run = await store.GetRunAsync(runId, cancellationToken).ConfigureAwait(false);
            return (run.Info.ArtifactUri ?? throw new MlflowException($"Run {runId} has no artifact URI."), path);
        }

        if (ModelUris.TryParseModels(modelUri, out var name, out var version, out var alias))
        {
            var client = store.RegistryOf()
                ?? throw new NotSupportedException($"'{modelUri}': models:/ URIs need a store with a model registry.");
            version ??= (await client.GetModelVersionByAliasAsync(name, alias!, cancellationToken).ConfigureAwait(false)).Version;

            var source = await client.GetModelVersionDownloadUriAsync(name, version, cancellationToken).ConfigureAwait(false);
            return source.StartsWith(ModelUris.RunsScheme, StringComparison.Ordinal) ? await ResolveAsync(store, source, cancellationToken).ConfigureAwait(false) : (source, "");
        }

        throw new ArgumentException($"'{modelUri}' is not a model URI (runs:/…, models:/… or an existing local folder).", nameof(modelUri));
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
