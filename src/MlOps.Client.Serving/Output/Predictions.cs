using System.Text.Json;

namespace MlOps.Client.Serving.Output;

/// <summary>One output of a model: numbers (<paramref name="Width"/> per row) or labels (one per row).</summary>
/// <param name="Name">The output's name (an ML.NET column), or <see langword="null"/> for a model's single unnamed output.</param>
/// <param name="Numbers">Row-major numbers, <paramref name="Width"/> per row; <see langword="null"/> for labels.</param>
/// <param name="Width">Numbers per row (1 = a scalar per row).</param>
/// <param name="Labels">One label per row (class names, booleans as text); <see langword="null"/> for numbers.</param>
/// <param name="IsVector">Whether each row's value is a list even when <paramref name="Width"/> is 1.</param>
/// <param name="IsBoolean">Whether the labels are <c>true</c>/<c>false</c> (written as JSON booleans).</param>
/// <param name="IsClass">Whether the labels are a classifier's predicted classes (counted by class in the metrics).</param>
/// <param name="IsNumericLabel">Whether the classes are numbers: written from <paramref name="Numbers"/>, counted from <paramref name="Labels"/>.</param>
internal sealed record OutputColumn(string? Name, float[]? Numbers, int Width, string[]? Labels, bool IsVector = false, bool IsBoolean = false, bool IsClass = false, bool IsNumericLabel = false);

/// <summary>
/// What a model predicted for a request, written as Python's scoring server writes it: one unnamed output →
/// <c>{"predictions": [v, …]}</c> or <c>[[v, …], …]</c>; named outputs (a DataFrame in Python) →
/// <c>{"predictions": [{"name": v, …}, …]}</c> (pandas' <c>orient="records"</c>).
/// </summary>
/// <param name="Rows">The number of rows.</param>
/// <param name="Columns">The outputs.</param>
/// <param name="ClassIndex">
/// For a classifier whose single output holds one probability per class: the class of each row is the largest
/// (counted by the metrics as the predicted class).
/// </param>
internal sealed record Predictions(int Rows, IReadOnlyList<OutputColumn> Columns, bool ClassIndex = false)
{
    /// <summary>
    /// Writes <c>{"predictions": …}</c> into the response's pipe (no stream in between); float32 values as Python writes
    /// them once widened to float64. The structure is this method's own, so the writer does not re-check it.
    /// </summary>
    public async Task WriteAsync(System.IO.Pipelines.PipeWriter body, CancellationToken cancellationToken)
    {
        await using var json = new Utf8JsonWriter(body, new JsonWriterOptions { SkipValidation = true });
        json.WriteStartObject();
        json.WriteStartArray("predictions");
        var records = Columns.Count > 1;
        for (var r = 0; r < Rows; r++)
        {
            if (json.BytesPending > 32 * 1024)
            {
                json.Flush(); // into the pipe, then sent: a large answer is never whole in memory
                await body.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            if (!records)
            {
                WriteValue(json, Columns[0], r);
                continue;
            }

            json.WriteStartObject();
            foreach (var column in Columns)
            {
                json.WritePropertyName(column.Name!);
                WriteValue(json, column, r);
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
        json.Flush();
        await body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private static void WriteValue(Utf8JsonWriter json, OutputColumn column, int row)
    {
        if (column.Labels is { } labels && !column.IsNumericLabel)
        {
            if (column.IsBoolean)
            {
                json.WriteBooleanValue(labels[row] == "true");
            }
            else
            {
                json.WriteStringValue(labels[row]);
            }

            return;
        }

        var numbers = column.Numbers!;
        if (column.Width == 1 && !column.IsVector)
        {
            WriteNumber(json, numbers[row]);
            return;
        }

        json.WriteStartArray();
        for (var o = 0; o < column.Width; o++)
        {
            WriteNumber(json, numbers[(row * column.Width) + o]);
        }

        json.WriteEndArray();
    }

    /// <summary>NaN and infinities as JSON cannot hold them: <c>null</c> (Python writes NaN, which is not JSON).</summary>
    private static void WriteNumber(Utf8JsonWriter json, float value)
    {
        if (float.IsFinite(value))
        {
            json.WriteNumberValue((double)value);
        }
        else
        {
            json.WriteNullValue();
        }
    }
}
