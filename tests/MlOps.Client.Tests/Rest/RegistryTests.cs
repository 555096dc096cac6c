using MlOps.Client.Tests.Fixtures;
using MlOps.Client.Validation;

namespace MlOps.Client.Tests.Rest;

public class RegistryTests
{
    private static async Task<(T Result, RecordedExchange Recorded, RecordedServer Server)> Call<T>(string exchange, Func<MlflowClient, Task<T>> call)
    {
        var server = new RecordedServer();
        var recorded = server.Serve(exchange);
        using var client = server.CreateClient();
        var result = await call(client);
        RequestAssert.MatchesRecorded(recorded, server.SingleRequest());
        return (result, recorded, server);
    }

    private static Task Call(string exchange, Func<MlflowClient, Task> call) =>
        Call<bool>(exchange, async c => { await call(c); return true; }).ContinueWith(t => { t.Result.Server.Dispose(); }, TaskScheduler.Default);

    [Fact]
    public async Task Registered_model_lifecycle_matches_the_recorded_exchanges()
    {
        var (created, _, s1) = await Call("300-registered-models-create", c => c.CreateRegisteredModelAsync("tour-model", "tour model", new Dictionary<string, string> { ["task"] = "classification" }));
        s1.Dispose();
        Assert.Equal("tour-model", created.Name);

        var (got, _, s2) = await Call("303-registered-models-get", c => c.GetRegisteredModelAsync("tour-model"));
        s2.Dispose();
        Assert.Equal("tour-model", got.Name);

        var (updated, _, s3) = await Call("307-registered-models-update", c => c.UpdateRegisteredModelAsync("tour-model", "updated"));
        s3.Dispose();
        Assert.Equal("updated", updated.Description);

        await Call("308-registered-models-set-tag", c => c.SetRegisteredModelTagAsync("tour-model", "owner", "tour"));
        await Call("309-registered-models-delete-tag", c => c.DeleteRegisteredModelTagAsync("tour-model", "task"));
        var (renamed, _, s4) = await Call("333-registered-models-rename", c => c.RenameRegisteredModelAsync("tour-model", "tour-model-renamed"));
        s4.Dispose();
        Assert.Equal("tour-model-renamed", renamed.Name);
        await Call("336-registered-models-delete", c => c.DeleteRegisteredModelAsync("tour-model-renamed"));
    }

    [Fact]
    public async Task Get_with_aliases_and_latest_versions()
    {
        var (model, _, s) = await Call("329-registered-models-get-with-aliases", c => c.GetRegisteredModelAsync("tour-model"));
        s.Dispose();
        Assert.Equal(new RegisteredModelAlias("champion", "2"), Assert.Single(model.Aliases));
        Assert.Equal(["Staging", "Production"], model.LatestVersions.Select(v => v.CurrentStage));
        Assert.All(model.LatestVersions, v => Assert.Equal(ModelVersionStatus.Ready, v.Status));
        Assert.Equal(new RegisteredModelTag("owner", "tour"), Assert.Single(model.Tags));

        var (latest, _, s2) = await Call("324-registered-models-get-latest-versions", c => c.GetLatestVersionsAsync("tour-model", ["Staging", "Production"]));
        s2.Dispose();
        Assert.Equal(2, latest.Count);
    }

    [Fact]
    public async Task Search_registered_models_follows_page_tokens()
    {
        using var server = new RecordedServer();
        var page1 = RecordedExchange.Load("305-registered-models-search-page1");
        var page2 = RecordedExchange.Load("306-registered-models-search-page2");
        server.Serve(page1, priority: 20);
        server.Server.Given(WireMock.RequestBuilders.Request.Create().WithPath(page2.Path).UsingGet().WithParam("page_token", page2.Query["page_token"]))
            .AtPriority(1).RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(page2.Body));
        using var client = server.CreateClient();
        var query = new SearchRegisteredModelsOptions { Filter = "name LIKE 'tour%'", PageSize = 1 };
        query.OrderBy.Add("name ASC");

