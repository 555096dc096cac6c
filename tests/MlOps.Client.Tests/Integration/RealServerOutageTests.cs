using System.Diagnostics;
using System.Globalization;
using MlOps.Client.Stores;
using MlOps.Client.Tracking;

namespace MlOps.Client.Tests.Integration;

/// <summary>
/// Runs only when a private real MLflow server can be stopped and started by the test: <c>MLFLOW_OUTAGE_URI</c> (its
/// address), <c>MLFLOW_OUTAGE_STOP</c> and <c>MLFLOW_OUTAGE_START</c> (shell commands; see docs/reliability.md).
/// </summary>
public sealed class OutageFactAttribute : FactAttribute
{
    public OutageFactAttribute()
    {
        if (new[] { "MLFLOW_OUTAGE_URI", "MLFLOW_OUTAGE_STOP", "MLFLOW_OUTAGE_START" }.Any(v => string.IsNullOrEmpty(Environment.GetEnvironmentVariable(v))))
        {
            Skip = "Set MLFLOW_OUTAGE_URI, MLFLOW_OUTAGE_STOP and MLFLOW_OUTAGE_START to a private real MLflow server and the commands that stop and start it (docs/reliability.md).";
        }
    }
}

/// <summary>The two outage scenarios against a real MLflow server that is really stopped and started, with default settings.</summary>
[Collection(RealServerOutageTests.Collection)]
public sealed class RealServerOutageTests : IDisposable
{
    public const string Collection = "real-server-outage";
    private static readonly string Uri = Environment.GetEnvironmentVariable("MLFLOW_OUTAGE_URI") ?? "";
    private readonly DirectoryInfo _spool = Directory.CreateTempSubdirectory("mlops-outage-");
    private readonly Xunit.Abstractions.ITestOutputHelper _output;

    public RealServerOutageTests(Xunit.Abstractions.ITestOutputHelper output) => _output = output;

    public void Dispose() => _spool.Delete(recursive: true);

