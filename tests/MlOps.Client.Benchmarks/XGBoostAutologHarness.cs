using System.Diagnostics;
using System.Globalization;
using MlOps.Client.Stores;
using MlOps.Client.Tracking;
using MlOps.Client.XGBoost;
using MlOps.Client.XGBoost.Autologging;
using Xgb = MlOps.Client.XGBoost.XGBoost;

namespace MlOps.Client.Benchmarks;

/// <summary>
/// Autolog overhead: <c>XGBoost.Train</c> for 200 rounds on 100k × 50 generated rows with <c>evals=[(dtrain, "train")]</c>,
/// alternating runs without and with autologging (to the embedded store in a temporary folder), median of each.
/// </summary>
internal static class XGBoostAutologHarness
{
    public static async Task<int> RunAsync(string[] args)
    {
        var pairs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
        var rows = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 100_000;
        const int columns = 50, rounds = 200;
        var random = new Random(42);
        var data = new float[rows * columns];
        var labels = new float[rows];
        for (var i = 0; i < rows; i++)
        {
            double score = 0;
            for (var j = 0; j < columns; j++)
            {
                var v = (float)random.NextDouble();
                data[(i * columns) + j] = v;
                score += j < 10 ? v * (j % 2 == 0 ? 1 : -1) : 0;
            }

            labels[i] = score + (0.3 * random.NextDouble()) > 0.15 ? 1 : 0;
        }

        using var dtrain = new DMatrix(data, rows, columns, labels);
        var parameters = new Dictionary<string, object?>
        {
            ["objective"] = "binary:logistic", ["tree_method"] = "hist", ["max_depth"] = 6, ["eta"] = 0.1, ["eval_metric"] = "logloss", ["seed"] = 1,
        };

        var dir = Directory.CreateTempSubdirectory("mlops-xgb-bench-");
        try
        {
            await using var store = SqliteTrackingStore.Open("sqlite:///" + Path.Combine(dir.FullName, "mlflow.db"));
            await using var tracker = new Tracker(store, new TrackerOptions { HandleProcessExit = false });
            var plain = new List<double>();
            var logged = new List<double>();
            var loggedUntilEnd = new List<double>();

            // Warm-up (JIT, thread pool, first native calls).
            using (Xgb.Train(parameters, dtrain, 5, [(dtrain, "train")]))
            {
            }

            for (var p = 0; p < pairs; p++)
            {
                var sw = Stopwatch.StartNew();
                using (Xgb.Train(parameters, dtrain, rounds, [(dtrain, "train")]))
                {
                    plain.Add(sw.Elapsed.TotalSeconds);
                }

                sw.Restart();
                var run = await tracker.StartRunAsync($"autolog-{p}");
                using (tracker.AutologXGBoost())
                using (Xgb.Train(parameters, dtrain, rounds, [(dtrain, "train")]))
                {
                    logged.Add(sw.Elapsed.TotalSeconds);
                }

                await run.EndAsync();
                loggedUntilEnd.Add(sw.Elapsed.TotalSeconds);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"pair {p}: without {plain[^1]:F3} s, with autolog {logged[^1]:F3} s (run ended after {loggedUntilEnd[^1]:F3} s)"));
            }

            // Where the autolog time goes, on the last booster: each piece timed alone (second call, warm).
            using (var booster = Xgb.Train(parameters, dtrain, rounds))
            {
                var piece = await tracker.StartRunAsync("pieces");
                for (var k = 0; k < 2; k++)
                {
                    var t = Stopwatch.StartNew();
                    FeatureImportance.Log(piece, booster, ImportanceType.Weight, plot: null);
                    var importance = t.Elapsed.TotalMilliseconds;
                    t.Restart();
                    _ = piece.LogModelAsync(booster, new MlOps.Client.XGBoost.Models.XGBoostFlavor(), $"model{k}", XGBoostAutologSession.Signature(booster, dtrain));
                    var model = t.Elapsed.TotalMilliseconds;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"call {k}: feature importance (json + png) {importance:F1} ms, model save + signature {model:F1} ms"));
                }

                await piece.EndAsync();
            }

            double Median(List<double> v) => v.Order().ElementAt(v.Count / 2);
            var overhead = (Median(logged) / Median(plain)) - 1;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"xgboost {Booster.LibraryVersion}, {rows} x {columns}, {rounds} rounds, {Environment.ProcessorCount} cores: median without {Median(plain):F3} s, with autolog {Median(logged):F3} s, overhead {overhead * 100:F2} % (until run end {((Median(loggedUntilEnd) / Median(plain)) - 1) * 100:F2} %)"));
            return 0;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            dir.Delete(recursive: true);
        }
    }
}
