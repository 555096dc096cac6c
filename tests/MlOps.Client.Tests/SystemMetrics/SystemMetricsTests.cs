using Microsoft.Extensions.Time.Testing;
using MlOps.Client.Stores;
using MlOps.Client.SystemMetrics;
using MlOps.Client.Tests.Fixtures;
using MlOps.Client.Tracking;
using MlOps.Client.Testing;

namespace MlOps.Client.Tests.SystemMetrics;

/// <summary>System metrics as Python MLflow's SystemMetricsMonitor logs them.</summary>
public sealed class SystemMetricsTests
{
    /// <summary>A source that returns scripted values: CPU-like (averaged) and network-like (last value).</summary>
    private sealed class ScriptedSource(params double[] values) : ISystemMetricsSource
    {
        private int _next;

        public int Calls => _next;

        public IEnumerable<SystemSample> Collect()
        {
            var v = values[Math.Min(_next++, values.Length - 1)];
            return [new("cpu_utilization_percentage", v), new("network_receive_megabytes", v * 2, SampleAggregation.Last)];
        }
    }

    [Fact]
    public async Task Samples_are_averaged_per_window_and_logged_as_system_metrics_at_steps_0_1_2_until_the_run_ends()
    {
        var store = new FakeTrackingStore();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var options = new TrackerOptions { HandleProcessExit = false, SetSystemTags = false, TimeProvider = time, ExperimentId = "0" };
        options.SystemMetrics.SamplesBeforeLogging = 2;
        options.SystemMetrics.NodeId = "node_0";
        var source = new ScriptedSource(10, 21, 30, 40, 50, 60, 70);
        await using var tracker = new Tracker(store, options) { SystemMetricsSources = () => [source] };
        var run = await tracker.StartRunAsync("train", new StartRunOptions { LogSystemMetrics = true });
        await Eventually.OnFakeClockAsync(time, () => source.Calls >= 5, "five samples", step: TimeSpan.FromSeconds(1), steps: 2000);
        var monitor = run.SystemMetricsMonitor!;
        Assert.True(monitor.IsSampling);
        await run.FlushAsync();
        await run.EndAsync();
        Assert.False(monitor.IsSampling); // the run's end awaited the sampling task: it has returned, nothing can sample after this
        Assert.Null(run.SystemMetricsMonitor);
        var calls = source.Calls;
        time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(calls, source.Calls); // stopped with the run

        var metrics = store.Metrics(run.RunId);
        var cpu = metrics.Where(m => m.Key == "system/node_0/cpu_utilization_percentage").OrderBy(m => m.Step).ToList();
        Assert.Equal([(0L, 15.5), (1L, 35.0)], cpu.Take(2).Select(m => (m.Step, m.Value))); // round(mean, 1), as Python
        var network = metrics.Where(m => m.Key == "system/node_0/network_receive_megabytes").OrderBy(m => m.Step).ToList();
        Assert.Equal([42.0, 80.0], network.Take(2).Select(m => m.Value)); // the window's last value
        Assert.True(cpu.Count <= calls / 2, "a partial window is not logged");
    }

