using System.Globalization;
using MlOps.Client.Formatting;

namespace MlOps.Client.Evaluation;

/// <summary>
/// <c>mlflow.evaluate</c>'s default evaluator for any model: give the true labels and the predicted probabilities (a
/// classifier) or the predictions (a regressor) and get the same metric names and values, computed with
/// scikit-learn's definitions (binary: positive class 1, <c>average="binary"</c>; multiclass: <c>average="weighted"</c>,
/// one-vs-rest <c>roc_auc</c>; predictions are the most probable class).
/// </summary>
public static class ModelEvaluation
{
    /// <summary>Evaluates a classifier from float probabilities (as XGBoost and ML.NET give them; computed in float32 where numpy would).</summary>
    /// <param name="labels">True class index of each row (0 … classes − 1).</param>
    /// <param name="probabilities">Row-major probabilities, <c>rows × classes</c>.</param>
    /// <param name="classNames">Display names of the classes (default: the indices).</param>
    public static EvaluationResult EvaluateClassifier(IReadOnlyList<int> labels, float[] probabilities, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(probabilities);
        var classes = ClassCount(labels.Count, probabilities.Length, classNames);
        CheckLabels(labels, classes);
        var eps = MathF.BitIncrement(1f) - 1f; // np.finfo(np.float32).eps
        var logLoss = 0.0;
        for (var i = 0; i < labels.Count; i++)
        {
            var sum = 0f;
            for (var k = 0; k < classes; k++)
            {
                sum += Math.Clamp(probabilities[(i * classes) + k], eps, 1 - eps);
            }

            logLoss -= Math.Log(Math.Clamp(probabilities[(i * classes) + labels[i]], eps, 1 - eps) / sum);
        }

        return Classify(labels, (i, k) => probabilities[(i * classes) + k], classes, logLoss / labels.Count, classNames);
    }

    /// <summary>Evaluates a classifier from double probabilities.</summary>
    /// <param name="labels">True class index of each row.</param>
    /// <param name="probabilities">One array of class probabilities per row.</param>
    /// <param name="classNames">Display names of the classes (default: the indices).</param>
    public static EvaluationResult EvaluateClassifier(IReadOnlyList<int> labels, IReadOnlyList<double[]> probabilities, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(probabilities);
        if (probabilities.Count != labels.Count)
        {
            throw new ArgumentException($"probabilities has {probabilities.Count} rows for {labels.Count} labels.", nameof(probabilities));
        }

        var classes = probabilities.Count == 0 ? 0 : probabilities[0].Length;
        if (probabilities.Any(p => p.Length != classes))
        {
            throw new ArgumentException("Every row of probabilities must have one value per class.", nameof(probabilities));
        }

        ClassCount(labels.Count, labels.Count * classes, classNames);
        CheckLabels(labels, classes);
        var eps = Math.BitIncrement(1.0) - 1.0;
        var logLoss = 0.0;
        for (var i = 0; i < labels.Count; i++)
        {
            var sum = probabilities[i].Sum(p => Math.Clamp(p, eps, 1 - eps));
            logLoss -= Math.Log(Math.Clamp(probabilities[i][labels[i]], eps, 1 - eps) / sum);
        }

        return Classify(labels, (i, k) => probabilities[i][k], classes, logLoss / labels.Count, classNames);
    }

    /// <summary>Evaluates a model given as a delegate: it predicts class probabilities for the feature rows.</summary>
    /// <param name="predictProbabilities">Rows → row-major probabilities (<c>rows × classes</c>).</param>
    /// <param name="features">The evaluation rows.</param>
    /// <param name="labels">Their true classes.</param>
    /// <param name="classNames">Display names of the classes.</param>
    public static EvaluationResult EvaluateClassifier(Func<float[][], float[]> predictProbabilities, float[][] features, IReadOnlyList<int> labels, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(predictProbabilities);
        return EvaluateClassifier(labels, predictProbabilities(features), classNames);
    }

