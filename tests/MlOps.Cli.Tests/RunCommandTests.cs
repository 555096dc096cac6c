using System.Diagnostics;
using MlOps.Client;
using MlOps.Client.Stores;

namespace MlOps.Cli.Tests;

/// <summary><c>mlops run</c> as a process: Python's <c>mlflow run</c> options, messages and exit codes.</summary>
public sealed class RunCommandTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-cli-run-");

    public RunCommandTests()
    {
        var project = Path.Combine(_dir.FullName, "project");
        Directory.CreateDirectory(project);
        File.WriteAllText(Path.Combine(project, "MLproject"), """
            name: shell
            entry_points:
              main:
                parameters:
                  code: float
                command: "echo RUN=$MLFLOW_RUN_ID EXP=$MLFLOW_EXPERIMENT_ID URI=$MLFLOW_TRACKING_URI; exit {code}"
              wait:
                command: "echo STARTED; sleep 60"
            """);
    }

    public void Dispose() => _dir.Delete(recursive: true);

    private async Task<Run> RunOf(string output)
    {
        var id = output.Split('\n').Single(l => l.StartsWith("RUN=", StringComparison.Ordinal)).Split(' ')[0][4..];
        await using var store = TrackingStores.Open(new MlflowClientOptions { TrackingUri = "sqlite:///" + Path.Combine(_dir.FullName, "mlflow.db") });
        return await store.GetRunAsync(id, CancellationToken.None);
    }

    [Fact]
    public async Task Runs_the_entry_point_in_a_new_run_and_exits_as_the_command_did()
    {
        var ok = await Mlops.RunAsync(_dir.FullName, null, "run", "project", "-P", "code=0", "--experiment-name", "cli", "--run-name", "first");
        var failed = await Mlops.RunAsync(_dir.FullName, null, "run", "project", "-P", "code=4", "--experiment-name", "cli");

        Assert.True(ok.ExitCode == 0, ok.ToString());
        Assert.Contains($"URI=sqlite:///{Path.Combine(_dir.FullName, "mlflow.db")}", ok.Output, StringComparison.Ordinal); // absolute: the command runs in the project's folder
        var run = await RunOf(ok.Output);
        Assert.Equal(RunStatus.Finished, run.Info.Status);
        Assert.Equal("first", run.Info.RunName);
        Assert.Contains($"run {run.Info.RunId} (experiment {run.Info.ExperimentId}): FINISHED", ok.Output, StringComparison.Ordinal);
        Assert.Contains($"EXP={run.Info.ExperimentId} ", ok.Output, StringComparison.Ordinal);

        Assert.True(failed.ExitCode == 1, failed.ToString());
        var failedRun = await RunOf(failed.Output);
        Assert.Equal(RunStatus.Failed, failedRun.Info.Status);
        Assert.Contains($"=== Run (ID '{failedRun.Info.RunId}') failed ===", failed.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(2, "mlops: Invalid format for -P parameter: 'code'. Use -P name=value.", "run", "project", "-P", "code")]
    [InlineData(2, "mlops: Repeated parameter: 'code'", "run", "project", "-P", "code=1", "-P", "code=2")]
    [InlineData(1, "=== No value given for missing parameters: 'code' ===", "run", "project")]
    [InlineData(1, "=== Could not find train among entry points ['main', 'wait']", "run", "project", "-e", "train")]
    [InlineData(2, "mlops: Specify 'backend_config' when using kubernetes mode.", "run", "project", "-b", "kubernetes")]
    [InlineData(2, "mlops: Specify only one of 'experiment-name' or 'experiment-id' options.", "run", "project", "--experiment-name", "a", "--experiment-id", "1")]
    public async Task Mistakes_are_one_line_and_create_no_run(int exitCode, string message, params string[] args)
    {
        var result = await Mlops.RunAsync(_dir.FullName, null, args);

        Assert.True(result.ExitCode == exitCode, result.ToString());
        Assert.StartsWith(message, result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("RUN=", result.Output, StringComparison.Ordinal);
    }

    [LinuxFact]
    public async Task Ctrl_c_stops_the_command_and_ends_the_run_killed()
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = _dir.FullName, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Mlops.ToolDll, "run", "project", "-e", "wait", "--experiment-name", "cli" })
        {
            start.ArgumentList.Add(a);
        }

        start.Environment.Remove("MLFLOW_TRACKING_URI");
        using var tool = Process.Start(start)!;
        var error = tool.StandardError.ReadToEndAsync();
        var lines = new List<string>();
        using var cap = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while (await tool.StandardOutput.ReadLineAsync(cap.Token) is { } line)
        {
            lines.Add(line);
            if (line == "STARTED")
            {
                break;
            }
        }

        Assert.Contains("STARTED", lines);
        using (var kill = Process.Start("kill", ["-INT", tool.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync(cap.Token);
        }

        var rest = await tool.StandardOutput.ReadToEndAsync(cap.Token);
        await tool.WaitForExitAsync(cap.Token);

        Assert.True(tool.ExitCode == 130, $"exit {tool.ExitCode}: {rest} {await error}");
        var id = rest.Split('\n').Single(l => l.StartsWith("run ", StringComparison.Ordinal)).Split(' ')[1];
        Assert.Contains(": KILLED", rest, StringComparison.Ordinal);
        await using var store = TrackingStores.Open(new MlflowClientOptions { TrackingUri = "sqlite:///" + Path.Combine(_dir.FullName, "mlflow.db") });
        Assert.Equal(RunStatus.Killed, (await store.GetRunAsync(id, CancellationToken.None)).Info.Status);
    }
}

/// <summary>A test that signals processes with kill(1): skipped, saying so, elsewhere.</summary>
internal sealed class LinuxFactAttribute : FactAttribute
{
    public LinuxFactAttribute()
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = "Sends SIGINT with kill(1): Linux only.";
        }
    }
}
