namespace MlOps.Client.XGBoost.Tests;

/// <summary>Right answers or clear errors: feature counts, metric values XGBoost prints as inf/nan, slice ranges, disposal.</summary>
public sealed class PredictionChecksTests
{
    [XGBoostFact]
    public void Predicting_on_a_matrix_with_another_feature_count_than_the_model_is_refused_naming_both()
    {
        var (x, y) = TestData.Binary(200, 20, 1);
        using var train = new DMatrix(x, y);
        using var model = XGBoost.Train(TestData.BinaryParams(), train, numBoostRound: 5);
        using var narrow = new DMatrix(x.Select(r => r[..10]).ToArray());
        var error = Assert.Throws<ArgumentException>(() => model.Predict(narrow));
        Assert.Contains("10 features", error.Message, StringComparison.Ordinal);
        Assert.Contains("trained on 20", error.Message, StringComparison.Ordinal);
        Assert.Equal(200, model.Predict(train).Length); // the right shape still predicts
    }

    [Fact]
    public void Metric_values_printed_as_inf_or_nan_parse()
    {
        var results = EvalSetMetric.Parse("[3]\ttrain-mape:inf\teval-mape:-inf\teval-rmse:nan\teval-logloss:0.25", ["train", "eval"]);
        Assert.Equal(double.PositiveInfinity, results[0].Value);
        Assert.Equal(double.NegativeInfinity, results[1].Value);
        Assert.True(double.IsNaN(results[2].Value));
        Assert.Equal(0.25, results[3].Value);
    }

    [XGBoostFact]
    public void A_slice_out_of_range_is_refused_with_the_range()
    {
        var (x, y) = TestData.Binary(100, 4, 2);
        using var train = new DMatrix(x, y);
        using var model = XGBoost.Train(TestData.BinaryParams(), train, numBoostRound: 5);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => model.Slice(3, 9));
        Assert.Contains("5 rounds", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Slice(4, 2));
        using var first = model.Slice(0, 2);
        Assert.Equal(2, first.BoostedRounds);
    }

    [XGBoostFact]
    public void After_Dispose_IsDisposed_is_true_and_every_call_throws_ObjectDisposedException()
    {
        var (x, y) = TestData.Binary(50, 4, 3);
        var train = new DMatrix(x, y);
        var model = XGBoost.Train(TestData.BinaryParams(), train, numBoostRound: 2);
        model.Dispose();
        train.Dispose();
        Assert.True(model.IsDisposed);
        Assert.True(train.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => train.Labels);
        Assert.Throws<ObjectDisposedException>(() => model.BoostedRounds);
        using var other = new DMatrix(x, y);
        Assert.Throws<ObjectDisposedException>(() => model.Predict(other));
    }
}

/// <summary>libxgboost's own log reaches an <see cref="Microsoft.Extensions.Logging.ILogger"/>.</summary>
public sealed class NativeLogTests
{
    private sealed class ListLogger : Microsoft.Extensions.Logging.ILogger
    {
        public System.Collections.Concurrent.ConcurrentQueue<(Microsoft.Extensions.Logging.LogLevel Level, string Text)> Lines { get; } = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Enqueue((logLevel, formatter(state, exception)));
    }

    [XGBoostFact]
    public void A_misspelt_parameter_is_a_warning_in_the_logger_not_only_a_line_on_stderr()
    {
        var logger = new ListLogger();
        XGBoost.Logger = logger;
        try
        {
            var (x, y) = TestData.Binary(50, 4, 5);
            using var train = new DMatrix(x, y);
            var parameters = TestData.BinaryParams();
            parameters["max_dpeth"] = 3;
            using var model = XGBoost.Train(parameters, train, numBoostRound: 2);
        }
        finally
        {
            XGBoost.Logger = null;
        }

        Assert.Contains(logger.Lines, l => l.Level == Microsoft.Extensions.Logging.LogLevel.Warning && l.Text.Contains("max_dpeth", StringComparison.Ordinal));
    }
}

/// <summary>XGBClassifier with objectives that output classes, as Python's.</summary>
public sealed class ClassifierObjectiveTests
{
    [XGBoostFact]
    public void With_multi_softmax_Predict_returns_the_models_classes_and_PredictProbability_is_refused()
    {
        var (x, y) = TestData.Multiclass(300, 4, 6);
        var softprob = new XGBClassifier(nEstimators: 10, seed: 1);
        softprob.Fit(x, y);
        var softmax = new XGBClassifier(nEstimators: 10, seed: 1);
        softmax.Parameters["objective"] = "multi:softmax";
        softmax.Fit(x, y);

        var classes = softmax.Predict(x);
        Assert.All(classes, c => Assert.Contains(c, new[] { 0f, 1f, 2f }));
        Assert.Equal(softprob.Predict(x), classes); // the same trees: the same classes
        Assert.True(classes.Zip(y).Count(p => p.First == p.Second) > 270);
        var error = Assert.Throws<InvalidOperationException>(() => softmax.PredictProbability(x));
        Assert.Contains("multi:softmax", error.Message, StringComparison.Ordinal);
    }
}

