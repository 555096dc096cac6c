using System.Globalization;
using Microsoft.ML.Data;
using MlOps.Client.Tracking;

namespace MlOps.Client.MLNet.Evaluation;

/// <summary>The confusion matrix as <c>{prefix}confusion_matrix.json</c> and <c>.png</c> (rows: actual class, columns: predicted).</summary>
internal static class ConfusionMatrixArtifacts
{
    public static void Log(RunScope run, ConfusionMatrix matrix, IReadOnlyList<string>? labels, string prefix)
    {
        var json = MetricsLoggingExtensions.ToJson(matrix, labels).ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
        _ = run.LogTextAsync(json, $"{prefix}confusion_matrix.json");
        _ = run.LogFigureAsync(Plot(matrix, labels), $"{prefix}confusion_matrix.png", 520, 480);
    }

    internal static ScottPlot.Plot Plot(ConfusionMatrix matrix, IReadOnlyList<string>? labels)
    {
        var n = matrix.NumberOfClasses;
        var data = new double[n, n];
        for (var actual = 0; actual < n; actual++)
        {
            for (var predicted = 0; predicted < n; predicted++)
            {
                data[actual, predicted] = matrix.Counts[actual][predicted];
            }
        }

        // Blues runs dark → light with intensity; negated counts make the largest counts the darkest cells.
        var intensities = new double[n, n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                intensities[i, j] = -data[i, j];
            }
        }

        var plot = new ScottPlot.Plot();
        var heatmap = plot.Add.Heatmap(intensities);
        heatmap.Colormap = new ScottPlot.Colormaps.Blues();
        var max = data.Cast<double>().DefaultIfEmpty(0).Max();
        for (var actual = 0; actual < n; actual++)
        {
            for (var predicted = 0; predicted < n; predicted++)
            {
                var text = plot.Add.Text(data[actual, predicted].ToString("0.##", CultureInfo.InvariantCulture), predicted, n - 1 - actual);
                text.LabelFontSize = 16;
                text.LabelAlignment = ScottPlot.Alignment.MiddleCenter;
                text.LabelFontColor = data[actual, predicted] > max / 2 ? ScottPlot.Colors.White : ScottPlot.Colors.Black;
            }
        }

        var names = Enumerable.Range(0, n).Select(i => MetricNames.Label(labels, i)).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. names.Select((l, i) => new ScottPlot.Tick(i, l))]);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. names.Select((l, i) => new ScottPlot.Tick(n - 1 - i, l))]);
        plot.Title("Confusion matrix");
        plot.XLabel("Predicted");
        plot.YLabel("Actual");
        return plot;
    }
}
