using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlOps.Client.Monitoring;

namespace MlOps.Client.MLNet.Autologging;

/// <summary>
/// The reference profile of an ML.NET training set: its scalar input columns (numbers → numeric, text, booleans and keys
/// → categorical; vector columns are not profiled), the <c>Label</c> column as the target, and the fitted model's
/// prediction columns as the server answers them (<c>PredictedLabel</c> as classes; a scalar <c>Score</c> or
/// <c>Probability</c> as numbers). Read with one cursor over the data; run on the thread pool by autologging.
/// </summary>
internal static class TrainingProfile
{
    private static readonly string[] PredictionColumns = ["PredictedLabel", "Score", "Probability"];

    public static ReferenceProfile Build(IDataView input, ITransformer model, string labelColumn = "Label")
    {
        var builder = new ReferenceProfileBuilder();
        foreach (var column in input.Schema.Where(c => !c.IsHidden && c.Name != labelColumn))
        {
            Add(builder, input, column, ColumnRole.Feature);
        }

        if (input.Schema.GetColumnOrNull(labelColumn) is { } label)
        {
            Add(builder, input, label, ColumnRole.Target);
        }

        var scored = model.Transform(input);
        foreach (var name in PredictionColumns)
        {
            if (scored.Schema.GetColumnOrNull(name) is { } column && input.Schema.GetColumnOrNull(name) is null)
            {
                Add(builder, scored, column, ColumnRole.Prediction);
            }
        }

        return builder.Build();
    }

    private enum ColumnRole
    {
        Feature,
        Target,
        Prediction,
    }

    private static void Add(ReferenceProfileBuilder builder, IDataView data, DataViewSchema.Column column, ColumnRole role)
    {
        var type = column.Type;
        if (type is VectorDataViewType)
        {
            return;
        }

        if (type is KeyDataViewType key)
        {
            var names = KeyNames(column);
            var values = Read<uint>(data, column).Select(k => k == 0 ? null : names is not null && k <= names.Length ? names[k - 1] : (k - 1).ToString(CultureInfo.InvariantCulture));
            AddCategories(builder, column.Name, values, role);
            return;
        }

        if (type == BooleanDataViewType.Instance)
        {
            AddCategories(builder, column.Name, Read<bool>(data, column).Select(b => (string?)(b ? "True" : "False")), role);
            return;
        }

        if (type is TextDataViewType)
        {
            AddCategories(builder, column.Name, Read<ReadOnlyMemory<char>>(data, column).Select(t => (string?)t.ToString()), role);
            return;
        }

        double[]? numbers = type.RawType switch
        {
            var t when t == typeof(float) => [.. Read<float>(data, column).Select(v => (double)v)],
            var t when t == typeof(double) => [.. Read<double>(data, column)],
            var t when t == typeof(int) => [.. Read<int>(data, column).Select(v => (double)v)],
            var t when t == typeof(long) => [.. Read<long>(data, column).Select(v => (double)v)],
            var t when t == typeof(uint) => [.. Read<uint>(data, column).Select(v => (double)v)],
            var t when t == typeof(short) => [.. Read<short>(data, column).Select(v => (double)v)],
            var t when t == typeof(byte) => [.. Read<byte>(data, column).Select(v => (double)v)],
            _ => null,
        };
        if (numbers is null)
        {
            return;
        }

        switch (role)
        {
            case ColumnRole.Feature:
                builder.AddNumeric(column.Name, numbers);
                break;
            case ColumnRole.Target:
                builder.AddTarget([.. numbers.Select(v => (float)v)], categorical: false, column.Name);
                break;
            default:
                builder.AddPredictions(column.Name, [.. numbers.Select(v => (float)v)]);
                break;
        }
    }

    private static void AddCategories(ReferenceProfileBuilder builder, string name, IEnumerable<string?> values, ColumnRole role)
    {
        switch (role)
        {
            case ColumnRole.Feature:
                builder.AddCategorical(name, values);
                break;
            case ColumnRole.Target:
                // A classifier's classes as text: the builder's target takes numbers, so the labels go in as categories of a feature-like column.
                builder.AddTargetCategories(values, name);
                break;
            default:
                builder.AddPredictedClasses(name, values);
                break;
        }
    }

    private static string[]? KeyNames(DataViewSchema.Column column)
    {
        if (!column.HasKeyValues())
        {
            return null;
        }

        VBuffer<ReadOnlyMemory<char>> names = default;
        column.GetKeyValues(ref names);
        return [.. names.DenseValues().Select(n => n.ToString())];
    }

    private static List<T> Read<T>(IDataView data, DataViewSchema.Column column)
    {
        var values = new List<T>();
        using var cursor = data.GetRowCursor([column]);
        var getter = cursor.GetGetter<T>(column);
        T value = default!;
        while (cursor.MoveNext())
        {
            getter(ref value);
            values.Add(value);
        }

        return values;
    }
}
