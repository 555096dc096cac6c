using System.Diagnostics;
using System.Globalization;
using MlOps.Client.Tracking;

namespace MlOps.Client.Benchmarks;

/// <summary>
/// Measures what the training thread alone pays per <c>LogMetric</c>: bytes allocated on that thread
/// (<see cref="GC.GetAllocatedBytesForCurrentThread"/>, so the uploader's own work is excluded) and ns/op,
/// in steady state after a warm-up.
/// </summary>
internal static class HotPathHarness
{
    public static int Run(string[] args)
    {
        var calls = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10_000_000;
        Console.WriteLine($"# hot path; {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd}");

        // Burst: the buffer holds every call, so this is the training thread's own cost. This VM's timing noise is
        // ±30 %: seven runs, and their median is the figure.
        var runs = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 7;
        var burst = new List<(double Ns, double Bytes)>();
        for (var r = 0; r < runs; r++)
        {
            burst.Add(Measure($"burst run {r + 1} (buffer never full)", calls: 2_000_000, buffer: 4_194_304));
        }

        var sorted = burst.OrderBy(b => b.Ns).ToList();
        Console.WriteLine($"burst median of {runs}: {sorted[runs / 2].Ns:F1} ns/op (min {sorted[0].Ns:F1}, max {sorted[^1].Ns:F1}); training-thread bytes/op max {burst.Max(b => b.Bytes):F3}");

        // Sustained: the uploader must keep up; backpressure shows when it cannot.
        Measure("sustained", calls, buffer: new TrackerOptions().Uploader.MaxBufferedEntities);
        return 0;
    }

    private static (double Ns, double Bytes) Measure(string label, int calls, int buffer)
    {
        var store = new NullStore();
        var options = new TrackerOptions { HandleProcessExit = false, SetSystemTags = false };
        options.Uploader.MaxBufferedEntities = buffer;
        using var tracker = new Tracker(store, options);
        using var run = tracker.StartRun("hotpath");
        const string key = "train-loss";
        for (var i = 0; i < 100_000; i++)
        {
            run.LogMetric(key, i, i); // warm-up: JIT, ring, validated-key cache
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < calls; i++)
        {
            run.LogMetric(key, i * 0.5, i);
        }

        sw.Stop();
        var bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        Console.WriteLine($"{label}: {calls:N0} LogMetric calls on one thread; ns/op: {sw.Elapsed.TotalNanoseconds / calls:F1}; training-thread bytes/op: {(double)bytes / calls:F3} ({bytes:N0} bytes in all); backpressure waits: {tracker.Counters.BackpressureWaits:N0}");
        return (sw.Elapsed.TotalNanoseconds / calls, (double)bytes / calls);
    }
}
