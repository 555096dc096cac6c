using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using MlOps.Client.Models;
using MlOps.Client.Stores;
using MlOps.Client.Tests.Fixtures;
using MlOps.Client.Tracking;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;

namespace MlOps.Client.Tests.Models;

/// <summary>A logged model pins the MLflow that serves it, as Python pins the MLflow it runs (not always 2.22.0).</summary>
public sealed class MlflowPinTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-pin-");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    [Theory]
    [InlineData("3.6.0", "3.6.0")]
    [InlineData("3.6.1.dev0", "3.6.0")]     // Python's rule for a development build: the release before it
    [InlineData("2.22.1.dev0", "2.22.0")]
    [InlineData("3.5.0rc1", "3.5.0rc1")]
    [InlineData("3.7.0.dev0", "2.22.0")]     // the release before x.y.0 is not known: the default
    [InlineData("<html>", "2.22.0")]
    [InlineData(null, "2.22.0")]
    public void The_pin_follows_Python_s_rule(string? server, string pinned) =>
        Assert.Equal(pinned, MlflowModel.PinnedMlflowVersion(server));

    [Fact]
    public async Task The_server_s_version_is_asked_once_in_one_attempt()
    {
        using var server = WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"], StartAdminInterface = false });
        server.Given(Request.Create().WithPath("/version").UsingGet()).RespondWith(Response.Create().WithBody("3.6.1.dev0"));
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = server.Url! });
        Assert.Equal("3.6.1.dev0", await client.GetServerVersionAsync(default));
        Assert.Equal("3.6.1.dev0", await client.GetServerVersionAsync(default));
        Assert.Single(server.LogEntries);

        using var silent = WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"], StartAdminInterface = false });
        silent.Given(Request.Create().WithPath("/version")).RespondWith(Response.Create().WithStatusCode(500));
        using var other = new MlflowClient(new MlflowClientOptions { TrackingUri = silent.Url! });
        Assert.Null(await other.GetServerVersionAsync(default)); // no route, or an error: unknown, never a retry loop
        Assert.Single(silent.LogEntries);
    }

    [Theory]
    [InlineData(false, "2.22.0")]
    [InlineData(true, "3.6.0")]
    public async Task A_model_logged_to_an_embedded_file_pins_the_MLflow_of_its_schema(bool v3, string expected)
    {
        var path = Path.Combine(_dir.FullName, v3 ? "v3.db" : "v2.db");
        await using var store = SqliteTrackingStore.Open(v3 ? RecordedExchange.CreateV3Database(path) : "sqlite:///" + path);
        await using var tracker = new Tracker(store, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false, ExperimentId = "0" });
        LoggedModelInfo info;
        using (var run = tracker.StartRun("pinned"))
        {
            info = await run.LogModelAsync("w", new LogModelOptions(), new PinnedTextFlavor());
        }

        var (requirements, conda, version) = await ModelLogging.WithLocalCopyAsync(store, info.ModelUri, async local =>
            (await File.ReadAllTextAsync(Path.Combine(local, "requirements.txt")), await File.ReadAllTextAsync(Path.Combine(local, "conda.yaml")), MlflowModel.Load(local).MlflowVersion), default);
        Assert.Equal($"mlflow=={expected}\nnumpy\n", requirements);
        Assert.Contains($"  - mlflow=={expected}\n", conda, StringComparison.Ordinal);
        Assert.Equal(expected, version);
        Assert.Equal(expected, info.Description.MlflowVersion);
    }

    /// <summary>A flavor that writes environment files pinned at the default, as the XGBoost flavor does.</summary>
    private sealed class PinnedTextFlavor : IModelFlavor<string>
    {
        public string Name => "text";

        public async Task<FlavorConfiguration> SaveAsync(string model, string directory, CancellationToken cancellationToken)
        {
            await File.WriteAllTextAsync(Path.Combine(directory, "model.txt"), model, cancellationToken);
            await File.WriteAllTextAsync(Path.Combine(directory, "requirements.txt"), "mlflow==2.22.0\nnumpy\n", cancellationToken);
            await File.WriteAllTextAsync(Path.Combine(directory, "conda.yaml"), "dependencies:\n- pip:\n  - mlflow==2.22.0\n  - numpy\n", cancellationToken);
            return new FlavorConfiguration(new JsonObject { ["data"] = "model.txt" });
        }

        public Task<string> LoadAsync(string directory, MlflowModel description, CancellationToken cancellationToken) =>
            File.ReadAllTextAsync(Path.Combine(directory, "model.txt"), cancellationToken);
    }
}
