using MlOps.Client.Monitoring;
using MlOps.Client.Stores;
using SkiaSharp;

namespace MlOps.Cli.Tests;

/// <summary><c>mlops monitor</c> as a real process: an inference log against a reference profile, the report, the exit code.</summary>
public sealed class MonitorCommandTests : IDisposable
{
    private static readonly string[] Names = ["sepal", "petal"];
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-cli-monitor-");

    public void Dispose() => _dir.Delete(recursive: true);

    private static double[] Normal(Random random, int n, double mean) =>
        [.. Enumerable.Range(0, n).Select(_ => mean + (Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble())))];

    /// <summary>A profile of N(5, 1) and N(3, 1); a log of <paramref name="windows"/> windows of 200 rows, petal shifted by <paramref name="shift"/> from window <paramref name="shiftFrom"/> on.</summary>
    private async Task<(string Profile, string Log)> PrepareAsync(double shift, int windows = 4, int shiftFrom = 2)
    {
        var random = new Random(17);
        var profile = Path.Combine(_dir.FullName, "reference_profile.json");
        new ReferenceProfileBuilder().AddNumeric("sepal", Normal(random, 800, 5)).AddNumeric("petal", Normal(random, 800, 3)).Build().Save(profile);
        var log = Path.Combine(_dir.FullName, "log-" + Guid.NewGuid().ToString("N"));
        await using var writer = new InferenceLog(new InferenceLogOptions { Directory = log });
        for (var w = 0; w < windows; w++)
        {
            for (var request = 0; request < 4; request++)
            {
                var sepal = Normal(random, 50, 5);
                var petal = Normal(random, 50, 3 + (w >= shiftFrom ? shift : 0));
                writer.TryLog(new InferenceRecord
                {
                    RequestId = $"{w}-{request}",
                    Timestamp = DateTimeOffset.UnixEpoch.AddDays(20000).AddMinutes(w).AddSeconds(request),
                    ModelUri = "models:/flowers/1",
                    Rows = 50,
                    Inputs = [new InferenceColumn(Names[0], [.. sepal.Cast<object?>()]), new InferenceColumn(Names[1], [.. petal.Cast<object?>()])],
                });
            }
        }

        return (profile, log);
    }

    [Fact]
    public async Task A_drifted_log_exits_3_with_a_report_that_names_the_feature_and_draws_its_distributions()
    {
        var (profile, log) = await PrepareAsync(shift: 1.0);
        var report = Path.Combine(_dir.FullName, "out", "monitor.md");
        var result = await Mlops.RunAsync(_dir.FullName, null, "monitor", "--log", log, "--profile", profile, "--window-rows", "200", "-o", report);
        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Contains("4 window(s), latest: 1/2 features drifted — DRIFT", result.Output, StringComparison.Ordinal);
        var md = await File.ReadAllTextAsync(report);
        Assert.Contains("# Drift report: models:/flowers/1", md, StringComparison.Ordinal);
        Assert.Contains("**Drift detected** in the latest window (3): 1 of 2 features drifted (petal)", md, StringComparison.Ordinal);
        Assert.Contains("| 2 | ", md, StringComparison.Ordinal);
        Assert.Contains("| petal | KolmogorovSmirnov |", md, StringComparison.Ordinal);
        foreach (var figure in new[] { "monitor-drift-share.png", "monitor-petal.png" })
        {
            Assert.Contains($"]({figure})", md, StringComparison.Ordinal);
            using var bitmap = SKBitmap.Decode(Path.Combine(_dir.FullName, "out", figure));
            Assert.True(bitmap.Width > 0 && ToolProcessTests.DistinctColors(bitmap) > 20, figure);
        }
    }

    [Fact]
    public async Task The_same_traffic_without_the_shift_exits_0()
    {
        var (profile, log) = await PrepareAsync(shift: 0);
        var report = Path.Combine(_dir.FullName, "monitor.md");
        var result = await Mlops.RunAsync(_dir.FullName, null, "monitor", "--log", log, "--profile", profile, "--window-rows", "200", "-o", report, "--no-plots");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("**No dataset drift**", await File.ReadAllTextAsync(report), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Windows_go_to_the_models_monitoring_run()
    {
        var (profile, log) = await PrepareAsync(shift: 1.0);
        var env = new Dictionary<string, string> { ["MLFLOW_TRACKING_URI"] = "sqlite:///" + Path.Combine(_dir.FullName, "mlflow.db") };
        var result = await Mlops.RunAsync(_dir.FullName, env, "monitor", "--log", log, "--profile", profile, "--window-rows", "200", "-o", Path.Combine(_dir.FullName, "m.md"), "--log-to-mlflow");
        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Contains("recorded 4 window(s) in run ", result.Output, StringComparison.Ordinal);
        var runId = result.Output.Split("in run ")[1].Split('\n')[0].Trim();
        await using var store = SqliteTrackingStore.Open(env["MLFLOW_TRACKING_URI"]);
        var detected = await store.GetMetricHistoryAsync(runId, "drift_detected.petal", default);
        Assert.Equal([0.0, 0, 1, 1], detected.OrderBy(m => m.Step).Select(m => m.Value));
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }

    [Fact]
    public async Task Without_a_model_or_a_profile_it_is_a_usage_error()
    {
        var result = await Mlops.RunAsync(_dir.FullName, null, "monitor", "--log", _dir.FullName);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--model-uri", result.Error, StringComparison.Ordinal);
    }
}
