using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using MlOps.Client.Tests.Fixtures;

namespace MlOps.Client.Tests.Tracking;

/// <summary>
/// A child process logs to a WireMock server replaying the recorded answers; the test stops it with a signal
/// or lets it return from Main without flushing, then reads what reached the server.
/// </summary>
public class ProcessLifecycleTests
{
    [PosixFact]
    public async Task Sigterm_delivers_what_was_logged_and_ends_the_run_killed()
    {
        using var server = NewServer();
        using var child = StartChild(server, "wait", 2500);
        var line = await ReadReadyAsync(child);
        Assert.StartsWith("READY ", line, StringComparison.Ordinal);
        Assert.Equal(0, Kill(child.Id, 15 /* SIGTERM */));
        Assert.True(await WaitForExitAsync(child));

        Assert.Equal(2500, MetricsReceived(server));
        Assert.Equal("KILLED", LastStatus(server));
        AssertStatusAfterLastBatch(server);
    }

    [SigintFact]
    public async Task Ctrl_c_ends_the_run_killed()
    {
        using var server = NewServer();
        using var child = StartChild(server, "wait", 10);
        await ReadReadyAsync(child);
        Assert.Equal(0, Kill(child.Id, 2 /* SIGINT */));
        Assert.True(await WaitForExitAsync(child));

        Assert.Equal(10, MetricsReceived(server));
        Assert.Equal("KILLED", LastStatus(server));
    }

    [Fact]
    public async Task Returning_from_main_with_unflushed_data_loses_nothing_and_ends_finished()
    {
        using var server = NewServer();
        using var child = StartChild(server, "exit", 3000);
        await ReadReadyAsync(child);
        Assert.True(await WaitForExitAsync(child));

        Assert.Equal(0, child.ExitCode);
        Assert.Equal(3000, MetricsReceived(server));
        Assert.Equal("FINISHED", LastStatus(server));
        AssertStatusAfterLastBatch(server);
    }

    [Fact]
    public async Task MLFLOW_EXPERIMENT_NAME_selects_and_creates_the_experiment()
    {
        using var server = NewServer();
        server.Serve("018-experiments-get-by-name-missing");
        server.Serve("010-experiments-create");
        using var child = StartChild(server, "exit", 5, ("MLFLOW_EXPERIMENT_NAME", "tour-no-such"));
        await ReadReadyAsync(child);
        Assert.True(await WaitForExitAsync(child));

        var byName = server.Requests.Single(r => r.Path.EndsWith("/experiments/get-by-name", StringComparison.Ordinal));
        Assert.Equal("tour-no-such", byName.Query!["experiment_name"].Single());
        var create = server.Requests.Single(r => r.Path.EndsWith("/experiments/create", StringComparison.Ordinal));
        Assert.Equal("tour-no-such", RecordedServer.BodyOf(create)!["name"]!.GetValue<string>());
        var runCreate = server.Requests.Single(r => r.Path.EndsWith("/runs/create", StringComparison.Ordinal));
        Assert.Equal("1", RecordedServer.BodyOf(runCreate)!["experiment_id"]!.GetValue<string>()); // the id experiments/create answered
    }

    [Fact]
    public async Task MLFLOW_RUN_ID_resumes_that_run_instead_of_creating_one()
    {
        using var server = NewServer();
        server.Serve("043-runs-get");
        using var child = StartChild(server, "exit", 5, ("MLFLOW_RUN_ID", "e0615394aa0f4901b930c39ef92bfa3b"));
        var ready = await ReadReadyAsync(child);
        Assert.True(await WaitForExitAsync(child));

        Assert.Equal("READY e0615394aa0f4901b930c39ef92bfa3b", ready);
        Assert.DoesNotContain(server.Requests, r => r.Path.EndsWith("/runs/create", StringComparison.Ordinal));
        Assert.All(server.Requests.Where(r => r.Path.EndsWith("/runs/log-batch", StringComparison.Ordinal)),
            r => Assert.Equal("e0615394aa0f4901b930c39ef92bfa3b", RecordedServer.BodyOf(r)!["run_id"]!.GetValue<string>()));
        Assert.Equal(5, MetricsReceived(server));
    }

