using System.Text.Json.Nodes;
using Microsoft.ML.Data;
using MlOps.Client.MLNet.Autologging;
using MlOps.Client.Tracking;

namespace MlOps.Client.MLNet.Evaluation;

/// <summary>
/// <c>catalog.Evaluate(...).LogTo()</c>: logs evaluation metrics (and, for classification, the confusion matrix) to a run
/// and returns the metrics unchanged. The run is the one passed, else the active run, else — when autologging
/// is enabled — a run started and ended for the evaluation.
/// </summary>
public static class MetricsLoggingExtensions
{
    /// <summary>Logs binary classification metrics (calibrated ones add log-loss) and the confusion matrix.</summary>
    /// <typeparam name="T">The metrics type.</typeparam>
    /// <param name="metrics">The metrics.</param>
    /// <param name="prefix">A prefix for every key, e.g. <c>test_</c>.</param>
    /// <param name="run">The run; see the class remarks when <see langword="null"/>.</param>
    public static T LogTo<T>(this T metrics, string prefix = "", RunScope? run = null) where T : BinaryClassificationMetrics
    {
        ArgumentNullException.ThrowIfNull(metrics);
        Log(MetricNames.Flatten(metrics), prefix, run, r => ConfusionMatrixArtifacts.Log(r, metrics.ConfusionMatrix, ["negative", "positive"], prefix));
        return metrics;
    }

    /// <summary>Logs multiclass metrics (incl. <c>per_class_log_loss_{label}</c>) and the confusion matrix.</summary>
    /// <param name="metrics">The metrics.</param>
    /// <param name="prefix">A prefix for every key, e.g. <c>test_</c>.</param>
    /// <param name="run">The run; see the class remarks when <see langword="null"/>.</param>
    /// <param name="labels">Class names in key order (used in metric names and the matrix), or class indexes.</param>
    public static MulticlassClassificationMetrics LogTo(this MulticlassClassificationMetrics metrics, string prefix = "", RunScope? run = null, IReadOnlyList<string>? labels = null)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        Log(MetricNames.Flatten(metrics, labels), prefix, run, r => ConfusionMatrixArtifacts.Log(r, metrics.ConfusionMatrix, labels, prefix));
        return metrics;
    }

    /// <summary>Logs regression metrics.</summary>
    /// <param name="metrics">The metrics.</param>
    /// <param name="prefix">A prefix for every key.</param>
    /// <param name="run">The run.</param>
    public static RegressionMetrics LogTo(this RegressionMetrics metrics, string prefix = "", RunScope? run = null)
    {
        Log(MetricNames.Flatten(metrics), prefix, run, null);
        return metrics;
    }

    /// <summary>Logs ranking metrics.</summary>
    /// <param name="metrics">The metrics.</param>
    /// <param name="prefix">A prefix for every key.</param>
    /// <param name="run">The run.</param>
    public static RankingMetrics LogTo(this RankingMetrics metrics, string prefix = "", RunScope? run = null)
    {
        Log(MetricNames.Flatten(metrics), prefix, run, null);
        return metrics;
    }

    /// <summary>Logs clustering metrics.</summary>
    /// <param name="metrics">The metrics.</param>
    /// <param name="prefix">A prefix for every key.</param>
    /// <param name="run">The run.</param>
    public static ClusteringMetrics LogTo(this ClusteringMetrics metrics, string prefix = "", RunScope? run = null)
    {
        Log(MetricNames.Flatten(metrics), prefix, run, null);
        return metrics;
    }

    /// <summary>Logs anomaly detection metrics.</summary>
    /// <param name="metrics">The metrics.</param>
    /// <param name="prefix">A prefix for every key.</param>
    /// <param name="run">The run.</param>
    public static AnomalyDetectionMetrics LogTo(this AnomalyDetectionMetrics metrics, string prefix = "", RunScope? run = null)
    {
        Log(MetricNames.Flatten(metrics), prefix, run, null);
        return metrics;
    }

    internal static void Log(IReadOnlyDictionary<string, double> values, string prefix, RunScope? run, Action<RunScope>? extra)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        run ??= Tracker.ActiveRun;
        if (run is not null)
        {
            Write(run);
            return;
        }

        var session = MLNetAutolog.Current
            ?? throw new InvalidOperationException("No run to log the metrics to: pass a run, start one, or enable autologging (mlContext.AutologMlflow(tracker)).");
        session.InRun(null, Write);

        void Write(RunScope target)
        {
            // NaN metrics (e.g. AUC of a one-class test set) are logged as NaN, as MLflow stores them.
            target.LogMetrics(values.Select(kv => KeyValuePair.Create(prefix + kv.Key, kv.Value)));
            if (extra is not null && (MLNetAutolog.Current?.Options.LogConfusionMatrix ?? true))
            {
                extra(target);
            }
        }
    }

    internal static JsonObject ToJson(ConfusionMatrix matrix, IReadOnlyList<string>? labels) => new()
    {
        ["labels"] = new JsonArray([.. Enumerable.Range(0, matrix.NumberOfClasses).Select(i => (JsonNode)MetricNames.Label(labels, i))]),
        ["counts"] = new JsonArray([.. matrix.Counts.Select(row => (JsonNode)new JsonArray([.. row.Select(c => (JsonNode)c)]))]),
        ["per_class_precision"] = new JsonArray([.. matrix.PerClassPrecision.Select(p => (JsonNode)p)]),
        ["per_class_recall"] = new JsonArray([.. matrix.PerClassRecall.Select(p => (JsonNode)p)]),
    };
}
