using System.Diagnostics;
using System.Globalization;
using MlOps.Client.SystemMetrics;

namespace MlOps.Client.Benchmarks;

/// <summary>
/// What the system-metrics sampler costs: the wall time and the process CPU time of one sample of this machine's
/// sources (CPU, memory, disk, network, GPU if any, .NET), over many samples, and that CPU time as a share of one core
/// at Python's default 10 s interval.
/// </summary>
internal static class SystemMetricsHarness
{
    public static int Run(string[] args)
    {
        var samples = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2000;
        var sources = SystemMetricsSources.ForThisMachine(includeDotNet: true);
        foreach (var s in sources)
        {
            _ = s.Collect().ToList(); // warm up (first reads, JIT)
        }

        using var process = Process.GetCurrentProcess();
        process.Refresh();
        var cpuBefore = process.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        var values = 0;
        for (var i = 0; i < samples; i++)
        {
            foreach (var s in sources)
            {
                values += s.Collect().Count();
            }
        }

        wall.Stop();
        process.Refresh();
        var cpu = process.TotalProcessorTime - cpuBefore;
        var cpuPerSample = cpu.TotalMicroseconds / samples;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"system metrics: {sources.Count} sources ({string.Join(", ", sources.Select(s => s.GetType().Name))}), {values / samples} values per sample"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"per sample: {wall.Elapsed.TotalMicroseconds / samples:0.0} µs wall, {cpuPerSample:0.0} µs CPU; at a 10 s interval: {cpuPerSample / 10_000_000 * 100:0.0000} % of one core"));
        return 0;
    }
}
