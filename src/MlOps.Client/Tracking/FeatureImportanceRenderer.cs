namespace MlOps.Client.Tracking;

/// <summary>
/// Draws a feature-importance chart as a PNG, for autologging that logs one beside its
/// <c>feature_importance_{type}.json</c> (Python's autolog draws it with matplotlib). The tracking packages define
/// only this shape, so that they never pull a plotting stack; <c>MlOps.Client.Figures</c> provides one
/// (<c>FeatureImportancePlots.RenderPng</c>).
/// </summary>
/// <param name="importanceType">The importance type, as XGBoost names it (<c>weight</c>, <c>gain</c>, …).</param>
/// <param name="features">The features, in the model's order.</param>
/// <param name="scores">Per feature, its score for each output (one value for a single-output model).</param>
/// <returns>The PNG file's bytes.</returns>
public delegate byte[] FeatureImportanceRenderer(string importanceType, IReadOnlyList<string> features, IReadOnlyList<IReadOnlyList<double>> scores);
