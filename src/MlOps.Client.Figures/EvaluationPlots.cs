using System.Globalization;
using MlOps.Client.Evaluation;
using ScottPlot;

namespace MlOps.Client.Tracking;

/// <summary>The plots <c>mlflow.evaluate</c> logs for a classifier, drawn with ScottPlot under the same artifact names.</summary>
public static class EvaluationPlots
{
    /// <summary>
    /// Logs <c>confusion_matrix.png</c> (normalized per true class, as MLflow draws it), and — when the evaluation has
    /// them — <c>roc_curve_plot.png</c> and <c>precision_recall_curve_plot.png</c> (one line per class against the rest
    /// for a multiclass model), each name after <paramref name="prefix"/>.
    /// </summary>
    /// <param name="run">The run.</param>
    /// <param name="result">A classifier's evaluation (<see cref="ModelEvaluation.EvaluateClassifier(IReadOnlyList{int}, float[], IReadOnlyList{string}?)"/>).</param>
    /// <param name="prefix">A prefix for the file names.</param>
    /// <param name="cancellationToken">Cancels the uploads.</param>
    public static async Task LogEvaluationPlotsAsync(this RunScope run, EvaluationResult result, string prefix = "", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(prefix);
        if (result.ConfusionMatrix is { } matrix)
        {
            await run.LogFigureAsync(ConfusionMatrix(matrix, result.Labels), prefix + "confusion_matrix.png", 1050, 700, cancellationToken).ConfigureAwait(false);
        }

        if (result.RocCurves.Count > 0)
        {
            await run.LogFigureAsync(Curves(result.RocCurves, "ROC curve", "False Positive Rate", "True Positive Rate", "AUC", diagonal: true),
                prefix + "roc_curve_plot.png", 1050, 700, cancellationToken).ConfigureAwait(false);
        }

        if (result.PrecisionRecallCurves.Count > 0)
        {
            await run.LogFigureAsync(Curves(result.PrecisionRecallCurves, "Precision recall curve", "Recall", "Precision", "AP", diagonal: false),
                prefix + "precision_recall_curve_plot.png", 1050, 700, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The normalized confusion matrix as a heatmap with each cell's share written in it.</summary>
    /// <param name="matrix">Counts: row = true class, column = predicted class.</param>
    /// <param name="labels">Class labels.</param>
    public static Plot ConfusionMatrix(long[,] matrix, IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        ArgumentNullException.ThrowIfNull(labels);
        var n = matrix.GetLength(0);
        var normalized = new double[n, n];
        for (var r = 0; r < n; r++)
        {
            double total = 0;
            for (var c = 0; c < n; c++)
            {
                total += matrix[r, c];
            }

            for (var c = 0; c < n; c++)
            {
                normalized[r, c] = total == 0 ? 0 : matrix[r, c] / total;
            }
        }

        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(normalized);
        // Row 0 of the data is drawn at the top (ScottPlot's default), where its label and numbers are; white at 0 and
        // dark blue at 1, as matplotlib's "Blues" in MLflow's plot (ScottPlot's Blues runs the other way).
        heatmap.Colormap = new Reversed(new ScottPlot.Colormaps.Blues());
        for (var r = 0; r < n; r++)
        {
            for (var c = 0; c < n; c++)
            {
                var text = plot.Add.Text(normalized[r, c].ToString("0.00", CultureInfo.InvariantCulture), c, n - 1 - r);
                text.LabelFontColor = normalized[r, c] > 0.5 ? Colors.White : Colors.Black;
                text.LabelAlignment = Alignment.MiddleCenter;
                text.LabelFontSize = 16;
            }
        }

        plot.Add.ColorBar(heatmap);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. Enumerable.Range(0, n).Select(i => (double)i)], [.. labels]);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. Enumerable.Range(0, n).Select(i => (double)(n - 1 - i))], [.. labels]);
        plot.Title("Normalized confusion matrix");
        plot.XLabel("Predicted label");
        plot.YLabel("True label");
        return plot;
    }

    private static Plot Curves(IReadOnlyList<EvaluationCurve> curves, string title, string xLabel, string yLabel, string areaName, bool diagonal)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (var i = 0; i < curves.Count; i++)
        {
            var line = plot.Add.Scatter(curves[i].X.ToArray(), curves[i].Y.ToArray(), palette.GetColor(i));
            line.ConnectStyle = ConnectStyle.StepHorizontal;
            line.MarkerSize = 0;
            line.LineWidth = 2;
            line.LegendText = string.Create(CultureInfo.InvariantCulture, $"{curves[i].Label}, {areaName}={curves[i].Area:0.000}");
        }

        if (diagonal)
        {
            var chance = plot.Add.Line(0, 0, 1, 1);
            chance.LineColor = Colors.Gray.WithAlpha(0.5);
            chance.LinePattern = LinePattern.Dashed;
        }

        plot.Axes.SetLimits(-0.02, 1.02, -0.02, 1.02);
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend(diagonal ? Alignment.LowerRight : Alignment.LowerLeft);
        return plot;
    }

    /// <summary>A colour map run the other way.</summary>
    private sealed class Reversed(IColormap inner) : IColormap
    {
        public string Name => inner.Name + " (reversed)";

        public Color GetColor(double normalizedIntensity) => inner.GetColor(1 - normalizedIntensity);
    }
}
