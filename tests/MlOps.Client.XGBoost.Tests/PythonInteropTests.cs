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

/// <summary><see cref="PythonInteropFactAttribute"/> on an MLflow 3.x server (skipped, saying so, on 2.x).</summary>
public sealed class PythonInteropV3FactAttribute : FactAttribute
{
    public PythonInteropV3FactAttribute()
    {
        var uri = Environment.GetEnvironmentVariable("MLFLOW_INTEGRATION_URI");
        if (string.IsNullOrEmpty(uri))
        {
            Skip = "Set MLFLOW_INTEGRATION_URI to a real MLflow 3.x server and MLFLOW_INTEGRATION_PYTHON to a Python with mlflow 3 and xgboost.";
            return;
        }

        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var version = http.GetStringAsync(uri.TrimEnd('/') + "/version").GetAwaiter().GetResult();
            if (!version.StartsWith("3.", StringComparison.Ordinal))
            {
                Skip = $"MLFLOW_INTEGRATION_URI is MLflow {version}, which has no logged models.";
            }
        }
        catch (HttpRequestException ex)
        {
            Skip = "MLFLOW_INTEGRATION_URI does not answer /version: " + ex.Message;
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
        var (runId, xTest, expected) = await TrainSeedExampleAsync(uri, "xgboost-python-interop");

        var (output, error, exitCode) = await RunPythonAsync(LoadScript, JsonSerializer.Serialize(xTest), uri, runId);
        Assert.True(exitCode == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("xgboost.core.Booster", lines[0].Trim());
        var actual = JsonSerializer.Deserialize<double[]>(lines[1])!;
        AssertSameProbabilities(expected, actual);
    }

    private const string PythonLogsScript = """
        import json, sys
        import mlflow, mlflow.xgboost, numpy as np, xgboost as xgb
        uri = sys.argv[1]
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment("mlops-it-xgboost")
        data = json.load(sys.stdin)
        dtrain = xgb.DMatrix(np.array(data["x_train"], dtype=np.float32), label=np.array(data["y_train"], dtype=np.float32))
        params = {"objective": "multi:softprob", "num_class": 3, "learning_rate": 1, "seed": 42}
        booster = xgb.train(params, dtrain, num_boost_round=10)
        with mlflow.start_run(run_name="python-logs-csharp-loads") as run:
            mlflow.xgboost.log_model(booster, "model")
        print("RUN_ID=" + run.info.run_id)
        print("ARTIFACT_URI=" + run.info.artifact_uri)
        print("PROBABILITIES=" + json.dumps(booster.predict(xgb.DMatrix(np.array(data["x_test"], dtype=np.float32))).ravel().tolist()))
        """;

    /// <summary>The reverse direction: Python trains and logs with <c>mlflow.xgboost.log_model</c>; C# loads the model from the run's artifact store (the proxy, or s3:// itself) and predicts Python's probabilities.</summary>
    [PythonInteropFact]
    public async Task A_model_python_logged_loads_in_csharp_and_predicts_the_same_probabilities()
    {
        var uri = Environment.GetEnvironmentVariable("MLFLOW_INTEGRATION_URI")!;
        var (xTrain, yTrain, xTest, _) = Iris.LoadSplit();
        var (output, error, exitCode) = await RunPythonAsync(PythonLogsScript, JsonSerializer.Serialize(new { x_train = xTrain, y_train = yTrain, x_test = xTest }), uri);
        Assert.True(exitCode == 0, error);
        string Value(string name) => output.Split('\n').Single(l => l.StartsWith(name + "=", StringComparison.Ordinal))[(name.Length + 1)..].Trim();
        var runId = Value("RUN_ID");
        var python = JsonSerializer.Deserialize<double[]>(Value("PROBABILITIES"))!;

        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = uri });
        await using var store = new MlOps.Client.Stores.RestTrackingStore(client);
        using var booster = await store.LoadModelAsync<Booster>($"runs:/{runId}/model");
        using var dtest = new DMatrix(xTest);
        AssertSameProbabilities(booster.Predict(dtest), python);
    }

    private const string PyfuncScript = """
        import json, sys
        import mlflow, mlflow.pyfunc, numpy as np, pandas as pd
        from mlflow.artifacts import download_artifacts
        from mlflow.models import validate_serving_input
        uri, run_id = sys.argv[1], sys.argv[2]
        mlflow.set_tracking_uri(uri)
        model = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
        names = [c["name"] for c in model.metadata.get_input_schema().to_dict()]
        frame = pd.DataFrame(json.load(sys.stdin), columns=names)
        print(json.dumps(names))
        print(json.dumps(np.asarray(model.predict(frame)).ravel().tolist()))
        example = open(download_artifacts(f"runs:/{run_id}/model/serving_input_example.json")).read()
        print(json.dumps(np.asarray(validate_serving_input(f"runs:/{run_id}/model", example)).shape))
        """;

    /// <summary>What a Python colleague tries first: <c>pyfunc.predict(DataFrame)</c> with the training columns, and the saved serving example through MLflow's own validation.</summary>
    [PythonInteropFact]
    public async Task Python_pyfunc_predicts_a_DataFrame_and_accepts_the_saved_serving_example()
    {
        var uri = Environment.GetEnvironmentVariable("MLFLOW_INTEGRATION_URI")!;
        var (runId, xTest, expected) = await TrainSeedExampleAsync(uri, "xgboost-pyfunc");

        var (output, error, exitCode) = await RunPythonAsync(PyfuncScript, JsonSerializer.Serialize(xTest), uri, runId);
        Assert.True(exitCode == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["f0", "f1", "f2", "f3"], JsonSerializer.Deserialize<string[]>(lines[0])!);
        var actual = JsonSerializer.Deserialize<double[]>(lines[1])!;
        AssertSameProbabilities(expected, actual);

        Assert.Equal([5, 3], JsonSerializer.Deserialize<int[]>(lines[2])!); // the 5 example rows, 3 class probabilities each
    }

    private const string LoggedModelScript = """
        import json, sys
        import mlflow, mlflow.xgboost, numpy as np, xgboost as xgb
        from mlflow import MlflowClient
        uri, run_id = sys.argv[1], sys.argv[2]
        mlflow.set_tracking_uri(uri)
        client = MlflowClient()
        run = client.get_run(run_id)
        found = [m for m in client.search_logged_models(experiment_ids=[run.info.experiment_id], filter_string="name = 'model'") if m.source_run_id == run_id]
        m = found[0]
        print(json.dumps({"count": len(found), "model_id": m.model_id, "status": str(m.status), "params": m.params,
                          "metrics": [[x.key, x.step, x.value] for x in m.metrics],
                          "run_files": [a.path for a in client.list_artifacts(run_id)],
                          "model_files": [a.path for a in client.list_artifacts(run_id, "model")]}))
        booster = mlflow.xgboost.load_model(f"models:/{m.model_id}")
        rows = np.array(json.load(sys.stdin), dtype=np.float32)
        print(json.dumps(booster.predict(xgb.DMatrix(rows)).ravel().tolist()))
        """;

    /// <summary>
    /// Debian 12's pydantic is 1.x; MLflow 3 imports GenAI type modules that need pydantic 2 from <c>mlflow.pyfunc</c>.
    /// With pydantic 1 only, those modules are replaced by inert stand-ins (the tracking and model code does not use them).
    /// </summary>
    private const string PydanticStandIn = """
        import sys, types, importlib.abc, importlib.machinery
        try:
            import pydantic
            _OLD = pydantic.VERSION.startswith("1.")
        except ImportError:
            _OLD = False
        _STUBS = {"mlflow.types.agent", "mlflow.types.llm", "mlflow.types.chat", "mlflow.types.responses", "mlflow.types.responses_helpers"}
        class _Any(type):
            def __getattr__(cls, name):
                return _Any(name, (object,), {})
        class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
            def find_spec(self, name, path, target=None):
                return importlib.machinery.ModuleSpec(name, self) if name in _STUBS else None
            def create_module(self, spec):
                m = types.ModuleType(spec.name)
                m.__getattr__ = lambda attr: _Any(attr, (object,), {})
                m.__path__ = []
                return m
            def exec_module(self, module):
                pass
        if _OLD:
            sys.meta_path.insert(0, _Finder())
        """;

    [PythonInteropV3Fact]
    public async Task On_MLflow_3_Python_finds_the_logged_model_with_params_and_metrics_lists_each_file_once_and_loads_it_by_model_id()
    {
        var uri = Environment.GetEnvironmentVariable("MLFLOW_INTEGRATION_URI")!;
        var (runId, xTest, expected) = await TrainSeedExampleAsync(uri, "xgboost-logged-model");

        var (output, error, exitCode) = await RunPythonAsync(LoggedModelScript, JsonSerializer.Serialize(xTest), uri, runId);
        Assert.True(exitCode == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        using var found = JsonDocument.Parse(lines[0]);
        var root = found.RootElement;
        Assert.Equal(1, root.GetProperty("count").GetInt32());
        Assert.Equal("READY", root.GetProperty("status").GetString());
        Assert.Equal("multi:softprob", root.GetProperty("params").GetProperty("objective").GetString()); // the run's params
        Assert.Contains(root.GetProperty("metrics").EnumerateArray(), m => m[0].GetString() == "train-mlogloss" && m[1].GetInt64() == 0); // step 0 linked
        var modelFiles = root.GetProperty("model_files").EnumerateArray().Select(f => f.GetString()!).ToList();
        Assert.Contains("model/MLmodel", modelFiles);
        Assert.Equal(modelFiles.Distinct().Count(), modelFiles.Count); // once each
        Assert.DoesNotContain("model", root.GetProperty("run_files").EnumerateArray().Select(f => f.GetString())); // not in the run's artifacts
        var actual = JsonSerializer.Deserialize<double[]>(lines[1])!;
        AssertSameProbabilities(expected, actual);
    }

    /// <summary>Python's probabilities (float64 from float32) equal C#'s, each as float32.</summary>
    private static void AssertSameProbabilities(float[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(expected[i] == (float)actual[i], string.Create(CultureInfo.InvariantCulture, $"probability {i}: C# {expected[i]}, Python {actual[i]}"));
        }
    }

    /// <summary>The seed example trained with autologging into a run of the real server; its test rows and C#'s probabilities for them.</summary>
    private static async Task<(string RunId, float[][] XTest, float[] Expected)> TrainSeedExampleAsync(string uri, string runName)
    {
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = uri });
        await using var tracker = new Tracker(client, new TrackerOptions { ExperimentName = "mlops-it-xgboost", HandleProcessExit = false });
        var (xTrain, yTrain, xTest, _) = Iris.LoadSplit();
        using var dtrain = new DMatrix(xTrain, yTrain);
        using var dtest = new DMatrix(xTest);
        using var run = tracker.StartRun(runName);
        using var autolog = tracker.AutologXGBoost(new XGBoostAutologOptions { LogInputExamples = true });
        using var model = XGBoost.Train(
            new Dictionary<string, object?> { ["objective"] = "multi:softprob", ["num_class"] = 3, ["learning_rate"] = 1, ["eval_metric"] = "mlogloss", ["seed"] = 42 },
            dtrain, evals: [(dtrain, "train")]);
        var expected = model.Predict(dtest);
        await run.EndAsync();
        return (run.RunId, xTest, expected);
    }

    /// <summary>Runs a Python script (<c>MLFLOW_INTEGRATION_PYTHON</c>) with the pydantic stand-in on its path; at most 2 minutes.</summary>
    private static async Task<(string Output, string Error, int ExitCode)> RunPythonAsync(string script, string stdin, params string[] args)
    {
        var shim = Directory.CreateTempSubdirectory("mlops-pyshim-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(shim.FullName, "sitecustomize.py"), PydanticStandIn);
            var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("MLFLOW_INTEGRATION_PYTHON") ?? "python3")
            {
                RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            };
            var pythonPath = Environment.GetEnvironmentVariable("PYTHONPATH");
            start.Environment["PYTHONPATH"] = string.IsNullOrEmpty(pythonPath) ? shim.FullName : shim.FullName + Path.PathSeparator + pythonPath;
            // MLflow 3.6 answers a download of a run folder that is not there (runs:/<run>/model when the files are in
            // the logged model) with 500, which Python retries for minutes before it looks at the logged model.
            start.Environment["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0";
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(script);
            foreach (var a in args)
            {
                start.ArgumentList.Add(a);
            }

            using var python = Process.Start(start)!;
            await python.StandardInput.WriteAsync(stdin);
            python.StandardInput.Close();
            var output = python.StandardOutput.ReadToEndAsync();
            var error = python.StandardError.ReadToEndAsync();
            await python.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
            return (await output, await error, python.ExitCode);
        }
        finally
        {
            shim.Delete(recursive: true);
        }
    }
}
