using MlOps.Client.Tracking;

namespace MlOps.Client.XGBoost.Autologging;

/// <summary>
/// Feature importance as MLflow's autolog logs it: <c>feature_importance_{type}.json</c>, and the bar chart
/// <c>.png</c> when a renderer is given (<see cref="XGBoostAutologOptions.FeatureImportancePlot"/>; this package draws
/// nothing itself, so that autologging does not pull a plotting stack).
/// </summary>
internal static class FeatureImportance
{
    public static void Log(RunScope run, Booster booster, ImportanceType type, FeatureImportanceRenderer? plot)
    {
        var scores = booster.GetScores(type);
        var name = type.ToXGBoostName();
        _ = run.LogTextAsync(scores.ToJson(), $"feature_importance_{name}.json");
        if (plot is not null && scores.Features.Count > 0)
        {
            var png = plot(name, scores.Features, [.. scores.Features.Select(f => (IReadOnlyList<double>)scores.Scores[f])]);
            _ = RunScopeArtifactExtensions.LogBytesAsync(run, png, $"feature_importance_{name}.png");
        }
    }
}
