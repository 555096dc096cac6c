using System.Globalization;
using Microsoft.ML.Data;

namespace MlOps.Client.MLNet.Evaluation;

/// <summary>
/// ML.NET evaluation results flattened to MLflow metric names (stable and documented in <c>docs/mlnet.md</c>). MLflow
/// rejects <c>@</c> in keys, so ranking metrics at k are <c>ndcg_at_{k}</c> and <c>dcg_at_{k}</c>.
/// </summary>
public static class MetricNames
{
    /// <summary>Binary classification.</summary>
    /// <param name="metrics">The metrics.</param>
    public static IReadOnlyDictionary<string, double> Flatten(BinaryClassificationMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var d = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["accuracy"] = metrics.Accuracy,
            ["auc"] = metrics.AreaUnderRocCurve,
            ["auprc"] = metrics.AreaUnderPrecisionRecallCurve,
            ["f1_score"] = metrics.F1Score,
            ["positive_precision"] = metrics.PositivePrecision,
            ["positive_recall"] = metrics.PositiveRecall,
            ["negative_precision"] = metrics.NegativePrecision,
            ["negative_recall"] = metrics.NegativeRecall,
        };
        if (metrics is CalibratedBinaryClassificationMetrics calibrated)
        {
            d["log_loss"] = calibrated.LogLoss;
            d["log_loss_reduction"] = calibrated.LogLossReduction;
            d["entropy"] = calibrated.Entropy;
        }

        return d;
    }

    /// <summary>Multiclass classification; <c>per_class_log_loss_{label}</c> uses <paramref name="labels"/> or the class index.</summary>
    /// <param name="metrics">The metrics.</param>
    /// <param name="labels">Class names in key order, if known.</param>
    public static IReadOnlyDictionary<string, double> Flatten(MulticlassClassificationMetrics metrics, IReadOnlyList<string>? labels = null)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var d = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["micro_accuracy"] = metrics.MicroAccuracy,
            ["macro_accuracy"] = metrics.MacroAccuracy,
            ["log_loss"] = metrics.LogLoss,
            ["log_loss_reduction"] = metrics.LogLossReduction,
        };
        if (metrics.TopKPredictionCount > 0)
        {
            d["top_k_accuracy"] = metrics.TopKAccuracy;
        }

        for (var i = 0; i < metrics.PerClassLogLoss.Count; i++)
        {
            d["per_class_log_loss_" + Label(labels, i)] = metrics.PerClassLogLoss[i];
        }

        return d;
    }

    /// <summary>Regression.</summary>
    /// <param name="metrics">The metrics.</param>
    public static IReadOnlyDictionary<string, double> Flatten(RegressionMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        return new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["mae"] = metrics.MeanAbsoluteError,
            ["mse"] = metrics.MeanSquaredError,
            ["rmse"] = metrics.RootMeanSquaredError,
            ["r_squared"] = metrics.RSquared,
            ["loss_function"] = metrics.LossFunction,
        };
    }

    /// <summary>Ranking: <c>ndcg_at_{k}</c> and <c>dcg_at_{k}</c> for k = 1 … the truncation level.</summary>
    /// <param name="metrics">The metrics.</param>
    public static IReadOnlyDictionary<string, double> Flatten(RankingMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var d = new Dictionary<string, double>(StringComparer.Ordinal);
        for (var i = 0; i < metrics.NormalizedDiscountedCumulativeGains.Count; i++)
        {
            d[string.Create(CultureInfo.InvariantCulture, $"ndcg_at_{i + 1}")] = metrics.NormalizedDiscountedCumulativeGains[i];
        }

        for (var i = 0; i < metrics.DiscountedCumulativeGains.Count; i++)
        {
            d[string.Create(CultureInfo.InvariantCulture, $"dcg_at_{i + 1}")] = metrics.DiscountedCumulativeGains[i];
        }

        return d;
    }

    /// <summary>Clustering.</summary>
    /// <param name="metrics">The metrics.</param>
    public static IReadOnlyDictionary<string, double> Flatten(ClusteringMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        return new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["normalized_mutual_information"] = metrics.NormalizedMutualInformation,
            ["average_distance"] = metrics.AverageDistance,
            ["davies_bouldin_index"] = metrics.DaviesBouldinIndex,
        };
    }

    /// <summary>Anomaly detection.</summary>
    /// <param name="metrics">The metrics.</param>
    public static IReadOnlyDictionary<string, double> Flatten(AnomalyDetectionMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        return new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["auc"] = metrics.AreaUnderRocCurve,
            ["detection_rate_at_false_positive_count"] = metrics.DetectionRateAtFalsePositiveCount,
        };
    }

    internal static string Label(IReadOnlyList<string>? labels, int index) =>
        labels is not null && index < labels.Count ? Sanitize(labels[index]) : index.ToString(CultureInfo.InvariantCulture);

    private static string Sanitize(string label) =>
        string.Concat(label.Select(c => char.IsLetterOrDigit(c) || c is '_' or '-' or '.' ? c : '_'));
}
