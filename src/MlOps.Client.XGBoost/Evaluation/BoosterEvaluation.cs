using MlOps.Client.Evaluation;
using MlOps.Client.XGBoost.Monitoring;

namespace MlOps.Client.XGBoost.Evaluation;

/// <summary>
/// <c>mlflow.evaluate</c>'s default-evaluator metrics for an XGBoost booster on a labelled matrix, with the evaluated
/// data's reference profile (<see cref="EvaluationResult.Profile"/>: logged by <c>LogEvaluationAsync</c>).
/// </summary>
public static class BoosterEvaluation
{
    /// <summary>
    /// Evaluates a classifier (<c>binary:logistic</c> or <c>multi:softprob</c>) on <paramref name="data"/>, whose labels
    /// are the true classes: predicts the probabilities and computes the metrics of <see cref="ModelEvaluation.EvaluateClassifier(IReadOnlyList{int}, float[], IReadOnlyList{string}?)"/>.
    /// </summary>
    /// <param name="booster">The trained booster.</param>
    /// <param name="data">The evaluation rows with their labels.</param>
    /// <param name="classNames">Display names of the classes.</param>
    /// <exception cref="ArgumentException">The matrix has no labels, or a label is not a class index.</exception>
    public static EvaluationResult EvaluateClassifier(this Booster booster, DMatrix data, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(booster);
        ArgumentNullException.ThrowIfNull(data);
        var labels = data.Labels;
        if (labels.Length == 0)
        {
            throw new ArgumentException("The matrix has no labels to evaluate against.", nameof(data));
        }

        var classes = labels.Select(l => l == Math.Floor(l) && l >= 0 ? (int)l : throw new ArgumentException($"Label {l} is not a class index.", nameof(data))).ToArray();
        var snapshot = MatrixProfile.Capture(booster, data, MatrixProfile.ColumnNames(data));
        var probabilities = snapshot.Prediction.Values;
        if (probabilities.Length == labels.Length)
        {
            // binary:logistic gives P(class 1) per row: expand to [1 − p, p], as the evaluator's predict_proba does.
            probabilities = [.. probabilities.SelectMany(p => new[] { 1 - p, p })];
        }

        return WithProfile(ModelEvaluation.EvaluateClassifier(classes, probabilities, classNames), snapshot);
    }

    /// <summary>Evaluates a regressor on <paramref name="data"/>, whose labels are the targets.</summary>
    /// <param name="booster">The trained booster.</param>
    /// <param name="data">The evaluation rows with their targets.</param>
    public static EvaluationResult EvaluateRegressor(this Booster booster, DMatrix data)
    {
        ArgumentNullException.ThrowIfNull(booster);
        ArgumentNullException.ThrowIfNull(data);
        var snapshot = MatrixProfile.Capture(booster, data, MatrixProfile.ColumnNames(data));
        return WithProfile(ModelEvaluation.EvaluateRegressor([.. data.Labels.Select(l => (double)l)], [.. snapshot.Prediction.Values.Select(p => (double)p)]), snapshot);
    }

    /// <summary>The result with the evaluated data's profile (its features, labels and these predictions).</summary>
    private static EvaluationResult WithProfile(EvaluationResult result, MatrixSnapshot snapshot) => new()
    {
        ModelType = result.ModelType,
        Metrics = result.Metrics,
        Labels = result.Labels,
        ConfusionMatrix = result.ConfusionMatrix,
        PerClassMetrics = result.PerClassMetrics,
        RocCurves = result.RocCurves,
        PrecisionRecallCurves = result.PrecisionRecallCurves,
        Profile = snapshot.Build(),
    };
}
