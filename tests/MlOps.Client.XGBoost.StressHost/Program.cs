// Usage: MlOps.Client.XGBoost.StressHost <scenario> [size]
// Each scenario stresses a pattern that used to crash the process or corrupt results, checks what it can, and prints
// "OK <figures>" (exit 0) or "FAIL <why>" (exit 1). A crash is the parent test's failure: it reads the exit code.
using System.Diagnostics;
using System.Globalization;
using MlOps.Client.Testing;
using MlOps.Client.XGBoost;

var scenario = args[0];
var size = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 0;
try
{
    var result = scenario switch
    {
        "temporary-labels" => TemporaryLabels(size == 0 ? 2_000 : size),
        "booster-dispose-race" => BoosterDisposeRace(size == 0 ? 50 : size),
        "dmatrix-dispose-race" => DMatrixDisposeRace(size == 0 ? 50 : size),
        "shared-dmatrix-training" => SharedDMatrixTraining(size == 0 ? 3 : size),
        "finalizer-only" => FinalizerOnly(size == 0 ? 2_000 : size),
        "corrupt-models" => CorruptModels(size == 0 ? 150 : size),
        _ => throw new ArgumentException("unknown scenario " + scenario),
    };
    Console.WriteLine("OK " + result);
    return 0;
}
catch (Exception ex)
{
    Console.WriteLine("FAIL " + ex);
    return 1;
}

static Dictionary<string, object?> Params(string method) => new()
{
    ["objective"] = "binary:logistic",
    ["max_depth"] = 4,
    ["eta"] = 0.3,
    ["seed"] = 7,
    ["nthread"] = 1,
    ["tree_method"] = method,
};

// `new DMatrix(...).Labels` on a temporary, with collections running all the time: the finalizer must not free the
// matrix before its buffer is copied.
static string TemporaryLabels(int iterations)
{
    const int rows = 100_000; // a 400 KB label buffer: glibc maps it on its own, so a read after the free faults
    var (data, labels) = SyntheticRows.Binary(rows, 1, 1);
    using var stop = new CancellationTokenSource();
    var collector = new Thread(() =>
    {
        while (!stop.IsCancellationRequested)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }) { IsBackground = true };
    collector.Start();
    for (var i = 0; i < iterations; i++)
    {
        var copy = new DMatrix(data, rows, 1, labels).Labels;
        if (copy.Length != rows || copy[17] != labels[17] || copy[rows - 1] != labels[rows - 1])
        {
            throw new InvalidOperationException($"iteration {i}: labels read back wrong");
        }
    }

    stop.Cancel();
    collector.Join();
    return $"{iterations} temporaries read";
}

// Four threads predict on one booster; it is disposed while they run. Every prediction that returns is right, none
// starts after Dispose returned, IsDisposed is true at once, and later calls throw ObjectDisposedException.
static string BoosterDisposeRace(int trials)
{
    var (data, labels) = SyntheticRows.Binary(300, 8, 2);
    using var train = new DMatrix(data, 300, 8, labels);
    using var model = XGBoost.Train(Params("hist"), train, numBoostRound: 20);
    var bytes = model.SaveToBuffer();
    using var test = new DMatrix(data.AsSpan(0, 50 * 8), 50, 8);
    var expected = model.Predict(test);
    long predictions = 0, afterDispose = 0, disposedErrors = 0;
    for (var t = 0; t < trials; t++)
    {
        var booster = Booster.LoadFromBuffer(bytes);
        var disposed = 0;
        long started = 0;
        var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
        {
            while (true)
            {
                var disposedBefore = Volatile.Read(ref disposed) == 1;
                try
                {
                    var got = booster.Predict(test);
                    Interlocked.Increment(ref started);
                    if (disposedBefore)
                    {
                        Interlocked.Increment(ref afterDispose);
                    }

                    if (!got.AsSpan().SequenceEqual(expected))
                    {
                        throw new InvalidOperationException("a prediction differs from the model's");
                    }
                }
                catch (ObjectDisposedException)
                {
                    Interlocked.Increment(ref disposedErrors);
                    return;
                }
            }
        })).ToList();
        threads.ForEach(th => th.Start());
        var spin = new SpinWait();
        while (Interlocked.Read(ref started) < 40)
        {
            spin.SpinOnce();
        }

        booster.Dispose();
        if (!booster.IsDisposed)
        {
            throw new InvalidOperationException("IsDisposed is false right after Dispose");
        }

        Volatile.Write(ref disposed, 1);
        threads.ForEach(th => th.Join());
        predictions += Interlocked.Read(ref started);
    }

    if (afterDispose != 0)
    {
        throw new InvalidOperationException($"{afterDispose} predictions started after Dispose returned");
    }

    return $"{trials} trials, {predictions} predictions, {disposedErrors} ObjectDisposedException after Dispose, 0 started after it";
}