    /// <summary>
    /// Evaluates a regressor: <c>example_count</c>, <c>mean_absolute_error</c>, <c>mean_squared_error</c>,
    /// <c>root_mean_squared_error</c>, <c>sum_on_target</c>, <c>mean_on_target</c>, <c>r2_score</c>, <c>max_error</c>,
    /// <c>mean_absolute_percentage_error</c>, as MLflow's regressor evaluator (scikit-learn's definitions).
    /// </summary>
    /// <param name="targets">The true values.</param>
    /// <param name="predictions">The predictions.</param>
    public static EvaluationResult EvaluateRegressor(IReadOnlyList<double> targets, IReadOnlyList<double> predictions)
    {
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(predictions);
        if (targets.Count == 0 || targets.Count != predictions.Count)
        {
            throw new ArgumentException($"targets ({targets.Count}) and predictions ({predictions.Count}) must be non-empty and of equal length.", nameof(predictions));
        }

        var n = targets.Count;
        var errors = targets.Zip(predictions, (y, p) => y - p).ToArray();
        var mse = errors.Sum(e => e * e) / n;
        var mean = targets.Average();
        var ssTot = targets.Sum(y => (y - mean) * (y - mean));
        var ssRes = errors.Sum(e => e * e);
        var r2 = ssTot != 0 ? 1 - (ssRes / ssTot) : ssRes == 0 ? 1.0 : 0.0; // scikit-learn's force_finite
        var eps = Math.BitIncrement(1.0) - 1.0;
        var sum = targets.Sum();
        return new EvaluationResult
        {
            ModelType = "regressor",
            Metrics =
            [
                new("example_count", n),
                new("mean_absolute_error", errors.Sum(Math.Abs) / n),
                new("mean_squared_error", mse),
                new("root_mean_squared_error", Math.Sqrt(mse)),
                new("sum_on_target", sum),
                new("mean_on_target", sum / n),
                new("r2_score", r2),
                new("max_error", errors.Max(Math.Abs)),
                new("mean_absolute_percentage_error", targets.Zip(errors, (y, e) => Math.Abs(e) / Math.Max(Math.Abs(y), eps)).Sum() / n),
            ],
        };
    }

    private static void CheckLabels(IReadOnlyList<int> labels, int classes)
    {
        if (labels.Any(l => l < 0 || l >= classes))
        {
            throw new ArgumentOutOfRangeException(nameof(labels), $"Labels must be class indices in [0, {classes - 1}].");
        }
    }

    /// <summary>The class count of <paramref name="probabilities"/> values for <paramref name="labels"/> rows.</summary>
    private static int ClassCount(int labels, int probabilities, IReadOnlyList<string>? classNames)
    {
        if (labels == 0)
        {
            throw new ArgumentException("There is nothing to evaluate: no labels.", nameof(labels));
        }

        if (probabilities % labels != 0 || probabilities / labels < 2)
        {
            throw new ArgumentException($"probabilities has {probabilities} values for {labels} labels: expected rows × classes with at least 2 classes.", nameof(probabilities));
        }

        var classes = probabilities / labels;
        if (classNames is not null && classNames.Count != classes)
        {
            throw new ArgumentException($"classNames has {classNames.Count} names for {classes} classes.", nameof(classNames));
        }

        return classes;
    }

    private static EvaluationResult Classify(IReadOnlyList<int> labels, Func<int, int, double> probability, int classes, double logLoss, IReadOnlyList<string>? classNames)
    {
        var n = labels.Count;
        var predicted = new int[n];
        for (var i = 0; i < n; i++)
        {
            var best = 0;
            for (var k = 1; k < classes; k++)
            {
                if (probability(i, k) > probability(i, best))
                {
                    best = k; // numpy's argmax: the first of equal maxima
                }
            }

            predicted[i] = best;
        }

        var names = classNames?.ToList() ?? [.. Enumerable.Range(0, classes).Select(c => c.ToString(CultureInfo.InvariantCulture))];
        var matrix = new long[classes, classes];
        for (var i = 0; i < n; i++)
        {
            matrix[labels[i], predicted[i]]++;
        }

        var accuracy = (double)Enumerable.Range(0, n).Count(i => predicted[i] == labels[i]) / n;
        var metrics = new List<KeyValuePair<string, double>>();
        var roc = new List<EvaluationCurve>();
        var pr = new List<EvaluationCurve>();
        var perClass = new List<IReadOnlyList<KeyValuePair<string, string>>>();
        if (classes == 2)
        {
            var (tp, fp, fn) = (matrix[1, 1], matrix[0, 1], matrix[1, 0]);
            metrics.Add(new("true_negatives", matrix[0, 0]));
            metrics.Add(new("false_positives", fp));
            metrics.Add(new("false_negatives", fn));
            metrics.Add(new("true_positives", tp));
            AddCommon(metrics, n, accuracy, Precision(tp, fp), Recall(tp, fn), F1(tp, fp, fn), logLoss);
            var positive = labels.Select(l => l == 1).ToArray();
            var scores = Enumerable.Range(0, n).Select(i => probability(i, 1)).ToArray();
            if (positive.Any(p => p) && positive.Any(p => !p))
            {
                var (rocCurve, prCurve) = Curves(names[1], positive, scores);
                metrics.Add(new("roc_auc", rocCurve.Area));
                metrics.Add(new("precision_recall_auc", prCurve.Area));
                roc.Add(rocCurve);
                pr.Add(prCurve);
            }
        }
        else
        {
            double precision = 0, recall = 0, f1 = 0, auc = 0;
            for (var c = 0; c < classes; c++)
            {
                var (tp, fp, fn) = (matrix[c, c], Column(matrix, c) - matrix[c, c], Row(matrix, c) - matrix[c, c]);
                var support = Row(matrix, c);
                precision += support * Precision(tp, fp);
                recall += support * Recall(tp, fn);
                f1 += support * F1(tp, fp, fn);
                var positive = labels.Select(l => l == c).ToArray();
                var scores = Enumerable.Range(0, n).Select(i => probability(i, c)).ToArray();
                var row = new List<KeyValuePair<string, string>>
                {
                    new("positive_class", names[c]),
                    new("true_negatives", (n - tp - fp - fn).ToString(CultureInfo.InvariantCulture)),
                    new("false_positives", fp.ToString(CultureInfo.InvariantCulture)),
                    new("false_negatives", fn.ToString(CultureInfo.InvariantCulture)),
                    new("true_positives", tp.ToString(CultureInfo.InvariantCulture)),
                    new("example_count", n.ToString(CultureInfo.InvariantCulture)),
                    new("accuracy_score", PythonFormat.Float((double)(n - fp - fn) / n)),
                    new("recall_score", PythonFormat.Float(Recall(tp, fn))),
                    new("precision_score", PythonFormat.Float(Precision(tp, fp))),
                    new("f1_score", PythonFormat.Float(F1(tp, fp, fn))),
                };
                if (support > 0 && support < n)
                {
                    var (rocCurve, prCurve) = Curves($"label={names[c]}", positive, scores);
                    auc += support * rocCurve.Area;
                    roc.Add(rocCurve);
                    pr.Add(prCurve);
                    row.Add(new("roc_auc", PythonFormat.Float(rocCurve.Area)));
                    row.Add(new("precision_recall_auc", PythonFormat.Float(prCurve.Area)));
                }

                perClass.Add(row);
            }

            AddCommon(metrics, n, accuracy, precision / n, recall / n, f1 / n, logLoss);
            if (roc.Count == classes)
            {
                metrics.Add(new("roc_auc", auc / n)); // one-vs-rest, weighted by prevalence
            }
        }

        return new EvaluationResult
        {
            ModelType = "classifier", Metrics = metrics, Labels = names, ConfusionMatrix = matrix, PerClassMetrics = perClass,
            RocCurves = roc, PrecisionRecallCurves = pr,
        };
    }

