namespace MlOps.Client.XGBoost.Tests;

[Collection(XGBoostCollection.Name)]
public sealed class TrainingTests
{
    private sealed class Recorder : TrainingCallback
    {
        public List<string> Events { get; } = [];

        public int StopAfter { get; init; } = int.MaxValue;

        public int StopBefore { get; init; } = int.MaxValue;

        public override void BeforeTraining(Booster model) => Events.Add("before-training");

        public override bool BeforeIteration(Booster model, int iteration, EvaluationLog log)
        {
            Events.Add($"before {iteration}");
            return iteration >= StopBefore;
        }

        public override bool AfterIteration(Booster model, int iteration, EvaluationLog log)
        {
            Events.Add($"after {iteration}: {string.Join(",", log.Latest.Select(r => r.Key))}");
            return iteration >= StopAfter;
        }

        public override void AfterTraining(Booster model) => Events.Add("after-training");
    }

    [XGBoostFact]
    public void Callbacks_see_every_iteration_with_its_evaluation_and_can_stop_training()
    {
        var (x, y) = TestData.Binary(200, 4, 11);
        using var train = new DMatrix(x, y);
        var recorder = new Recorder { StopAfter = 3 };
        var history = new EvaluationLog();
        using var booster = XGBoost.Train(TestData.BinaryParams(), train, 10, [(train, "train")], [recorder], evalsResult: history);
        Assert.Equal(4, booster.BoostedRounds);
        Assert.Equal("before-training", recorder.Events[0]);
        Assert.Equal("after 0: train-logloss", recorder.Events[2]);
        Assert.Equal("after-training", recorder.Events[^1]);
        Assert.Equal(4, history["train", "logloss"].Count);
        Assert.True(history["train", "logloss"][3] < history["train", "logloss"][0]);

        var early = new Recorder { StopBefore = 2 };
        using var b2 = XGBoost.Train(TestData.BinaryParams(), train, 10, callbacks: [early]);
        Assert.Equal(2, b2.BoostedRounds);
    }

