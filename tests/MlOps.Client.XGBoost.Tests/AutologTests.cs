using System.Text.Json.Nodes;
using MlOps.Client.Models;
using MlOps.Client.Stores;
using MlOps.Client.Tracking;
using MlOps.Client.XGBoost.Autologging;
using MlOps.Client.XGBoost.Models;

namespace MlOps.Client.XGBoost.Tests;

/// <summary>Autologging against an embedded store in a temporary folder (the recorded Python run is the reference).</summary>
[Collection(XGBoostCollection.Name)]
public sealed class AutologTests : IAsyncLifetime
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-xgb-autolog-");
    private SqliteTrackingStore _store = null!;
    private Tracker _tracker = null!;

    public Task InitializeAsync()
    {
        _store = SqliteTrackingStore.Open("sqlite:///" + Path.Combine(_dir.FullName, "mlflow.db"));
        _tracker = new Tracker(_store, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        XGBoostAutolog.Disable();
        await _tracker.DisposeAsync();
        await _store.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    private static Dictionary<string, object?> IrisLikeParams() => new()
    {
        ["objective"] = "multi:softprob",
        ["num_class"] = 3,
        ["learning_rate"] = 1,
        ["eval_metric"] = "mlogloss",
        ["seed"] = 42,
    };

    private string ArtifactRoot(Run run) => new Uri(run.Info.ArtifactUri!).LocalPath;

    [Fact]
    public void The_XGBoost_package_does_not_pull_the_plotting_stack()
    {
        var references = typeof(XGBoostAutolog).Assembly.GetReferencedAssemblies().Select(a => a.Name).ToList();
        Assert.DoesNotContain(references, n => n is not null && (n.StartsWith("ScottPlot", StringComparison.Ordinal) || n.StartsWith("SkiaSharp", StringComparison.Ordinal) || n == "MlOps.Client.Figures"));
        Assert.Null(new XGBoostAutologOptions().FeatureImportancePlot); // the chart is an opt-in
    }

    [XGBoostFact]
    public async Task With_input_examples_the_first_five_training_rows_are_saved_under_the_signature_s_names()
    {
        var (x, y) = TestData.Multiclass(30, 4, 30);
        using var dtrain = new DMatrix(x, y);
        string runId;
        using (var run = _tracker.StartRun("examples"))
        {
            runId = run.RunId;
            using var autolog = _tracker.AutologXGBoost(new XGBoostAutologOptions { LogInputExamples = true });
            using var booster = XGBoost.Train(IrisLikeParams(), dtrain, numBoostRound: 2);
        }

        var model = Path.Combine(ArtifactRoot(await _store.GetRunAsync(runId, default)), "model");
        var example = JsonNode.Parse(File.ReadAllText(Path.Combine(model, "input_example.json")))!;
        Assert.Equal(["f0", "f1", "f2", "f3"], example["columns"]!.AsArray().Select(c => c!.GetValue<string>()));
        var rows = example["data"]!.AsArray();
        Assert.Equal(5, rows.Count);
        Assert.Equal((double)x[4][3], rows[4]![3]!.GetValue<double>());
        var serving = JsonNode.Parse(File.ReadAllText(Path.Combine(model, "serving_input_example.json")))!;
        Assert.True(JsonNode.DeepEquals(example, serving["dataframe_split"]));
        Assert.Equal("dataframe", MlflowModel.Load(model).SavedInputExampleInfo!["type"]!.GetValue<string>());

        // A sparse matrix keeps its first rows too, absent entries as NaN (null in the example's JSON).
        using var csr = DMatrix.FromCsr([0, 1, 1], [2], [7f], 3);
        Assert.Equal([[float.NaN, float.NaN, 7f], [float.NaN, float.NaN, float.NaN]], csr.HeadRows);
    }

    [XGBoostFact]
    public void The_signature_names_the_matrixs_columns_so_a_DataFrame_with_them_predicts_in_Python()
    {
        var (x, y) = TestData.Multiclass(30, 4, 30);
        using var dtrain = new DMatrix(x, y) { FeatureNames = ["sepal_length", "sepal_width", "petal_length", "petal_width"] };
        using var booster = XGBoost.Train(IrisLikeParams(), dtrain, numBoostRound: 2);
        var signature = XGBoostAutologSession.Signature(booster, dtrain);
        Assert.Equal([("sepal_length", "double"), ("sepal_width", "double"), ("petal_length", "double"), ("petal_width", "double")], signature.InputColumns());
        Assert.Equal("[{\"type\":\"tensor\",\"tensor-spec\":{\"dtype\":\"float32\",\"shape\":[-1,3]}}]", signature.Outputs);
    }

    [XGBoostFact]
    public async Task Without_a_renderer_only_the_importance_json_is_logged()
    {
        var (x, y) = TestData.Multiclass(60, 4, 30);
        using var dtrain = new DMatrix(x, y);
        string runId;
        using (var run = _tracker.StartRun("no-plot"))
        {
            runId = run.RunId;
            using var autolog = _tracker.AutologXGBoost(new XGBoostAutologOptions { LogModels = false, LogDatasets = false });
            using var booster = XGBoost.Train(IrisLikeParams(), dtrain, numBoostRound: 2);
        }

        var root = ArtifactRoot(await _store.GetRunAsync(runId, default));
        Assert.True(File.Exists(Path.Combine(root, "feature_importance_weight.json")));
        Assert.False(File.Exists(Path.Combine(root, "feature_importance_weight.png")));
    }

    [Fact]
    public void Autologging_has_the_same_entry_points_as_ML_NETs_enable_disable_current_and_scoped()
    {
        XGBoostAutolog.Disable();
        var session = XGBoostAutolog.Enable(_tracker);
        Assert.Same(session, XGBoostAutolog.Current);
        Assert.Same(_tracker, session.Tracker);
        XGBoostAutolog.Disable();
        Assert.False(XGBoostAutolog.IsEnabled);
        using (var scoped = _tracker.AutologXGBoost())
        {
            Assert.Same(scoped, XGBoostAutolog.Current);
        }

        Assert.Null(XGBoostAutolog.Current);
        session.Dispose(); // a session already replaced or disabled: harmless
    }

    [XGBoostFact]
    public async Task Inside_a_run_it_logs_what_pythons_autolog_logs()
    {
        var (x, y) = TestData.Multiclass(150, 4, 30);
        using var dtrain = new DMatrix(x, y);
        string runId;
        float[] expected;
        using (var run = _tracker.StartRun("autolog"))
        {
            runId = run.RunId;
            using var autolog = _tracker.AutologXGBoost(new XGBoostAutologOptions { FeatureImportancePlot = FeatureImportancePlots.RenderPng }); // the chart is opt-in
            using var booster = XGBoost.Train(IrisLikeParams(), dtrain, evals: [(dtrain, "train")], verboseEval: 1, log: TextWriter.Null);
            expected = booster.Predict(dtrain);
        }

        var logged = await _store.GetRunAsync(runId, default);
        Assert.Equal(RunStatus.Finished, logged.Info.Status);
        // The exact parameter set of python-client/xgboost-iris.jsonl's first log-batch.
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["objective"] = "multi:softprob", ["num_class"] = "3", ["learning_rate"] = "1", ["eval_metric"] = "mlogloss", ["seed"] = "42",
                ["num_boost_round"] = "10", ["maximize"] = "None", ["early_stopping_rounds"] = "None", ["verbose_eval"] = "True", ["custom_metric"] = "None",
            },
            logged.Data.Params.ToDictionary(p => p.Key, p => p.Value));
        Assert.Equal(["train-mlogloss"], logged.Data.Metrics.Select(m => m.Key));
        var history = await _store.GetMetricHistoryAsync(runId, "train-mlogloss", default);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), history.Select(m => m.Step).Order());
        Assert.True(history.OrderBy(m => m.Step).Last().Value < history.OrderBy(m => m.Step).First().Value);

        var root = ArtifactRoot(logged);
        var importance = JsonNode.Parse(File.ReadAllText(Path.Combine(root, "feature_importance_weight.json")))!.AsObject();
        Assert.All(importance, kv => Assert.StartsWith("f", kv.Key, StringComparison.Ordinal));
        var png = File.ReadAllBytes(Path.Combine(root, "feature_importance_weight.png"));
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, png[..4]);

        var mlmodel = MlflowModel.Load(Path.Combine(root, "model"));
        var flavor = mlmodel.Flavors["xgboost"];
        Assert.Equal("model.xgb", flavor["data"]!.GetValue<string>());
        Assert.Equal("xgb", flavor["model_format"]!.GetValue<string>());
        Assert.Equal("xgboost.core.Booster", flavor["model_class"]!.GetValue<string>());
        Assert.Equal(Booster.LibraryVersion.ToString(3), flavor["xgb_version"]!.GetValue<string>());
        Assert.True(flavor.ContainsKey("code"));
        var pyfunc = mlmodel.Flavors["python_function"];
        Assert.Equal("mlflow.xgboost", pyfunc["loader_module"]!.GetValue<string>());
        Assert.Equal("conda.yaml", pyfunc["env"]!["conda"]!.GetValue<string>());
        Assert.Equal("[{\"type\":\"double\",\"name\":\"f0\",\"required\":true},{\"type\":\"double\",\"name\":\"f1\",\"required\":true},{\"type\":\"double\",\"name\":\"f2\",\"required\":true},{\"type\":\"double\",\"name\":\"f3\",\"required\":true}]", mlmodel.Signature!.Inputs); // a DataFrame predicts
        Assert.Equal("[{\"type\":\"tensor\",\"tensor-spec\":{\"dtype\":\"float32\",\"shape\":[-1,3]}}]", mlmodel.Signature.Outputs);
        foreach (var file in new[] { "model.xgb", "requirements.txt", "conda.yaml", "python_env.yaml", "MLmodel" })
        {
            Assert.True(File.Exists(Path.Combine(root, "model", file)), file);
        }

        // The training data's profile beside the model (drift monitoring's reference): the features, the labels, the predicted classes.
        var profile = MlOps.Client.Monitoring.ReferenceProfile.Load(Path.Combine(root, "model"));
        Assert.Equal(150, profile.Rows);
        Assert.Equal(["f0", "f1", "f2", "f3"], profile.Features.Select(f => f.Name));
        Assert.All(profile.Features, f => Assert.Equal(150, f.Count));
        Assert.Equal(x.Min(r => r[1]), profile.Features[1].Min!.Value, 5);
        Assert.Equal(x.Max(r => r[1]), profile.Features[1].Max!.Value, 5);
        Assert.Equal(MlOps.Client.Monitoring.FeatureKind.Categorical, profile.Target!.Kind);
        Assert.Equal(y.CountBy(v => v).OrderBy(c => c.Key).Select(c => (long)c.Value), profile.Target.Categories.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => c.Value));
        var predicted = Assert.Single(profile.Predictions);
        Assert.Equal("prediction", predicted.Name);
        Assert.Equal(150, predicted.Categories.Values.Sum());

        Assert.False(File.Exists(Path.Combine(root, "model", "input_example.json"))); // log_input_examples is off by default, as in Python
        Assert.Null(mlmodel.SavedInputExampleInfo);

        Assert.Contains($"xgboost=={Booster.LibraryVersion.ToString(3)}", File.ReadAllLines(Path.Combine(root, "model", "requirements.txt")));
        Assert.Contains("- -r requirements.txt", File.ReadAllText(Path.Combine(root, "model", "python_env.yaml")), StringComparison.Ordinal);
        Assert.Contains("name: mlflow-env", File.ReadAllText(Path.Combine(root, "model", "conda.yaml")), StringComparison.Ordinal);

        Assert.Equal(2, logged.Inputs.DatasetInputs.Count);
        var train = logged.Inputs.DatasetInputs.Single(d => d.Dataset.Name == "dataset");
        Assert.Equal("train", train.Tags.Single(t => t.Key == "mlflow.data.context").Value);
        Assert.Equal(dtrain.Digest, train.Dataset.Digest);
        Assert.Equal("code", train.Dataset.SourceType);
        Assert.Contains("\"features_shape\":[150,4]", train.Dataset.Profile, StringComparison.Ordinal);
        Assert.Equal("eval", logged.Inputs.DatasetInputs.Single(d => d.Dataset.Name == "train").Tags.Single(t => t.Key == "mlflow.data.context").Value);

        // C#: LoadModelAsync gives back a Booster predicting the same probabilities.
        using var loaded = await _store.LoadModelAsync<Booster>($"runs:/{runId}/model");
        Assert.Equal(expected, loaded.Predict(dtrain));
    }

    [XGBoostFact]
    public async Task Without_an_active_run_it_starts_one_and_ends_it_after_training()
    {
        var (x, y) = TestData.Binary(100, 3, 31);
        using var dtrain = new DMatrix(x, y);
        using var autolog = XGBoostAutolog.Enable(_tracker);
        Assert.True(XGBoostAutolog.IsEnabled);
        using var booster = XGBoost.Train(TestData.BinaryParams(), dtrain, 3);
        Assert.Null(Tracker.ActiveRun);
        var runs = await _store.SearchRunsPageAsync(new SearchRunsOptions { ExperimentIds = { await _tracker.GetExperimentIdAsync() } }, null, default);
        var run = Assert.Single(runs.Values);
        Assert.Equal(RunStatus.Finished, run.Info.Status);
        Assert.Equal("3", run.Data.GetParam("num_boost_round"));
        Assert.Empty(run.Data.Metrics); // no evals, no metrics
    }

    [XGBoostFact]
    public async Task A_failing_training_fails_the_run_autolog_started_and_the_error_reaches_the_caller()
    {
        var (x, y) = TestData.Binary(50, 3, 32);
        using var dtrain = new DMatrix(x, y);
        using var autolog = XGBoostAutolog.Enable(_tracker);
        Assert.Throws<XGBoostException>(() => XGBoost.Train(new Dictionary<string, object?> { ["objective"] = "no:such" }, dtrain, 3));
        var runs = await _store.SearchRunsPageAsync(new SearchRunsOptions { ExperimentIds = { await _tracker.GetExperimentIdAsync() } }, null, default);
        Assert.Equal(RunStatus.Failed, Assert.Single(runs.Values).Info.Status);
    }

    [XGBoostFact]
    public async Task Early_stopping_logs_stopped_and_best_iteration_and_the_best_scores_one_step_later()
    {
        var (x, y) = TestData.Noise(300, 5, 33);
        var (vx, vy) = TestData.Noise(200, 5, 34);
        using var train = new DMatrix(x, y);
        using var valid = new DMatrix(vx, vy);
        var history = new EvaluationLog();
        string runId;
        int best;
        using (var run = _tracker.StartRun())
        {
            runId = run.RunId;
            using var autolog = _tracker.AutologXGBoost();
            using var booster = XGBoost.Train(TestData.BinaryParams(), train, 100, [(train, "train"), (valid, "valid")], earlyStoppingRounds: 4, evalsResult: history);
            best = booster.BestIteration!.Value;
        }

        var rounds = history["valid", "logloss"].Count;
        var logged = await _store.GetRunAsync(runId, default);
        Assert.Equal("4", logged.Data.GetParam("early_stopping_rounds"));
        Assert.Equal(rounds - 1, logged.Data.Metrics.Single(m => m.Key == "stopped_iteration").Value);
        Assert.Equal(best, logged.Data.Metrics.Single(m => m.Key == "best_iteration").Value);
        var validHistory = await _store.GetMetricHistoryAsync(runId, "valid-logloss", default);
        Assert.Equal(rounds + 1, validHistory.Count);
        var extra = validHistory.Single(m => m.Step == rounds);
        Assert.Equal(history["valid", "logloss"][best], extra.Value, 12);
        Assert.Equal(rounds + 1, (await _store.GetMetricHistoryAsync(runId, "train-logloss", default)).Count);
    }

    [XGBoostFact]
    public async Task Options_turn_off_the_model_choose_importance_types_thin_metrics_and_add_tags()
    {
        var (x, y) = TestData.Binary(150, 4, 35);
        using var dtrain = new DMatrix(x, y);
        var options = new XGBoostAutologOptions { LogModels = false, LogEveryNIterations = 3, LogDatasets = false, FeatureImportancePlot = FeatureImportancePlots.RenderPng };
        options.ImportanceTypes.Clear();
        options.ImportanceTypes.Add(ImportanceType.Gain);
        options.ImportanceTypes.Add(ImportanceType.TotalCover);
        options.ExtraTags["team"] = "vision";
        string runId;
        using (var run = _tracker.StartRun())
        {
            runId = run.RunId;
            using var autolog = _tracker.AutologXGBoost(options);
            using var booster = XGBoost.Train(TestData.BinaryParams(), dtrain, 11, [(dtrain, "train")]);
        }

        var logged = await _store.GetRunAsync(runId, default);
        Assert.Equal("vision", logged.Data.GetTag("team"));
        Assert.Empty(logged.Inputs.DatasetInputs);
        var steps = (await _store.GetMetricHistoryAsync(runId, "train-logloss", default)).Select(m => m.Step).Order();
        Assert.Equal([0L, 3, 6, 9, 10], steps);
        var root = ArtifactRoot(logged);
        Assert.False(Directory.Exists(Path.Combine(root, "model")));
        Assert.True(File.Exists(Path.Combine(root, "feature_importance_gain.json")));
        Assert.True(File.Exists(Path.Combine(root, "feature_importance_total_cover.png")));
        Assert.False(File.Exists(Path.Combine(root, "feature_importance_weight.json")));
        Assert.Throws<ArgumentOutOfRangeException>(() => XGBoostAutolog.Enable(_tracker, new XGBoostAutologOptions { LogEveryNIterations = 0 }));
    }

    [XGBoostFact]
    public async Task Disabled_autologging_logs_nothing_and_fit_is_logged_like_train()
    {
        var (x, y) = TestData.Binary(100, 3, 36);
        using (var dtrain = new DMatrix(x, y))
        {
            var registration = _tracker.AutologXGBoost();
            registration.Dispose();
            Assert.False(XGBoostAutolog.IsEnabled);
            using var booster = XGBoost.Train(TestData.BinaryParams(), dtrain, 2);
        }

        var experiment = await _tracker.GetExperimentIdAsync();
        Assert.Empty((await _store.SearchRunsPageAsync(new SearchRunsOptions { ExperimentIds = { experiment } }, null, default)).Values);

        using var autolog = _tracker.AutologXGBoost();
        using var classifier = new XGBClassifier(nEstimators: 4);
        classifier.Fit(x, y, [(x, y)]);
        var run = Assert.Single((await _store.SearchRunsPageAsync(new SearchRunsOptions { ExperimentIds = { experiment } }, null, default)).Values);
        Assert.Equal("4", run.Data.GetParam("num_boost_round"));
        Assert.Equal("binary:logistic", run.Data.GetParam("objective"));
        Assert.Contains(run.Data.Metrics, m => m.Key == "validation_0-logloss");
    }

    [XGBoostFact]
    public void Metric_keys_are_made_acceptable_to_mlflow()
    {
        Assert.Equal("valid-ndcg_5", XGBoostAutologSession.MetricKey(new EvalSetMetric("valid", "ndcg@5", 1)));
        Assert.Equal("train-map_3-", XGBoostAutologSession.MetricKey(new EvalSetMetric("train", "map@3-", 1)));
    }

    [XGBoostFact]
    public async Task The_flavor_round_trips_every_format_through_the_registry_of_flavors()
    {
        var (x, y) = TestData.Binary(100, 3, 37);
        using var dtrain = new DMatrix(x, y);
        using var booster = XGBoost.Train(TestData.BinaryParams(), dtrain, 3);
        foreach (var format in Enum.GetValues<XGBoostModelFormat>())
        {
            LoggedModelInfo info;
            using (var run = _tracker.StartRun())
            {
                info = await run.LogModelAsync(booster, new XGBoostFlavor(format));
            }

            Assert.Equal(format.ToString().ToLowerInvariant(), info.Description.Flavors["xgboost"]["model_format"]!.GetValue<string>());
            using var loaded = await _store.LoadModelAsync<Booster>(info.ModelUri); // flavor registered for Booster
            Assert.Equal(booster.Predict(dtrain), loaded.Predict(dtrain));
        }
    }
}
