using System.Diagnostics;

namespace MlOps.Client.OpenTelemetry.Tests;

/// <summary>Runs a Python script (the opt-in tests' Python MLflow) and gives its last line of output; a failure shows Python's error.</summary>
internal static class PythonScript
{
    public static async Task<string> RunAsync(string python, string script, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (workingDirectory is not null)
        {
            start.WorkingDirectory = workingDirectory;
        }

        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        Assert.True(process.ExitCode == 0, await error);
        return (await output).Trim().Split('\n')[^1];
    }
}
