using System.Diagnostics;
using System.Globalization;

namespace MlOps.Client.XGBoost.Tests;

/// <summary>
/// The patterns that used to crash the process or corrupt results, each run in a child process
/// (<c>MlOps.Client.XGBoost.StressHost</c>), so that a regression fails the test instead of killing the test run.
/// </summary>
public sealed class BindingSafetyTests
{
    private static async Task<string> RunAsync(string scenario, int size)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "MlOps.Client.XGBoost.StressHost.dll"));
        start.ArgumentList.Add(scenario);
        start.ArgumentList.Add(size.ToString(CultureInfo.InvariantCulture));
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cap = new CancellationTokenSource(TimeSpan.FromSeconds(240));
        try
        {
            await process.WaitForExitAsync(cap.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{scenario} did not finish within 240 s (a hang): {await output}");
        }

        var text = await output;
        Assert.True(process.ExitCode == 0, $"{scenario} exited with {process.ExitCode} (139 = SIGSEGV, 134 = abort): {text} {await error}");
        var line = text.Split('\n').Single(l => l.StartsWith("OK ", StringComparison.Ordinal));
        return line[3..].Trim();
    }

    [XGBoostFact]
    public async Task Reading_labels_of_a_temporary_matrix_while_collections_run_never_reads_freed_memory() =>
        Assert.StartsWith("500 temporaries read", await RunAsync("temporary-labels", 500), StringComparison.Ordinal);

    [XGBoostFact]
    public async Task A_booster_disposed_while_four_threads_predict_lets_running_calls_finish_and_refuses_new_ones()
    {
        var result = await RunAsync("booster-dispose-race", 50);
        Assert.Contains("0 started after it", result, StringComparison.Ordinal);
        Assert.Contains("200 ObjectDisposedException", result, StringComparison.Ordinal); // every thread was told
    }

    [XGBoostFact]
    public async Task A_matrix_disposed_while_three_threads_read_its_labels_neither_crashes_nor_returns_garbage() =>
        Assert.StartsWith("50 trials", await RunAsync("dmatrix-dispose-race", 50), StringComparison.Ordinal);

    [XGBoostFact]
    public async Task Four_boosters_training_at_once_on_one_shared_matrix_give_the_models_trained_alone() =>
        Assert.Equal("models equal to sequential: exact 8/8, approx 8/8, hist 8/8", await RunAsync("shared-dmatrix-training", 2));

    [XGBoostFact]
    public async Task Without_any_Dispose_native_memory_stays_bounded_because_matrices_report_their_size_to_the_GC()
    {
        var result = await RunAsync("finalizer-only", 500);
        var peak = long.Parse(result.Split(' ').Single(p => p.StartsWith("peak_working_set_mb=", StringComparison.Ordinal)).Split('=')[1], CultureInfo.InvariantCulture);
        Assert.True(peak < 400, $"peak working set {peak} MB for 500 undisposed 2,000 × 20 matrices and boosters ({result}); 700+ MB before sizes were reported");
    }

    [XGBoostFact]
    public async Task Model_bytes_with_flipped_bits_are_refused_or_load_but_never_crash_or_hang()
    {
        var result = await RunAsync("corrupt-models", 60);
        if (TestData.LegacyBinary)
        {
            Assert.Contains("Legacy: 60 refused, 0 loaded", result, StringComparison.Ordinal); // unless the caller trusts them
        }

        Assert.Matches(@"Json: \d+ refused", result);
        Assert.Matches(@"Ubj: \d+ refused", result);
    }
}
