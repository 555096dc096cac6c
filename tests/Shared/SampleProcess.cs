using System.Diagnostics;

namespace MlOps.Client.Testing;

/// <summary>Runs a sample program (its dll beside the tests) in a fresh folder with no MLflow settings, as a newcomer would.</summary>
internal static class SampleProcess
{
    /// <summary>The repository's root: the first folder above the test's output that holds <c>MlOps.Client.sln</c>.</summary>
    public static string RepositoryRoot()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "MlOps.Client.sln")))
        {
            root = root.Parent;
        }

        return root?.FullName ?? throw new InvalidOperationException("No MlOps.Client.sln above " + AppContext.BaseDirectory);
    }

    /// <summary>Runs <paramref name="dll"/> in <paramref name="workingDirectory"/>; asserts exit code 0 and returns standard output.</summary>
    public static async Task<string> RunAsync(string dll, string workingDirectory, TimeSpan timeout)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, dll));
        foreach (var name in new[] { "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID" })
        {
            start.Environment.Remove(name);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(timeout);
        Assert.True(process.ExitCode == 0, await output + await error);
        return await output;
    }

    /// <summary>The value printed as <c>RUN_ID=…</c>.</summary>
    public static string RunId(string output) => Value(output, "RUN_ID");

    /// <summary>The value of the sample's <c>KEY=value</c> output line for <paramref name="key"/>.</summary>
    public static string Value(string output, string key) =>
        output.Split('\n').Single(l => l.StartsWith(key + "=", StringComparison.Ordinal))[(key.Length + 1)..].Trim();
}
