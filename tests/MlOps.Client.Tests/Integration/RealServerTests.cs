using System.Text.Json.Nodes;
using MlOps.Client.Artifacts;
using MlOps.Client.Models;
using MlOps.Client.Registry;
using MlOps.Client.Stores;
using MlOps.Client.Tests.Fixtures;
using MlOps.Client.Tracking;

namespace MlOps.Client.Tests.Integration;

/// <summary>A test that runs only when <c>MLFLOW_INTEGRATION_URI</c> names a real MLflow server (opt-in; CI has none).</summary>
public sealed class IntegrationFactAttribute : FactAttribute
{
    public IntegrationFactAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("MLFLOW_INTEGRATION_URI")))
        {
            Skip = "Set MLFLOW_INTEGRATION_URI to a real MLflow server (docs/reliability.md says how to start one) to run it.";
        }
    }
}

/// <summary>What only a real server can answer: are our requests accepted, and is what we send stored as sent?</summary>
public sealed class RealServerTests
{
    private static MlflowClient Client() => new(new MlflowClientOptions { TrackingUri = Environment.GetEnvironmentVariable("MLFLOW_INTEGRATION_URI") });

    /// <summary>
    /// A file above the multipart threshold through the server's proxy: with an object-store destination
    /// (<c>--artifacts-destination s3://…</c>) it goes up as presigned parts and completes; with a local destination
    /// the server answers 501 and it goes up as one PUT; on a server that does not proxy, straight to the store (with the
    /// cloud package, which this project has through the mlops tool). Each way it comes back byte for byte.
    /// </summary>
    [IntegrationFact]
    public async Task A_large_artifact_goes_up_through_the_proxy_in_parts_when_the_destination_takes_them_and_comes_back_whole()
    {
        var transport = new CountingHandler { InnerHandler = new SocketsHttpHandler() };
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = Environment.GetEnvironmentVariable("MLFLOW_INTEGRATION_URI"), Transport = transport });
        var experiment = await client.CreateExperimentAsync("mlops-it-mpu-" + Guid.NewGuid().ToString("N")[..8]);
        var run = await client.CreateRunAsync(experiment);
        var file = Path.Combine(Path.GetTempPath(), "mlops-mpu-" + Guid.NewGuid().ToString("N") + ".bin");
        try
        {
            var bytes = new byte[(24 << 20) + 123];
            new Random(3).NextBytes(bytes);
            await File.WriteAllBytesAsync(file, bytes);
            var repository = ArtifactRepositories.ForUri(run.Info.ArtifactUri!, client, new ArtifactOptions { MultipartThreshold = 16 << 20 });

            await repository.UploadFileAsync(file, "big/big.bin");

            var copy = new MemoryStream();
            await repository.DownloadFileAsync("big/big.bin", copy);
            Assert.Equal(System.Security.Cryptography.SHA256.HashData(bytes), System.Security.Cryptography.SHA256.HashData(copy.ToArray()));
            if (!run.Info.ArtifactUri!.StartsWith("mlflow-artifacts:", StringComparison.Ordinal))
            {
                // A server that does not proxy (--no-serve-artifacts): the file went straight to its store, never through mpu/.
                Assert.Equal(0, transport.Count("/mpu/"));
                return;
            }

            Assert.Equal(1, transport.Count("/mpu/create/"));
            var parts = transport.Count("partNumber=");
            Assert.True(parts is 0 or 3, $"{parts} parts"); // 3 parts of 10 MiB to an object store; none (501) to a local folder
            Assert.Equal(parts == 3 ? 1 : 0, transport.Count("/mpu/complete/"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    private sealed class CountingHandler : DelegatingHandler
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _uris = new();

        public int Count(string fragment) => _uris.Count(u => u.Contains(fragment, StringComparison.Ordinal));

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            _uris.Enqueue(request.RequestUri!.ToString());
            return base.SendAsync(request, cancellationToken);
        }
    }

    [IntegrationFact]
    public async Task A_tracked_run_with_params_metrics_inputs_artifacts_and_a_model_lands_as_logged()
    {
        using var client = Client();
        var name = "mlops-it-" + Guid.NewGuid().ToString("N")[..8];
        await using var tracker = new Tracker(client, new TrackerOptions { ExperimentName = name, HandleProcessExit = false });
        string runId;
        using (var run = tracker.StartRun("it", description: "integration"))
        {
            runId = run.RunId;
            run.LogParams(new Dictionary<string, object?> { ["lr"] = 0.1, ["depth"] = 6 });
            for (var i = 0; i < 2500; i++)
            {
                run.LogMetric("loss", 1.0 / (i + 1), i);
            }

            run.LogMetric("weird", double.NaN, 0);
            run.SetTag("team", "ml");
            run.LogInput(new Dataset { Name = "iris", Digest = "abc", SourceType = "local", Source = "{\"uri\": \"iris.csv\"}" }, "train");
            _ = run.LogTextAsync("hello", "notes/hello.txt");
            using (var child = tracker.StartRun("child"))
            {
                child.LogMetric("acc", 0.9);
            }
        }

        var got = await client.GetRunAsync(runId);
        Assert.Equal(RunStatus.Finished, got.Info.Status);
        Assert.Equal("0.1", got.Data.GetParam("lr"));
        Assert.Equal("integration", got.Data.GetTag(MlflowTags.NoteContent));
        var history = new List<Metric>();
        foreach (var m in await client.GetMetricHistoryAsync(runId, "loss"))
        {
            history.Add(m);
        }

        Assert.Equal(2500, history.Count);
        Assert.True(double.IsNaN(got.Data.Metrics.Single(m => m.Key == "weird").Value));
        Assert.Equal("iris", Assert.Single(got.Inputs.DatasetInputs).Dataset.Name);
        var listing = await client.ListArtifactsAsync(runId, "notes");
        Assert.Equal("notes/hello.txt", Assert.Single(listing.Files).Path);
    }

    [IntegrationFact]
    public async Task Register_alias_and_resolve_by_alias()
    {
        using var client = Client();
        var name = "mlops-it-model-" + Guid.NewGuid().ToString("N")[..8];
        await using var tracker = new Tracker(client, new TrackerOptions { HandleProcessExit = false });
        string uri;
        using (var run = tracker.StartRun("model"))
        {
            var info = await run.LogModelAsync("weights", new TextFlavor());
            // MLflow 2.x has no logged-model API (detected, not an error); 3.x records a logged model "m-…".
            using var http = new HttpClient();
            var serverVersion = await http.GetStringAsync(Environment.GetEnvironmentVariable("MLFLOW_INTEGRATION_URI")!.TrimEnd('/') + "/version");
            if (serverVersion.StartsWith("2.", StringComparison.Ordinal))
            {
                Assert.Null(info.LoggedModelId);
            }
            else
            {
                Assert.StartsWith("m-", info.LoggedModelId, StringComparison.Ordinal);
            }
            uri = info.ModelUri;
        }

        var registry = new ModelRegistry(client);
        var version = await registry.RegisterModelAsync(uri, name);
        await registry.SetRegisteredModelAliasAsync(name, "champion", version.Version);
        await using var store = new RestTrackingStore(client);
        var (root, path) = await ModelLogging.ResolveAsync(store, $"models:/{name}@champion");
        var repository = ArtifactRepositories.ForUri(root, client);
        using var text = new MemoryStream();
        await repository.DownloadFileAsync(path.Length == 0 ? "model.txt" : path + "/model.txt", text); // 3.x: the logged model's root
        Assert.Equal("weights", System.Text.Encoding.UTF8.GetString(text.ToArray()));
        Assert.Equal("weights", await store.LoadModelAsync($"models:/{name}@champion", new TextFlavor()));
        await client.DeleteRegisteredModelAsync(name);
    }
}
