using System.Diagnostics;
using Microsoft.Data.Sqlite;

namespace MlOps.Client.Tests.Samples;

/// <summary>
/// The README's way in from outside the repository, performed as a user would: pack the package into a folder, create
/// a console project elsewhere, add the package from that folder, build, run, and find the run in the database. No
/// network: the package's dependencies come from the machine's package cache, the package from the folder.
/// </summary>
public sealed class LocalFeedTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-feed-");

    public void Dispose() => _dir.Delete(recursive: true);

    private static async Task<string> DotnetAsync(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment.Remove("MSBuildSDKsPath"); // the test host's MSBuild must not leak into the child build
        start.Environment.Remove("MSBuildExtensionsPath");
        start.Environment.Remove("MSBUILD_EXE_PATH");
        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[k] = v;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cap = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        try
        {
            await process.WaitForExitAsync(cap.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException($"dotnet {string.Join(' ', arguments)} did not finish within 5 minutes");
        }

        var text = await output + await error;
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', arguments)} exited {process.ExitCode}:\n{text}");
        return text;
    }

    [Fact]
    public async Task A_new_console_project_uses_the_packed_package_from_a_local_folder_as_the_readme_says()
    {
        var feed = Path.Combine(_dir.FullName, "packages");
        await DotnetAsync(MlOps.Client.Testing.SampleProcess.RepositoryRoot(), null, "pack", Path.Combine("src", "MlOps.Client", "MlOps.Client.csproj"), "-c", "Release", "-o", feed);
        var package = Assert.Single(Directory.GetFiles(feed, "MlOps.Client.*.nupkg"), f => !f.EndsWith(".snupkg", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.ChangeExtension(package, ".snupkg")), "symbols package");
        var version = Path.GetFileNameWithoutExtension(package)["MlOps.Client.".Length..];

        await DotnetAsync(_dir.FullName, null, "new", "console", "-o", "MyTraining", "--framework", "net10.0");
        var app = Path.Combine(_dir.FullName, "MyTraining");
        await DotnetAsync(app, null, "add", "package", "MlOps.Client", "--version", version, "--source", feed);
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), """
            using MlOps.Client.Tracking;

            await using var tracker = Tracker.FromEnvironment(new TrackerOptions { ExperimentName = "from-feed" });
            using (var run = tracker.StartRun("first"))
            {
                run.LogMetric("loss", 0.5);
            }

            Console.WriteLine("logged");
            """);
        var db = Path.Combine(app, "mlflow.db");
        var output = await DotnetAsync(app, new Dictionary<string, string> { ["MLFLOW_TRACKING_URI"] = "sqlite:///" + db, ["MLOPS_SPOOL"] = "false" }, "run", "-c", "Release");
        Assert.Contains("logged", output, StringComparison.Ordinal);

        using var connection = new SqliteConnection("Data Source=" + db + ";Pooling=False");
        connection.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT count(*) FROM runs r JOIN experiments e ON r.experiment_id = e.experiment_id WHERE e.name = 'from-feed' AND r.status = 'FINISHED'";
        Assert.Equal(1L, cmd.ExecuteScalar());
    }
}
