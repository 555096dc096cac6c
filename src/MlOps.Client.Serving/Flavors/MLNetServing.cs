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

    public Predictions Predict(EnforcedInput input)
    {
        var view = RequestDataView.Create(_input, input.Rows, input.Column);
        var scored = _transformer.Transform(view);
        return new Predictions(input.Rows, [.. _outputs.Select(name => Read(scored, scored.Schema[name], input.Rows) with { IsClass = name == "PredictedLabel" })]);
    }

    private static OutputColumn Read(IDataView scored, DataViewSchema.Column column, int rows)
    {
        var type = column.Type;
        if (type is VectorDataViewType vector)
        {
            var values = ReadVectors(scored, column, vector.ItemType.RawType);
            var width = vector.Size > 0 ? vector.Size : values.Count == 0 ? 0 : values[0].Length;
            var numbers = new float[rows * width];
            for (var r = 0; r < values.Count; r++)
            {
                values[r].AsSpan(0, Math.Min(width, values[r].Length)).CopyTo(numbers.AsSpan(r * width));
            }

            return new OutputColumn(column.Name, numbers, width, null, IsVector: true);
        }

        if (type is KeyDataViewType)
        {
            var keys = scored.GetColumn<uint>(column).ToArray();
            if (column.HasKeyValues())
            {
                VBuffer<ReadOnlyMemory<char>> names = default;
                column.GetKeyValues(ref names);
                var dense = names.DenseValues().Select(n => n.ToString()).ToArray();
                return new OutputColumn(column.Name, null, 1, [.. keys.Select(k => k == 0 || k > dense.Length ? "" : dense[k - 1])]);
            }

            return new OutputColumn(column.Name, [.. keys.Select(k => k == 0 ? float.NaN : k - 1f)], 1, null);
        }

        var raw = type.RawType;
        return raw == typeof(float) ? new OutputColumn(column.Name, [.. scored.GetColumn<float>(column)], 1, null)
            : raw == typeof(double) ? new OutputColumn(column.Name, [.. scored.GetColumn<double>(column).Select(d => (float)d)], 1, null)
            : raw == typeof(int) ? new OutputColumn(column.Name, [.. scored.GetColumn<int>(column).Select(i => (float)i)], 1, null)
            : raw == typeof(long) ? new OutputColumn(column.Name, [.. scored.GetColumn<long>(column).Select(l => (float)l)], 1, null)
            : raw == typeof(bool) ? new OutputColumn(column.Name, null, 1, [.. scored.GetColumn<bool>(column).Select(b => b ? "true" : "false")], IsBoolean: true)
            : raw == typeof(ReadOnlyMemory<char>) ? new OutputColumn(column.Name, null, 1, [.. scored.GetColumn<ReadOnlyMemory<char>>(column).Select(t => t.ToString())])
            : throw new NotSupportedException($"The output column {column.Name} has the type {type}, which this server cannot write.");
    }

    private static List<float[]> ReadVectors(IDataView scored, DataViewSchema.Column column, Type item)
    {
        if (item == typeof(float))
        {
            return [.. scored.GetColumn<VBuffer<float>>(column).Select(v => v.DenseValues().ToArray())];
        }

        if (item == typeof(double))
        {
            return [.. scored.GetColumn<VBuffer<double>>(column).Select(v => v.DenseValues().Select(d => (float)d).ToArray())];
        }

        throw new NotSupportedException($"The output column {column.Name} holds vectors of {item.Name}, which this server cannot write.");
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
