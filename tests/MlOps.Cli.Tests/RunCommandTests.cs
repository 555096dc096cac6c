using System.Diagnostics;
using System.Text.Json;
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

/// <summary>
/// <c>mlops run</c> against what Python's <c>mlflow run</c> recorded for the same project (Recorded/projects/python-mlflow-run.json:
/// MLflow 2.22's launcher on samples/XGBoostIris, the .NET program inside): the same tags, tag by tag.
/// </summary>
public sealed class RunCommandParityTests : IDisposable
{
    private static readonly JsonDocument Python = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Recorded", "projects", "python-mlflow-run.json")));
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-cli-parity-");

    public void Dispose() => _dir.Delete(recursive: true);

    private static Dictionary<string, string> PythonTags() => Python.RootElement.GetProperty("tags").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);

    [Fact]
    public async Task The_launcher_sets_the_tags_pythons_launcher_set()
    {
        // A project in a sub-folder of a git checkout, as samples/XGBoostIris is in this repository.
        var sub = Path.Combine(_dir.FullName, "repo", "samples", "Shell");
        Directory.CreateDirectory(sub);
        File.WriteAllText(Path.Combine(sub, "MLproject"), "name: shell\nentry_points:\n  main:\n    parameters:\n      learning_rate: {type: float, default: 1}\n    command: \"echo RUN=$MLFLOW_RUN_ID\"\n");
        var repo = Path.Combine(_dir.FullName, "repo");
        await Git(repo, "init", "-q");
        await Git(repo, "add", ".");
        await Git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "p");
        var commit = (await Git(repo, "rev-parse", "HEAD")).Trim();

        var result = await Mlops.RunAsync(_dir.FullName, null, "run", Path.Combine("repo", "samples", "Shell"), "-P", "learning_rate=0.3");

        Assert.True(result.ExitCode == 0, result.ToString());
        var id = result.Output.Split('\n').Single(l => l.StartsWith("RUN=", StringComparison.Ordinal))[4..].Trim();
        await using var store = MlOps.Client.Stores.TrackingStores.Open(new MlflowClientOptions { TrackingUri = "sqlite:///" + Path.Combine(_dir.FullName, "mlflow.db") });
        var run = await store.GetRunAsync(id, CancellationToken.None);
        var ours = run.Data.Tags.ToDictionary(t => t.Key, t => t.Value);
        var python = PythonTags();
        python.Remove("mlflow.log-model.history"); // the program's, not the launcher's
        Assert.Equal(python.Keys.Order(StringComparer.Ordinal), ours.Keys.Order(StringComparer.Ordinal));
        foreach (var key in new[] { "mlflow.project.backend", "mlflow.project.entryPoint", "mlflow.source.type" })
        {
            Assert.Equal(python[key], ours[key]);
        }

        Assert.Equal(python["mlflow.source.name"].Replace("<checkout>", repo, StringComparison.Ordinal).Replace("XGBoostIris", "Shell", StringComparison.Ordinal), ours["mlflow.source.name"]);
        Assert.Equal(commit, ours["mlflow.source.git.commit"]);
        Assert.Equal([new Param("learning_rate", "0.3")], run.Data.Params);
    }

    [IntegrationFact]
    public async Task On_a_real_server_mlops_run_of_the_sample_equals_pythons_run_tag_by_tag()
    {
        var uri = Environment.GetEnvironmentVariable("MLFLOW_INTEGRATION_URI")!;
        var experiment = "mlops-run-parity-" + Guid.NewGuid().ToString("N")[..8];
        var env = new Dictionary<string, string> { ["MLFLOW_TRACKING_URI"] = uri };

        var result = await Mlops.RunAsync(_dir.FullName, env, "run", Path.Combine(Mlops.Root, "samples", "XGBoostIris"), "-P", "learning_rate=0.3", "--experiment-name", experiment);

        Assert.True(result.ExitCode == 0, result.ToString());
        var id = result.Output.Split('\n').Single(l => l.StartsWith("RUN_ID=", StringComparison.Ordinal))[7..].Trim();
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = uri });
        var run = await client.GetRunAsync(id);
        var ours = run.Data.Tags.ToDictionary(t => t.Key, t => t.Value);
        var python = PythonTags();
        Assert.Equal(python.Keys.Order(StringComparer.Ordinal), ours.Keys.Where(k => k != "mlflow.source.git.repoURL" && k != "mlflow.source.git.branch").Order(StringComparer.Ordinal));
        Assert.Equal(python["mlflow.source.name"].Replace("<checkout>", Mlops.Root, StringComparison.Ordinal), ours["mlflow.source.name"]);
        foreach (var key in new[] { "mlflow.project.backend", "mlflow.project.entryPoint", "mlflow.source.type" })
        {
            Assert.Equal(python[key], ours[key]);
        }

        Assert.Equal(
            Python.RootElement.GetProperty("params").EnumerateObject().Select(p => (p.Name, p.Value.GetString())),
            run.Data.Params.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => (p.Key, (string?)p.Value)));
        Assert.Equal(Python.RootElement.GetProperty("metrics").EnumerateArray().Select(m => m.GetString()), run.Data.Metrics.Select(m => m.Key).Order(StringComparer.Ordinal));
        Assert.Equal(RunStatus.Finished, run.Info.Status);
    }

    [PythonMlflowFact]
    public async Task Pythons_mlflow_run_of_the_dotnet_sample_makes_one_run_with_the_csharp_metrics()
    {
        var uri = Environment.GetEnvironmentVariable("MLFLOW_INTEGRATION_URI")!;
        var experiment = "python-mlflow-run-" + Guid.NewGuid().ToString("N")[..8];
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("MLOPS_MLFLOW_PYTHON") ?? "python3") { WorkingDirectory = _dir.FullName, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-m", "mlflow", "run", Path.Combine(Mlops.Root, "samples", "XGBoostIris"), "--env-manager", "local", "-P", "learning_rate=0.3", "--experiment-name", experiment })
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["MLFLOW_TRACKING_URI"] = uri;
        using var python = Process.Start(start)!;
        var output = python.StandardOutput.ReadToEndAsync();
        var error = python.StandardError.ReadToEndAsync();
        await python.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        Assert.True(python.ExitCode == 0, await output + await error);

        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = uri });
        var found = await client.FindExperimentByNameAsync(experiment);
        var runs = new List<Run>();
        await foreach (var r in client.SearchRunsAsync(new SearchRunsOptions { ExperimentIds = { found!.ExperimentId } }))
        {
            runs.Add(r);
        }

        var run = Assert.Single(runs); // the C# program attached to Python's run
        Assert.Equal(RunStatus.Finished, run.Info.Status);
        Assert.Contains(run.Data.Metrics, m => m.Key == "log_loss");
        Assert.Contains(run.Data.Metrics, m => m.Key == "accuracy");
        Assert.Equal("PROJECT", run.Data.Tags.Single(t => t.Key == "mlflow.source.type").Value);
        Assert.Contains("RUN_ID=" + run.Info.RunId, await output, StringComparison.Ordinal);
    }

    private static async Task<string> Git(string directory, params string[] arguments)
    {
        var start = new ProcessStartInfo("git") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.True(process.ExitCode == 0, await process.StandardError.ReadToEndAsync());
        return output;
    }
}

/// <summary>Runs only against a real MLflow server (MLFLOW_INTEGRATION_URI), with libxgboost for the sample; skipped otherwise, saying why.</summary>
internal sealed class IntegrationFactAttribute : FactAttribute
{
    public IntegrationFactAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("MLFLOW_INTEGRATION_URI")))
        {
            Skip = "Set MLFLOW_INTEGRATION_URI to a real MLflow server (docs/reliability.md says how to start one) to run it.";
        }
    }
}

/// <summary>Also needs Python MLflow's CLI: MLOPS_MLFLOW_PYTHON (a python with mlflow importable, e.g. after sourcing the server tool's env.sh).</summary>
internal sealed class PythonMlflowFactAttribute : FactAttribute
{
    public PythonMlflowFactAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("MLFLOW_INTEGRATION_URI")) || string.IsNullOrEmpty(Environment.GetEnvironmentVariable("MLOPS_MLFLOW_PYTHON")))
        {
            Skip = "Set MLFLOW_INTEGRATION_URI to a real MLflow server and MLOPS_MLFLOW_PYTHON to a python that imports mlflow (docs/projects.md) to run it.";
        }
    }
}
