using MlOps.Client.Rest;
using MlOps.Client.Validation;

namespace MlOps.Client;

public partial class MlflowClient
{
    private static readonly string[] AllowedStages = [ModelStages.None, ModelStages.Staging, ModelStages.Production, ModelStages.Archived];

    // ---- registered models ----

    /// <summary>Creates a registered model (<c>POST registered-models/create</c>).</summary>
    /// <param name="name">The unique name.</param>
    /// <param name="description">A description.</param>
    /// <param name="tags">Tags.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="MlflowException"><c>RESOURCE_ALREADY_EXISTS</c> when the name is taken.</exception>
    public virtual async Task<RegisteredModel> CreateRegisteredModelAsync(
        string name, string? description = null, IReadOnlyDictionary<string, string>? tags = null, CancellationToken cancellationToken = default)
    {
        CheckModelName(name);
        List<RegisteredModelTag>? tagList = null;
        if (tags is not null)
        {
            tagList = [];
            foreach (var (k, v) in tags)
            {
                MlflowValidator.ValidateRegistryTag(k, v);
                tagList.Add(new RegisteredModelTag(k, v));
            }
        }

        var response = await PostAsync("registered-models/create", new CreateRegisteredModelRequest(name, tagList, description),
            MlflowJsonContext.Default.CreateRegisteredModelRequest, MlflowJsonContext.Default.RegisteredModelResponse, cancellationToken).ConfigureAwait(false);
        return response.RegisteredModel ?? throw MissingField("registered-models/create", "registered_model");
    }

    /// <summary>Gets a registered model with its latest versions and aliases (<c>GET registered-models/get</c>).</summary>
    /// <param name="name">The name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="MlflowException"><c>RESOURCE_DOES_NOT_EXIST</c> (404) for an unknown name.</exception>
    public virtual async Task<RegisteredModel> GetRegisteredModelAsync(string name, CancellationToken cancellationToken = default)
    {
        CheckModelName(name);
        var response = await GetAsync("registered-models/get", new QueryString().Add("name", name),
            MlflowJsonContext.Default.RegisteredModelResponse, cancellationToken).ConfigureAwait(false);
        return response.RegisteredModel ?? throw MissingField("registered-models/get", "registered_model");
    }

    /// <summary>Searches registered models (<c>GET registered-models/search</c>), following page tokens as you enumerate.</summary>
    /// <param name="query">The query; all models when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    public virtual MlflowPageable<RegisteredModel> SearchRegisteredModelsAsync(SearchRegisteredModelsOptions? query = null, CancellationToken cancellationToken = default)
    {
        query ??= new SearchRegisteredModelsOptions();
        return MlflowPageable.Create<RegisteredModel>((token, size, ct) => SearchRegisteredModelsPageAsync(query, token, size, ct), query.MaxResults, query.PageSize, cancellationToken);
    }

