namespace MlOps.Client.XGBoost.Tests;

/// <summary>CSR input, inplace prediction, survival bounds, multi-output labels, group weights, feature types, save_best.</summary>
[Collection(XGBoostCollection.Name)]
public sealed class DataFormatsTests
{
    [XGBoostFact]
    public void A_CSR_matrix_trains_the_same_model_as_the_dense_one()
    {
        var (x, y) = TestData.Binary(300, 5, 11);
        for (var i = 0; i < x.Length; i++)
        {
            x[i][i % 5] = float.NaN; // one missing value per row
        }

        var offsets = new List<long> { 0 };
        var columns = new List<int>();
        var values = new List<float>();
        foreach (var row in x)
        {
            for (var j = 0; j < row.Length; j++)
            {
                if (!float.IsNaN(row[j]))
                {
                    columns.Add(j);
                    values.Add(row[j]);
                }
            }

            offsets.Add(values.Count);
        }

        using var dense = new DMatrix(x, y);
        using var sparse = DMatrix.FromCsr(offsets.ToArray(), columns.ToArray(), values.ToArray(), 5, y);
        Assert.Equal((300, 5), (sparse.RowCount, sparse.ColumnCount));
        using var fromDense = XGBoost.Train(TestData.BinaryParams(), dense, numBoostRound: 5);
        using var fromSparse = XGBoost.Train(TestData.BinaryParams(), sparse, numBoostRound: 5);
        Assert.Equal(fromDense.Predict(dense), fromSparse.Predict(sparse));
    }

