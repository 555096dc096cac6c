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

    private readonly bool _classLabels;

    /// <summary>The booster's trees in managed memory, proven equal to it at load; <see langword="null"/> when the model is not one it reproduces.</summary>
    private readonly TreeEnsemble? _trees;

    private XGBoostServing(Booster booster, string? modelClass)
    {
        _booster = booster;

        // Python's pyfunc predicts with the class the model was logged from: an XGBClassifier answers class labels
        // (argmax of the probabilities, or probability > 0.5 for a binary model), a Booster or XGBRegressor raw predictions.
        _classLabels = modelClass?.EndsWith(".XGBClassifier", StringComparison.Ordinal) == true;

        // One thread per prediction: requests already run in parallel, and for a request's few rows XGBoost's OpenMP team
        // costs more (its threads spin between predictions) than it saves — 1-row requests/s 1,733 → 2,768 at one
        // connection on the 2-core benchmark machine (docs/performance.md).
        booster.SetParameter("nthread", 1);
        var names = booster.FeatureNames is { Count: > 0 } features ? features : null;
        NativeSchema = names is null
            ? InputSchema.Tensor("float32", (int)booster.FeatureCount)
            : InputSchema.Named([.. names.Select(n => new ColumnSpec(n, "float"))]);
        _classProbabilities = Objective(booster) == "multi:softprob";

        // Requests are predicted from a managed copy of the trees: the same values bit for bit (proven on probe rows here),
        // without the native call's per-call JSON configuration and OpenMP regions — 1-row requests/s 0.68 → 0.92 of /ping,
        // and the walk itself as fast as XGBoost's or faster at 1 to 1,000 rows (docs/performance.md). A model the copy does
        // not reproduce (dart, categorical splits, other objectives) is predicted by XGBoost.
        _trees = TreeEnsemble.TryCreate(booster, out var reason);
        ManagedTreesReason = reason;
    }

    /// <summary>Whether requests are predicted from the managed copy of the trees.</summary>
    internal bool UsesManagedTrees => _trees is not null;

    /// <summary>Why there is no managed copy of the trees, or <see langword="null"/>.</summary>
    internal string? ManagedTreesReason { get; }

    public string Name => "xgboost";

    public InputSchema NativeSchema { get; }

    public static async Task<XGBoostServing> LoadAsync(string directory, MlflowModel description, CancellationToken cancellationToken)
    {
        var booster = await new XGBoostFlavor().LoadAsync(directory, description, cancellationToken).ConfigureAwait(false);
        try
        {
            return new XGBoostServing(booster, description.Flavors[XGBoostFlavor.FlavorName]?["model_class"]?.GetValue<string>());
        }
        catch
        {
            booster.Dispose();
            throw;
        }
    }

    /// <summary>The signature must give the booster's number of features (checked at load, not on every request).</summary>
    public void Check(InputSchema input)
    {
        if (input.Columns.Count != _booster.FeatureCount)
        {
            throw new NotSupportedException($"The model's signature has {input.Columns.Count} input columns; its booster takes {_booster.FeatureCount} features.");
        }
    }

    public Predictions Predict(EnforcedInput input)
    {
        var data = input.ToFloatMatrix();
        var values = _trees is not null
            ? _trees.Predict(data, input.Rows)
            : _booster.InplacePredict(data, input.Rows, input.Columns.Count).Values;
        var outputs = input.Rows == 0 ? 1 : values.Length / input.Rows;
        if (!_classLabels)
        {
            return new Predictions(input.Rows, [new OutputColumn(null, values, outputs, null)], ClassIndex: _classProbabilities && outputs > 1);
        }

        var labels = new float[input.Rows];
        for (var r = 0; r < input.Rows; r++)
        {
            var row = values.AsSpan(r * outputs, outputs);
            labels[r] = outputs == 1 ? (row[0] > 0.5f ? 1 : 0) : row.IndexOf(Max(row));
        }

        var names = new string[input.Rows];
        for (var r = 0; r < names.Length; r++)
        {
            var label = (int)labels[r];
            names[r] = label < ClassNames.Length ? ClassNames[label] : label.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return new Predictions(input.Rows, [new OutputColumn(null, labels, 1, names, IsClass: true, IsNumericLabel: true)]);
    }

    /// <summary>The classes' names as text, made once (not a string per predicted row).</summary>
    private static readonly string[] ClassNames = [.. Enumerable.Range(0, 256).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    private static float Max(ReadOnlySpan<float> row)
    {
        var max = row[0];
        foreach (var v in row)
        {
            max = v > max ? v : max;
        }

        return max;
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
