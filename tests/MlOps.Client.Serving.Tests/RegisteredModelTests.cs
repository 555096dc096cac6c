using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MlOps.Client.Registry;
using MlOps.Client.Stores;
using MlOps.Client.Tracking;
using MlOps.Client.XGBoost;
using MlOps.Client.XGBoost.Tests;
using XGBoostIris;

namespace MlOps.Client.Serving.Tests;

/// <summary>A model logged by a run, registered and aliased in the embedded store, served by its <c>models:/name@alias</c> URI.</summary>
public sealed class RegisteredModelTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-serving-registry-");

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    /// <summary>A run on <paramref name="store"/> that logs the iris booster (returned, for the caller's predictions) as <c>model</c>.</summary>
    private static async Task<(string RunId, Booster Booster)> LogIrisAsync(SqliteTrackingStore store)
    {
        var (xTrain, yTrain, _, _) = Iris.LoadSplit();
        await using var tracker = new Tracker(store, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false });
        using var run = tracker.StartRun("serve-me");
        using var dtrain = new DMatrix(xTrain, yTrain);
        var booster = XGBoost.XGBoost.Train(new Dictionary<string, object?> { ["objective"] = "multi:softprob", ["num_class"] = 3, ["seed"] = 42 }, dtrain);
        await run.LogModelAsync(booster);
        return (run.RunId, booster);
    }

    [XGBoostFact]
    public async Task A_registered_alias_and_a_runs_URI_resolve_download_and_serve_the_logged_model()
    {
        var (_, _, xTest, _) = Iris.LoadSplit();
        await using var store = SqliteTrackingStore.Open("sqlite:///" + Path.Combine(_dir.FullName, "mlflow.db"));
        var (runId, booster) = await LogIrisAsync(store);
        using var trained = booster;
        var expected = booster.InplacePredict([.. xTest[0], .. xTest[1]], 2, 4).Values;

        var registry = new ModelRegistry(store);
        var version = await registry.RegisterModelAsync($"runs:/{runId}/model", "iris");
        await registry.SetRegisteredModelAliasAsync("iris", "champion", version.Version);

        foreach (var uri in new[] { "models:/iris@champion", $"runs:/{runId}/model" })
        {
            using var model = await ServedModel.LoadAsync(store, uri);
            Assert.Equal("xgboost", model.Flavor);
            Assert.Equal(uri, model.ModelUri);
            var frame = Input.ScoringRequest.Parse("application/json", System.Text.Encoding.UTF8.GetBytes(
                new JsonObject { ["inputs"] = new JsonArray(new JsonArray([.. xTest[0].Select(v => (JsonNode)v)]), new JsonArray([.. xTest[1].Select(v => (JsonNode)v)])) }.ToJsonString()), out _);
            var predictions = model.Predict(frame!, out var error);
            Assert.Null(error);
            Assert.Equal(expected, predictions!.Columns[0].Numbers);
        }

        // The download went to a temporary folder that is gone once the model is loaded.
        // (Other test projects create and delete such folders meanwhile: one that vanishes while read is not ours.)
        static bool HoldsRun(string folder, string runId)
        {
            try
            {
                return Directory.GetFiles(folder, "MLmodel", SearchOption.AllDirectories).Any(f => File.ReadAllText(f).Contains(runId, StringComparison.Ordinal));
            }
            catch (IOException)
            {
                return false;
            }
        }

        Assert.DoesNotContain(Directory.GetDirectories(Path.GetTempPath(), "mlops-load-*"), d => HoldsRun(d, runId));
    }

    [XGBoostFact]
    public async Task MapMlflowModelAsync_loads_by_URI_through_the_apps_tracking_options_and_serves()
    {
        var (_, _, xTest, _) = Iris.LoadSplit();
        var uri = "sqlite:///" + Path.Combine(_dir.FullName, "app.db");
        string runId;
        float[] expected;
        await using (var store = SqliteTrackingStore.Open(uri))
        {
            var (id, booster) = await LogIrisAsync(store);
            using (booster)
            {
                runId = id;
                expected = booster.InplacePredict(xTest[0], 1, 4).Values;
            }
        }

        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
        Microsoft.AspNetCore.Hosting.HostingAbstractionsWebHostBuilderExtensions.UseUrls(builder.WebHost, "http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddMlflowClient(o => o.TrackingUri = uri);
        await using var app = builder.Build();
        var model = await app.MapMlflowModelAsync($"runs:/{runId}/model", prefix: "/iris");
        Assert.Equal("xgboost", model.Flavor);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        using var response = await http.PostAsync("/iris/invocations", new StringContent(
            new JsonObject { ["instances"] = new JsonArray(new JsonArray([.. xTest[0].Select(v => (JsonNode)v)])) }.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(expected, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["predictions"]![0]!.AsArray().Select(v => v!.GetValue<float>()));

        // A model this server cannot serve fails at start, naming its flavors.
        var other = Directory.CreateDirectory(Path.Combine(_dir.FullName, "sk")).FullName;
        var description = Models.MlflowModel.Create("model", "run");
        description.Flavors["sklearn"] = new JsonObject { ["pickled_model"] = "model.pkl" };
        description.Save(other);
        var refused = await Assert.ThrowsAsync<NotSupportedException>(() => app.MapMlflowModelAsync(other, prefix: "/sk"));
        Assert.Contains("sklearn", refused.Message, StringComparison.Ordinal);
        await app.StopAsync();
    }
}
