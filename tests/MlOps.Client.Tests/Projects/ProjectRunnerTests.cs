using System.Diagnostics;
using MlOps.Client.Projects;
using MlOps.Client.Stores;

namespace MlOps.Client.Tests.Projects;

/// <summary>
/// <see cref="ProjectRunner"/> end to end on the embedded store: the run carries the tags and params Python's launcher
/// sets, the command (a real child process) attaches to it through MLFLOW_RUN_ID, and the run ends with the command's
/// outcome.
/// </summary>
public sealed class ProjectRunnerTests : IAsyncLifetime
{
    private static readonly string Host = Path.Combine(AppContext.BaseDirectory, "MlOps.Client.Tests.ProcessHost.dll");
    private readonly string _root = Directory.CreateTempSubdirectory("mlops-projects-").FullName;
    private readonly StringWriter _output = new();
    private readonly StringWriter _messages = new();
    private ITrackingStore _store = null!;
    private MlflowClientOptions _options = null!;

    public Task InitializeAsync()
    {
        _options = new MlflowClientOptions { TrackingUri = "sqlite:///" + Path.Combine(_root, "mlflow.db") };
        _store = TrackingStores.Open(_options);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    private string Project(string name = "proj", string? folder = null)
    {
        var dir = Path.Combine(_root, folder ?? name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "MLproject"), $$"""
            name: {{name}}
            entry_points:
              main:
                parameters:
                  x: float
                  mode: {type: string, default: objective}
                command: "dotnet '{{Host}}' {mode} {x}"
              sleep:
                command: "sleep 60"
              data:
                parameters:
                  file: path
                command: "cat {file}"
            """);
        return dir;
    }

    private ProjectRunOptions Options(string uri, params (string Key, string Value)[] parameters)
    {
        var options = new ProjectRunOptions { Uri = uri, ExperimentName = "projects", Backend = new LocalProjectBackend(_output, _output), Messages = _messages };
        foreach (var (key, value) in parameters)
        {
            options.Parameters.Add(new(key, value));
        }

        return options;
    }

    private static Dictionary<string, string> Tags(Run run) => run.Data.Tags.ToDictionary(t => t.Key, t => t.Value);

    [Fact]
    public async Task The_command_logs_into_the_run_the_launcher_created_with_pythons_tags_and_params()
    {
        var dir = Project();
        await using var runner = new ProjectRunner(_options, _store);

        var result = await runner.RunAsync(Options(dir, ("x", "3"), ("note", "hello world"))).WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(RunStatus.Finished, result.Status);
        Assert.Contains("ATTACHED " + result.RunId, _output.ToString(), StringComparison.Ordinal); // MLFLOW_RUN_ID reached the tracker inside
        Assert.Contains($"=== Running command 'dotnet '", _messages.ToString(), StringComparison.Ordinal);
        var run = await _store.GetRunAsync(result.RunId, CancellationToken.None);
        var tags = Tags(run);
        Assert.Equal("PROJECT", tags["mlflow.source.type"]);
        Assert.Equal(dir, tags["mlflow.source.name"]); // not in git: the absolute path, as Python
        Assert.Equal("main", tags["mlflow.project.entryPoint"]);
        Assert.Equal("local", tags["mlflow.project.backend"]);
        Assert.True(tags.ContainsKey("mlflow.user"));
        Assert.False(tags.ContainsKey("mlflow.project.env")); // the local environment, as Python's --env-manager local
        Assert.False(tags.ContainsKey("mlflow.source.git.commit"));
        Assert.Equal(
            [new Param("mode", "objective"), new Param("note", "'hello world'"), new Param("x", "3")],
            run.Data.Params.OrderBy(p => p.Key, StringComparer.Ordinal));
        Assert.Equal(1.0, run.Data.Metrics.Single(m => m.Key == "objective").Value); // (3 - 2)², logged by the command
        var runs = await _store.SearchRunsPageAsync(new SearchRunsOptions { ExperimentIds = { result.ExperimentId } }, null, CancellationToken.None);
        Assert.Single(runs.Values); // the command attached: no second run
    }

