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

        // Python, same model (xgboost 1.7.4) and split, P = booster.predict(dtest), yp = P.argmax(1), scikit-learn 1.2.1:
        Assert.Equal(0.9333333333333333, result["recall_score"]!.Value, 1e-12);     // recall_score(yt, yp, average="weighted")
        Assert.Equal(0.9352706552706552, result["precision_score"]!.Value, 1e-12);  // precision_score(yt, yp, average="weighted")
        Assert.Equal(0.9335913978494624, result["f1_score"]!.Value, 1e-12);         // f1_score(yt, yp, average="weighted")
        Assert.Equal(0.16328483567679428, result["log_loss"]!.Value, 1e-12);        // log_loss(yt, P)
        Assert.Equal(0.9942412632067803, result["roc_auc"]!.Value, 1e-12);          // roc_auc_score(yt, P, average="weighted", multi_class="ovr")
        Assert.Equal(new long[,] { { 17, 0, 0 }, { 0, 14, 2 }, { 0, 1, 11 } }, result.ConfusionMatrix);
    }
}
