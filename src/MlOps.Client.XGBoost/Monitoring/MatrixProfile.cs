using System.Globalization;
using MlOps.Client.Monitoring;

namespace MlOps.Client.XGBoost.Monitoring;

/// <summary>
/// The reference profile of a <see cref="DMatrix"/> and a booster's predictions on it: <see cref="Capture"/> copies
/// what is needed while the caller's matrix and booster are alive (one native copy of the values, the labels, the
/// predictions), <see cref="MatrixSnapshot.Build"/> computes the profile (anywhere: autologging does it on the thread pool).
/// </summary>
internal static class MatrixProfile
{
    /// <summary>The matrix's column names: its feature names, else XGBoost's own <c>f0</c>, <c>f1</c>… (the names of the logged signature).</summary>
    public static IReadOnlyList<string> ColumnNames(DMatrix data) =>
        data.FeatureNames is { Count: > 0 } given && given.Count == data.ColumnCount
            ? given
            : [.. Enumerable.Range(0, data.ColumnCount).Select(i => "f" + i.ToString(CultureInfo.InvariantCulture))];

    public static MatrixSnapshot Capture(Booster booster, DMatrix data, IReadOnlyList<string> names)
    {
        var (offsets, columns, values) = data.ReadCsr();
        var objective = System.Text.Json.Nodes.JsonNode.Parse(booster.SaveConfig())!["learner"]?["objective"]?["name"]?.GetValue<string>() ?? "";
        return new MatrixSnapshot(offsets, columns, values, data.RowCount, names, data.Labels, booster.PredictWithShape(data),
            objective.StartsWith("multi:", StringComparison.Ordinal) || objective.StartsWith("binary:", StringComparison.Ordinal));
    }
}

/// <summary>What <see cref="MatrixProfile.Capture"/> copied.</summary>
internal sealed record MatrixSnapshot(ulong[] Offsets, uint[] Columns, float[] Values, int Rows, IReadOnlyList<string> Names, float[] Labels, Prediction Prediction, bool Classifier)
{
    /// <summary>The features (missing = absent from the CSR), the labels (classes for a classifier), the predictions (a classifier's predicted class, else the number).</summary>
    public ReferenceProfile Build()
    {
        var width = Names.Count;
        var dense = new float[Rows * width];
        Array.Fill(dense, float.NaN);
        for (var r = 0; r < Rows; r++)
        {
            for (var i = (long)Offsets[r]; i < (long)Offsets[r + 1]; i++)
            {
                dense[(r * width) + (int)Columns[i]] = Values[i];
            }
        }

        var builder = new ReferenceProfileBuilder().AddMatrix(dense, Names);
        if (Labels.Length == Rows)
        {
            builder.AddTarget(Labels, categorical: Classifier);
        }

        var values = Prediction.Values;
        if (Prediction.Shape.Count == 2 && Prediction.Shape[1] > 1)
        {
            // One probability per class: the predicted class, as the served model's most probable class is monitored.
            var classes = (int)Prediction.Shape[1];
            builder.AddPredictedClasses("prediction", Enumerable.Range(0, Rows).Select(r =>
            {
                var best = 0;
                for (var k = 1; k < classes; k++)
                {
                    best = values[(r * classes) + k] > values[(r * classes) + best] ? k : best;
                }

                return best.ToString(CultureInfo.InvariantCulture);
            }));
        }
        else if (values.Length == Rows)
        {
            builder.AddPredictions("prediction", values);
        }

        return builder.Build();
    }
}
