// XGBoostSweep: the iris XGBoost example as a 20-trial hyperparameter sweep, each trial a nested run of one parent
// (as MLflow users organise Optuna searches). With no MLFLOW_TRACKING_URI it writes to ./mlflow.db.
// Needs libxgboost (Debian/Ubuntu: apt-get install libxgboost0) or XGBOOST_LIBRARY_PATH.
//   --trials N                  the number of trials (default 20)
//   --trials-as-projects URI    each trial is a run of the MLflow project URI (e.g. ../XGBoostIris) over its
//                               learning_rate parameter, at most two at once: local processes, or with
//   --backend-config FILE       Kubernetes Jobs (MLflow's kubernetes backend configuration; see docs/projects.md)
// It is an MLflow project too (MLproject beside this file): `mlops run samples/XGBoostSweep -e projects`.
using System.Globalization;
using System.Text.Json;
using MlOps.Client.Kubernetes;
using MlOps.Client.Projects;
using MlOps.Client.Sweeps;
using MlOps.Client.Tracking;
using MlOps.Client.XGBoost;
using XGBoostIris;

string? Arg(string name) => Array.IndexOf(args, name) is var at and >= 0 && at + 1 < args.Length ? args[at + 1] : null;
var trials = (int)double.Parse(Arg("--trials") ?? "20", CultureInfo.InvariantCulture);
var experiment = Environment.GetEnvironmentVariable("MLFLOW_EXPERIMENT_NAME") ?? "xgboost-iris-sweep";
await using var tracker = Tracker.FromEnvironment(new TrackerOptions { ExperimentName = experiment });
SweepResult result;
if (Arg("--trials-as-projects") is { } projectUri)
{
    // Each trial runs the project with its own learning_rate: a child run of the sweep's, on this machine or as a Job.
    var projectSpace = new SearchSpace { ["learning_rate"] = ParameterDistribution.LogUniform(0.05, 1) };
    IProjectBackend backend = Arg("--backend-config") is { } config
        ? KubernetesProjectBackend.FromConfig(JsonDocument.Parse(File.ReadAllText(config)).RootElement)
        : new LocalProjectBackend();
    result = await tracker.SweepProjectAsync(
        projectSpace,
        new ProjectRunOptions { Uri = Path.GetFullPath(projectUri), Backend = backend, Messages = Console.Error },
        new SweepOptions { Tuner = new RandomTuner(projectSpace, trials: trials, seed: 42), Metric = "log_loss", Goal = SweepGoal.Minimize, MaxParallelTrials = 2 });
    Report(result);
    return;
}

var (xTrain, yTrain, xTest, yTest) = Iris.LoadSplit();
var space = new SearchSpace
{
    ["learning_rate"] = ParameterDistribution.LogUniform(0.05, 1),
    ["max_depth"] = ParameterDistribution.IntRange(2, 6),
    ["subsample"] = ParameterDistribution.Uniform(0.6, 1.0),
    ["num_boost_round"] = ParameterDistribution.IntRange(5, 30, 5),
};

result = await tracker.SweepAsync(space, (run, p, ct) =>
{
    // Each trial has its own matrices and one XGBoost thread: two trials train at once on the two cores.
    using var dtrain = new DMatrix(xTrain, yTrain);
    using var dtest = new DMatrix(xTest, yTest);
    var parameters = new Dictionary<string, object?>
    {
        ["objective"] = "multi:softprob",
        ["num_class"] = 3,
        ["eval_metric"] = "mlogloss",
        ["seed"] = 42,
        ["nthread"] = 1,
        ["learning_rate"] = p["learning_rate"],
        ["max_depth"] = p["max_depth"],
        ["subsample"] = p["subsample"],
    };
    using var model = XGBoost.Train(parameters, dtrain, (int)p["num_boost_round"], [(dtrain, "train")], cancellationToken: ct);
    var proba = model.Predict(dtest);
    run.LogMetric("accuracy", Metrics.Accuracy(yTest, proba, 3));
    return Task.FromResult(Metrics.LogLoss(yTest, proba, 3));
}, new SweepOptions { Tuner = new RandomTuner(space, trials: trials, seed: 42), Metric = "log_loss", Goal = SweepGoal.Minimize, MaxParallelTrials = 2 });
Report(result);

static void Report(SweepResult result)
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{result.Trials.Count} trials, {result.Trials.Count(t => t.Value is null)} failed"));
    if (result.Best is { } best)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"best: trial {best.Number}, log_loss={best.Value:F9}, {string.Join(", ", best.Parameters.Select(p => $"{p.Key}={Convert.ToString(p.Value, CultureInfo.InvariantCulture)}"))}"));
        Console.WriteLine($"BEST_RUN_ID={best.RunId}");
    }

    Console.WriteLine($"PARENT_RUN_ID={result.ParentRunId}");
}
