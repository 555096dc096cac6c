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
    private static Func<Stores.ITrackingStore> s_newStore = () => new NullStore();

    public static int Run(string[] args)
    {
        var calls = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10_000_000;
        Console.WriteLine($"# hot path; {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd}");

        // Burst: the buffer holds every call, so this is the training thread's own cost. This VM's timing noise is
        // ±30 %: seven runs, and their median is the figure.
        var runs = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 7;

        // The ablation of issue V's last change: "metric-objects" gives the uploader a store that takes only Metric lists
        // (as any store of the user's own does), so that it makes a Metric object per value as it did before.
        var metricObjects = args.Contains("metric-objects");
        Console.WriteLine(metricObjects
            ? "store: takes Metric lists only (the uploader makes a Metric object per value, as before issue V)"
            : "store: takes the uploader's metric rows, as the built-in stores do");
        s_newStore = metricObjects ? () => new MetricListStore(new NullStore()) : () => new NullStore();

        // Warm-up, not counted: tiered compilation installs the optimized (profile-guided) code of the call path on a
        // background thread, 100 ms after the last new method ran; until then the bursts mix tiers (measured: the first
        // runs 35–66 ns, the later ones 20–36 ns, and a steady ~39 ns with DOTNET_TieredCompilation=0). BenchmarkDotNet
        // warms up for the same reason.
        for (var w = 0; w < 2; w++)
        {
            Measure($"warm-up {w + 1} (not counted)", calls: 2_000_000, buffer: 4_194_304);
            Thread.Sleep(300);
        }

        var burst = new List<(double Ns, double Bytes, double NsOutsideCollections)>();
        for (var r = 0; r < runs; r++)
        {
            burst.Add(Measure($"burst run {r + 1} (buffer never full)", calls: 2_000_000, buffer: 4_194_304));
        }

        var sorted = burst.OrderBy(b => b.Ns).ToList();
        var limit = Limit();
        var outside = burst.Select(b => b.NsOutsideCollections).Order().ToList();
        Console.WriteLine($"burst median of {runs}: {sorted[runs / 2].Ns:F1} ns/op (min {sorted[0].Ns:F1}, max {sorted[^1].Ns:F1}); training-thread bytes/op max {burst.Max(b => b.Bytes):F3}");
        Console.WriteLine($"  the same outside the collections the uploader's allocations cause (pauses that stop the training thread too): median {outside[runs / 2]:F1} ns/op (min {outside[0]:F1}, max {outside[^1]:F1})");
        Console.WriteLine($"limit (same run): one clock read + one compare-and-swap + a 64-byte slot written in a ring as large as the burst's = {limit:F1} ns; burst median ÷ limit = {sorted[runs / 2].Ns / limit:F2}");

        // Sustained: the uploader must keep up; backpressure shows when it cannot.
        Measure("sustained", calls, buffer: new TrackerOptions().Uploader.MaxBufferedEntities);
        return 0;
    }

    /// <summary>
    /// What one call cannot do without (issue V's anchor): <c>Environment.TickCount64</c>, a compare-and-swap of the ring's
    /// position and 64 bytes written to the next slot of a 4 M-slot ring (the burst's size, so the same memory traffic),
    /// nothing else. The median of seven runs of 2 M operations.
    /// </summary>
    private static double Limit()
    {
        var ring = new long[4_194_304 * 8]; // 4 M slots of 64 bytes
        long position = 0, sink = 0;
        var times = new List<double>();
        for (var r = 0; r < 8; r++)
        {
            var sw = Stopwatch.StartNew();
            for (var i = 0; i < 2_000_000; i++)
            {
                var now = Environment.TickCount64;
                var pos = Volatile.Read(ref position);
                Interlocked.CompareExchange(ref position, pos + 1, pos);
                var slot = (int)(pos & 4_194_303) * 8;
                ring[slot] = pos + 1;
                ring[slot + 1] = now;
                ring[slot + 2] = i;
                ring[slot + 3] = i;
                ring[slot + 4] = now;
                ring[slot + 5] = i;
                ring[slot + 6] = pos;
                Volatile.Write(ref ring[slot + 7], now);
            }

            sink += ring[(int)(position & 4_194_303) * 8];
            if (r > 0)
            {
                times.Add(sw.Elapsed.TotalNanoseconds / 2_000_000); // the first run warms the JIT and the pages
            }
        }

        GC.KeepAlive(sink);
        return times.Order().ElementAt(times.Count / 2);
    }

    /// <summary>The process's minor page faults so far (Linux: /proc/self/stat's 10th field), or -1 elsewhere.</summary>
    private static long MinorPageFaults()
    {
        if (!OperatingSystem.IsLinux())
        {
            return -1;
        }

        var stat = File.ReadAllText("/proc/self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' '); // after the command name, which may hold spaces
        return long.Parse(fields[7], CultureInfo.InvariantCulture); // field 10 of the whole line: minflt
    }

    private static (double Ns, double Bytes, double NsOutsideCollections) Measure(string label, int calls, int buffer)
    {
        var store = s_newStore();
        var options = new TrackerOptions { HandleProcessExit = false, SetSystemTags = false };
        options.Uploader.MaxBufferedEntities = buffer;
        using var tracker = new Tracker(store, options);
        using var run = tracker.StartRun("hotpath");
        const string key = "train-loss";
        for (var i = 0; i < 100_000; i++)
        {
            run.LogMetric(key, i, i); // warm-up: JIT, ring, validated-key cache
        }

        // The previous run's ring (hundreds of MiB) is garbage now: collect it before the clock starts, as
        // BenchmarkDotNet does between iterations, so that no background collection of it runs during the measurement.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var faults = MinorPageFaults(); // reads a file: before the allocation count starts
        var before = GC.GetAllocatedBytesForCurrentThread();
        var gcs = GC.CollectionCount(0);
        var paused = GC.GetTotalPauseDuration();
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < calls; i++)
        {
            run.LogMetric(key, i * 0.5, i);
        }

        sw.Stop();
        var pausedInLoop = GC.GetTotalPauseDuration() - paused;
        var collectionsInLoop = GC.CollectionCount(0) - gcs;
        var bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        var faultsInLoop = MinorPageFaults() - faults;
        Console.WriteLine($"{label}: {calls:N0} LogMetric calls on one thread; ns/op: {sw.Elapsed.TotalNanoseconds / calls:F1}; training-thread bytes/op: {(double)bytes / calls:F3} ({bytes:N0} bytes in all); backpressure waits: {tracker.Counters.BackpressureWaits:N0}; collections during the loop: {collectionsInLoop} ({pausedInLoop.TotalMilliseconds:F1} ms paused); page faults: {(faults < 0 ? "n/a" : faultsInLoop.ToString("N0", CultureInfo.InvariantCulture))}");
        return (sw.Elapsed.TotalNanoseconds / calls, (double)bytes / calls, (sw.Elapsed - pausedInLoop).TotalNanoseconds / calls);
    }

    /// <summary>A store that hides the rows the inner one takes: the uploader gives it Metric objects.</summary>
    private sealed class MetricListStore(NullStore inner) : MlOps.Client.Testing.DelegatingTrackingStore(inner);
}
