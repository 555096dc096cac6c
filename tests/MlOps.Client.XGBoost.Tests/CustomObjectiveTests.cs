namespace MlOps.Client.XGBoost.Tests;

/// <summary>Custom objective and metric delegates, as Python's <c>xgboost.train(obj=..., custom_metric=...)</c>.</summary>
[Collection(XGBoostCollection.Name)]
public sealed class CustomObjectiveTests
{
    private static readonly Dictionary<string, object?> Parameters = new()
    {
        ["max_depth"] = 3, ["eta"] = 0.3, ["nthread"] = 1, ["seed"] = 3, ["tree_method"] = "hist", ["eval_metric"] = "rmse",

        // XGBoost 2.0+ estimates a built-in objective's intercept from the labels, never a custom one's: fixed, so both
        // models start from the same margin on every version.
        ["base_score"] = 0.5,
    };

    [XGBoostFact]
    public void A_custom_squared_error_objective_trains_the_model_of_the_built_in_one()
    {
        var (x, _) = TestData.Binary(300, 4, 30);
        var y = x.Select(r => (2 * r[0]) - r[1] + (0.5f * r[2])).ToArray();
        using var data = new DMatrix(x, y);
        using var builtIn = XGBoost.Train(new Dictionary<string, object?>(Parameters) { ["objective"] = "reg:squarederror" }, data, numBoostRound: 8);
        var calls = 0;
        using var custom = XGBoost.Train(Parameters, data, numBoostRound: 8, objective: (margins, dtrain) =>
        {
            calls++;
            var labels = dtrain.Labels;
            return (margins.Select((m, i) => m - labels[i]).ToArray(), Enumerable.Repeat(1f, margins.Length).ToArray());
        });
        Assert.Equal(8, calls);
        Assert.Equal(builtIn.Predict(data), custom.Predict(data));
    }

    [XGBoostFact]
    public void A_custom_metric_is_evaluated_on_every_set_and_recorded_like_Pythons()
    {
        var (x, _) = TestData.Binary(300, 4, 31);
        var y = x.Select(r => r[0] - r[1]).ToArray();
        using var train = new DMatrix(x[..200], y[..200]);
        using var valid = new DMatrix(x[200..], y[200..]);
        var history = new EvaluationLog();
        using var model = XGBoost.Train(new Dictionary<string, object?>(Parameters) { ["objective"] = "reg:squarederror" }, train, numBoostRound: 5,
            evals: [(train, "train"), (valid, "valid")], evalsResult: history, customMetric: Rmse);
        var builtIn = history["valid", "rmse"];
        var custom = history["valid", "my_rmse"];
        Assert.Equal(5, custom.Count);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(Math.Round(builtIn[i], 6), custom[i], 6); // Python appends "%f": six decimals
        }

        Assert.Equal(5, history["train", "my_rmse"].Count);
    }

    private static (string Name, double Value) Rmse(float[] predictions, DMatrix data)
    {
        var labels = data.Labels;
        return ("my_rmse", Math.Sqrt(predictions.Select((p, i) => Math.Pow(p - labels[i], 2)).Average()));
    }
}
