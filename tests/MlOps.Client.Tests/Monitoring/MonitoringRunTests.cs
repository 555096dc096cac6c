using MlOps.Client.Monitoring;
using MlOps.Client.Stores;
using MlOps.Client.Tracking;

namespace MlOps.Client.Tests.Monitoring;

public sealed class MonitoringRunTests : IAsyncLifetime
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-monitoring-run-");
    private SqliteTrackingStore _store = null!;

    public Task InitializeAsync()
    {
        _store = SqliteTrackingStore.Open("sqlite:///" + Path.Combine(_dir.FullName, "mlflow.db"));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    private static DriftReport Report(long window, bool drift) => new()
    {
        Window = window,
        Start = DateTimeOffset.UnixEpoch.AddMinutes(window),
        End = DateTimeOffset.UnixEpoch.AddMinutes(window + 1),
        Rows = 500,
        DatasetDriftShare = 0.5,
        Features =
        [
            new FeatureDrift("petal length (cm)", DriftMethod.KolmogorovSmirnov, drift ? 1e-9 : 0.4, 0.0125, drift, 0.3, 0.05, 500, 0),
            new FeatureDrift("sepal width (cm)", DriftMethod.KolmogorovSmirnov, 0.6, 0.0125, false, 0.05, 0.01, 500, 0),
        ],
        Performance = [new("accuracy_score", drift ? 0.7 : 0.95)],
        LabeledRows = 40,
    };

    [Fact]
    public async Task Each_window_is_a_step_and_a_restarted_host_continues_the_same_run()
    {
        string runId;
        await using (var tracker = new Tracker(_store, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false }))
        {
            await using var monitoring = await MonitoringRun.StartAsync(tracker, "models:/iris/3");
            runId = monitoring.Run.RunId;
            monitoring.Record(Report(0, drift: false));
            monitoring.Record(Report(1, drift: true));
        }

        // The host restarts: its windows count from 0 again, the run goes on after step 1.
        await using (var tracker = new Tracker(_store, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false }))
        {
            await using var monitoring = await MonitoringRun.StartAsync(tracker, "models:/iris/3");
            Assert.Equal(runId, monitoring.Run.RunId);
            monitoring.Record(Report(0, drift: false));
        }

        var run = await _store.GetRunAsync(runId, default);
        Assert.Equal("monitoring: models:/iris/3", run.Info.RunName);
        Assert.Equal("models:/iris/3", run.Data.Tags.Single(t => t.Key == MonitoringRun.ModelUriTag).Value);
        var share = await _store.GetMetricHistoryAsync(runId, "drift_share", default);
        Assert.Equal([0L, 1, 2], share.Select(m => m.Step).Order());
        Assert.Equal([0.0, 0.5, 0.0], share.OrderBy(m => m.Step).Select(m => m.Value));
        var petal = await _store.GetMetricHistoryAsync(runId, "drift_detected.petal length _cm_", default);
        Assert.Equal([0.0, 1, 0], petal.OrderBy(m => m.Step).Select(m => m.Value));
        var accuracy = await _store.GetMetricHistoryAsync(runId, "live.accuracy_score", default);
        Assert.Equal([0.95, 0.7, 0.95], accuracy.OrderBy(m => m.Step).Select(m => m.Value));
        Assert.Equal(DateTimeOffset.UnixEpoch.AddMinutes(2).ToUnixTimeMilliseconds(), share.Single(m => m.Step == 1).Timestamp);

        // Another model version gets its own run.
        await using (var tracker = new Tracker(_store, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false }))
        {
            await using var other = await MonitoringRun.StartAsync(tracker, "models:/iris/4");
            Assert.NotEqual(runId, other.Run.RunId);
        }
    }
}
