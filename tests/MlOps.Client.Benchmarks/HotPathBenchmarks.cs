using BenchmarkDotNet.Attributes;
using MlOps.Client.Tracking;

namespace MlOps.Client.Benchmarks;

/// <summary>The training thread's cost of <c>run.LogMetric(key, value, step)</c>: ns/op and bytes allocated.</summary>
[MemoryDiagnoser]
public class HotPathBenchmarks
{
    private const string Key = "train-loss";
    private Tracker _tracker = null!;
    private RunScope _run = null!;
    private long _step;

    [GlobalSetup]
    public void Setup()
    {
        _tracker = new Tracker(new NullStore(), new TrackerOptions { HandleProcessExit = false, SetSystemTags = false });
        _run = _tracker.StartRun("bench");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _run.Dispose();
        _tracker.Dispose();
    }

    [Benchmark(OperationsPerInvoke = 1000)]
    public void LogMetric()
    {
        for (var i = 0; i < 1000; i++)
        {
            _run.LogMetric(Key, 0.5, _step++);
        }
    }
}
