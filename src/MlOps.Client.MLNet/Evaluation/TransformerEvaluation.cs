using Microsoft.ML;
using Microsoft.ML.Data;
using MlOps.Client.Evaluation;

namespace MlOps.Client.MLNet.Evaluation;

/// <summary><c>mlflow.evaluate</c>'s default-evaluator metrics for an ML.NET model (besides ML.NET's own metrics, which <c>LogTo</c> logs).</summary>
public static class TransformerEvaluation
{
    /// <summary>
    /// Evaluates a multiclass classifier: scores <paramref name="data"/> and reads the key-typed label column and the
    /// <c>Score</c> vector (the class probabilities of ML.NET's multiclass trainers), class <c>k</c> being key value <c>k + 1</c>.
    /// </summary>
    /// <param name="model">The trained model (pipeline).</param>
    /// <param name="data">The evaluation data.</param>
    /// <param name="labelColumn">The key-typed label column. Default <c>Label</c>.</param>
    /// <param name="scoreColumn">The score vector column. Default <c>Score</c>.</param>
    /// <param name="classNames">Display names of the classes (default: the label column's key values when it has them).</param>
    public static EvaluationResult EvaluateMulticlass(this ITransformer model, IDataView data, string labelColumn = "Label", string scoreColumn = "Score", IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        var scored = model.Transform(data);
        var labels = scored.GetColumn<uint>(labelColumn).Select(k => k == 0
            ? throw new ArgumentException($"Column '{labelColumn}' has a missing key value: every row needs a class.", nameof(data))
            : (int)k - 1).ToList();
        var scores = scored.GetColumn<VBuffer<float>>(scoreColumn).SelectMany(v => v.DenseValues()).ToArray();
        if (classNames is null && scored.Schema[labelColumn].HasKeyValues())
        {
            VBuffer<ReadOnlyMemory<char>> keys = default;
            scored.Schema[labelColumn].GetKeyValues(ref keys);
            classNames = [.. keys.DenseValues().Select(k => k.ToString())];
        }

        return ModelEvaluation.EvaluateClassifier(labels, scores, classNames);
    }

    /// <summary>Evaluates a binary classifier from its boolean label column and calibrated <c>Probability</c> column.</summary>
    /// <param name="model">The trained model (pipeline).</param>
    /// <param name="data">The evaluation data.</param>
    /// <param name="labelColumn">The boolean label column. Default <c>Label</c>.</param>
    /// <param name="probabilityColumn">The probability of the positive class. Default <c>Probability</c>.</param>
    public static EvaluationResult EvaluateBinary(this ITransformer model, IDataView data, string labelColumn = "Label", string probabilityColumn = "Probability")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        var scored = model.Transform(data);
        var labels = scored.GetColumn<bool>(labelColumn).Select(b => b ? 1 : 0).ToList();
        var probabilities = scored.GetColumn<float>(probabilityColumn).SelectMany(p => new[] { 1 - p, p }).ToArray();
        return ModelEvaluation.EvaluateClassifier(labels, probabilities, ["False", "True"]);
    }

    /// <summary>Evaluates a regressor from its label and <c>Score</c> columns.</summary>
    /// <param name="model">The trained model (pipeline).</param>
    /// <param name="data">The evaluation data.</param>
    /// <param name="labelColumn">The label column. Default <c>Label</c>.</param>
    /// <param name="scoreColumn">The predicted value. Default <c>Score</c>.</param>
    public static EvaluationResult EvaluateRegression(this ITransformer model, IDataView data, string labelColumn = "Label", string scoreColumn = "Score")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        var scored = model.Transform(data);
        return ModelEvaluation.EvaluateRegressor(
            [.. scored.GetColumn<float>(labelColumn).Select(v => (double)v)], [.. scored.GetColumn<float>(scoreColumn).Select(v => (double)v)]);
    }
}
