using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MlOps.Client.Tests.Fixtures;
using MlOps.Client.Tracking;
using NSubstitute;

namespace MlOps.Client.Tests.Tracking;

public class TrackingServiceCollectionTests
{
    [Fact]
    public async Task AddMlflowTracking_resolves_a_tracker_for_the_configured_server_and_ends_runs_when_the_host_stops()
    {
        using var server = new RecordedServer();
        server.Serve("040-runs-create");
        server.ServeStatus("POST", "/api/2.0/mlflow/runs/log-batch", 200, "{}");
        server.Serve("114-runs-update-finished");

        using var stopping = new CancellationTokenSource();
        var lifetime = Substitute.For<IHostApplicationLifetime>();
        lifetime.ApplicationStopping.Returns(stopping.Token);

        var services = new ServiceCollection();
        services.AddSingleton(lifetime);
        services.AddMlflowTracking(
            t => { t.HandleProcessExit = false; t.SetSystemTags = false; t.ExperimentId = null; },
            c => { c.TrackingUri = server.Url; c.Retry.MaxRetries = 0; });
        await using var provider = services.BuildServiceProvider();
        var hosted = provider.GetServices<IHostedService>().ToList();
        foreach (var h in hosted)
        {
            await h.StartAsync(CancellationToken.None);
        }

        var tracker = provider.GetRequiredService<Tracker>();
        Assert.Same(tracker, provider.GetRequiredService<Tracker>());
        Assert.IsType<MlOps.Client.Stores.RestTrackingStore>(tracker.Store);
        var run = tracker.StartRun("hosted", new StartRunOptions { Nested = false });
        run.LogMetric("m", 1, 1);

        await stopping.CancelAsync(); // the host is stopping: ending the runs starts, without blocking the host's callback
        foreach (var h in hosted)
        {
            await h.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60)); // then the host stops its services, awaiting it
        }

        Assert.True(run.IsEnded);
        var paths = server.Requests.Select(r => r.Path).ToList();
        Assert.Contains("/api/2.0/mlflow/runs/log-batch", paths);
        var update = server.Requests.Last(r => r.Path.EndsWith("/runs/update", StringComparison.Ordinal));
        Assert.Equal("FINISHED", RecordedServer.BodyOf(update)!["status"]!.GetValue<string>());
        Assert.True(paths.LastIndexOf("/api/2.0/mlflow/runs/log-batch") < paths.LastIndexOf("/api/2.0/mlflow/runs/update"));
    }

    [Fact]
    public void Unsupported_tracking_uris_name_the_supported_schemes()
    {
        foreach (var uri in new[] { "file:///srv/mlruns", "postgresql://db/mlflow", "./mlruns" })
        {
            var ex = Assert.Throws<NotSupportedException>(() => MlOps.Client.Stores.TrackingStores.Open(new MlflowClientOptions { TrackingUri = uri }));
            Assert.Contains("http://", ex.Message, StringComparison.Ordinal);
            Assert.Contains("sqlite:///", ex.Message, StringComparison.Ordinal);
        }
    }
}