    [XGBoostFact]
    public void CSR_input_that_would_read_out_of_bounds_is_refused_naming_the_entry()
    {
        Assert.Contains("columnIndices[1] is 7", Assert.Throws<ArgumentException>(() => DMatrix.FromCsr([0, 2], [0, 7], [1f, 2f], 3)).Message, StringComparison.Ordinal);
        Assert.Contains("end at the 2 values", Assert.Throws<ArgumentException>(() => DMatrix.FromCsr([0, 3], [0, 1], [1f, 2f], 3)).Message, StringComparison.Ordinal);
        Assert.Contains("never decrease", Assert.Throws<ArgumentException>(() => DMatrix.FromCsr([0, 2, 1, 2], [0, 1], [1f, 2f], 3)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => DMatrix.FromCsr([0, 2], [0], [1f, 2f], 3));
    }

    [XGBoostFact]
    public void Inplace_prediction_gives_the_DMatrix_prediction_and_checks_the_feature_count()
    {
        var (x, y) = TestData.Multiclass(200, 4, 12);
        using var train = new DMatrix(x, y);
        var parameters = TestData.BinaryParams();
        parameters["objective"] = "multi:softprob";
        parameters["num_class"] = 3;
        parameters["eval_metric"] = "mlogloss";
        using var model = XGBoost.Train(parameters, train, numBoostRound: 4);
        var flat = x.SelectMany(r => r).ToArray();
        var inplace = model.InplacePredict(flat, 200, 4);
        var expected = model.PredictWithShape(train);
        Assert.Equal(expected.Values, inplace.Values);
        Assert.Equal(expected.Shape, inplace.Shape);
        Assert.Equal(model.Predict(train, new PredictionOptions { Type = PredictionType.Margin, IterationEnd = 2 }),
            model.InplacePredict(flat, 200, 4, new PredictionOptions { Type = PredictionType.Margin, IterationEnd = 2 }).Values);
        Assert.Contains("trained on 4", Assert.Throws<ArgumentException>(() => model.InplacePredict(flat.AsSpan(0, 300), 100, 3)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => model.InplacePredict(flat, 200, 4, new PredictionOptions { Type = PredictionType.Contributions }));
    }

    [XGBoostFact]
    public async Task Inplace_predictions_that_share_a_threads_proxy_matrix_each_get_their_own_rows()
    {
        // One proxy DMatrix per thread serves every in-place prediction of that thread, whatever the booster, the row
        // count or the width: each answer must still be the DMatrix prediction of its own rows.
        var (x4, y4) = TestData.Binary(120, 4, 21);
        var (x6, y6) = TestData.Binary(90, 6, 22);
        using var train4 = new DMatrix(x4, y4);
        using var train6 = new DMatrix(x6, y6);
        using var model4 = XGBoost.Train(TestData.BinaryParams(), train4, numBoostRound: 4);
        using var model6 = XGBoost.Train(TestData.BinaryParams(), train6, numBoostRound: 4);
        var expected4 = model4.Predict(train4);
        var expected6 = model6.Predict(train6);
        var flat4 = x4.SelectMany(r => r).ToArray();
        var flat6 = x6.SelectMany(r => r).ToArray();

        void Check(int i)
        {
            var rows = 1 + (i * 7 % 90);
            if (i % 2 == 0)
            {
                Assert.Equal(expected4.AsSpan(0, rows).ToArray(), model4.InplacePredict(flat4.AsSpan(0, rows * 4), rows, 4).Values);
            }
            else
            {
                Assert.Equal(expected6.AsSpan(0, rows).ToArray(), model6.InplacePredict(flat6.AsSpan(0, rows * 6), rows, 6).Values);
            }
        }

        for (var i = 0; i < 40; i++)
        {
            Check(i); // one thread, alternating models and sizes
        }

        // Several threads at once, each with its own proxy.
        await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 200; i++)
            {
                Check(i + t);
            }
        }))).WaitAsync(TimeSpan.FromMinutes(2));
    }

    [XGBoostFact]
    public void Estimators_predict_inplace_with_the_boosters_answer()
    {
        var (x, y) = TestData.Binary(200, 4, 13);
        using var classifier = new XGBClassifier(nEstimators: 5, maxDepth: 3);
        classifier.Fit(x, y);
        using var data = new DMatrix(x);
        var probabilities = classifier.PredictProbability(x);
        Assert.Equal(classifier.Booster.Predict(data), probabilities.Select(p => p[1]).ToArray());
    }

    [XGBoostFact]
    public void Survival_AFT_trains_on_label_bounds_with_right_censored_rows()
    {
        var (x, _) = TestData.Binary(200, 3, 14);
        var lower = x.Select(r => 1 + (5 * Math.Abs(r[0]))).ToArray();
        var upper = lower.Select((l, i) => i % 4 == 0 ? float.PositiveInfinity : l).ToArray(); // every 4th row censored
        using var data = new DMatrix(x) { LabelLowerBound = lower, LabelUpperBound = upper };
        Assert.Equal(lower, data.LabelLowerBound);
        Assert.Equal(upper, data.LabelUpperBound);
        var parameters = new Dictionary<string, object?>
        {
            ["objective"] = "survival:aft", ["eval_metric"] = "aft-nloglik", ["aft_loss_distribution"] = "normal",
            ["aft_loss_distribution_scale"] = 1.2, ["tree_method"] = "hist", ["nthread"] = 1,
        };
        var history = new EvaluationLog();
        using var model = XGBoost.Train(parameters, data, numBoostRound: 10, evals: [(data, "train")], evalsResult: history);
        Assert.All(model.Predict(data), p => Assert.True(float.IsFinite(p) && p > 0, $"predicted survival time {p}"));
        var losses = history["train", "aft-nloglik"];
        Assert.True(losses[^1] < losses[0], $"aft-nloglik {losses[0]} → {losses[^1]}");
        Assert.Contains("LabelLowerBound[0]", Assert.Throws<ArgumentException>(() => data.LabelLowerBound = [float.PositiveInfinity, .. lower[1..]]).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => data.LabelUpperBound = [-1f, .. upper[1..]]);
    }

    [XGBoostFact]
    public void Labels_with_two_targets_train_a_two_output_regressor()
    {
        var (x, _) = TestData.Binary(200, 3, 15);
        var labels = x.SelectMany(r => new[] { r[0] + r[1], r[2] * 2 }).ToArray();
        using var data = new DMatrix(x);
        data.SetLabels(labels, targets: 2);
        Assert.Equal(labels, data.Labels);
        var parameters = new Dictionary<string, object?> { ["objective"] = "reg:squarederror", ["tree_method"] = "hist", ["nthread"] = 1, ["seed"] = 1 };
        using var model = XGBoost.Train(parameters, data, numBoostRound: 20);
        var prediction = model.PredictWithShape(data);
        Assert.Equal([200L, 2L], prediction.Shape);
        Assert.True(Math.Abs(prediction.Row(0)[1] - labels[1]) < 0.3, $"target 2 of row 0: {prediction.Row(0)[1]} vs {labels[1]}");
        Assert.Contains("200 rows × 2 targets", Assert.Throws<ArgumentException>(() => data.SetLabels(labels[..10], 2)).Message, StringComparison.Ordinal);
    }

    [XGBoostFact]
    public void Ranking_weights_are_one_per_group()
    {
        var (x, y) = TestData.Binary(60, 3, 16);
        using var data = new DMatrix(x, y);
        data.SetGroups([20, 20, 20]);
        data.Weights = [1f, 2f, 0.5f];
        Assert.Equal([1f, 2f, 0.5f], data.Weights);
        Assert.Contains("3 groups", Assert.Throws<ArgumentException>(() => data.Weights = [1f, 2f]).Message, StringComparison.Ordinal);
        using var model = XGBoost.Train(new Dictionary<string, object?> { ["objective"] = "rank:pairwise", ["nthread"] = 1 }, data, numBoostRound: 3);
        Assert.Equal(60, model.Predict(data).Length);
    }

    [XGBoostFact]
    public void Feature_types_of_the_training_matrix_are_carried_to_the_booster()
    {
        var (x, y) = TestData.Binary(100, 3, 17);
        using var data = new DMatrix(x, y) { FeatureNames = ["a", "b", "c"], FeatureTypes = ["q", "float", "int"] };
        using var model = XGBoost.Train(TestData.BinaryParams(), data, numBoostRound: 2);
        Assert.Equal(["q", "float", "int"], model.FeatureTypes);
        Assert.Equal(["a", "b", "c"], model.FeatureNames);
    }

    [XGBoostFact]
    public void Save_best_keeps_best_iteration_and_best_score_on_the_cut_booster()
    {
        var (x, y) = TestData.Noise(300, 4, 18);
        var (vx, vy) = TestData.Noise(200, 4, 19);
        using var train = new DMatrix(x, y);
        using var valid = new DMatrix(vx, vy);
        using var model = XGBoost.Train(TestData.BinaryParams(), train, numBoostRound: 100, evals: [(valid, "valid")],
            callbacks: [new EarlyStopping(rounds: 3, saveBest: true)]);
        Assert.NotNull(model.BestIteration);
        Assert.NotNull(model.BestScore);
        Assert.Equal(model.BestIteration + 1, model.BoostedRounds);
    }
}