    /// <summary>Fetches one page of a registered-model search.</summary>
    /// <param name="query">The query.</param>
    /// <param name="pageToken">The page token, or <see langword="null"/> for the first page.</param>
    /// <param name="pageSize">Overrides <see cref="SearchOptions.PageSize"/> (and the cap of <see cref="SearchOptions.MaxResults"/>).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual async Task<MlflowPage<RegisteredModel>> SearchRegisteredModelsPageAsync(
        SearchRegisteredModelsOptions query, string? pageToken = null, int? pageSize = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var q = new QueryString().Add("filter", query.Filter).Add("max_results", CheckPageSize(pageSize ?? query.FirstPageSize))
            .AddAll("order_by", query.OrderBy).Add("page_token", pageToken);
        var response = await GetAsync("registered-models/search", q, MlflowJsonContext.Default.SearchRegisteredModelsResponse, cancellationToken).ConfigureAwait(false);
        return new MlflowPage<RegisteredModel>(response.RegisteredModels ?? [], NullIfEmpty(response.NextPageToken));
    }

    /// <summary>Updates a registered model's description (<c>PATCH registered-models/update</c>).</summary>
    /// <param name="name">The name.</param>
    /// <param name="description">The new description.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual async Task<RegisteredModel> UpdateRegisteredModelAsync(string name, string? description, CancellationToken cancellationToken = default)
    {
        CheckModelName(name);
        var response = await SendJsonAsync(HttpMethod.Patch, "registered-models/update", new UpdateRegisteredModelRequest(name, description),
            MlflowJsonContext.Default.UpdateRegisteredModelRequest, MlflowJsonContext.Default.RegisteredModelResponse, cancellationToken).ConfigureAwait(false);
        return response.RegisteredModel ?? throw MissingField("registered-models/update", "registered_model");
    }

    /// <summary>Renames a registered model (<c>POST registered-models/rename</c>); its versions follow.</summary>
    /// <param name="name">The current name.</param>
    /// <param name="newName">The new name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual async Task<RegisteredModel> RenameRegisteredModelAsync(string name, string newName, CancellationToken cancellationToken = default)
    {
        CheckModelName(name);
        CheckModelName(newName, "new_name");
        var response = await PostAsync("registered-models/rename", new RenameRegisteredModelRequest(name, newName),
            MlflowJsonContext.Default.RenameRegisteredModelRequest, MlflowJsonContext.Default.RegisteredModelResponse, cancellationToken).ConfigureAwait(false);
        return response.RegisteredModel ?? throw MissingField("registered-models/rename", "registered_model");
    }

    /// <summary>Deletes a registered model and all its versions (<c>DELETE registered-models/delete</c>).</summary>
    /// <param name="name">The name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task DeleteRegisteredModelAsync(string name, CancellationToken cancellationToken = default)
    {
        CheckModelName(name);
        return SendJsonAsync(HttpMethod.Delete, "registered-models/delete", new RegisteredModelNameRequest(name),
            MlflowJsonContext.Default.RegisteredModelNameRequest, MlflowJsonContext.Default.EmptyMessage, cancellationToken);
    }

    /// <summary>Sets a tag on a registered model (<c>POST registered-models/set-tag</c>).</summary>
    /// <param name="name">The model.</param>
    /// <param name="key">The key.</param>
    /// <param name="value">The value (at most 100,000 characters).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task SetRegisteredModelTagAsync(string name, string key, string value, CancellationToken cancellationToken = default)
    {
        CheckModelName(name);
        MlflowValidator.ValidateRegistryTag(key, value);
        return PostAsync("registered-models/set-tag", new SetRegisteredModelTagRequest(name, key, value), MlflowJsonContext.Default.SetRegisteredModelTagRequest, cancellationToken);
    }

    /// <summary>Deletes a tag of a registered model (<c>DELETE registered-models/delete-tag</c>).</summary>
    /// <param name="name">The model.</param>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task DeleteRegisteredModelTagAsync(string name, string key, CancellationToken cancellationToken = default)
    {
        CheckModelName(name);
        ArgumentException.ThrowIfNullOrEmpty(key);
        return SendJsonAsync(HttpMethod.Delete, "registered-models/delete-tag", new DeleteRegisteredModelTagRequest(name, key),
            MlflowJsonContext.Default.DeleteRegisteredModelTagRequest, MlflowJsonContext.Default.EmptyMessage, cancellationToken);
    }

    /// <summary>The latest version of a model in each stage, or in the given stages (<c>POST registered-models/get-latest-versions</c>).</summary>
    /// <param name="name">The model.</param>
    /// <param name="stages">Stages to look at; every stage when <see langword="null"/> or empty.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual async Task<IReadOnlyList<ModelVersion>> GetLatestVersionsAsync(string name, IEnumerable<string>? stages = null, CancellationToken cancellationToken = default)
    {
        CheckModelName(name);
        List<string>? list = stages is null ? null : [.. stages];
        list?.ForEach(s => CheckStage(s));
        var response = await PostAsync("registered-models/get-latest-versions", new GetLatestVersionsRequest(name, list is { Count: > 0 } ? list : null),
            MlflowJsonContext.Default.GetLatestVersionsRequest, MlflowJsonContext.Default.ModelVersionsResponse, cancellationToken).ConfigureAwait(false);
        return response.ModelVersions ?? [];
    }

    /// <summary>Points an alias (e.g. <c>champion</c>) at a version (<c>POST registered-models/alias</c>).</summary>
    /// <param name="name">The model.</param>
    /// <param name="alias">The alias; <c>latest</c> and <c>v&lt;digits&gt;</c> are reserved.</param>
    /// <param name="version">The version.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task SetRegisteredModelAliasAsync(string name, string alias, string version, CancellationToken cancellationToken = default)
    {
        CheckModelName(name);
        MlflowValidator.ValidateAlias(alias);
        CheckVersion(version);
        return PostAsync("registered-models/alias", new SetAliasRequest(name, alias, version), MlflowJsonContext.Default.SetAliasRequest, cancellationToken);
    }

    /// <summary>Deletes an alias (<c>DELETE registered-models/alias</c>).</summary>
    /// <param name="name">The model.</param>
    /// <param name="alias">The alias.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task DeleteRegisteredModelAliasAsync(string name, string alias, CancellationToken cancellationToken = default)
    {
        CheckModelName(name);
        ArgumentException.ThrowIfNullOrEmpty(alias);
        return SendJsonAsync(HttpMethod.Delete, "registered-models/alias", new DeleteAliasRequest(name, alias),
            MlflowJsonContext.Default.DeleteAliasRequest, MlflowJsonContext.Default.EmptyMessage, cancellationToken);
    }

    /// <summary>The version an alias points at (<c>GET registered-models/alias</c>). An absent alias is a 400 <c>INVALID_PARAMETER_VALUE</c> on MLflow 2.22.</summary>
    /// <param name="name">The model.</param>
    /// <param name="alias">The alias.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual async Task<ModelVersion> GetModelVersionByAliasAsync(string name, string alias, CancellationToken cancellationToken = default)
    {
        CheckModelName(name);
        ArgumentException.ThrowIfNullOrEmpty(alias);
        var response = await GetAsync("registered-models/alias", new QueryString().Add("name", name).Add("alias", alias),
            MlflowJsonContext.Default.ModelVersionResponse, cancellationToken).ConfigureAwait(false);
        return response.ModelVersion ?? throw MissingField("registered-models/alias", "model_version");
    }

    // ---- model versions ----

    /// <summary>Creates a model version (<c>POST model-versions/create</c>).</summary>
    /// <param name="name">The registered model.</param>
    /// <param name="source">Where the model files are: <c>runs:/&lt;run id&gt;/&lt;path&gt;</c> or the run's artifact URI.</param>
    /// <param name="runId">The run that produced it.</param>
    /// <param name="tags">Tags.</param>
    /// <param name="description">A description.</param>
    /// <param name="runLink">A link to the run on another server.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task<ModelVersion> CreateModelVersionAsync(
        string name, string source, string? runId = null, IReadOnlyDictionary<string, string>? tags = null, string? description = null, string? runLink = null,
        CancellationToken cancellationToken = default) =>
        CreateModelVersionAsync(name, source, runId, tags, description, runLink, null, cancellationToken);

    /// <summary>
    /// Creates a model version of an MLflow 3 logged model (<c>POST model-versions/create</c> with <c>model_id</c>): Python
    /// 3.x registers <c>source = models:/&lt;model id&gt;</c> this way, and the server fills the run id from the model.
    /// </summary>
    /// <param name="name">The registered model.</param>
    /// <param name="source">Where the model files are: <c>models:/&lt;model id&gt;</c>, <c>runs:/&lt;run id&gt;/&lt;path&gt;</c> or an artifact URI.</param>
    /// <param name="runId">The run that produced it.</param>
    /// <param name="tags">Tags.</param>
    /// <param name="description">A description.</param>
    /// <param name="runLink">A link to the run on another server.</param>
    /// <param name="modelId">The logged model (<c>m-…</c>), or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual async Task<ModelVersion> CreateModelVersionAsync(
        string name, string source, string? runId, IReadOnlyDictionary<string, string>? tags, string? description, string? runLink, string? modelId,
        CancellationToken cancellationToken = default)
    {
        CheckModelName(name);
        ArgumentException.ThrowIfNullOrEmpty(source);
        List<ModelVersionTag>? tagList = null;
        if (tags is not null)
        {
            tagList = [];
            foreach (var (k, v) in tags)
            {
                MlflowValidator.ValidateRegistryTag(k, v);
                tagList.Add(new ModelVersionTag(k, v));
            }
        }

        var response = await PostAsync("model-versions/create", new CreateModelVersionRequest(name, source, runId, tagList, runLink, description, modelId),
            MlflowJsonContext.Default.CreateModelVersionRequest, MlflowJsonContext.Default.ModelVersionResponse, cancellationToken).ConfigureAwait(false);
        return response.ModelVersion ?? throw MissingField("model-versions/create", "model_version");
    }

    /// <summary>Gets a model version (<c>GET model-versions/get</c>).</summary>
    /// <param name="name">The registered model.</param>
    /// <param name="version">The version.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual async Task<ModelVersion> GetModelVersionAsync(string name, string version, CancellationToken cancellationToken = default)
    {
        CheckModelName(name);
        CheckVersion(version);
        var response = await GetAsync("model-versions/get", new QueryString().Add("name", name).Add("version", version),
            MlflowJsonContext.Default.ModelVersionResponse, cancellationToken).ConfigureAwait(false);
        return response.ModelVersion ?? throw MissingField("model-versions/get", "model_version");
    }

    /// <summary>Searches model versions (<c>GET model-versions/search</c>), following page tokens as you enumerate.</summary>
    /// <param name="query">The query, e.g. <c>Filter = "name='iris'"</c>.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    public virtual MlflowPageable<ModelVersion> SearchModelVersionsAsync(SearchModelVersionsOptions? query = null, CancellationToken cancellationToken = default)
    {
        query ??= new SearchModelVersionsOptions();
        return MlflowPageable.Create<ModelVersion>((token, size, ct) => SearchModelVersionsPageAsync(query, token, size, ct), query.MaxResults, query.PageSize, cancellationToken);
    }

    /// <summary>Fetches one page of a model-version search.</summary>
    /// <param name="query">The query.</param>
    /// <param name="pageToken">The page token, or <see langword="null"/> for the first page.</param>
    /// <param name="pageSize">Overrides <see cref="SearchOptions.PageSize"/> (and the cap of <see cref="SearchOptions.MaxResults"/>).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual async Task<MlflowPage<ModelVersion>> SearchModelVersionsPageAsync(
        SearchModelVersionsOptions query, string? pageToken = null, int? pageSize = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var q = new QueryString().Add("filter", query.Filter).Add("max_results", CheckPageSize(pageSize ?? query.FirstPageSize))
            .AddAll("order_by", query.OrderBy).Add("page_token", pageToken);
        var response = await GetAsync("model-versions/search", q, MlflowJsonContext.Default.ModelVersionsResponse, cancellationToken).ConfigureAwait(false);
        return new MlflowPage<ModelVersion>(response.ModelVersions ?? [], NullIfEmpty(response.NextPageToken));
    }

    /// <summary>Updates a version's description (<c>PATCH model-versions/update</c>).</summary>
    /// <param name="name">The registered model.</param>
    /// <param name="version">The version.</param>
    /// <param name="description">The new description.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual async Task<ModelVersion> UpdateModelVersionAsync(string name, string version, string? description, CancellationToken cancellationToken = default)
    {
        CheckModelName(name);
        CheckVersion(version);
        var response = await SendJsonAsync(HttpMethod.Patch, "model-versions/update", new UpdateModelVersionRequest(name, version, description),
            MlflowJsonContext.Default.UpdateModelVersionRequest, MlflowJsonContext.Default.ModelVersionResponse, cancellationToken).ConfigureAwait(false);
        return response.ModelVersion ?? throw MissingField("model-versions/update", "model_version");
    }

    /// <summary>Deletes a model version (<c>DELETE model-versions/delete</c>).</summary>
    /// <param name="name">The registered model.</param>
    /// <param name="version">The version.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task DeleteModelVersionAsync(string name, string version, CancellationToken cancellationToken = default)
    {
        CheckModelName(name);
        CheckVersion(version);
        return SendJsonAsync(HttpMethod.Delete, "model-versions/delete", new ModelVersionKeyRequest(name, version),
            MlflowJsonContext.Default.ModelVersionKeyRequest, MlflowJsonContext.Default.EmptyMessage, cancellationToken);
    }

    /// <summary>Moves a version to a legacy stage (<c>POST model-versions/transition-stage</c>).</summary>
    /// <param name="name">The registered model.</param>
    /// <param name="version">The version.</param>
    /// <param name="stage"><c>None</c>, <c>Staging</c>, <c>Production</c> or <c>Archived</c> (see <see cref="ModelStages"/>).</param>
    /// <param name="archiveExistingVersions">Whether other versions in that stage move to <c>Archived</c>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual async Task<ModelVersion> TransitionModelVersionStageAsync(
        string name, string version, string stage, bool archiveExistingVersions = false, CancellationToken cancellationToken = default)
    {
        CheckModelName(name);
        CheckVersion(version);
        var canonical = CheckStage(stage);
        var response = await PostAsync("model-versions/transition-stage", new TransitionStageRequest(name, version, canonical, archiveExistingVersions),
            MlflowJsonContext.Default.TransitionStageRequest, MlflowJsonContext.Default.ModelVersionResponse, cancellationToken).ConfigureAwait(false);
        return response.ModelVersion ?? throw MissingField("model-versions/transition-stage", "model_version");
    }

    /// <summary>Sets a tag on a model version (<c>POST model-versions/set-tag</c>).</summary>
    /// <param name="name">The registered model.</param>
    /// <param name="version">The version.</param>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task SetModelVersionTagAsync(string name, string version, string key, string value, CancellationToken cancellationToken = default)
    {
        CheckModelName(name);
        CheckVersion(version);
        MlflowValidator.ValidateRegistryTag(key, value);
        return PostAsync("model-versions/set-tag", new SetModelVersionTagRequest(name, version, key, value), MlflowJsonContext.Default.SetModelVersionTagRequest, cancellationToken);
    }

    /// <summary>Deletes a tag of a model version (<c>DELETE model-versions/delete-tag</c>).</summary>
    /// <param name="name">The registered model.</param>
    /// <param name="version">The version.</param>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual Task DeleteModelVersionTagAsync(string name, string version, string key, CancellationToken cancellationToken = default)
    {
        CheckModelName(name);
        CheckVersion(version);
        ArgumentException.ThrowIfNullOrEmpty(key);
        return SendJsonAsync(HttpMethod.Delete, "model-versions/delete-tag", new DeleteModelVersionTagRequest(name, version, key),
            MlflowJsonContext.Default.DeleteModelVersionTagRequest, MlflowJsonContext.Default.EmptyMessage, cancellationToken);
    }

    /// <summary>Where to download a version's files from (<c>GET model-versions/get-download-uri</c>).</summary>
    /// <param name="name">The registered model.</param>
    /// <param name="version">The version.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public virtual async Task<string> GetModelVersionDownloadUriAsync(string name, string version, CancellationToken cancellationToken = default)
    {
        CheckModelName(name);
        CheckVersion(version);
        var response = await GetAsync("model-versions/get-download-uri", new QueryString().Add("name", name).Add("version", version),
            MlflowJsonContext.Default.DownloadUriResponse, cancellationToken).ConfigureAwait(false);
        return response.ArtifactUri ?? throw MissingField("model-versions/get-download-uri", "artifact_uri");
    }

    private static void CheckModelName(string? name, string field = "name")
    {
        if (string.IsNullOrEmpty(name))
        {
            throw new MlflowValidationException(field, "Registered model name must not be empty.");
        }
    }

    private static void CheckVersion(string? version)
    {
        if (string.IsNullOrEmpty(version) || !long.TryParse(version, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _))
        {
            throw new MlflowValidationException("version", $"Model version must be an integer, got '{version}'.");
        }
    }

    private static string CheckStage(string stage)
    {
        foreach (var allowed in AllowedStages)
        {
            if (string.Equals(allowed, stage, StringComparison.OrdinalIgnoreCase))
            {
                return allowed;
            }
        }

        throw new MlflowValidationException("stage", $"Invalid model version stage '{stage}'. Value must be one of {string.Join(", ", AllowedStages)}.");
    }
}
