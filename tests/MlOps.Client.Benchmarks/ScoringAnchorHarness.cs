using System.Diagnostics;
using System.Globalization;
using MlOps.Client.XGBoost;

namespace MlOps.Client.Benchmarks;

/// <summary>
/// The limit the 100-row scoring path is measured against (issue V): XGBoost's own in-place predict of the same rows
/// in-process, on as many threads as the machine has cores, one thread per prediction as the serving flavor sets it —
/// no HTTP, no JSON. Prints rows/s over a few seconds for XGBoost's in-place predict and for the managed copy of the trees
/// (<see cref="TreeEnsemble"/>, when the model is one it reproduces); ScoringLoad/limits.py runs it in the same run as
/// the server and takes the faster of the two as the limit.
/// </summary>
internal static class ScoringAnchorHarness
{
    public static int Run(string[] args)
    {
        if (args.Length < 2)
        {
            Console.Error.WriteLine("usage: scoring-anchor MODEL_FILE [ROWS_FILE] [SECONDS]   (ROWS_FILE: one row a line, comma-separated floats)");
            return 2;
        }

        using var booster = Booster.Load(args[1], allowLegacyBinary: true); // a model this project logged (a trusted file)
        booster.SetParameter("nthread", 1); // as XGBoostServing: requests run in parallel, one thread each
        var columns = (int)booster.FeatureCount;
        float[] rows = args.Length > 2 && args[2] != "-"
            ? [.. File.ReadLines(args[2]).Where(l => l.Length > 0).SelectMany(l => l.Split(',').Select(v => float.Parse(v, CultureInfo.InvariantCulture)))]
            : [.. Enumerable.Range(0, 100 * columns).Select(i => (float)(i % 7))];
        var count = rows.Length / columns;
        var seconds = args.Length > 3 ? double.Parse(args[3], CultureInfo.InvariantCulture) : 5;
        var trees = TreeEnsemble.TryCreate(booster, out var reason);
        if (trees is null)
        {
            Console.WriteLine("no managed copy of the trees: " + reason);
        }

        Measure("native", seconds, () => () => booster.InplacePredict(rows, count, columns), count);
        if (trees is not null)
        {
            Measure("managed", seconds, () =>
            {
                var output = new float[count * trees.OutputsPerRow]; // each thread its own, as each request has
                return () => trees.Predict(rows, count, output);
            }, count);
        }

        return 0;
    }

    private static void Measure(string path, double seconds, Func<Action> perThread, int count)
    {
        foreach (var phase in new[] { 1.0, seconds })
        {
            // The first second warms the JIT and XGBoost's per-thread buffers; the second phase is measured.
            long predicted = 0;
            var watch = Stopwatch.StartNew();
            var threads = Enumerable.Range(0, Environment.ProcessorCount).Select(_ => new Thread(() =>
            {
                long mine = 0;
                var predict = perThread();
                while (watch.Elapsed.TotalSeconds < phase)
                {
                    predict();
                    mine += count;
                }

                Interlocked.Add(ref predicted, mine);
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            if (phase == seconds)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"RESULT path={path} rows_per_s={predicted / watch.Elapsed.TotalSeconds:0} rows_per_call={count} threads={threads.Count}"));
            }
        }
    }
}
