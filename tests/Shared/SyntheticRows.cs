namespace MlOps.Client.Testing;

/// <summary>Deterministic binary-classification rows (row-major) for the XGBoost stress host and memory harness.</summary>
internal static class SyntheticRows
{
    /// <summary><paramref name="rows"/> × <paramref name="columns"/> values in [−1, 1); the label is 1 when a fixed linear score is positive.</summary>
    public static (float[] Data, float[] Labels) Binary(int rows, int columns, int seed)
    {
        var random = new Random(seed);
        var data = new float[rows * columns];
        var labels = new float[rows];
        for (var i = 0; i < rows; i++)
        {
            double score = 0;
            for (var j = 0; j < columns; j++)
            {
                var v = (float)((random.NextDouble() * 2) - 1);
                data[(i * columns) + j] = v;
                score += v * (j % 2 == 0 ? 1 : -0.5);
            }

            labels[i] = score > 0 ? 1 : 0;
        }

        return (data, labels);
    }
}
