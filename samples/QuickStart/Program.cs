// QuickStart: a small "training" loop tracked in MLflow.
// With no MLFLOW_TRACKING_URI it writes to ./mlflow.db (MLflow's own SQLite schema; open it with
// `mlflow ui --backend-store-uri sqlite:///mlflow.db`). With MLFLOW_TRACKING_URI=http://host:port it logs to that server.
using MlOps.Client;
using MlOps.Client.Tracking;

var experiment = Environment.GetEnvironmentVariable("MLFLOW_EXPERIMENT_NAME") ?? "quickstart";
await using var tracker = Tracker.FromEnvironment(new TrackerOptions { ExperimentName = experiment });

string runId;
using (var run = tracker.StartRun("quickstart", description: "A small loop that logs params, two metrics per step and a nested run."))
{
    runId = run.RunId;
    run.LogParams(new Dictionary<string, object?>
    {
        ["learning_rate"] = 0.05,
        ["epochs"] = 100,
        ["optimizer"] = "sgd",
    });
    run.SetTag("purpose", "quickstart");

    var loss = 1.0;
    for (var step = 0; step < 100; step++)
    {
        loss *= 0.97;
        run.LogMetric("loss", loss, step);
        run.LogMetric("accuracy", 1 - (loss / 2), step);
    }

    using (var evaluation = tracker.StartRun("evaluation"))
    {
        evaluation.LogMetric("test_accuracy", 1 - (loss / 1.8));
        Console.WriteLine($"  child run {evaluation.RunId} (parent {evaluation.Parent?.RunId})");
    }

    Console.WriteLine($"Run {run.RunId} in experiment {run.ExperimentId} ('{experiment}')");
    Console.WriteLine($"  final loss {loss:F4}, artifacts at {run.ArtifactUri}");
}

var store = tracker.Store.Uri;
Console.WriteLine($"Logged to {store}.");
Console.WriteLine(store.StartsWith("sqlite:", StringComparison.Ordinal)
    ? $"Open it with MLflow's UI: mlflow ui --backend-store-uri {store}"
    : $"Open {store}/#/experiments to see run {runId}.");
