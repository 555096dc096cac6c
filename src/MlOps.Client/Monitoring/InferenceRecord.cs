namespace MlOps.Client.Monitoring;

/// <summary>One column of a logged request: its name and one value per row.</summary>
/// <param name="Name">The column (an input's name, <c>0</c>, <c>1</c>… for positional inputs, or a prediction output's name).</param>
/// <param name="Values">
/// One value per row: <see cref="double"/>, <see cref="string"/>, <see cref="bool"/>, <see langword="null"/> (missing), or
/// a <see cref="double"/> array (a vector: an array input, or a classifier's probabilities).
/// </param>
public sealed record InferenceColumn(string Name, IReadOnlyList<object?> Values);

/// <summary>One served request as the inference log keeps it: when, which model, how long, its rows and predictions.</summary>
public sealed class InferenceRecord
{
    /// <summary>The request's id (the <c>X-Request-Id</c> header, or one the server made), which ground truth is sent back with.</summary>
    public required string RequestId { get; init; }

    /// <summary>When it was served.</summary>
    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>The served model's URI.</summary>
    public string? ModelUri { get; init; }

    /// <summary>The time to answer, in milliseconds.</summary>
    public double LatencyMilliseconds { get; init; }

    /// <summary>Rows in the request.</summary>
    public required int Rows { get; init; }

    /// <summary>The inputs, column by column, in the model's input order.</summary>
    public IReadOnlyList<InferenceColumn> Inputs { get; init; } = [];

    /// <summary>The predictions, output by output (<c>prediction</c> for a model's single unnamed output).</summary>
    public IReadOnlyList<InferenceColumn> Predictions { get; init; } = [];
}

/// <summary>Ground truth for a served request, sent after the fact: one target per row of the request.</summary>
/// <param name="RequestId">The request it answers.</param>
/// <param name="Timestamp">When it arrived.</param>
/// <param name="Targets">One target per row (a number or a class label).</param>
public sealed record InferenceFeedback(string RequestId, DateTimeOffset Timestamp, IReadOnlyList<object?> Targets);

/// <summary>
/// A numeric column's values without a box per value (what the serving host hands over: the request copies numbers
/// into one array): NaN reads as <see langword="null"/> (missing). Written and tested without boxing.
/// </summary>
internal sealed class NumberValues(double[] values) : IReadOnlyList<object?>
{
    public double[] Values { get; } = values;

    public int Count => Values.Length;

    public object? this[int index] => double.IsNaN(Values[index]) ? null : Values[index];

    public IEnumerator<object?> GetEnumerator()
    {
        for (var i = 0; i < Values.Length; i++)
        {
            yield return this[i];
        }
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>
/// A vector per row (a classifier's probabilities) over one row-major float32 array, as the model produced it: each
/// row reads as a <see cref="double"/> array; written and tested without a copy per row.
/// </summary>
internal sealed class VectorValues(float[] values, int width, int rows) : IReadOnlyList<object?>
{
    public float[] Values { get; } = values;

    public int Width { get; } = width;

    public int Count { get; } = rows;

    public object? this[int index]
    {
        get
        {
            var row = new double[Width];
            for (var i = 0; i < Width; i++)
            {
                row[i] = Values[(index * Width) + i];
            }

            return row;
        }
    }

    /// <summary>The most probable class of row <paramref name="index"/>.</summary>
    public int ArgMax(int index)
    {
        var best = 0;
        var offset = index * Width;
        for (var i = 1; i < Width; i++)
        {
            if (Values[offset + i] > Values[offset + best])
            {
                best = i;
            }
        }

        return best;
    }

    public IEnumerator<object?> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
