using Microsoft.ML;
using Microsoft.ML.Data;
using MlOps.Client.MLNet.Models;
using MlOps.Client.Models;
using MlOps.Client.Serving.Input;
using MlOps.Client.Serving.Output;

namespace MlOps.Client.Serving.Flavors;

/// <summary>
/// The <c>mlnet</c> flavor: the transformer applied to the request's rows (an <see cref="IDataView"/> with the model's
/// input schema), answering its prediction columns — ML.NET's <c>PredictedLabel</c>, <c>Score</c>, <c>Probability</c>
/// where the model has them, else every column it adds. One column → a list of values; several → one record per row.
/// </summary>
internal sealed class MLNetServing : IServingFlavor
{
    private static readonly string[] PredictionColumns = ["PredictedLabel", "Score", "Probability"];
    private readonly ITransformer _transformer;
    private readonly DataViewSchema _input;
    private readonly IReadOnlyList<string> _outputs;

    private MLNetServing(MLNetModel model, IReadOnlyList<string>? outputColumns)
    {
        _transformer = model.Transformer;
        _input = model.InputSchema;
        var unsupported = _input.Where(c => !c.IsHidden && !RequestDataView.Supports(c.Type)).Select(c => $"{c.Name} ({c.Type})").ToList();
        if (unsupported.Count > 0)
        {
            throw new NotSupportedException($"The model's input columns {string.Join(", ", unsupported)} have types this server cannot read from a request (it reads float, double, int, long, bool and text, scalars or vectors).");
        }

        // Without a signature MLflow enforces nothing: every input column is optional and an absent one holds ML.NET's missing value.
        NativeSchema = InputSchema.Named([.. _input.Where(c => !c.IsHidden).Select(c => c.Type is VectorDataViewType v
            ? new ColumnSpec(c.Name, "array", MlflowType(v.ItemType), Required: false)
            : new ColumnSpec(c.Name, MlflowType(c.Type), Required: false))]);

        var output = _transformer.GetOutputSchema(_input);
        var inputNames = _input.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        var added = output.Where(c => !c.IsHidden && !inputNames.Contains(c.Name)).Select(c => c.Name).ToList();
        if (outputColumns is { Count: > 0 })
        {
            var unknown = outputColumns.Where(n => output.GetColumnOrNull(n) is null).ToList();
            _outputs = unknown.Count == 0 ? outputColumns
                : throw new ArgumentException($"The model has no output columns {string.Join(", ", unknown)} (it has {string.Join(", ", output.Where(c => !c.IsHidden).Select(c => c.Name))}).", nameof(outputColumns));
        }
        else
        {
            var known = PredictionColumns.Where(added.Contains).ToList();
            _outputs = known.Count > 0 ? known
                : added.Count > 0 ? added
                : throw new NotSupportedException("The model adds no column to its input: there is no prediction to answer.");
        }
    }

    public string Name => MLNetFlavor.FlavorName;

    public InputSchema NativeSchema { get; }

    public static async Task<MLNetServing> LoadAsync(string directory, MlflowModel description, IReadOnlyList<string>? outputColumns, CancellationToken cancellationToken)
    {
        var model = await new MLNetFlavor().LoadAsync(directory, description, cancellationToken).ConfigureAwait(false);
        try
        {
            return new MLNetServing(model, outputColumns);
        }
        catch
        {
            (model.Transformer as IDisposable)?.Dispose();
            throw;
        }
    }

    public void Check(InputSchema input)
    {
        var unknown = input.Columns.Where(c => c.Name is not null && _input.GetColumnOrNull(c.Name) is null).Select(c => c.Name).ToList();
        if (unknown.Count > 0 || !input.IsNamed)
        {
            throw new NotSupportedException(input.IsNamed
                ? $"The model's signature names input columns its ML.NET input schema does not have: {string.Join(", ", unknown)}."
                : "An ML.NET model takes named columns; its signature has none.");
        }
    }

    /// <summary>One <c>Transform</c> and one pass of a cursor over the prediction columns per request.</summary>
    public Predictions Predict(EnforcedInput input)
    {
        var view = RequestDataView.Create(_input, input.Rows, input.Column);
        var scored = _transformer.Transform(view);
        var columns = _outputs.Select(name => scored.Schema[name]).ToArray();
        using var cursor = scored.GetRowCursor(columns);
        var collectors = columns.Select(c => Collect(cursor, c, input.Rows)).ToArray();
        while (cursor.MoveNext())
        {
            foreach (var collector in collectors)
            {
                collector.Take();
            }
        }

        return new Predictions(input.Rows, [.. collectors.Select((c, i) => c.Build() with { IsClass = columns[i].Name == "PredictedLabel" })]);
    }

