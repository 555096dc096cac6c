using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MlOps.Client.Tracking;
using MlOps.Client.XGBoost.Autologging;
using XGBoostIris;

namespace MlOps.Client.XGBoost.Tests;

/// <summary>Runs only with <c>MLFLOW_INTEGRATION_URI</c> (a real MLflow server) and a Python that imports mlflow and xgboost.</summary>
public sealed class PythonInteropFactAttribute : FactAttribute
{
    public PythonInteropFactAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("MLFLOW_INTEGRATION_URI")))
        {
            Skip = "Set MLFLOW_INTEGRATION_URI to a real MLflow server and MLFLOW_INTEGRATION_PYTHON to a Python with mlflow and xgboost (see docs/xgboost.md).";
        }
    }
}

[Collection(XGBoostCollection.Name)]
public sealed class PythonInteropTests
{
    private const string LoadScript = """
        import json, sys
        import mlflow, mlflow.xgboost, numpy as np, xgboost as xgb
        uri, run_id = sys.argv[1], sys.argv[2]
        mlflow.set_tracking_uri(uri)
        booster = mlflow.xgboost.load_model(f"runs:/{run_id}/model")
        rows = np.array(json.load(sys.stdin), dtype=np.float32)
        print(type(booster).__module__ + "." + type(booster).__name__)
        print(json.dumps(booster.predict(xgb.DMatrix(rows)).ravel().tolist()))
        """;

    [PythonInteropFact]
    public async Task Python_mlflow_loads_the_autologged_model_and_predicts_the_same_probabilities()
    {
        var uri = Environment.GetEnvironmentVariable("MLFLOW_INTEGRATION_URI")!;
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = uri });
        await using var tracker = new Tracker(client, new TrackerOptions { ExperimentName = "mlops-it-xgboost", HandleProcessExit = false });
        var (xTrain, yTrain, xTest, _) = Iris.LoadSplit();
        using var dtrain = new DMatrix(xTrain, yTrain);
        using var dtest = new DMatrix(xTest);
        string runId;
        float[] expected;
        using (var run = tracker.StartRun("xgboost-python-interop"))
        {
            runId = run.RunId;
            using var autolog = tracker.AutologXGBoost();
            using var model = XGBoost.Train(
                new Dictionary<string, object?> { ["objective"] = "multi:softprob", ["num_class"] = 3, ["learning_rate"] = 1, ["eval_metric"] = "mlogloss", ["seed"] = 42 },
                dtrain, evals: [(dtrain, "train")]);
            expected = model.Predict(dtest);
        }

        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("MLFLOW_INTEGRATION_PYTHON") ?? "python3")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(LoadScript);
        start.ArgumentList.Add(uri);
        start.ArgumentList.Add(runId);
        using var python = Process.Start(start)!;
        await python.StandardInput.WriteAsync(JsonSerializer.Serialize(xTest));
        python.StandardInput.Close();
        var output = await python.StandardOutput.ReadToEndAsync();
        var error = await python.StandardError.ReadToEndAsync();
        await python.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        Assert.True(python.ExitCode == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("xgboost.core.Booster", lines[0].Trim());
        var actual = JsonSerializer.Deserialize<double[]>(lines[1])!;
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(expected[i] == (float)actual[i], string.Create(CultureInfo.InvariantCulture, $"probability {i}: C# {expected[i]}, Python {actual[i]}"));
        }
    }
}
