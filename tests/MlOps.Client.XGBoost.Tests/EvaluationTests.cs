using MlOps.Client.XGBoost.Evaluation;
using XGBoostIris;

namespace MlOps.Client.XGBoost.Tests;

/// <summary>The evaluation of the seed example's model reproduces Python's figures.</summary>
[Collection(XGBoostCollection.Name)]
public sealed class EvaluationTests
{
    [XGBoost174Fact]
    public void The_iris_model_evaluates_to_the_seed_examples_accuracy_and_log_loss()
    {
        var (xTrain, yTrain, xTest, yTest) = Iris.LoadSplit();
        using var dtrain = new DMatrix(xTrain, yTrain);
        using var dtest = new DMatrix(xTest, yTest);
        using var model = XGBoost.Train(
            new Dictionary<string, object?> { ["objective"] = "multi:softprob", ["num_class"] = 3, ["learning_rate"] = 1, ["eval_metric"] = "mlogloss", ["seed"] = 42 },
            dtrain, evals: [(dtrain, "train")]);
        var result = model.EvaluateClassifier(dtest, ["setosa", "versicolor", "virginica"]);
        Assert.Equal(0.933333333, result["accuracy_score"]!.Value, 1e-9);   // the seed example, Python's accuracy_score
        Assert.Equal(0.163284836, result["log_loss"]!.Value, 1e-9);         // Python's log_loss on float32 probabilities
        Assert.Equal(45, result["example_count"]);
        Assert.Equal(3, result.PerClassMetrics.Count);
        Assert.InRange(result["roc_auc"]!.Value, 0.9, 1.0);
    }
}
