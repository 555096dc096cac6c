// MonitorDrift: the lifecycle's last loop — train, serve, monitor, and the retraining trigger.
//   1. Trains the seed example's iris model with autologging: the logged model carries reference_profile.json, the
//      profile of its training data.
//   2. Serves it on 127.0.0.1 (a free port) with the inference log and drift monitoring on.
//   3. Replays traffic: the test rows as they are (windows 0–2), then with petal length shifted by +1 cm (windows 3–4).
//   4. Prints each window's verdict; the in-process trigger (DriftMonitor.DriftDetected) fires on the shifted windows only.
// With no MLFLOW_TRACKING_URI it writes to ./mlflow.db; the log goes to ./inference-log. Afterwards the same log can be
// judged offline:  mlops monitor --log inference-log -m <MODEL_URI>   (exit code 3: drift).
// Needs libxgboost (Debian/Ubuntu: apt-get install libxgboost0) or XGBOOST_LIBRARY_PATH.
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using MlOps.Client.Monitoring;
using MlOps.Client.Serving;
using MlOps.Client.Tracking;
using MlOps.Client.XGBoost;
using MlOps.Client.XGBoost.Autologging;
using XGBoostIris;

string[] names = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"];
var (xTrain, yTrain, xTest, _) = Iris.LoadSplit();

// 1. Train and log (the profile is built on the thread pool while the run ends).
await using var tracker = Tracker.FromEnvironment(new TrackerOptions { ExperimentName = Environment.GetEnvironmentVariable("MLFLOW_EXPERIMENT_NAME") ?? "monitor-drift" });
string modelUri;
using (var run = tracker.StartRun("iris-monitored"))
{
    using var autolog = tracker.AutologXGBoost();
    using var dtrain = new DMatrix(xTrain, yTrain) { FeatureNames = names };
    using var booster = XGBoost.Train(new Dictionary<string, object?> { ["objective"] = "multi:softprob", ["num_class"] = 3, ["seed"] = 42 }, dtrain);
    modelUri = $"runs:/{run.RunId}/model";
}

Console.WriteLine($"MODEL_URI={modelUri}");

// 2. Serve it, with the inference log and drift monitoring. Windows of 45 rows (the test set's size); the trigger
// fires when a quarter of the features drift — one of iris' four is reason enough to retrain.
var logDirectory = Path.Combine(Environment.CurrentDirectory, "inference-log");
if (Directory.Exists(logDirectory))
{
    Directory.Delete(logDirectory, recursive: true); // this sample's previous traffic
}

await using var model = await ServedModel.LoadAsync(tracker.Store, modelUri);
var builder = WebApplication.CreateSlimBuilder();
builder.WebHost.UseUrls("http://127.0.0.1:0");
builder.Logging.ClearProviders();
await using var app = builder.Build();
app.MapMlflowModel(model, new ScoringOptions
{
    InferenceLog = new InferenceLogOptions { Directory = logDirectory },
    DriftMonitor = new DriftMonitorOptions { WindowRows = 45, Drift = new DriftOptions { DatasetDriftShare = 0.25 } },
});
await app.StartAsync();

var monitor = model.DriftMonitor!;
var triggers = new List<long>();
monitor.WindowCompleted += (_, e) =>
{
    var r = e.Report;
    var drifted = r.Features.Where(f => f.Drifted).Select(f => $"{f.Name} ({f.Method}, {(f.IsDistance ? "distance" : "p")} = {f.Score.ToString("G3", CultureInfo.InvariantCulture)})");
    Console.WriteLine($"WINDOW {r.Window}: {r.Rows} rows, drifted: {(r.AnyDrift ? string.Join(", ", drifted) : "none")}{(r.Predictions.Any(p => p.Drifted) ? "; predictions drifted" : "")}");
};
monitor.DriftDetected += (_, e) =>
{
    triggers.Add(e.Report.Window);
    Console.WriteLine($"TRIGGER window {e.Report.Window}: retrain (drifted share {e.Report.DriftedShare.ToString("P0", CultureInfo.InvariantCulture)})");
};

// 3. Traffic: 9 requests of 5 rows per window, the test rows in a different order each window.
using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
var random = new Random(7);
for (var window = 0; window < 5; window++)
{
    var shift = window >= 3 ? 1.0 : 0.0; // petal length + 1 cm from window 3 on
    var rows = xTest.OrderBy(_ => random.Next()).ToArray();
    for (var request = 0; request < 9; request++)
    {
        var data = string.Join(", ", rows.Skip(request * 5).Take(5).Select(r => string.Create(CultureInfo.InvariantCulture, $"[{r[0]}, {r[1]}, {r[2] + shift}, {r[3]}]")));
        var columns = string.Join(", ", names.Select(n => $"\"{n}\""));
        var body = $$$"""{"dataframe_split": {"columns": [{{{columns}}}], "data": [{{{data}}}]}}""";
        using var response = await http.PostAsync("/invocations", new StringContent(body, Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
    }
}

await monitor.CloseWindowAsync(); // the windows are tested on the monitor's task: wait for the last one
await model.InferenceLog!.FlushAsync();
await app.StopAsync();

// 4. The verdict.
Console.WriteLine($"LOGGED {model.InferenceLog.Statistics.Logged} rows to {logDirectory}");
Console.WriteLine($"TRIGGERED {string.Join(",", triggers)}");
Console.WriteLine($"Judge the log offline: mlops monitor --log {logDirectory} -m {modelUri}");
