using MlOps.Client.Models;
using MlOps.Client.XGBoost;
using MlOps.Client.XGBoost.Models;

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

    /// <summary>
    /// Saves the booster as the model samples/XGBoostIris logs — the xgboost flavor with its tensor signature float32
    /// [-1, 4] → [-1, 3] — into a new folder <paramref name="name"/> under <paramref name="parent"/>.
    /// </summary>
    /// <returns>The model folder and its description.</returns>
    public static async Task<(string Folder, MlflowModel Description)> SaveServableAsync(Booster booster, string parent, string name = "model")
    {
        var folder = Directory.CreateDirectory(Path.Combine(parent, name)).FullName;
        var config = await new XGBoostFlavor().SaveAsync(booster, folder, default);
        var description = MlflowModel.Create("model", "run");
        description.Flavors["xgboost"] = config.Flavor;
        description.Signature = new ModelSignature(
            """[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}}]""", """[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}}]""");
        description.Save(folder);
        return (folder, description);
    }
}