/// <summary>A corrupt or hostile JSON model is an exception at load, not a crash or a hang in predict.</summary>
public sealed class ModelValidationTests
{
    private static (byte[] Json, DMatrix Data) Model()
    {
        var (x, y) = TestData.Binary(200, 6, 8);
        var data = new DMatrix(x, y);
        using var model = XGBoost.Train(TestData.BinaryParams(), data, numBoostRound: 3);
        return (model.SaveToBuffer(ModelFormat.Json), data);
    }

    private static byte[] Corrupt(byte[] json, string array, int node, long value)
    {
        var root = System.Text.Json.Nodes.JsonNode.Parse(json)!;
        var tree = root["learner"]!["gradient_booster"]!["model"]!["trees"]![0]!;
        tree[array]![node] = value;
        return System.Text.Encoding.UTF8.GetBytes(root.ToJsonString());
    }

    [XGBoostTheory]
    [InlineData("left_children", 0, 100_000L, "children")]  // out of range
    [InlineData("right_children", 0, 0L, "children")]       // points to itself: a cycle
    [InlineData("split_indices", 0, 6L, "split index 6")]   // not one of the 6 features
    public void A_tree_that_would_crash_or_hang_XGBoost_is_refused_naming_tree_and_node(string array, int node, long value, string expected)
    {
        var (json, data) = Model();
        using (data)
        {
            var error = Assert.Throws<InvalidDataException>(() => Booster.LoadFromBuffer(Corrupt(json, array, node, value)));
            Assert.Contains("tree 0", error.Message, StringComparison.Ordinal);
            Assert.Contains(expected, error.Message, StringComparison.Ordinal);

            using var intact = Booster.LoadFromBuffer(json); // the same model untouched loads and predicts
            Assert.Equal(200, intact.Predict(data).Length);
        }
    }

    [XGBoostFact]
    public void A_tree_whose_right_child_does_not_follow_its_left_is_refused_before_a_prediction_reads_outside_it()
    {
        // A stump whose leaves are stored right first, parents intact: XGBoost 1.7 loads it and its predictor, which takes
        // the right branch as left + 1, reads node 3 of a 3-node tree — found crashing the process.
        var (x, y) = TestData.Binary(200, 6, 4);
        using var train = new DMatrix(x, y);
        var parameters = TestData.BinaryParams();
        parameters["max_depth"] = 1;
        using var stump = XGBoost.Train(parameters, train, numBoostRound: 2);
        var root = System.Text.Json.Nodes.JsonNode.Parse(stump.SaveToBuffer(ModelFormat.Json))!;
        var tree = root["learner"]!["gradient_booster"]!["model"]!["trees"]![0]!.AsObject();
        foreach (var name in new[] { "base_weights", "default_left", "left_children", "loss_changes", "parents", "right_children", "split_conditions", "split_indices", "split_type", "sum_hessian" })
        {
            var array = tree[name]!.AsArray();
            var (one, two) = (array[1]!.DeepClone(), array[2]!.DeepClone());
            array[1] = two;
            array[2] = one;
        }

        tree["left_children"]![0] = 2;
        tree["right_children"]![0] = 1;
        var error = Assert.Throws<InvalidDataException>(() => Booster.LoadFromBuffer(System.Text.Encoding.UTF8.GetBytes(root.ToJsonString())));
        Assert.Contains("tree 0, node 0: children 2 and 1", error.Message, StringComparison.Ordinal);
        Assert.Contains("must follow the left one", error.Message, StringComparison.Ordinal);

        // The stump as XGBoost wrote it loads and predicts.
        using var intact = Booster.LoadFromBuffer(stump.SaveToBuffer(ModelFormat.Json));
        Assert.Equal(2, intact.InplacePredict(new float[12], 2, 6).Values.Length);
    }
}

/// <summary>Renamed features are refused, as Python's validate_features does.</summary>
public sealed class FeatureNameTests
{
    [XGBoostFact]
    public void Predicting_on_data_whose_feature_names_differ_from_the_models_is_refused()
    {
        var (x, y) = TestData.Binary(100, 3, 9);
        using var train = new DMatrix(x, y) { FeatureNames = ["a", "b", "c"] };
        using var model = XGBoost.Train(TestData.BinaryParams(), train, numBoostRound: 2);
        model.FeatureNames = ["a", "b", "c"];
        using var renamed = new DMatrix(x) { FeatureNames = ["a", "c", "b"] };
        var error = Assert.Throws<ArgumentException>(() => model.Predict(renamed));
        Assert.Contains("column 1", error.Message, StringComparison.Ordinal);
        using var same = new DMatrix(x) { FeatureNames = ["a", "b", "c"] };
        Assert.Equal(100, model.Predict(same).Length);
        using var unnamed = new DMatrix(x);
        Assert.Equal(100, model.Predict(unnamed).Length); // no names on the data: the column count decides
    }
}
