using System.Diagnostics;
using System.Globalization;
using MlOps.Client.XGBoost;

namespace MlOps.Client.Benchmarks;

/// <summary>
/// Native memory of the XGBoost binding when nothing is disposed (finalizers only) against the same loop with
/// <c>Dispose</c>, back to back in one process: train + predict on 2,000 × 20 matrices, peak and after-collect working
/// set, and the predict fast paths (DMatrix vs inplace vs the estimator).
/// </summary>
internal static class XGBoostMemoryHarness
{
    public static int Run(string[] args)
    {
        var iterations = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2_000;
        var (data, labels) = MlOps.Client.Testing.SyntheticRows.Binary(2_000, 20, 5);
        Console.WriteLine($"libxgboost {Booster.LibraryVersion}, {Environment.ProcessorCount} cores, .NET {Environment.Version}, {iterations} iterations");
        Console.WriteLine(Loop("disposed", iterations, data, labels, dispose: true));
        Console.WriteLine(Loop("finalizers only", iterations, data, labels, dispose: false));
        Console.WriteLine(PredictPaths(data, labels));
        return 0;
    }

    private static string Loop(string name, int iterations, float[] data, float[] labels, bool dispose)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var start = Process.GetCurrentProcess().WorkingSet64;
        var peak = start;
        var parameters = new Dictionary<string, object?> { ["objective"] = "binary:logistic", ["max_depth"] = 4, ["nthread"] = 1, ["tree_method"] = "hist" };
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < iterations; i++)
        {
            var train = new DMatrix(data, 2_000, 20, labels);
            var model = MlOps.Client.XGBoost.XGBoost.Train(parameters, train, numBoostRound: 2);
            _ = model.Predict(train);
            if (dispose)
            {
                model.Dispose();
                train.Dispose();
            }

            if (i % 50 == 0)
            {
                peak = Math.Max(peak, Process.GetCurrentProcess().WorkingSet64);
            }
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var after = Process.GetCurrentProcess().WorkingSet64;
        return string.Create(CultureInfo.InvariantCulture,
            $"{name,-16} start {start >> 20} MB, peak {peak >> 20} MB, after collect {after >> 20} MB, {watch.Elapsed.TotalSeconds:0.0} s");
    }

    private static string PredictPaths(float[] data, float[] labels)
    {
        var rows = Enumerable.Range(0, 100).Select(i => data.AsSpan(i * 20, 20).ToArray()).ToArray();
        using var regressor = new XGBRegressor(nEstimators: 50, maxDepth: 4);
        regressor.Fit(Enumerable.Range(0, 2_000).Select(i => data.AsSpan(i * 20, 20).ToArray()).ToArray(), labels);
        var flat = data.AsSpan(0, 100 * 20).ToArray();
        var booster = regressor.Booster;
        double Time(Action action)
        {
            for (var i = 0; i < 200; i++)
            {
                action();
            }

            var watch = Stopwatch.StartNew();
            const int n = 2_000;
            for (var i = 0; i < n; i++)
            {
                action();
            }

            return watch.Elapsed.TotalMicroseconds / n;
        }

        var viaMatrix = Time(() =>
        {
            using var m = new DMatrix(flat, 100, 20);
            _ = booster.Predict(m);
        });
        var inplace = Time(() => booster.InplacePredict(flat, 100, 20));
        var estimator = Time(() => regressor.Predict(rows));
        return string.Create(CultureInfo.InvariantCulture,
            $"predict 100 rows x 50 trees: new DMatrix + Predict {viaMatrix:0.0} µs, InplacePredict {inplace:0.0} µs, XGBRegressor.Predict {estimator:0.0} µs");
    }
}
