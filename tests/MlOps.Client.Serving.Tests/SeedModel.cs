using MlOps.Client.XGBoost;

namespace MlOps.Client.Serving.Tests;

/// <summary>
/// The seed example's booster (multi:softprob, learning_rate 1, seed 42, 10 rounds on scikit-learn's split) as
/// libxgboost 1.7.4 trains it — the model Python's recorded server answered with (xgboost 1.7.4) — kept as JSON. Loaded
/// rather than trained, so that every XGBoost version (2.0 changed the training defaults) serves the predictions
/// Python's recorded server did.
/// </summary>
internal static class SeedModel
{
    public static Booster Load() => Booster.Load(Path.Combine(AppContext.BaseDirectory, "Models", "xgboost-iris-1.7.4.json"));
}