    private static RecordedServer NewServer()
    {
        var server = new RecordedServer();
        server.Serve("040-runs-create");
        server.ServeStatus("POST", "/api/2.0/mlflow/runs/log-batch", 200, "{}");
        server.Serve("114-runs-update-finished");
        return server;
    }

    private static Process StartChild(RecordedServer server, string mode, int count, params (string Name, string Value)[] environment)
    {
        var host = Path.Combine(AppContext.BaseDirectory, "MlOps.Client.Tests.ProcessHost.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(host);
        start.ArgumentList.Add(mode);
        start.ArgumentList.Add(count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        start.Environment["MLFLOW_TRACKING_URI"] = server.Url;
        start.Environment.Remove("MLFLOW_EXPERIMENT_NAME");
        start.Environment.Remove("MLFLOW_EXPERIMENT_ID");
        start.Environment.Remove("MLFLOW_RUN_ID");
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        return Process.Start(start)!;
    }

    private static async Task<string> ReadReadyAsync(Process child)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            var line = await child.StandardOutput.ReadLineAsync(cts.Token);
            if (line is null)
            {
                var err = await child.StandardError.ReadToEndAsync(cts.Token);
                throw new InvalidOperationException("The child process ended before READY: " + err);
            }

            if (line.StartsWith("READY", StringComparison.Ordinal))
            {
                return line;
            }
        }
    }

    private static async Task<bool> WaitForExitAsync(Process child)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await child.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            child.Kill(entireProcessTree: true);
            await child.WaitForExitAsync();
            var stderr = await child.StandardError.ReadToEndAsync();
            throw new Xunit.Sdk.XunitException("The child did not exit within 60 s; its standard error:\n" + stderr);
        }
    }

    private static int MetricsReceived(RecordedServer server) =>
        server.Requests.Where(r => r.Path.EndsWith("/runs/log-batch", StringComparison.Ordinal))
            .Sum(r => (RecordedServer.BodyOf(r)?["metrics"] as JsonArray)?.Count ?? 0);

    private static string? LastStatus(RecordedServer server) =>
        server.Requests.LastOrDefault(r => r.Path.EndsWith("/runs/update", StringComparison.Ordinal)) is { } update
            ? RecordedServer.BodyOf(update)?["status"]?.GetValue<string>()
            : null;

    private static void AssertStatusAfterLastBatch(RecordedServer server)
    {
        var paths = server.Requests.Select(r => r.Path).ToList();
        Assert.True(paths.FindLastIndex(p => p.EndsWith("/runs/log-batch", StringComparison.Ordinal)) < paths.FindLastIndex(p => p.EndsWith("/runs/update", StringComparison.Ordinal)));
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}

/// <summary>A test that sends POSIX signals: skipped, with the reason, on other platforms.</summary>
public sealed class PosixFactAttribute : FactAttribute
{
    public PosixFactAttribute()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            Skip = "Sends POSIX signals (SIGTERM, SIGINT): Linux and macOS only.";
        }
    }
}

/// <summary>
/// A POSIX fact that sends SIGINT to a child: skipped, saying why, when this process ignores SIGINT — a command started
/// in the background by a non-interactive shell (<c>.ci/run &amp;</c>) ignores it, and the child inherits that.
/// </summary>
public sealed class SigintFactAttribute : FactAttribute
{
    public SigintFactAttribute()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            Skip = "Sends POSIX signals (SIGINT): Linux and macOS only.";
        }
        else if (SigintIgnored())
        {
            Skip = "SIGINT is ignored in this test process (started in the background by a non-interactive shell), and a child inherits that: a Ctrl+C cannot be delivered. Run the tests in the foreground.";
        }
    }

    private static bool SigintIgnored()
    {
        try
        {
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
            return line is not null && (ulong.Parse(line["SigIgn:".Length..].Trim(), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture) & (1UL << (2 - 1))) != 0;
        }
        catch (IOException)
        {
            return false; // no /proc (macOS): assume delivered
        }
    }
}

