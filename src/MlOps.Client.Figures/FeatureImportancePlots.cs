using MlOps.Client.Formatting;
using ScottPlot;

namespace MlOps.Client.Tracking;

/// <summary>Feature-importance bar charts, as Python's autolog draws them: the opt-in plot for XGBoost autologging.</summary>
public static class FeatureImportancePlots
{
    /// <summary>
    /// A <see cref="FeatureImportanceRenderer"/>: horizontal bars sorted by magnitude, largest on top, one bar per output
    /// when there are several, 640 pixels wide. Give it to autologging to log <c>feature_importance_{type}.png</c>
    /// (<c>XGBoostAutologOptions.FeatureImportancePlot = FeatureImportancePlots.RenderPng</c>).
    /// </summary>
    /// <param name="importanceType">The importance type (in the title).</param>
    /// <param name="features">The features.</param>
    /// <param name="scores">Per feature, its score for each output.</param>
    /// <returns>The PNG file's bytes.</returns>
    public static byte[] RenderPng(string importanceType, IReadOnlyList<string> features, IReadOnlyList<IReadOnlyList<double>> scores)
    {
        ArgumentNullException.ThrowIfNull(features);
        var plot = Plot(importanceType, features, scores);
        return plot.GetImageBytes(640, Math.Clamp(120 + (24 * features.Count), 300, 2000), ImageFormat.Png);
    }

    /// <summary>The chart <see cref="RenderPng"/> draws, to change or save otherwise.</summary>
    /// <param name="importanceType">The importance type (in the title).</param>
    /// <param name="features">The features.</param>
    /// <param name="scores">Per feature, its score for each output.</param>
    public static Plot Plot(string importanceType, IReadOnlyList<string> features, IReadOnlyList<IReadOnlyList<double>> scores)
    {
        ArgumentNullException.ThrowIfNull(importanceType);
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(scores);
        if (features.Count != scores.Count)
        {
            throw new ArgumentException($"{features.Count} features and {scores.Count} score lists: one list per feature.", nameof(scores));
        }

        var plot = new Plot();
        plot.Title($"Feature Importance ({importanceType})");
        plot.XLabel("Importance");
        plot.YLabel("Features");
        if (features.Count == 0)
        {
            return plot;
        }

        var ordered = Enumerable.Range(0, features.Count).OrderBy(i => scores[i].Sum(Math.Abs)).ToArray();
        var outputs = Math.Max(1, scores[ordered[0]].Count);
        var bars = new List<Bar>();
        var height = 0.8 / outputs;
        for (var i = 0; i < ordered.Length; i++)
        {
            var values = scores[ordered[i]];
            for (var k = 0; k < values.Count; k++)
            {
                bars.Add(new Bar
                {
                    Position = i - 0.4 + (height * (k + 0.5)),
                    Value = values[k],
                    Size = height * 0.9,
                    FillColor = Colors.Category10[k % 10],
                    Label = outputs == 1 ? PythonFormat.Float(values[k]) : "",
                });
            }
        }

        var plottable = plot.Add.Bars(bars);
        plottable.Horizontal = true;
        plottable.ValueLabelStyle.FontSize = 11;
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ordered.Select((f, i) => new Tick(i, features[f]))]);
        plot.Axes.Margins(left: 0, right: 0.15);
        return plot;
    }
}
