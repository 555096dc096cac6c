using MlOps.Client.Tests.Fixtures;

namespace MlOps.Client.Tests.Rest;

/// <summary>MLflow 3 logged models from C#: get, search, tags, delete — requests and answers as recorded from a 3.6 server.</summary>
public sealed class LoggedModelEndpointTests
{
    private const string ModelId = "m-4354cf06f15548849112e7b7a3ab9856";

    [Fact]
    public async Task Get_returns_the_model_with_its_tags_params_and_status()
    {
        using var server = new RecordedServer();
        var recorded = server.ServeV3("024-logged-models-get");
        using var client = server.CreateClient();
        var model = await client.GetLoggedModelAsync(ModelId);
        RequestAssert.MatchesRecorded(recorded, server.SingleRequest());
        Assert.Equal(("tour-model", "1", "Classifier", "LOGGED_MODEL_PENDING"), (model.Name, model.ExperimentId, model.ModelType, model.Status));
        Assert.Equal("ml", model.GetTag("team"));
        Assert.Equal("0.5", Assert.Single(model.Params, p => p.Key == "alpha").Value);
        Assert.Equal("6ab5fbd713ca47c6ab17a7ad7f8c5ce3", model.SourceRunId);
        Assert.Empty(model.Metrics);

        server.ServeV3("025-logged-models-get-missing");
        var error = await Assert.ThrowsAsync<MlflowException>(() => client.GetLoggedModelAsync("m-00000000000000000000000000000000"));
        Assert.Equal(MlflowErrorCodes.ResourceDoesNotExist, error.ErrorCode);
    }

    [Fact]
    public async Task Search_sends_Pythons_request_follows_pages_and_filters_by_dataset()
    {
        using var server = new RecordedServer();
        var all = server.ServeV3("070-logged-models-search");
        using var client = server.CreateClient();
        var models = new List<LoggedModel>();
        await foreach (var m in client.SearchLoggedModelsAsync(new SearchLoggedModelsOptions { ExperimentIds = { "1" }, PageSize = 1000 }))
        {
            models.Add(m);
        }

        Assert.NotEmpty(models);
        Assert.All(models, m => Assert.StartsWith("m-", m.ModelId, StringComparison.Ordinal));
        RequestAssert.MatchesRecorded(all, server.Requests[0], allowExtraFields: ["max_results"]);

        using var pageServer = new RecordedServer();
        var page = pageServer.ServeV3("073-logged-models-search-page");
        using var pageClient = pageServer.CreateClient();
        var first = await pageClient.SearchLoggedModelsPageAsync(new SearchLoggedModelsOptions { ExperimentIds = { "1" }, PageSize = 1 });
        RequestAssert.MatchesRecorded(page, pageServer.SingleRequest());
        Assert.Single(first.Values);
        Assert.NotNull(first.NextPageToken);

        using var dsServer = new RecordedServer();
        var byDataset = dsServer.ServeV3("072-logged-models-search-datasets");
        using var dsClient = dsServer.CreateClient();
        var query = new SearchLoggedModelsOptions { ExperimentIds = { "1" }, Filter = "metrics.accuracy > 0.5", Datasets = { ("eval-ds", "abc123") } };
        var found = await dsClient.SearchLoggedModelsPageAsync(query);
        RequestAssert.MatchesRecorded(byDataset, dsServer.SingleRequest(), allowExtraFields: ["max_results"]);
        Assert.Single(found.Values);
        await Assert.ThrowsAsync<MlflowValidationException>(() => dsClient.SearchLoggedModelsPageAsync(new SearchLoggedModelsOptions()));
    }

    [Fact]
    public async Task Tags_are_set_and_deleted_and_the_model_deleted_as_Python_does()
    {
        using var server = new RecordedServer();
        var setTags = server.ServeV3("028-logged-models-set-tags");
        var deleteTag = server.ServeV3("029-logged-models-delete-tag");
        var delete = server.ServeV3("080-logged-models-delete");
        using var client = server.CreateClient();
        await client.SetLoggedModelTagsAsync(ModelId, new Dictionary<string, string> { ["stage"] = "candidate", ["team"] = "ml2" });
        await client.DeleteLoggedModelTagAsync(ModelId, "stage");
        await client.DeleteLoggedModelAsync(ModelId);
        // The tour's request also repeated model_id in the body; Python's client sends only the tags (the id is in the
        // path: python-client/register-and-load.jsonl, exchange 5), and so do we.
        var expected = setTags.RequestJson!.DeepClone().AsObject();
        expected.Remove("model_id");
        Assert.Equal(setTags.Path, server.Requests[0].Path);
        Assert.True(System.Text.Json.Nodes.JsonNode.DeepEquals(expected, RecordedServer.BodyOf(server.Requests[0])));
        RequestAssert.MatchesRecorded(deleteTag, server.Requests[1]);
        RequestAssert.MatchesRecorded(delete, server.Requests[2]);
    }
}
