namespace MlOps.Client.Evaluation;

/// <summary>A curve of the evaluation (ROC or precision-recall), for one class against the rest or for the positive class.</summary>
/// <param name="Label">The class it is drawn for.</param>
/// <param name="X">False positive rate (ROC) or recall (precision-recall).</param>
/// <param name="Y">True positive rate (ROC) or precision (precision-recall).</param>
/// <param name="Area">ROC AUC, or the average precision for a precision-recall curve (as MLflow labels it, <c>AP=…</c>).</param>
public sealed record EvaluationCurve(string Label, IReadOnlyList<double> X, IReadOnlyList<double> Y, double Area);

/// <summary>
/// What <c>mlflow.evaluate</c>'s default evaluator computes for the same predictions: its metrics (same names and
/// values), the confusion matrix, per-class metrics and the ROC / precision-recall curves behind its plots.
/// </summary>
public sealed class EvaluationResult
{
    /// <summary>The model type: <c>classifier</c> or <c>regressor</c>.</summary>
    public required string ModelType { get; init; }

    /// <summary>The metrics, by Python's names (<c>accuracy_score</c>, <c>f1_score</c>, <c>log_loss</c>, <c>roc_auc</c>, <c>mean_squared_error</c>…), in Python's order.</summary>
    public required IReadOnlyList<KeyValuePair<string, double>> Metrics { get; init; }

    /// <summary>The class labels (classifiers), in class-index order.</summary>
    public IReadOnlyList<string> Labels { get; init; } = [];

    /// <summary>Counts: row = true class, column = predicted class (classifiers).</summary>
    public long[,]? ConfusionMatrix { get; init; }

    /// <summary>Per-class metrics of a multiclass classifier (the rows of <c>per_class_metrics.csv</c>), column → value; empty otherwise.</summary>
    public IReadOnlyList<IReadOnlyList<KeyValuePair<string, string>>> PerClassMetrics { get; init; } = [];

    /// <summary>ROC curves: the positive class's (binary) or one per class against the rest (multiclass).</summary>
    public IReadOnlyList<EvaluationCurve> RocCurves { get; init; } = [];

    /// <summary>Precision-recall curves, as <see cref="RocCurves"/>.</summary>
    public IReadOnlyList<EvaluationCurve> PrecisionRecallCurves { get; init; } = [];

    /// <summary>
    /// The profile of the evaluated data (features, labels, the model's predictions), when the evaluation built one
    /// (XGBoost's <c>BoosterEvaluation</c> does): logged by <c>LogEvaluationAsync</c> as <c>reference_profile.json</c>, a
    /// reference that drift monitoring can compare served data with.
    /// </summary>
    public Monitoring.ReferenceProfile? Profile { get; init; }

    /// <summary>The value of metric <paramref name="name"/>, or <see langword="null"/>.</summary>
    /// <param name="name">The metric name.</param>
    public double? this[string name] => Metrics.FirstOrDefault(m => m.Key == name) is { Key: not null } m ? m.Value : null;
}
