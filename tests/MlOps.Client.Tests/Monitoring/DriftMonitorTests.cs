using System.Diagnostics.Metrics;
using Microsoft.Extensions.Time.Testing;
using MlOps.Client.Monitoring;

namespace MlOps.Client.Tests.Monitoring;

public sealed class DriftMonitorTests
{
    private static readonly ReferenceProfile Profile = BuildProfile();

    private static ReferenceProfile BuildProfile()
    {
        var random = new Random(5);
        return new ReferenceProfileBuilder()
            .AddNumeric("x", Normal(random, 800, 0))
            .AddNumeric("y", Normal(random, 800, 0))
            .AddPredictedClasses("prediction", Enumerable.Range(0, 800).Select(i => (i % 3).ToString(System.Globalization.CultureInfo.InvariantCulture)))
            .Build();
    }

    private static double[] Normal(Random random, int n, double mean) =>
        [.. Enumerable.Range(0, n).Select(_ => mean + (Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble())))];

    private static InferenceRecord Record(Random random, string id, double shiftX, DateTimeOffset at, int rows = 100)
    {
        var x = Normal(random, rows, shiftX);
        var y = Normal(random, rows, 0);
        return new InferenceRecord
        {
            RequestId = id,
            Timestamp = at,
            Rows = rows,
            Inputs = [new InferenceColumn("x", [.. x.Cast<object?>()]), new InferenceColumn("y", [.. y.Cast<object?>()])],
            Predictions = [new InferenceColumn("0", [.. Enumerable.Range(0, rows).Select(i => (object?)new[] { i % 3 == 0 ? 0.8 : 0.1, i % 3 == 1 ? 0.8 : 0.1, i % 3 == 2 ? 0.8 : 0.1 })])],
        };
    }

    [Fact]
    public async Task Windows_by_rows_flag_the_shifted_feature_only_and_fire_the_trigger()
    {
        var random = new Random(9);
        var completed = new List<DriftReport>();
        var triggered = new List<long>();
        await using var monitor = new DriftMonitor(Profile, new DriftMonitorOptions { WindowRows = 500 });
        monitor.WindowCompleted += (_, e) => completed.Add(e.Report);
        monitor.DriftDetected += (_, e) => triggered.Add(e.Report.Window);
        monitor.WindowCompleted += (_, _) => throw new InvalidOperationException("a host's handler that throws");
        var t = DateTimeOffset.UnixEpoch;
        for (var i = 0; i < 20; i++)
        {
            Assert.True(monitor.TryAdd(Record(random, "r" + i, i < 10 ? 0 : 1.0, t.AddSeconds(i))));
        }

        Assert.Null(await monitor.CloseWindowAsync().WaitAsync(TimeSpan.FromSeconds(30))); // 20 × 100 rows = 4 full windows, nothing left
        Assert.Equal([0L, 1, 2, 3], completed.Select(r => r.Window));
        Assert.All(completed, r => Assert.Equal(500, r.Rows));
        Assert.All(completed.Take(2), r => Assert.False(r.AnyDrift, r.ToString()));
        Assert.All(completed.Skip(2), r => Assert.Equal(["x"], r.Features.Where(f => f.Drifted).Select(f => f.Name)));
        Assert.Equal([2L, 3], triggered); // 1 of 2 features = the 50 % dataset share
        Assert.Equal("prediction", Assert.Single(completed[0].Predictions).Name);
        Assert.False(completed[0].Predictions[0].Drifted); // the predicted classes (most probable of the probabilities) keep their shares
        Assert.Equal(4, monitor.Reports.Count);
    }

    [Fact]
    public async Task Windows_by_time_close_on_the_clock_even_when_traffic_is_quiet()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var closed = new List<TaskCompletionSource<DriftReport>> { new(TaskCreationOptions.RunContinuationsAsynchronously), new(TaskCreationOptions.RunContinuationsAsynchronously) };
        await using var monitor = new DriftMonitor(Profile, new DriftMonitorOptions { WindowRows = 0, WindowDuration = TimeSpan.FromMinutes(5) }, timeProvider: time);
        var n = 0;
        monitor.WindowCompleted += (_, e) => closed[n++].TrySetResult(e.Report);
        monitor.TryAdd(Record(new Random(1), "a", 0, time.GetUtcNow(), rows: 120));
        time.Advance(TimeSpan.FromMinutes(5)); // the clock closes the window: the tick follows the record in the monitor's queue
        Assert.Equal(120, (await closed[0].Task.WaitAsync(TimeSpan.FromSeconds(30))).Rows);

        time.Advance(TimeSpan.FromMinutes(5)); // a quiet window (no rows) reports nothing
        monitor.TryAdd(Record(new Random(2), "b", 0, time.GetUtcNow(), rows: 70));
        time.Advance(TimeSpan.FromMinutes(5));
        var second = await closed[1].Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(70, second.Rows);
        Assert.Equal(1, second.Window);
    }

    [Fact]
    public async Task Ground_truth_adds_the_models_metrics_to_the_window()
    {
        await using var monitor = new DriftMonitor(Profile, new DriftMonitorOptions { WindowRows = 1000 });
        var record = Record(new Random(3), "req-1", 0, DateTimeOffset.UnixEpoch, rows: 30);
        // Targets: the predicted class for 20 rows, another one for 10 → accuracy 2/3.
        monitor.TryAdd(new InferenceFeedback("req-1", DateTimeOffset.UnixEpoch, [.. Enumerable.Range(0, 30).Select(i => (object?)(double)(i < 20 ? i % 3 : (i + 1) % 3))]));
        monitor.TryAdd(record);
        var report = await monitor.CloseWindowAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.NotNull(report);
        Assert.Equal(30, report.LabeledRows);
        Assert.Equal(2.0 / 3, report.Performance.Single(m => m.Key == "accuracy_score").Value, 12);
        Assert.Contains(report.Performance, m => m.Key == "log_loss");
    }

    [Fact]
    public void Offline_analysis_cuts_the_same_windows_and_joins_all_ground_truth()
    {
        var random = new Random(9);
        var records = Enumerable.Range(0, 20).Select(i => Record(random, "r" + i, i < 10 ? 0 : 1.0, DateTimeOffset.UnixEpoch.AddSeconds(i))).ToList();
        var feedback = new[] { new InferenceFeedback("r0", DateTimeOffset.UnixEpoch, [.. Enumerable.Range(0, 100).Select(i => (object?)(double)(i % 3))]) };
        var reports = DriftMonitor.Analyze(Profile, new InferenceLogContents(records, feedback, 0, 1), new DriftMonitorOptions { WindowRows = 500 });
        Assert.Equal(4, reports.Count);
        Assert.Equal([false, false, true, true], reports.Select(r => r.DatasetDrift));
        Assert.Equal(100, reports[0].LabeledRows);
        Assert.Equal(1.0, reports[0].Performance.Single(m => m.Key == "accuracy_score").Value);

        // By time: 5-second windows of the records' timestamps.
        reports = DriftMonitor.Analyze(Profile, new InferenceLogContents(records, [], 0, 1), new DriftMonitorOptions { WindowRows = 0, WindowDuration = TimeSpan.FromSeconds(5) });
        Assert.Equal(4, reports.Count);
        Assert.All(reports, r => Assert.Equal(500, r.Rows));
    }

    [Fact]
    public async Task The_last_window_shows_as_opentelemetry_gauges()
    {
        var scores = new Dictionary<string, double>();
        double? share = null;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == DriftMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            var model = tags.ToArray().FirstOrDefault(t => t.Key == "model").Value as string;
            if (model != "models:/gauges/1")
            {
                return;
            }

            if (instrument.Name == "mlops.monitoring.drift.score")
            {
                scores[(string)tags.ToArray().Single(t => t.Key == "feature").Value!] = value;
            }
            else if (instrument.Name == "mlops.monitoring.drift.share")
            {
                share = value;
            }
        });
        listener.Start();
        await using var monitor = new DriftMonitor(Profile, new DriftMonitorOptions { WindowRows = 100, ModelUri = "models:/gauges/1" });
        monitor.TryAdd(Record(new Random(4), "a", 3.0, DateTimeOffset.UnixEpoch));
        await monitor.CloseWindowAsync().WaitAsync(TimeSpan.FromSeconds(30));
        listener.RecordObservableInstruments();
        Assert.True(scores["x"] < 1e-6, $"x: p = {scores["x"]}");
        Assert.True(scores["y"] > 0.001);
        Assert.Contains("prediction:prediction", scores.Keys);
        Assert.Equal(0.5, share);
    }
}