    [Fact]
    public async Task A_failing_command_ends_the_run_failed()
    {
        await using var runner = new ProjectRunner(_options, _store);

        var result = await runner.RunAsync(Options(Project(), ("x", "fail"))).WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(RunStatus.Failed, result.Status);
        Assert.Equal(RunStatus.Failed, (await _store.GetRunAsync(result.RunId, CancellationToken.None)).Info.Status);
        Assert.Contains($"=== Run (ID '{result.RunId}') failed ===", _messages.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancelling_stops_the_command_and_ends_the_run_killed()
    {
        await using var runner = new ProjectRunner(_options, _store);
        using var cancel = new CancellationTokenSource();
        var options = Options(Project());
        options.EntryPoint = "sleep";
        options.Messages = new SignalWriter("=== Running command", cancel);

        var result = await runner.RunAsync(options, cancel.Token).WaitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(RunStatus.Killed, result.Status);
        Assert.Equal(RunStatus.Killed, (await _store.GetRunAsync(result.RunId, CancellationToken.None)).Info.Status);
    }

    [Fact]
    public async Task Parameter_mistakes_fail_before_any_run_exists()
    {
        var dir = Project();
        await using var runner = new ProjectRunner(_options, _store);

        var missing = await Assert.ThrowsAsync<ProjectExecutionException>(() => runner.RunAsync(Options(dir)));
        Assert.Equal("No value given for missing parameters: 'x'", missing.Message);
        var data = Options(dir, ("file", "no/such.csv"));
        data.EntryPoint = "data";
        var noFile = await Assert.ThrowsAsync<ProjectExecutionException>(() => runner.RunAsync(data));
        Assert.Equal("Got value no/such.csv for parameter file, but no such file or directory was found.", noFile.Message);
        var train = Options(dir);
        train.EntryPoint = "train";
        var unknown = await Assert.ThrowsAsync<ProjectExecutionException>(() => runner.RunAsync(train));
        Assert.StartsWith("Could not find train among entry points ['main', 'sleep', 'data']", unknown.Message, StringComparison.Ordinal);
        var repeated = await Assert.ThrowsAsync<ProjectExecutionException>(() => runner.RunAsync(Options(dir, ("x", "1"), ("x", "2"))));
        Assert.Equal("Repeated parameter: 'x'", repeated.Message);

        var experiment = await _store.FindExperimentByNameAsync("projects", CancellationToken.None);
        Assert.Null(experiment); // nothing was created
    }

    [Fact]
    public async Task A_local_path_parameter_reaches_the_command_absolute()
    {
        var dir = Project();
        File.WriteAllText(Path.Combine(_root, "rows.csv"), "a,b\n1,2\n");
        await using var runner = new ProjectRunner(_options, _store);
        var options = Options(dir, ("file", Path.Combine(_root, "rows.csv")));
        options.EntryPoint = "data";

        var result = await runner.RunAsync(options).WaitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(RunStatus.Finished, result.Status);
        Assert.Contains("1,2", _output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_remote_path_parameter_is_downloaded_into_the_storage_folder_and_logged_as_given()
    {
        // A run's artifact, named by runs:/ (resolved through the store, as Python's RunsArtifactRepository does).
        var dir = Project();
        var source = await _store.CreateRunAsync("0", new CreateRunOptions(), CancellationToken.None);
        var artifacts = new Uri(source.Info.ArtifactUri!).LocalPath;
        Directory.CreateDirectory(Path.Combine(artifacts, "data"));
        File.WriteAllText(Path.Combine(artifacts, "data", "rows.csv"), "x,y\n7,8\n");
        await using var runner = new ProjectRunner(_options, _store);
        var options = Options(dir, ("file", $"runs:/{source.Info.RunId}/data/rows.csv"));
        options.EntryPoint = "data";
        options.StorageDirectory = Path.Combine(_root, "storage");

        var result = await runner.RunAsync(options).WaitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(RunStatus.Finished, result.Status);
        Assert.Contains("7,8", _output.ToString(), StringComparison.Ordinal); // the command read the downloaded copy
        Assert.True(File.Exists(Path.Combine(_root, "storage", "mlops-project-" + result.RunId, "param_0", "rows.csv")));
        var logged = (await _store.GetRunAsync(result.RunId, CancellationToken.None)).Data.Params.Single(p => p.Key == "file");
        Assert.Equal($"runs:/{source.Info.RunId}/data/rows.csv", logged.Value); // the URI as given, as Python logs it

        options.Parameters.Clear();
        options.Parameters.Add(new("file", "nosuchscheme://bucket/rows.csv"));
        var failed = await Assert.ThrowsAsync<ProjectExecutionException>(() => runner.RunAsync(options));
        Assert.StartsWith("Could not download nosuchscheme://bucket/rows.csv for parameter file:", failed.Message, StringComparison.Ordinal);
        var runs = await _store.SearchRunsPageAsync(new SearchRunsOptions { ExperimentIds = { result.ExperimentId }, Filter = "attributes.status = 'FAILED'" }, null, CancellationToken.None);
        Assert.Single(runs.Values); // created before the download, ended FAILED (not left RUNNING)
    }

    [Fact]
    public async Task A_git_url_is_cloned_at_the_version_and_its_commit_origin_and_branch_are_recorded()
    {
        var repo = Path.Combine(_root, "repo");
        Project("proj", Path.Combine("repo", "sub"));
        Git(repo, "init", "-q", "-b", "main");
        Git(repo, "add", ".");
        Git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "project");
        Git(repo, "branch", "feature");
        Git(repo, "remote", "add", "origin", "https://someone:s3cret@example.com/org/repo.git");
        var commit = Git(repo, "rev-parse", "HEAD").Trim();
        var bare = Path.Combine(_root, "bare.git");
        Git(_root, "clone", "-q", "--bare", repo, bare);
        await using var runner = new ProjectRunner(_options, _store);

        var options = Options("file://" + bare + "#sub", ("x", "2"));
        options.Version = "feature";
        var cloned = await runner.RunAsync(options).WaitAsync(TimeSpan.FromMinutes(2));
        var local = await runner.RunAsync(Options(Path.Combine(repo, "sub"), ("x", "2"))).WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(RunStatus.Finished, cloned.Status);
        var tags = Tags(await _store.GetRunAsync(cloned.RunId, CancellationToken.None));
        Assert.Equal(commit, tags["mlflow.source.git.commit"]);
        Assert.Equal("file://" + bare, tags["mlflow.source.git.repoURL"]);
        Assert.Equal("feature", tags["mlflow.source.git.branch"]);
        Assert.Equal("file://" + bare + "#sub", tags["mlflow.source.name"]);
        var localTags = Tags(await _store.GetRunAsync(local.RunId, CancellationToken.None));
        Assert.Equal(commit, localTags["mlflow.source.git.commit"]);
        Assert.Equal("file://" + repo + "#sub", localTags["mlflow.source.name"]);
        Assert.Equal("https://example.com/org/repo.git", localTags["mlflow.source.git.repoURL"]); // the token never reaches a tag
        Assert.False(localTags.ContainsKey("mlflow.source.git.branch")); // no --version: no branch tag, as Python

        options.Version = "no-such-branch";
        var error = await Assert.ThrowsAsync<ProjectExecutionException>(() => runner.RunAsync(options));
        Assert.StartsWith($"Unable to checkout version 'no-such-branch' of git repo file://{bare}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_digests_of_the_projects_dvc_tracked_data_are_recorded()
    {
        var dir = Project();
        Directory.CreateDirectory(Path.Combine(dir, "data"));
        File.WriteAllText(Path.Combine(dir, "data", "iris.csv.dvc"), "outs:\n- md5: 0123456789abcdef0123456789abcdef\n  size: 10\n  hash: md5\n  path: iris.csv\n");
        await using var runner = new ProjectRunner(_options, _store);

        var result = await runner.RunAsync(Options(dir, ("x", "2"))).WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal("0123456789abcdef0123456789abcdef", Tags(await _store.GetRunAsync(result.RunId, CancellationToken.None))["mlops.dvc.data/iris.csv"]);
    }

    [Fact]
    public void A_relative_embedded_store_is_handed_to_the_command_absolute()
    {
        var runner = new ProjectRunner(new MlflowClientOptions { TrackingUri = "sqlite:///mlflow.db" }, _store);
        Assert.Equal("sqlite:///" + Path.GetFullPath("mlflow.db"), runner.TrackingUri);
        Assert.Equal("http://127.0.0.1:5000", new ProjectRunner(new MlflowClientOptions { TrackingUri = "http://127.0.0.1:5000" }, _store).TrackingUri);
    }

    private static string Git(string directory, params string[] arguments)
    {
        var start = new ProcessStartInfo("git") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(60_000), "git did not finish within a minute");
        Assert.True(process.ExitCode == 0, $"git {string.Join(' ', arguments)}: {error}");
        return output;
    }

    /// <summary>Cancels when a line containing the signal is written.</summary>
    private sealed class SignalWriter(string signal, CancellationTokenSource cancel) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value?.Contains(signal, StringComparison.Ordinal) == true)
            {
                cancel.Cancel();
            }
        }
    }
}
