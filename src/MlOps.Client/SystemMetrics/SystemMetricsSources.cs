using System.Diagnostics;
using System.Globalization;
using System.Net.NetworkInformation;

namespace MlOps.Client.SystemMetrics;

/// <summary>How the samples of one metric become the logged value.</summary>
internal enum SampleAggregation
{
    /// <summary>The mean of the samples, rounded to one decimal (Python's CPU, memory, disk and GPU monitors).</summary>
    Mean,

    /// <summary>The last sample (Python's network monitor: megabytes since monitoring started).</summary>
    Last,
}

/// <summary>One sampled value.</summary>
internal readonly record struct SystemSample(string Name, double Value, SampleAggregation Aggregation = SampleAggregation.Mean);

/// <summary>A source of system figures, sampled on the monitor's thread.</summary>
internal interface ISystemMetricsSource
{
    /// <summary>Takes one sample of each figure.</summary>
    IEnumerable<SystemSample> Collect();
}

/// <summary>The sources of this machine, with Python MLflow's metric names.</summary>
internal static class SystemMetricsSources
{
    public static IReadOnlyList<ISystemMetricsSource> ForThisMachine(bool includeDotNet)
    {
        var sources = new List<ISystemMetricsSource>();
        if (OperatingSystem.IsLinux() && File.Exists("/proc/stat") && File.Exists("/proc/meminfo"))
        {
            sources.Add(new LinuxCpuMemorySource());
        }

        sources.Add(new DiskSource());
        sources.Add(new NetworkSource());
        if (NvidiaSmiSource.TryCreate() is { } gpu)
        {
            sources.Add(gpu);
        }

        if (includeDotNet)
        {
            sources.Add(new DotNetProcessSource());
        }

        return sources;
    }
}

/// <summary>
/// <c>cpu_utilization_percentage</c> (all cores, from <c>/proc/stat</c> between two samples, as psutil's
/// <c>cpu_percent()</c>), <c>system_memory_usage_megabytes</c> and <c>system_memory_usage_percentage</c> (psutil's
/// <c>used</c> = total − free − buffers − cached, over total, as MLflow's CPU monitor computes them).
/// </summary>
internal sealed class LinuxCpuMemorySource : ISystemMetricsSource
{
    private (ulong Busy, ulong Total)? _last;

    public LinuxCpuMemorySource() => _last = ReadCpu();

    public IEnumerable<SystemSample> Collect()
    {
        var now = ReadCpu();
        double cpu = 0;
        if (_last is { } last && now.Total > last.Total)
        {
            cpu = Math.Round(100.0 * (now.Busy - last.Busy) / (now.Total - last.Total), 1);
        }

        _last = now;
        yield return new SystemSample("cpu_utilization_percentage", cpu);

        var info = File.ReadAllLines("/proc/meminfo")
            .Select(l => l.Split(':', 2))
            .Where(p => p.Length == 2)
            .ToDictionary(p => p[0].Trim(), p => ulong.TryParse(p[1].Trim().Split(' ')[0], NumberStyles.None, CultureInfo.InvariantCulture, out var kb) ? kb * 1024 : 0, StringComparer.Ordinal);
        var total = (double)info.GetValueOrDefault("MemTotal");
        var cached = info.GetValueOrDefault("Cached") + info.GetValueOrDefault("SReclaimable");
        var used = total - info.GetValueOrDefault("MemFree") - info.GetValueOrDefault("Buffers") - cached;
        if (used < 0)
        {
            used = total - info.GetValueOrDefault("MemFree");
        }

        yield return new SystemSample("system_memory_usage_megabytes", used / 1e6);
        yield return new SystemSample("system_memory_usage_percentage", total > 0 ? used / total * 100 : 0);
    }

    private static (ulong Busy, ulong Total) ReadCpu()
    {
        using var reader = new StreamReader("/proc/stat");
        var fields = (reader.ReadLine() ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(f => ulong.TryParse(f, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0).ToArray();
        if (fields.Length < 4)
        {
            return (0, 0);
        }

        // user nice system idle iowait irq softirq steal guest guest_nice; psutil: busy = total - idle - iowait, guests already in user/nice.
        var total = fields.Take(Math.Min(fields.Length, 8)).Aggregate(0UL, (a, b) => a + b);
        var idle = fields[3] + (fields.Length > 4 ? fields[4] : 0);
        return (total - idle, total);
    }
}

/// <summary><c>disk_usage_percentage</c>, <c>disk_usage_megabytes</c>, <c>disk_available_megabytes</c> of the root file system (psutil's <c>disk_usage(os.sep)</c>).</summary>
internal sealed class DiskSource : ISystemMetricsSource
{
    private readonly DriveInfo _drive = new(Path.GetPathRoot(OperatingSystem.IsWindows() ? Environment.SystemDirectory : "/")!);

    public IEnumerable<SystemSample> Collect()
    {
        double used = _drive.TotalSize - _drive.TotalFreeSpace;
        double free = _drive.AvailableFreeSpace;
        yield return new SystemSample("disk_usage_percentage", used + free > 0 ? Math.Round(used / (used + free) * 100, 1) : 0);
        yield return new SystemSample("disk_usage_megabytes", used / 1e6);
        yield return new SystemSample("disk_available_megabytes", free / 1e6);
    }
}

/// <summary><c>network_receive_megabytes</c>, <c>network_transmit_megabytes</c>: bytes over all interfaces since monitoring started (psutil's <c>net_io_counters()</c>).</summary>
internal sealed class NetworkSource : ISystemMetricsSource
{
    private readonly (double Received, double Sent) _initial = Read();

    public IEnumerable<SystemSample> Collect()
    {
        var (received, sent) = Read();
        yield return new SystemSample("network_receive_megabytes", (received - _initial.Received) / 1e6, SampleAggregation.Last);
        yield return new SystemSample("network_transmit_megabytes", (sent - _initial.Sent) / 1e6, SampleAggregation.Last);
    }

    private static (double Received, double Sent) Read()
    {
        double received = 0, sent = 0;
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            try
            {
                var stats = nic.GetIPStatistics();
                received += stats.BytesReceived;
                sent += stats.BytesSent;
            }
            catch (NetworkInformationException)
            {
                // an interface that went away between listing and reading
            }
        }

        return (received, sent);
    }
}

/// <summary>
/// NVIDIA GPUs through <c>nvidia-smi</c> (MLflow reads NVML): <c>gpu_&lt;i&gt;_utilization_percentage</c>,
/// <c>gpu_&lt;i&gt;_memory_usage_percentage</c>, <c>gpu_&lt;i&gt;_memory_usage_megabytes</c>, <c>gpu_&lt;i&gt;_power_usage_watts</c>,
/// <c>gpu_&lt;i&gt;_power_usage_percentage</c>. Absent (not created) where <c>nvidia-smi</c> is not on the PATH or finds no GPU.
/// </summary>
internal sealed class NvidiaSmiSource : ISystemMetricsSource
{
    private readonly string _path;