    [Fact]
    public async Task Off_by_default_on_per_run_or_for_every_run_by_MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING()
    {
        var store = new FakeTrackingStore();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var source = new ScriptedSource(1);
        await using (var tracker = new Tracker(store, new TrackerOptions { HandleProcessExit = false, TimeProvider = time, ExperimentId = "0" }) { SystemMetricsSources = () => [source] })
        {
            using var run = await tracker.StartRunAsync("plain");
            Assert.Null(run.SystemMetricsMonitor); // no sampler was made: nothing to wait for
            time.Advance(TimeSpan.FromMinutes(1));
        }

        Assert.Equal(0, source.Calls);

        var env = new Dictionary<string, string?>
        {
            ["MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING"] = "true",
            ["MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL"] = "0.5",
            ["MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING"] = "3",
            ["MLFLOW_SYSTEM_METRICS_NODE_ID"] = "gpu-box",
        };
        var fromEnv = SystemMetricsOptions.FromEnvironment(k => env.GetValueOrDefault(k));
        Assert.Equal((true, TimeSpan.FromSeconds(0.5), 3, "gpu-box"), (fromEnv.Enabled, fromEnv.SamplingInterval, fromEnv.SamplesBeforeLogging, fromEnv.NodeId));
        var defaults = SystemMetricsOptions.FromEnvironment(_ => null);
        Assert.Equal((false, TimeSpan.FromSeconds(10), 1, (string?)null), (defaults.Enabled, defaults.SamplingInterval, defaults.SamplesBeforeLogging, defaults.NodeId));
        var bad = Assert.Throws<MlflowValidationException>(() => SystemMetricsOptions.FromEnvironment(k => k == "MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING" ? "0" : null));
        Assert.Contains("MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING", bad.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void This_machines_sources_give_Pythons_names_in_their_units()
    {
        var sources = SystemMetricsSources.ForThisMachine(includeDotNet: true);
        Thread.Sleep(50); // a CPU percentage needs two readings some time apart
        var samples = sources.SelectMany(s => s.Collect()).ToDictionary(s => s.Name, s => s.Value);
        foreach (var name in new[] { "disk_usage_percentage", "disk_usage_megabytes", "disk_available_megabytes", "network_receive_megabytes", "network_transmit_megabytes",
                     "dotnet_gc_heap_megabytes", "dotnet_gc_pause_time_percentage", "dotnet_threadpool_queue_length", "dotnet_process_memory_megabytes", "dotnet_process_cpu_percentage" })
        {
            Assert.True(samples.ContainsKey(name), name);
        }

        if (OperatingSystem.IsLinux())
        {
            Assert.InRange(samples["cpu_utilization_percentage"], 0, 100);
            Assert.InRange(samples["system_memory_usage_percentage"], 0.1, 100);
            Assert.True(samples["system_memory_usage_megabytes"] > 1, "memory in use, in MB");
        }

        Assert.InRange(samples["disk_usage_percentage"], 0, 100);
        Assert.True(samples["dotnet_process_memory_megabytes"] > 1);
        Assert.DoesNotContain(samples.Keys, k => k.StartsWith("gpu_", StringComparison.Ordinal) && !File.Exists("/usr/bin/nvidia-smi")); // no GPU here: none logged
    }

    [Fact]
    public async Task A_real_run_on_the_embedded_store_logs_this_machines_CPU_and_memory()
    {
        var dir = Directory.CreateTempSubdirectory("mlops-sysmetrics-");
        try
        {
            await using var store = SqliteTrackingStore.Open("sqlite:///" + Path.Combine(dir.FullName, "mlflow.db"));
            var options = new TrackerOptions { HandleProcessExit = false, SetSystemTags = false, ExperimentId = "0" };
            options.SystemMetrics.SamplingInterval = TimeSpan.FromMilliseconds(100);
            await using var tracker = new Tracker(store, options);
            string runId;
            using (var run = await tracker.StartRunAsync("busy", new StartRunOptions { LogSystemMetrics = true }))
            {
                runId = run.RunId;
                var until = DateTime.UtcNow.AddSeconds(20); // the cap: fails below if nothing was logged by then
                while (DateTime.UtcNow < until)
                {
                    await run.FlushAsync();
                    var logged = (await store.GetRunAsync(runId, default)).Data.Metrics;
                    if (logged.Any(m => m.Key == "system/system_memory_usage_megabytes") && logged.Any(m => m.Key == "system/cpu_utilization_percentage" && m.Step >= 2))
                    {
                        break;
                    }

                    _ = Enumerable.Range(0, 200_000).Select(i => (long)i * 2).Sum(); // some CPU work between checks
                    await Task.Delay(50);
                }
            }

            var metrics = (await store.GetRunAsync(runId, default)).Data.Metrics.ToDictionary(m => m.Key, m => m.Value);
            Assert.True(metrics.GetValueOrDefault("system/system_memory_usage_megabytes") > 0, string.Join(", ", metrics.Keys));
            if (OperatingSystem.IsLinux())
            {
                Assert.True(metrics.ContainsKey("system/cpu_utilization_percentage"));
                var history = await store.GetMetricHistoryAsync(runId, "system/cpu_utilization_percentage", default);
                Assert.Contains(history, m => m.Value > 0); // something ran on this machine meanwhile
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            dir.Delete(recursive: true);
        }
    }
}