    [XGBoostFact]
    public void Evaluation_matches_XGBoosts_own_evaluation_and_the_monitor_prints_like_python()
    {
        var (x, y) = TestData.Binary(200, 4, 12);
        using var train = new DMatrix(x, y);
        var (vx, vy) = TestData.Binary(100, 4, 13);
        using var valid = new DMatrix(vx, vy);
        var history = new EvaluationLog();
        var output = new StringWriter();
        var p = TestData.BinaryParams();
        p["eval_metric"] = new[] { "logloss", "error" };
        using var booster = XGBoost.Train(p, train, 5, [(train, "train"), (valid, "valid")], evalsResult: history, verboseEval: 2, log: output);
        Assert.Equal(["train", "valid"], history.DataNames);
        Assert.Equal(["logloss", "error"], history.Metrics("valid"));
        var again = booster.Evaluate(4, [(train, "train"), (valid, "valid")]);
        Assert.Equal(history["valid", "logloss"][4], again.Single(r => r.Key == "valid-logloss").Value, 12);

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["[0]", "[2]", "[4]"], lines.Select(l => l.Split('\t')[0]));
        Assert.Matches(@"^\[0\]\ttrain-logloss:\d\.\d{5}\ttrain-error:\d\.\d{5}\tvalid-logloss:\d\.\d{5}\tvalid-error:\d\.\d{5}\r?$", lines[0]);
    }

    [XGBoostFact]
    public void Early_stopping_picks_the_best_iteration_of_the_last_metric_on_the_last_set()
    {
        var (x, y) = TestData.Noise(300, 5, 14);
        var (vx, vy) = TestData.Noise(200, 5, 15);
        using var train = new DMatrix(x, y);
        using var valid = new DMatrix(vx, vy);
        var history = new EvaluationLog();
        var p = TestData.BinaryParams();
        p["max_depth"] = 6;
        using var booster = XGBoost.Train(p, train, 200, [(train, "train"), (valid, "valid")], earlyStoppingRounds: 5, evalsResult: history);
        var curve = history["valid", "logloss"];
        var best = curve.Select((v, i) => (v, i)).MinBy(t => t.v).i;
        Assert.Equal(best, booster.BestIteration);
        Assert.Equal(curve[best], booster.BestScore!.Value, 12);
        Assert.True(curve.Count < 200, "noise labels make validation loss rise: training must stop early");
        Assert.Equal(best + 5 + 1, booster.BoostedRounds);
        Assert.Equal(curve.Count, booster.BoostedRounds);
    }

    [XGBoostFact]
    public void Early_stopping_maximizes_auc_and_can_keep_only_the_best_trees()
    {
        var (x, y) = TestData.Noise(300, 5, 16);
        var (vx, vy) = TestData.Noise(200, 5, 17);
        using var train = new DMatrix(x, y);
        using var valid = new DMatrix(vx, vy);
        var history = new EvaluationLog();
        var p = TestData.BinaryParams();
        p["eval_metric"] = "auc";
        var stop = new EarlyStopping(4, saveBest: true);
        using var booster = XGBoost.Train(p, train, 100, [(valid, "valid")], [stop], evalsResult: history);
        var curve = history["valid", "auc"];
        var best = curve.Select((v, i) => (v, i)).MaxBy(t => t.v).i;
        Assert.Equal(best, stop.BestIteration);
        Assert.Equal(best + 1, booster.BoostedRounds);
    }

    [XGBoostFact]
    public void Train_arguments_are_checked_before_anything_runs()
    {
        var (x, y) = TestData.Binary(20, 3, 18);
        using var train = new DMatrix(x, y);
        using var narrow = new DMatrix(new float[][] { [1, 2] }, [1]);
        Assert.Throws<ArgumentException>(() => XGBoost.Train(TestData.BinaryParams(), train, 5, earlyStoppingRounds: 2));
        Assert.Throws<ArgumentException>(() => XGBoost.Train(TestData.BinaryParams(), train, 5, [(narrow, "narrow")]));
        Assert.Throws<ArgumentException>(() => XGBoost.Train(TestData.BinaryParams(), train, 5, [(train, "a"), (train, "a")]));
        Assert.Throws<ArgumentOutOfRangeException>(() => XGBoost.Train(TestData.BinaryParams(), train, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EarlyStopping(0));
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => XGBoost.Train(TestData.BinaryParams(), train, 5, cancellationToken: cts.Token));
    }

    [XGBoostFact]
    public void Training_continues_from_an_existing_model()
    {
        var (x, y) = TestData.Binary(200, 4, 19);
        using var train = new DMatrix(x, y);
        using var first = XGBoost.Train(TestData.BinaryParams(), train, 4);
        using var continued = XGBoost.Train(TestData.BinaryParams(), train, 3, xgbModel: first);
        Assert.Equal(7, continued.BoostedRounds);
        Assert.Equal(4, first.BoostedRounds);
    }

    [XGBoostFact]
    public void Classifier_and_regressor_fit_and_predict()
    {
        var (x, y) = TestData.Multiclass(400, 5, 20);
        using var classifier = new XGBClassifier(nEstimators: 30, maxDepth: 4, learningRate: 0.3, seed: 1);
        Assert.Throws<InvalidOperationException>(() => classifier.Booster);
        classifier.Fit(x, y);
        Assert.Equal(3, classifier.NumClasses);
        var predicted = classifier.Predict(x);
        Assert.True(predicted.Zip(y).Count(p => p.First == p.Second) > 380);
        var proba = classifier.PredictProbability(x);
        Assert.All(proba, p => Assert.Equal(1f, p.Sum(), 4));
        Assert.Throws<ArgumentException>(() => classifier.Fit(x, [.. y.Select(v => v + 0.5f)]));

        var (bx, by) = TestData.Binary(300, 4, 21);
        using var binary = new XGBClassifier(nEstimators: 20) { EarlyStoppingRounds = 3 };
        var (vx, vy) = TestData.Binary(100, 4, 22);
        binary.Fit(bx, by, [(vx, vy)]);
        Assert.Equal(["validation_0"], binary.EvalsResult!.DataNames);
        Assert.All(binary.PredictProbability(vx), p => Assert.Equal(2, p.Length));

        var regressionY = bx.Select(r => (r[0] * 3) + r[1]).ToArray();
        using var regressor = new XGBRegressor(nEstimators: 50, maxDepth: 3);
        regressor.Fit(bx, regressionY);
        var rmse = Math.Sqrt(regressor.Predict(bx).Zip(regressionY).Average(p => Math.Pow(p.First - p.Second, 2)));
        Assert.True(rmse < 0.3, $"rmse {rmse}");

        var path = Path.Combine(Path.GetTempPath(), $"mlops-xgb-{Guid.NewGuid():N}.json");
        try
        {
            classifier.SaveModel(path);
            using var reloaded = new XGBClassifier();
            reloaded.LoadModel(path);
            Assert.Equal(3, reloaded.NumClasses);
            Assert.Equal(predicted, reloaded.Predict(x));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