    private NvidiaSmiSource(string path) => _path = path;

    public static NvidiaSmiSource? TryCreate()
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, OperatingSystem.IsWindows() ? "nvidia-smi.exe" : "nvidia-smi")).FirstOrDefault(File.Exists);
        if (path is null)
        {
            return null;
        }

        var source = new NvidiaSmiSource(path);
        return source.Collect().Any() ? source : null;
    }

    public IEnumerable<SystemSample> Collect()
    {
        string output;
        try
        {
            var start = new ProcessStartInfo(_path, "--query-gpu=index,utilization.gpu,memory.used,memory.total,power.draw,power.limit --format=csv,noheader,nounits")
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            using var process = Process.Start(start)!;
            output = process.StandardOutput.ReadToEnd();
            if (!process.WaitForExit(5_000) || process.ExitCode != 0)
            {
                return [];
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return [];
        }

        var samples = new List<SystemSample>();
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var f = line.Split(',', StringSplitOptions.TrimEntries);
            double Num(int i) => i < f.Length && double.TryParse(f[i], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : double.NaN;
            if (f.Length < 6)
            {
                continue;
            }

            var i = f[0];
            samples.Add(new SystemSample($"gpu_{i}_utilization_percentage", Num(1)));
            samples.Add(new SystemSample($"gpu_{i}_memory_usage_megabytes", Num(2) * 1.048576)); // MiB → MB
            samples.Add(new SystemSample($"gpu_{i}_memory_usage_percentage", Num(3) > 0 ? Num(2) / Num(3) * 100 : double.NaN));
            if (!double.IsNaN(Num(4)))
            {
                samples.Add(new SystemSample($"gpu_{i}_power_usage_watts", Num(4)));
                samples.Add(new SystemSample($"gpu_{i}_power_usage_percentage", Num(5) > 0 ? Num(4) / Num(5) * 100 : double.NaN));
            }
        }

        return samples.Where(s => !double.IsNaN(s.Value)).ToList();
    }
}

/// <summary>
/// The .NET process, under names of its own (Python has no equivalent): <c>dotnet_gc_heap_megabytes</c> (managed heap
/// in use), <c>dotnet_gc_pause_time_percentage</c> (share of wall time in GC pauses since the last sample),
/// <c>dotnet_threadpool_queue_length</c> (work items waiting), <c>dotnet_threadpool_threads</c>,
/// <c>dotnet_process_memory_megabytes</c> (working set) and <c>dotnet_process_cpu_percentage</c> (of all cores).
/// </summary>
internal sealed class DotNetProcessSource : ISystemMetricsSource
{
    private TimeSpan _lastPause = GC.GetTotalPauseDuration();
    private TimeSpan _lastCpu = Process.GetCurrentProcess().TotalProcessorTime;
    private long _lastTimestamp = Stopwatch.GetTimestamp();

    public IEnumerable<SystemSample> Collect()
    {
        var timestamp = Stopwatch.GetTimestamp();
        var wall = Stopwatch.GetElapsedTime(_lastTimestamp, timestamp);
        var pause = GC.GetTotalPauseDuration();
        using var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var pausePercent = wall > TimeSpan.Zero ? (pause - _lastPause) / wall * 100 : 0;
        var cpuPercent = wall > TimeSpan.Zero ? (cpu - _lastCpu) / wall / Environment.ProcessorCount * 100 : 0;
        (_lastPause, _lastCpu, _lastTimestamp) = (pause, cpu, timestamp);
        return
        [
            new("dotnet_gc_heap_megabytes", GC.GetTotalMemory(false) / 1e6),
            new("dotnet_gc_pause_time_percentage", pausePercent),
            new("dotnet_threadpool_queue_length", ThreadPool.PendingWorkItemCount),
            new("dotnet_threadpool_threads", ThreadPool.ThreadCount),
            new("dotnet_process_memory_megabytes", process.WorkingSet64 / 1e6),
            new("dotnet_process_cpu_percentage", cpuPercent),
        ];
    }
}