    [OutageFact]
    public async Task A_run_ended_while_the_server_is_stopped_ends_FINISHED_with_its_original_end_time_once_it_is_back()
    {
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = Uri });
        var options = new TrackerOptions { HandleProcessExit = false, ExperimentName = "mlops-outage-" + Guid.NewGuid().ToString("N")[..8] };
        options.Uploader.Spool.Directory = _spool.FullName;
        await using var tracker = new Tracker(new RestTrackingStore(client), options);
        var run = await tracker.StartRunAsync("end-while-stopped");
        for (var i = 0; i < 5_000; i++)
        {
            run.LogMetric("loss", 1.0 / (i + 1), i);
        }

        Assert.True(await run.FlushAsync());
        var stop = Stopwatch.StartNew();
        await ShellAsync("MLFLOW_OUTAGE_STOP");
        _output.WriteLine($"server stopped in {stop.Elapsed.TotalSeconds:0.0} s");
        for (var i = 5_000; i < 25_000; i++)
        {
            run.LogMetric("loss", 1.0 / (i + 1), i);
        }

        var endedAfter = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var end = Stopwatch.StartNew();
        await run.EndAsync().WaitAsync(TimeSpan.FromSeconds(120));
        end.Stop();
        var endedBefore = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        _output.WriteLine($"EndAsync returned in {end.Elapsed.TotalSeconds:0.00} s with the server stopped; spooled {tracker.Counters.Spooled:N0}");
        Assert.True(end.Elapsed < TimeSpan.FromSeconds(10), $"EndAsync took {end.Elapsed.TotalSeconds:0.0} s");

        var back = Stopwatch.StartNew();
        await ShellAsync("MLFLOW_OUTAGE_START");
        _output.WriteLine($"server started again in {back.Elapsed.TotalSeconds:0.0} s");
        RunInfo info;
        var replay = Stopwatch.StartNew();
        while ((info = (await client.GetRunAsync(run.RunId)).Info).Status != RunStatus.Finished && replay.Elapsed < TimeSpan.FromSeconds(180))
        {
            await Task.Delay(500);
        }

        _output.WriteLine($"FINISHED on the server {replay.Elapsed.TotalSeconds:0.0} s after it answered again; replayed {tracker.Counters.Replayed:N0}");
        Assert.Equal(RunStatus.Finished, info.Status);
        Assert.InRange(info.EndTime!.Value, endedAfter, endedBefore);
        Assert.Equal(25_000, await CountAsync(client, run.RunId, "loss"));
    }

    [OutageFact]
    public async Task A_process_killed_while_the_server_is_stopped_loses_nothing_the_next_process_replays_it()
    {
        const int count = 50_000;
        using var child = Child("spool-on-signal", count);
        var runId = await ReadAsync(child, "READY");
        await ShellAsync("MLFLOW_OUTAGE_STOP");
        await child.StandardInput.WriteLineAsync("go");
        await child.StandardInput.FlushAsync();
        var spoolMs = await ReadAsync(child, "SPOOL_MS");
        Assert.Equal(runId, await ReadAsync(child, "SPOOLED"));
        child.Kill(entireProcessTree: true); // SIGKILL
        await child.WaitForExitAsync();
        _output.WriteLine($"{count:N0} metrics logged with the server stopped were on disk {spoolMs} ms after the first; process killed");

        await ShellAsync("MLFLOW_OUTAGE_START");
        using (var replay = Child("replay", 0))
        {
            Assert.Equal("True", await ReadAsync(replay, "REPLAYED"));
            await replay.WaitForExitAsync();
        }

        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = Uri });
        Assert.Equal(count, await CountAsync(client, runId, "m"));
        Assert.Empty(Directory.EnumerateFiles(_spool.FullName, "*.seg", SearchOption.AllDirectories));
    }

    private static async Task<int> CountAsync(MlflowClient client, string runId, string key)
    {
        var steps = new HashSet<long>();
        var points = 0;
        foreach (var m in await client.GetMetricHistoryAsync(runId, key))
        {
            steps.Add(m.Step);
            points++;
        }

        Assert.Equal(steps.Count, points); // nothing duplicated
        return steps.Count;
    }

    private Process Child(string mode, int count)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "MlOps.Client.Tests.ProcessHost.dll"));
        start.ArgumentList.Add(mode);
        start.ArgumentList.Add(count.ToString(CultureInfo.InvariantCulture));
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MLFLOW_", StringComparison.Ordinal) || k.StartsWith("MLOPS_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(name); // defaults: nothing tunes the child
        }

        start.Environment["MLFLOW_TRACKING_URI"] = Uri;
        start.Environment["MLFLOW_EXPERIMENT_NAME"] = "mlops-outage-child";
        start.Environment["MLOPS_SPOOL_DIR"] = _spool.FullName;
        return Process.Start(start)!;
    }

    private static async Task<string> ReadAsync(Process child, string prefix)
    {
        using var cap = new CancellationTokenSource(TimeSpan.FromSeconds(180));
        while (true)
        {
            var line = await child.StandardOutput.ReadLineAsync(cap.Token)
                ?? throw new InvalidOperationException($"The child ended before {prefix}: " + await child.StandardError.ReadToEndAsync(cap.Token));
            if (line.StartsWith(prefix + " ", StringComparison.Ordinal))
            {
                return line[(prefix.Length + 1)..].Trim();
            }
        }
    }

    private static async Task ShellAsync(string variable)
    {
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(Environment.GetEnvironmentVariable(variable)!);
        using var process = Process.Start(start)!;
        using var cap = new CancellationTokenSource(TimeSpan.FromSeconds(180));
        var stdout = process.StandardOutput.ReadToEndAsync(cap.Token);
        var stderr = process.StandardError.ReadToEndAsync(cap.Token);
        await process.WaitForExitAsync(cap.Token);
        Assert.True(process.ExitCode == 0, $"{variable} exited {process.ExitCode}: {await stdout} {await stderr}");
    }
}

[CollectionDefinition(RealServerOutageTests.Collection, DisableParallelization = true)]
public sealed class RealServerOutageCollection
{
}
