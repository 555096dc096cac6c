using MlOps.Client.Tracking;

namespace MlOps.Client.XGBoost.Autologging;

/// <summary>Feature importance as MLflow's autolog logs it: <c>feature_importance_{type}.json</c> and a bar chart <c>.png</c>.</summary>
internal static class FeatureImportance
{
    public static void Log(RunScope run, Booster booster, ImportanceType type)
    {
        var scores = booster.GetScores(type);
        var name = type.ToXGBoostName();
        _ = run.LogTextAsync(scores.ToJson(), $"feature_importance_{name}.json");
        if (scores.Features.Count > 0)
        {
            _ = run.LogFigureAsync(Plot(scores), $"feature_importance_{name}.png", 640, Math.Clamp(120 + 24 * scores.Features.Count, 300, 2000));
        }
    }

    /// <summary>Horizontal bars sorted by magnitude, largest on top, one bar group per output when there are several.</summary>
    internal static ScottPlot.Plot Plot(FeatureScores scores)
    {
        var ordered = scores.Features.OrderBy(f => scores.Scores[f].Sum(Math.Abs)).ToArray();
        var outputs = scores.Scores[ordered[0]].Length;
        var plot = new ScottPlot.Plot();
        var bars = new List<ScottPlot.Bar>();
        var height = 0.8 / outputs;
        for (var i = 0; i < ordered.Length; i++)
        {
            var values = scores.Scores[ordered[i]];
            for (var k = 0; k < outputs; k++)
            {
                bars.Add(new ScottPlot.Bar
                {
                    Position = i - 0.4 + (height * (k + 0.5)),
                    Value = values[k],
                    Size = height * 0.9,
                    FillColor = ScottPlot.Colors.Category10[k % 10],
                    Label = outputs == 1 ? FeatureScores.PythonFloat(values[k]) : "",
                });
            }
        }

        var plottable = plot.Add.Bars(bars);
        plottable.Horizontal = true;
        plottable.ValueLabelStyle.FontSize = 11;
        var ticks = ordered.Select((f, i) => new ScottPlot.Tick(i, f)).ToArray();
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
        plot.Axes.Margins(left: 0, right: 0.15);
        plot.Title($"Feature Importance ({scores.Type.ToXGBoostName()})");
        plot.XLabel("Importance");
        plot.YLabel("Features");
        return plot;
    }
}
