namespace MlOps.Client.XGBoost.Tests;

/// <summary>Small deterministic data sets.</summary>
internal static class TestData
{
    /// <summary>Whether the loaded libxgboost writes and reads the legacy binary format (before 3.1).</summary>
    public static bool LegacyBinary => Booster.LibraryVersion < new Version(3, 1);

    /// <summary>Rows with <paramref name="columns"/> features; the label is 1 when a noisy linear score is positive.</summary>
    public static (float[][] X, float[] Y) Binary(int rows, int columns, int seed, double noise = 0.3)
    {
        var random = new Random(seed);
        var x = new float[rows][];
        var y = new float[rows];
        for (var i = 0; i < rows; i++)
        {
            x[i] = new float[columns];
            double score = 0;
            for (var j = 0; j < columns; j++)
            {
                x[i][j] = (float)((random.NextDouble() * 2) - 1);
                score += x[i][j] * (j % 2 == 0 ? 1.0 : -0.5) * (j < 3 ? 2 : 0.2);
            }

            y[i] = score + (noise * ((random.NextDouble() * 2) - 1)) > 0 ? 1 : 0;
        }

        return (x, y);
    }

    /// <summary>Three classes from the sign pattern of the first two features.</summary>
    public static (float[][] X, float[] Y) Multiclass(int rows, int columns, int seed)
    {
        var (x, _) = Binary(rows, columns, seed);
        var y = x.Select(r => r[0] < -0.3f ? 0f : r[1] < 0 ? 1f : 2f).ToArray();
        return (x, y);
    }

    /// <summary>Features with labels that are pure noise: validation loss gets worse as the model overfits.</summary>
    public static (float[][] X, float[] Y) Noise(int rows, int columns, int seed)
    {
        var random = new Random(seed);
        var x = Enumerable.Range(0, rows).Select(_ => Enumerable.Range(0, columns).Select(_ => (float)random.NextDouble()).ToArray()).ToArray();
        var y = Enumerable.Range(0, rows).Select(_ => (float)random.Next(2)).ToArray();
        return (x, y);
    }

    public static Dictionary<string, object?> BinaryParams(int seed = 7) => new()
    {
        ["objective"] = "binary:logistic",
        ["max_depth"] = 3,
        ["eta"] = 0.3,
        ["eval_metric"] = "logloss",
        ["seed"] = seed,
        ["nthread"] = 1,
    };
}