        var names = new List<string>();
        await foreach (var m in client.SearchRegisteredModelsAsync(query))
        {
            names.Add(m.Name);
        }

        Assert.Equal(["tour-model", "tour-model-b"], names);
        Assert.Equal(2, server.Requests.Count);
        RequestAssert.MatchesRecorded(page1, server.Requests[0]);
        RequestAssert.MatchesRecorded(page2, server.Requests[1]);
    }

    [Fact]
    public async Task Model_version_lifecycle_matches_the_recorded_exchanges()
    {
        var (v1, _, s1) = await Call("310-model-versions-create-runs-uri", c => c.CreateModelVersionAsync("tour-model", "runs:/e0615394aa0f4901b930c39ef92bfa3b/model", "e0615394aa0f4901b930c39ef92bfa3b",
            new Dictionary<string, string> { ["data"] = "iris" }, "v1 from runs:/"));
        s1.Dispose();
        Assert.Equal(("1", ModelVersionStatus.Ready), (v1.Version, v1.Status));

        var (v2, _, s2) = await Call("311-model-versions-create-artifact-uri", c => c.CreateModelVersionAsync("tour-model", "mlflow-artifacts:/1/e0615394aa0f4901b930c39ef92bfa3b/artifacts/model", "e0615394aa0f4901b930c39ef92bfa3b"));
        s2.Dispose();
        Assert.Equal("2", v2.Version);

        var (got, _, s3) = await Call("314-model-versions-get", c => c.GetModelVersionAsync("tour-model", "1"));
        s3.Dispose();
        Assert.Equal("runs:/e0615394aa0f4901b930c39ef92bfa3b/model", got.Source);
        Assert.Equal(new ModelVersionTag("data", "iris"), Assert.Single(got.Tags));

        var (updated, _, s4) = await Call("318-model-versions-update", c => c.UpdateModelVersionAsync("tour-model", "1", "v1 updated"));
        s4.Dispose();
        Assert.Equal("v1 updated", updated.Description);
        await Call("319-model-versions-set-tag", c => c.SetModelVersionTagAsync("tour-model", "1", "validated", "true"));
        await Call("320-model-versions-delete-tag", c => c.DeleteModelVersionTagAsync("tour-model", "1", "data"));

        var (staged, _, s5) = await Call("321-model-versions-transition-staging", c => c.TransitionModelVersionStageAsync("tour-model", "1", "Staging"));
        s5.Dispose();
        Assert.Equal("Staging", staged.CurrentStage);
        var (prod, _, s6) = await Call("322-model-versions-transition-production", c => c.TransitionModelVersionStageAsync("tour-model", "2", ModelStages.Production, archiveExistingVersions: true));
        s6.Dispose();
        Assert.Equal("Production", prod.CurrentStage);

        var (uri, _, s7) = await Call("332-model-versions-get-download-uri", c => c.GetModelVersionDownloadUriAsync("tour-model", "1"));
        s7.Dispose();
        Assert.Equal("runs:/e0615394aa0f4901b930c39ef92bfa3b/model", uri);
        await Call("335-model-versions-delete", c => c.DeleteModelVersionAsync("tour-model-renamed", "1"));
    }

    [Fact]
    public async Task Search_model_versions_sends_the_filter()
    {
        var (page, _, s) = await Call("317-model-versions-search-run-id", c => c.SearchModelVersionsPageAsync(new SearchModelVersionsOptions { Filter = "run_id='e0615394aa0f4901b930c39ef92bfa3b'", MaxResults = 1 }));
        s.Dispose();
        Assert.Single(page.Values);
    }

    [Fact]
    public async Task Aliases_set_get_delete()
    {
        await Call("326-registered-models-set-alias", c => c.SetRegisteredModelAliasAsync("tour-model", "champion", "2"));
        var (version, _, s) = await Call("328-registered-models-get-by-alias", c => c.GetModelVersionByAliasAsync("tour-model", "champion"));
        s.Dispose();
        Assert.Equal("2", version.Version);
        Assert.Contains("champion", version.Aliases);
        await Call("330-registered-models-delete-alias", c => c.DeleteRegisteredModelAliasAsync("tour-model", "champion"));
    }

    [Theory]
    [InlineData("301-registered-models-create-duplicate", 400, "RESOURCE_ALREADY_EXISTS")]
    [InlineData("304-registered-models-get-missing", 404, "RESOURCE_DOES_NOT_EXIST")]
    [InlineData("312-model-versions-create-unknown-model", 404, "RESOURCE_DOES_NOT_EXIST")]
    [InlineData("315-model-versions-get-missing", 404, "RESOURCE_DOES_NOT_EXIST")]
    [InlineData("331-registered-models-get-by-deleted-alias", 400, "INVALID_PARAMETER_VALUE")]
    [InlineData("337-registered-models-get-after-delete", 404, "RESOURCE_DOES_NOT_EXIST")]
    [InlineData("313-model-versions-create-bad-source", 400, "INVALID_PARAMETER_VALUE")]
    public async Task Recorded_registry_errors_map_to_MlflowException(string exchange, int status, string code)
    {
        using var server = new RecordedServer();
        var recorded = server.Serve(exchange);
        using var client = server.CreateClient();
        Func<Task> call = exchange switch
        {
            "301-registered-models-create-duplicate" => () => client.CreateRegisteredModelAsync("tour-model"),
            "304-registered-models-get-missing" => () => client.GetRegisteredModelAsync("tour-model-nope"),
            "312-model-versions-create-unknown-model" => () => client.CreateModelVersionAsync("tour-model-nope", "runs:/e0615394aa0f4901b930c39ef92bfa3b/model"),
            "315-model-versions-get-missing" => () => client.GetModelVersionAsync("tour-model", "99"),
            "331-registered-models-get-by-deleted-alias" => () => client.GetModelVersionByAliasAsync("tour-model", "champion"),
            "337-registered-models-get-after-delete" => () => client.GetRegisteredModelAsync("tour-model-renamed"),
            _ => () => client.CreateModelVersionAsync("tour-model", "/etc/passwd"),
        };
        var ex = await Assert.ThrowsAsync<MlflowException>(call);
        Assert.Equal(status, ex.Status);
        Assert.Equal(code, ex.ErrorCode);
        Assert.Contains(recorded.ResponseJson!["message"]!.GetValue<string>(), ex.Message, StringComparison.Ordinal);
        RequestAssert.MatchesRecorded(recorded, server.SingleRequest());
    }

    [Fact]
    public async Task Bad_stage_reserved_alias_and_long_tags_are_refused_before_any_request()
    {
        using var server = new RecordedServer();
        using var client = server.CreateClient();
        var stage = await Assert.ThrowsAsync<MlflowValidationException>(() => client.TransitionModelVersionStageAsync("tour-model", "1", "Prod"));
        Assert.Contains("None, Staging, Production, Archived", stage.Message, StringComparison.Ordinal);
        var alias = await Assert.ThrowsAsync<MlflowValidationException>(() => client.SetRegisteredModelAliasAsync("tour-model", "v3", "1"));
        Assert.Contains("reserved", alias.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<MlflowValidationException>(() => client.SetRegisteredModelAliasAsync("tour-model", "latest", "1"));
        var tag = await Assert.ThrowsAsync<MlflowValidationException>(() => client.SetModelVersionTagAsync("tour-model", "1", "k", new string('x', 100_001)));
        Assert.Contains("100001", tag.Message, StringComparison.Ordinal);
        Assert.Contains("100000", tag.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<MlflowValidationException>(() => client.GetModelVersionAsync("tour-model", "one"));
        Assert.Empty(server.Requests);
    }
}
