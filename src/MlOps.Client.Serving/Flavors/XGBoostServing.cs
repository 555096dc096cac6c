using System.Text.Json.Nodes;
using MlOps.Client.Models;
using MlOps.Client.Serving.Input;
using MlOps.Client.Serving.Output;
using MlOps.Client.XGBoost;
using MlOps.Client.XGBoost.Models;

namespace MlOps.Client.Serving.Flavors;

/// <summary>
/// The <c>xgboost</c> flavor as Python's pyfunc serves it: the booster's <c>predict</c> on float32 rows (NaN = missing),
/// one value per row, or one probability per class for <c>multi:softprob</c> (counted as the argmax class).
/// </summary>
internal sealed class XGBoostServing : IServingFlavor
{
    private readonly Booster _booster;
    private readonly bool _classProbabilities;

    private XGBoostServing(Booster booster)
    {
        _booster = booster;

        // One thread per prediction: requests already run in parallel, and for a request's few rows XGBoost's OpenMP team
        // costs more (its threads spin between predictions) than it saves — 1-row requests/s 1,733 → 2,768 at one
        // connection on the 2-core benchmark machine (docs/performance.md).
        booster.SetParameter("nthread", 1);
        var names = booster.FeatureNames is { Count: > 0 } features ? features : null;
        NativeSchema = names is null
            ? InputSchema.Tensor("float32", (int)booster.FeatureCount)
            : InputSchema.Named([.. names.Select(n => new ColumnSpec(n, "float"))]);
        _classProbabilities = Objective(booster) == "multi:softprob";
    }

    public string Name => "xgboost";

    public InputSchema NativeSchema { get; }

    public static async Task<XGBoostServing> LoadAsync(string directory, MlflowModel description, CancellationToken cancellationToken) =>
        new(await new XGBoostFlavor().LoadAsync(directory, description, cancellationToken).ConfigureAwait(false));

    public Predictions Predict(EnforcedInput input)
    {
        var width = input.Columns.Count;
        if (width != _booster.FeatureCount)
        {
            throw new ArgumentException($"The model takes {_booster.FeatureCount} features; its signature gives {width}.");
        }

        var prediction = _booster.InplacePredict(input.ToFloatMatrix(), input.Rows, width);
        var outputs = input.Rows == 0 ? 1 : prediction.Values.Length / input.Rows;
        return new Predictions(input.Rows, [new OutputColumn(null, prediction.Values, outputs, null)], ClassIndex: _classProbabilities && outputs > 1);
    }

    private static string? Objective(Booster booster)
    {
        try
        {
            return JsonNode.Parse(booster.SaveConfig())?["learner"]?["objective"]?["name"]?.GetValue<string>();
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidOperationException or XGBoostException)
        {
            return null;
        }
    }

    public void Dispose() => _booster.Dispose();
}