    /// <summary>Reads one column row by row (<see cref="Take"/>), then makes its output (<see cref="Build"/>).</summary>
    private sealed record Collector(Action Take, Func<OutputColumn> Build);

    private static Collector Collect(DataViewRowCursor cursor, DataViewSchema.Column column, int rows)
    {
        var type = column.Type;
        if (type is VectorDataViewType vector)
        {
            var values = new List<float[]>(rows);
            Action take;
            if (vector.ItemType.RawType == typeof(float))
            {
                var getter = cursor.GetGetter<VBuffer<float>>(column);
                VBuffer<float> buffer = default;
                take = () =>
                {
                    getter(ref buffer);
                    values.Add([.. buffer.DenseValues()]);
                };
            }
            else if (vector.ItemType.RawType == typeof(double))
            {
                var getter = cursor.GetGetter<VBuffer<double>>(column);
                VBuffer<double> buffer = default;
                take = () =>
                {
                    getter(ref buffer);
                    values.Add([.. buffer.DenseValues().Select(d => (float)d)]);
                };
            }
            else
            {
                throw new NotSupportedException($"The output column {column.Name} holds vectors of {vector.ItemType.RawType.Name}, which this server cannot write.");
            }

            return new Collector(take, () =>
            {
                var width = vector.Size > 0 ? vector.Size : values.Count == 0 ? 0 : values[0].Length;
                var numbers = new float[values.Count * width];
                for (var r = 0; r < values.Count; r++)
                {
                    values[r].AsSpan(0, Math.Min(width, values[r].Length)).CopyTo(numbers.AsSpan(r * width));
                }

                return new OutputColumn(column.Name, numbers, width, null, IsVector: true);
            });
        }

        if (type is KeyDataViewType)
        {
            var getter = cursor.GetGetter<uint>(column);
            var keys = new List<uint>(rows);
            string[]? names = null;
            if (column.HasKeyValues())
            {
                VBuffer<ReadOnlyMemory<char>> values = default;
                column.GetKeyValues(ref values);
                names = [.. values.DenseValues().Select(n => n.ToString())];
            }

            return new Collector(() =>
            {
                uint key = 0;
                getter(ref key);
                keys.Add(key);
            }, () => names is not null
                ? new OutputColumn(column.Name, null, 1, [.. keys.Select(k => k == 0 || k > names.Length ? "" : names[k - 1])])
                : new OutputColumn(column.Name, [.. keys.Select(k => k == 0 ? float.NaN : k - 1f)], 1, null));
        }

        var raw = type.RawType;
        return raw == typeof(float) ? Numbers<float>(cursor, column, rows, v => v)
            : raw == typeof(double) ? Numbers<double>(cursor, column, rows, v => (float)v)
            : raw == typeof(int) ? Numbers<int>(cursor, column, rows, v => v)
            : raw == typeof(long) ? Numbers<long>(cursor, column, rows, v => v)
            : raw == typeof(bool) ? Labels<bool>(cursor, column, rows, b => b ? "true" : "false", boolean: true)
            : raw == typeof(ReadOnlyMemory<char>) ? Labels<ReadOnlyMemory<char>>(cursor, column, rows, t => t.ToString(), boolean: false)
            : throw new NotSupportedException($"The output column {column.Name} has the type {type}, which this server cannot write.");
    }

    private static Collector Numbers<T>(DataViewRowCursor cursor, DataViewSchema.Column column, int rows, Func<T, float> convert)
    {
        var getter = cursor.GetGetter<T>(column);
        var values = new List<float>(rows);
        return new Collector(() =>
        {
            T value = default!;
            getter(ref value);
            values.Add(convert(value));
        }, () => new OutputColumn(column.Name, [.. values], 1, null));
    }

    private static Collector Labels<T>(DataViewRowCursor cursor, DataViewSchema.Column column, int rows, Func<T, string> convert, bool boolean)
    {
        var getter = cursor.GetGetter<T>(column);
        var values = new List<string>(rows);
        return new Collector(() =>
        {
            T value = default!;
            getter(ref value);
            values.Add(convert(value));
        }, () => new OutputColumn(column.Name, null, 1, [.. values], IsBoolean: boolean));
    }

    private static string MlflowType(DataViewType type) => type.RawType switch
    {
        var t when t == typeof(float) => "float",
        var t when t == typeof(double) => "double",
        var t when t == typeof(int) => "integer",
        var t when t == typeof(long) => "long",
        var t when t == typeof(bool) => "boolean",
        _ => "string",
    };

    public void Dispose() => (_transformer as IDisposable)?.Dispose();
}
