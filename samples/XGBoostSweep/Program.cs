// XGBoostSweep: the iris XGBoost example as a 20-trial hyperparameter sweep, each trial a nested run of one parent
// (as MLflow users organise Optuna searches). With no MLFLOW_TRACKING_URI it writes to ./mlflow.db.
// Needs libxgboost (Debian/Ubuntu: apt-get install libxgboost0) or XGBOOST_LIBRARY_PATH.
using System.Globalization;
using MlOps.Client.Sweeps;
using MlOps.Client.Tracking;
using MlOps.Client.XGBoost;
using XGBoostIris;

var (xTrain, yTrain, xTest, yTest) = Iris.LoadSplit();
var space = new SearchSpace
{
    ["learning_rate"] = ParameterDistribution.LogUniform(0.05, 1),
    ["max_depth"] = ParameterDistribution.IntRange(2, 6),
    ["subsample"] = ParameterDistribution.Uniform(0.6, 1.0),
    ["num_boost_round"] = ParameterDistribution.IntRange(5, 30, 5),
};

var experiment = Environment.GetEnvironmentVariable("MLFLOW_EXPERIMENT_NAME") ?? "xgboost-iris-sweep";
await using var tracker = Tracker.FromEnvironment(new TrackerOptions { ExperimentName = experiment });
var result = await tracker.SweepAsync(space, (run, p, ct) =>
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
}, new SweepOptions { Tuner = new RandomTuner(space, trials: 20, seed: 42), Metric = "log_loss", Goal = SweepGoal.Minimize, MaxParallelTrials = 2 });

var best = result.Best!;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{result.Trials.Count} trials, {result.Trials.Count(t => t.Value is null)} failed"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"best: trial {best.Number}, log_loss={best.Value:F9}, {string.Join(", ", best.Parameters.Select(p => $"{p.Key}={Convert.ToString(p.Value, CultureInfo.InvariantCulture)}"))}"));
Console.WriteLine($"PARENT_RUN_ID={result.ParentRunId}");
Console.WriteLine($"BEST_RUN_ID={best.RunId}");
