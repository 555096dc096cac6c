// XGBoostIris: the C# port of the seed's Python example (iris → XGBoost → MLflow with autologging).
//   X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=25)
//   with mlflow.start_run(): mlflow.xgboost.autolog(); model = xgb.train(params, dtrain, evals=[(dtrain, "train")]) ...
// With no MLFLOW_TRACKING_URI it writes to ./mlflow.db; with MLFLOW_TRACKING_URI=http://host:port it logs to that server.
// Needs libxgboost (Debian/Ubuntu: apt-get install libxgboost0) or XGBOOST_LIBRARY_PATH.
// An optional argument sets the learning rate (default 1, the seed example's), e.g. to compare two runs with `mlops report`.
// It is also an MLflow project (MLproject beside this file): `mlops run samples/XGBoostIris -P learning_rate=0.3`, or
// Python's `mlflow run samples/XGBoostIris --env-manager local -P learning_rate=0.3`, runs it in the run the launcher
// created (MLFLOW_RUN_ID), whose learning_rate parameter the autologging then logs with the same value.
using System.Globalization;
using MlOps.Client.Tracking;
using MlOps.Client.XGBoost;
using MlOps.Client.XGBoost.Autologging;
using XGBoostIris;

var (xTrain, yTrain, xTest, yTest) = Iris.LoadSplit();
using var dtrain = new DMatrix(xTrain, yTrain);
using var dtest = new DMatrix(xTest, yTest);

var parameters = new Dictionary<string, object?>
{
    ["objective"] = "multi:softprob",
    ["num_class"] = 3,
    // 1 stays an int: logged "1", as Python logs it (and as a launcher logged the -P value).
    ["learning_rate"] = args.Length == 0 ? 1 : int.TryParse(args[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i : double.Parse(args[0], CultureInfo.InvariantCulture),
    ["eval_metric"] = "mlogloss",
    ["seed"] = 42,
};

var experiment = Environment.GetEnvironmentVariable("MLFLOW_EXPERIMENT_NAME") ?? "xgboost-iris";
await using var tracker = Tracker.FromEnvironment(new TrackerOptions { ExperimentName = experiment });
string runId;
double logLoss, accuracy;
using (var run = tracker.StartRun())
{
    runId = run.RunId;
    using var autolog = tracker.AutologXGBoost();
    using var model = XGBoost.Train(parameters, dtrain, evals: [(dtrain, "train")], verboseEval: 1);
    var proba = model.Predict(dtest);
    logLoss = Metrics.LogLoss(yTest, proba, 3);
    accuracy = Metrics.Accuracy(yTest, proba, 3);
    run.LogMetrics(new Dictionary<string, double> { ["log_loss"] = logLoss, ["accuracy"] = accuracy });
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"log_loss={logLoss:F9}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"accuracy={accuracy:F9}"));
Console.WriteLine($"RUN_ID={runId}");
// The model's URI: models:/<model id> on MLflow 3 (what Python should load: runs:/ waits minutes there, see docs/xgboost.md),
// runs:/<run id>/model on MLflow 2.x.
var finished = await tracker.Store.GetRunAsync(runId, CancellationToken.None);
Console.WriteLine(finished.Outputs.ModelOutputs is [var output, ..] ? $"MODEL_URI=models:/{output.ModelId}" : $"MODEL_URI=runs:/{runId}/model");
