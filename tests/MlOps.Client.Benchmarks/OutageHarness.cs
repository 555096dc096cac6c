using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using MlOps.Client.Tracking;

namespace MlOps.Client.Benchmarks;

/// <summary>
/// Peak memory while the server is down: N metrics logged from one thread to a tracking URI nobody listens on, with
/// the spool enabled; prints the peak working set, the managed heap, the spool size and the logging rate.
/// </summary>
internal static class OutageHarness
{
    public static async Task<int> RunAsync(string[] args)
    {
        var count = args.Length > 1 ? long.Parse(args[1], CultureInfo.InvariantCulture) : 10_000_000;
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var spool = Directory.CreateTempSubdirectory("mlops-outage-");
        try
        {
            using var client = new MlflowClient(new MlflowClientOptions
            {
                TrackingUri = $"http://127.0.0.1:{port}",
                RequestTimeout = TimeSpan.FromSeconds(1),
                Retry = { MaxRetries = 1, BackoffFactor = 0.01, BackoffJitter = 0 },
            });
            var options = new TrackerOptions { HandleProcessExit = false, SetSystemTags = false, ExperimentId = "0" };
            options.Uploader.Spool.Enabled = true;
            options.Uploader.Spool.Directory = spool.FullName;
            options.Uploader.Spool.MaxBytes = 8L << 30;
            var store = new NullStoreWithOutage(new Stores.RestTrackingStore(client));
            await using var tracker = new Tracker(store, options);
            var run = await tracker.StartRunAsync("outage");
            var watch = Stopwatch.StartNew();
            long peakManaged = 0;
            for (long i = 0; i < count; i++)
            {
                run.LogMetric("loss", i * 1e-7, i);
                if (i % 1_000_000 == 0)
                {
                    peakManaged = Math.Max(peakManaged, GC.GetTotalMemory(false));
                }
            }

            var logged = watch.Elapsed;
            await tracker.FlushAsync(TimeSpan.FromMinutes(10));
            var flushed = watch.Elapsed;
            using var self = Process.GetCurrentProcess();
            self.Refresh();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{count:N0} metrics while the server is down: logged in {logged.TotalSeconds:F1} s ({count / logged.TotalSeconds:N0}/s), all spooled after {flushed.TotalSeconds:F1} s; " +
                $"spooled {tracker.Counters.Spooled:N0}, spool {tracker.Counters.SpoolBytes / (1 << 20):N0} MiB on disk; peak working set {self.PeakWorkingSet64 / (1 << 20):N0} MiB, peak managed heap {peakManaged / (1 << 20):N0} MiB"));
            return 0;
        }
        finally
        {
            spool.Delete(recursive: true);
        }
    }

    /// <summary>The REST store, except that looking up the experiment and creating the run succeed locally (the server is down from the start).</summary>
    private sealed class NullStoreWithOutage(Stores.RestTrackingStore inner) : MlOps.Client.Testing.DelegatingTrackingStore(inner)
    {
        public override Task<Experiment> GetExperimentAsync(string experimentId, CancellationToken cancellationToken) =>
            Task.FromResult(new Experiment { ExperimentId = experimentId, Name = "Default", ArtifactLocation = "mlflow-artifacts:/0" });

        public override Task<Run> CreateRunAsync(string experimentId, CreateRunOptions options, CancellationToken cancellationToken) =>
            Task.FromResult(new Run { Info = new RunInfo { RunId = Guid.NewGuid().ToString("N"), ExperimentId = experimentId, Status = RunStatus.Running } });
    }
}