    private static void AddCommon(List<KeyValuePair<string, double>> metrics, int n, double accuracy, double precision, double recall, double f1, double logLoss)
    {
        metrics.Add(new("example_count", n));
        metrics.Add(new("accuracy_score", accuracy));
        metrics.Add(new("recall_score", recall));
        metrics.Add(new("precision_score", precision));
        metrics.Add(new("f1_score", f1));
        metrics.Add(new("log_loss", logLoss));
    }

    private static double Precision(long tp, long fp) => tp + fp == 0 ? 0 : (double)tp / (tp + fp);

    private static double Recall(long tp, long fn) => tp + fn == 0 ? 0 : (double)tp / (tp + fn);

    /// <summary>scikit-learn's F-score: 2·p·r / (p + r), 0 when both are 0.</summary>
    private static double F1(long tp, long fp, long fn)
    {
        var (p, r) = (Precision(tp, fp), Recall(tp, fn));
        return p + r == 0 ? 0 : 2 * p * r / (p + r);
    }

    private static long Row(long[,] m, int r) => Enumerable.Range(0, m.GetLength(1)).Sum(c => m[r, c]);

    private static long Column(long[,] m, int c) => Enumerable.Range(0, m.GetLength(0)).Sum(r => m[r, c]);

    /// <summary>scikit-learn's <c>roc_curve</c> + <c>roc_auc_score</c> and <c>precision_recall_curve</c> + <c>average_precision_score</c>.</summary>
    private static (EvaluationCurve Roc, EvaluationCurve PrecisionRecall) Curves(string label, bool[] positive, double[] scores)
    {
        var order = Enumerable.Range(0, scores.Length).OrderByDescending(i => scores[i]).ToArray();
        double positives = positive.Count(p => p), negatives = positive.Length - positives;
        var fpr = new List<double> { 0 };
        var tpr = new List<double> { 0 };
        var recall = new List<double>();
        var precision = new List<double>();
        double tp = 0, fp = 0, ap = 0, previousRecall = 0, auc = 0;
        for (var j = 0; j < order.Length; j++)
        {
            if (positive[order[j]])
            {
                tp++;
            }
            else
            {
                fp++;
            }

            if (j + 1 < order.Length && scores[order[j + 1]] == scores[order[j]])
            {
                continue; // one point per distinct threshold
            }

            var r = tp / positives;
            var p = tp / (tp + fp);
            ap += (r - previousRecall) * p;
            previousRecall = r;
            recall.Add(r);
            precision.Add(p);
            var x = fp / negatives;
            auc += (x - fpr[^1]) * (r + tpr[^1]) / 2; // trapezoids
            fpr.Add(x);
            tpr.Add(r);
        }

        // precision_recall_curve's order: recall decreasing to 0, precision ending at 1.
        recall.Reverse();
        precision.Reverse();
        recall.Add(0);
        precision.Add(1);
        return (new EvaluationCurve(label, fpr, tpr, auc), new EvaluationCurve(label, recall, precision, ap));
    }
}