// Three threads read Labels while the matrix is disposed.
static string DMatrixDisposeRace(int trials)
{
    var (data, labels) = SyntheticRows.Binary(2_000, 10, 3);
    long reads = 0;
    for (var t = 0; t < trials; t++)
    {
        var matrix = new DMatrix(data, 2_000, 10, labels);
        long started = 0;
        var threads = Enumerable.Range(0, 3).Select(_ => new Thread(() =>
        {
            try
            {
                while (true)
                {
                    var got = matrix.Labels;
                    if (got.Length != 2_000 || got[1_999] != labels[1_999])
                    {
                        throw new InvalidOperationException("labels read back wrong");
                    }

                    Interlocked.Increment(ref started);
                }
            }
            catch (ObjectDisposedException)
            {
            }
        })).ToList();
        threads.ForEach(th => th.Start());
        var spin = new SpinWait();
        while (Interlocked.Read(ref started) < 30)
        {
            spin.SpinOnce();
        }

        matrix.Dispose();
        threads.ForEach(th => th.Join());
        reads += started;
    }

    return $"{trials} trials, {reads} reads";
}

// Four boosters train at once on one shared DMatrix: every model equals the one trained alone.
static string SharedDMatrixTraining(int rounds)
{
    var (data, labels) = SyntheticRows.Binary(2_000, 12, 4);
    using var shared = new DMatrix(data, 2_000, 12, labels);
    var summary = new List<string>();
    foreach (var method in new[] { "exact", "approx", "hist" })
    {
        string reference;
        using (var alone = new DMatrix(data, 2_000, 12, labels))
        using (var model = XGBoost.Train(Params(method), alone, numBoostRound: 20))
        {
            reference = System.Text.Encoding.UTF8.GetString(model.SaveToBuffer());
        }

        var equal = 0;
        for (var r = 0; r < rounds; r++)
        {
            var models = new string[4];
            var threads = Enumerable.Range(0, 4).Select(i => new Thread(() =>
            {
                using var model = XGBoost.Train(Params(method), shared, numBoostRound: 20);
                models[i] = System.Text.Encoding.UTF8.GetString(model.SaveToBuffer());
            })).ToList();
            threads.ForEach(th => th.Start());
            threads.ForEach(th => th.Join());
            equal += models.Count(m => m == reference);
        }

        if (equal != rounds * 4)
        {
            throw new InvalidOperationException($"{method}: {equal} of {rounds * 4} models trained concurrently on a shared DMatrix equal the one trained alone");
        }

        summary.Add($"{method} {equal}/{rounds * 4}");
    }

    return "models equal to sequential: " + string.Join(", ", summary);
}

// No Dispose at all: native memory must stay bounded because the matrices report their size to the GC.
static string FinalizerOnly(int iterations)
{
    var (data, labels) = SyntheticRows.Binary(2_000, 20, 5);
    var peak = 0L;
    var watch = Stopwatch.StartNew();
    for (var i = 0; i < iterations; i++)
    {
        var train = new DMatrix(data, 2_000, 20, labels);
        var model = XGBoost.Train(Params("hist"), train, numBoostRound: 2);
        _ = model.Predict(train);
        if (i % 50 == 0)
        {
            peak = Math.Max(peak, Process.GetCurrentProcess().WorkingSet64);
        }
    }

    GC.Collect();
    GC.WaitForPendingFinalizers();
    GC.Collect();
    var after = Process.GetCurrentProcess().WorkingSet64;
    return $"iterations={iterations} peak_working_set_mb={peak >> 20} after_collect_mb={after >> 20} seconds={watch.Elapsed.TotalSeconds:0.0}";
}

// Model bytes with 4 flipped bits, JSON and UBJSON: each either is refused (InvalidDataException or XGBoostException)
// or loads and predicts — never a crash, never a hang (a prediction that does not return in 20 s fails the run).
static string CorruptModels(int trials)
{
    var (data, labels) = SyntheticRows.Binary(200, 6, 8);
    using var train = new DMatrix(data, 200, 6, labels);
    using var model = XGBoost.Train(Params("hist"), train, numBoostRound: 5);
    var report = new List<string>();
    // XGBoost 3.1+ neither writes nor reads the legacy binary format: its bytes are made only where they exist.
    ModelFormat[] formats = Booster.LibraryVersion < new Version(3, 1) ? [ModelFormat.Json, ModelFormat.Ubj, ModelFormat.Legacy] : [ModelFormat.Json, ModelFormat.Ubj];
    foreach (var format in formats)
    {
        var original = model.SaveToBuffer(format);
        var random = new Random(42);
        int refused = 0, loaded = 0;
        for (var t = 0; t < trials; t++)
        {
            var bytes = (byte[])original.Clone();
            for (var b = 0; b < 4; b++)
            {
                var at = random.Next(bytes.Length);
                bytes[at] ^= (byte)(1 << random.Next(8));
            }

            try
            {
                using var booster = Booster.LoadFromBuffer(bytes); // legacy: refused by default, whatever the bytes
                var predict = Task.Run(() => booster.Predict(train));
                if (!predict.Wait(TimeSpan.FromSeconds(20)))
                {
                    throw new InvalidOperationException($"{format} trial {t}: prediction did not return (a hang)");
                }

                loaded++;
            }
            catch (Exception ex) when (ex is InvalidDataException or XGBoostException
                or AggregateException { InnerException: XGBoostException })
            {
                refused++;
            }
        }

        report.Add($"{format}: {refused} refused, {loaded} loaded");
    }

    return string.Join("; ", report);
}
