using System.Diagnostics;

namespace MlOps.Cli.Tests;

/// <summary>The <c>mlops</c> tool as a real process (its own build output), and the repository's other build outputs.</summary>
internal static class Mlops
{
    private static readonly DirectoryInfo TestOutput = new(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)); // tests/MlOps.Cli.Tests/bin/<configuration>/net10.0

    public static string Configuration => TestOutput.Parent!.Name;

    public static string Root
    {
        get
        {
            var root = TestOutput;
            while (root is not null && !File.Exists(Path.Combine(root.FullName, "MlOps.Client.sln")))
            {
                root = root.Parent;
            }

            Assert.NotNull(root);
            return root.FullName;
        }
    }

    public static string ToolDll
    {
        get
        {
            var dll = Path.Combine(Root, "src", "MlOps.Cli", "bin", Configuration, "net10.0", "MlOps.Cli.dll");
            Assert.True(File.Exists(dll), $"{dll} not found: build the solution first");
            return dll;
        }
    }

    public static string QuickStartDll
    {
        get
        {
            var bin = Path.Combine(Root, "samples", "QuickStart", "bin", Configuration);
            var found = Directory.Exists(bin) ? Directory.GetFiles(bin, "QuickStart.dll", SearchOption.AllDirectories) : [];
            Assert.True(found.Length > 0, $"QuickStart.dll not found under {bin}: build the solution first");
            return found.OrderByDescending(File.GetLastWriteTimeUtc).First();
        }
    }

    /// <summary>Runs <c>mlops args…</c> in <paramref name="workingDirectory"/> with no MLflow settings but <paramref name="environment"/>; at most 2 minutes.</summary>
    public static async Task<ToolResult> RunAsync(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(ToolDll);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        foreach (var name in new[] { "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN" })
        {
            start.Environment.Remove(name);
        }

        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[k] = v;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return new ToolResult(process.ExitCode, await output, await error);
    }

    /// <summary>Runs the QuickStart sample in a new folder (no server): the folder then holds the mlflow.db a newcomer gets.</summary>
    public static async Task<DirectoryInfo> QuickStartFolderAsync()
    {
        var dir = Directory.CreateTempSubdirectory("mlops-cli-quickstart-");
        await MlOps.Client.Testing.SampleProcess.RunAsync(QuickStartDll, dir.FullName, TimeSpan.FromMinutes(2));
        return dir;
    }
}

internal sealed record ToolResult(int ExitCode, string Output, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Error}";
}
