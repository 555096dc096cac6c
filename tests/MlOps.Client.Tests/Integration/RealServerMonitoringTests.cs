using MlOps.Client.Monitoring;
using MlOps.Client.Tracking;

namespace MlOps.Client.Tests.Integration;

/// <summary>The monitoring run against a real MLflow server (opt-in: <c>MLFLOW_INTEGRATION_URI</c>): found again by its tag, steps continued.</summary>
public sealed class RealServerMonitoringTests
{
    private static DriftReport Report(long window, bool drift) => new()
    {
        Window = window,
        Start = DateTimeOffset.UtcNow,
        End = DateTimeOffset.UtcNow,
        Rows = 100,
        DatasetDriftShare = 0.5,
        Features = [new FeatureDrift("petal length (cm)", DriftMethod.KolmogorovSmirnov, drift ? 1e-6 : 0.5, 0.05, drift, 0.2, 0.01, 100, 0)],
    };

    [IntegrationFact]
    public async Task A_restarted_host_finds_its_monitoring_run_by_tag_and_continues_its_steps()
    {
        var uri = Environment.GetEnvironmentVariable("MLFLOW_INTEGRATION_URI")!;
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = uri });
        var experiment = "monitoring-" + Guid.NewGuid().ToString("N")[..8];
        var model = "models:/iris-" + Guid.NewGuid().ToString("N")[..6] + "/1";
        string runId;
        await using (var tracker = new Tracker(client, new TrackerOptions { ExperimentName = experiment, HandleProcessExit = false }))
        {
            await using var monitoring = await MonitoringRun.StartAsync(tracker, model);
            runId = monitoring.Run.RunId;
            monitoring.Record(Report(0, false));
            monitoring.Record(Report(1, true));
        }

        await using (var tracker = new Tracker(client, new TrackerOptions { ExperimentName = experiment, HandleProcessExit = false }))
        {
            await using var monitoring = await MonitoringRun.StartAsync(tracker, model);
            Assert.Equal(runId, monitoring.Run.RunId);
            monitoring.Record(Report(0, true));
        }

        var history = await client.GetMetricHistoryAsync(runId, "drift_detected.petal length _cm_");
        Assert.Equal([0.0, 1, 1], history.OrderBy(m => m.Step).Select(m => m.Value));
        Assert.Equal([0L, 1, 2], history.Select(m => m.Step).Order());
    }
}
