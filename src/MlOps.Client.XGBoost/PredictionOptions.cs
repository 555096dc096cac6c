using System.Globalization;

namespace MlOps.Client.XGBoost;

/// <summary>What <see cref="Booster.Predict(DMatrix, PredictionOptions?)"/> computes.</summary>
public sealed class PredictionOptions
{
    internal static readonly PredictionOptions Default = new();

    /// <summary>The kind of output. Default <see cref="PredictionType.Value"/> (probabilities for classifiers).</summary>
    public PredictionType Type { get; init; } = PredictionType.Value;

    /// <summary>The first boosting iteration used. Default 0.</summary>
    public int IterationBegin { get; init; }

    /// <summary>The iteration after the last one used; 0 (default) uses all.</summary>
    public int IterationEnd { get; init; }

    /// <summary>Whether to always return XGBoost's full output shape (e.g. [rows, groups]).</summary>
    public bool StrictShape { get; init; }

    /// <summary>Whether the prediction is part of training (affects dropout in <c>dart</c>).</summary>
    public bool Training { get; init; }

    internal string ToConfig()
    {
        if (IterationBegin < 0 || IterationEnd < 0 || (IterationEnd != 0 && IterationEnd <= IterationBegin))
        {
            throw new ArgumentOutOfRangeException(nameof(IterationEnd), $"The iteration range [{IterationBegin}, {IterationEnd}) is empty or negative.");
        }

        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"type\": {(int)Type}, \"training\": {(Training ? "true" : "false")}, \"iteration_begin\": {IterationBegin}, \"iteration_end\": {IterationEnd}, \"strict_shape\": {(StrictShape ? "true" : "false")}}}");
    }
}

/// <summary>Prediction outputs (the <c>type</c> of XGBoost's prediction config).</summary>
public enum PredictionType
{
    /// <summary>The transformed prediction: probabilities for classification, values for regression.</summary>
    Value = 0,

    /// <summary>The untransformed margin (<c>output_margin</c>).</summary>
    Margin = 1,

    /// <summary>SHAP contributions per feature and the bias (<c>pred_contribs</c>).</summary>
    Contributions = 2,

    /// <summary>Approximate contributions.</summary>
    ApproximateContributions = 3,

    /// <summary>SHAP interaction values (<c>pred_interactions</c>).</summary>
    Interactions = 4,

    /// <summary>Approximate interaction values.</summary>
    ApproximateInteractions = 5,

    /// <summary>The leaf index in each tree (<c>pred_leaf</c>).</summary>
    LeafIndex = 6,
}
