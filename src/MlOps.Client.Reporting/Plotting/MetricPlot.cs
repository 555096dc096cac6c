using MlOps.Client;
using ScottPlot;

namespace MlOps.Client.Reporting;

/// <summary>One line of a metric plot: a label (run and key) and the metric's history.</summary>
/// <param name="Label">The legend label.</param>
/// <param name="History">The values, plotted against their step.</param>
public sealed record MetricSeries(string Label, IReadOnlyList<Metric> History);

/// <summary>Line charts of metric histories as PNG files (ScottPlot), one series per run and key.</summary>
public static class MetricPlot
{
    /// <summary>Draws the series against their steps and saves a PNG.</summary>
    /// <param name="series">The series (at least one).</param>
    /// <param name="path">The PNG file to write.</param>
    /// <param name="title">The chart title.</param>
    /// <param name="yLabel">The vertical axis label (e.g. the metric key).</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    public static void SavePng(IReadOnlyList<MetricSeries> series, string path, string title, string yLabel = "value", int width = 800, int height = 500)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (series.Count == 0 || series.All(s => s.History.Count == 0))
        {
            throw new ArgumentException("There is nothing to plot: every series is empty.", nameof(series));
        }

        var plot = Build(series, title, yLabel);
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        plot.SavePng(path, width, height);
    }

    /// <summary>The chart <see cref="SavePng"/> writes.</summary>
    internal static Plot Build(IReadOnlyList<MetricSeries> series, string title, string yLabel)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (var i = 0; i < series.Count; i++)
        {
            var points = series[i].History.OrderBy(m => m.Step).ThenBy(m => m.Timestamp).ToList();
            if (points.Count == 0)
            {
                continue;
            }

            var line = plot.Add.Scatter(points.Select(p => (double)p.Step).ToArray(), points.Select(p => p.Value).ToArray(), palette.GetColor(i));
            line.LegendText = series[i].Label;
            line.LineWidth = 2;
            line.MarkerSize = points.Count > 50 ? 0 : 5;
        }

        plot.Title(title);
        plot.XLabel("step");
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true }; // steps are integers: no tick at 0.5
        plot.YLabel(yLabel);
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }
}
