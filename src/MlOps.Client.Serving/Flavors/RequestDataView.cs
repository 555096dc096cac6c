using Microsoft.ML;
using Microsoft.ML.Data;
using MlOps.Client.Serving.Input;

namespace MlOps.Client.Serving.Flavors;

/// <summary>
/// A request's rows as an ML.NET <see cref="IDataView"/> with the model's input schema: scalars and vectors of
/// float, double, int, long, bool and text. A column the request does not carry holds ML.NET's missing value
/// (NaN, empty text, 0, false).
/// </summary>
internal sealed class RequestDataView : IDataView
{
    private readonly Func<int, object>[] _columns;
    private readonly int _rows;

    private RequestDataView(DataViewSchema schema, Func<int, object>[] columns, int rows)
    {
        Schema = schema;
        _columns = columns;
        _rows = rows;
    }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    /// <summary>The types this view can carry (checked when the model loads).</summary>
    public static bool Supports(DataViewType type)
    {
        var item = type is VectorDataViewType v ? v.ItemType : type;
        return item.RawType == typeof(float) || item.RawType == typeof(double) || item.RawType == typeof(int) || item.RawType == typeof(long)
            || item.RawType == typeof(bool) || item.RawType == typeof(ReadOnlyMemory<char>);
    }

    /// <summary>Builds the view: each schema column reads its values from <paramref name="values"/> by name (absent → missing).</summary>
    public static RequestDataView Create(DataViewSchema inputSchema, int rows, Func<string, Cell[]?> values)
    {
        var builder = new DataViewSchema.Builder();
        var columns = new List<Func<int, object>>();
        foreach (var column in inputSchema.Where(c => !c.IsHidden))
        {
            builder.AddColumn(column.Name, column.Type, column.Annotations);
            columns.Add(Reader(column.Name, column.Type, values(column.Name)));
        }

        return new RequestDataView(builder.ToSchema(), [.. columns], rows);
    }

    private static Func<int, object> Reader(string name, DataViewType type, Cell[]? cells)
    {
        if (type is VectorDataViewType vector)
        {
            // Checked here, before ML.NET's cursors run (it would wrap the error in its own).
            for (var row = 0; vector.Size > 0 && cells is not null && row < cells.Length; row++)
            {
                var length = cells[row].Kind == CellKind.Array ? cells[row].Items!.Length : 1;
                if (length != vector.Size)
                {
                    throw new ArgumentException($"Column '{name}' holds vectors of {vector.Size} values; row {row} has {length}.");
                }
            }

            var item = vector.ItemType.RawType;
            return row =>
            {
                var items = cells is null ? [] : cells[row].Kind == CellKind.Array ? cells[row].Items! : [cells[row]];
                var size = vector.Size > 0 ? vector.Size : items.Length;

                if (item == typeof(float))
                {
                    return new VBuffer<float>(size, [.. Enumerable.Range(0, size).Select(i => i < items.Length ? F(items[i]) : float.NaN)]);
                }

                if (item == typeof(double))
                {
                    return new VBuffer<double>(size, [.. Enumerable.Range(0, size).Select(i => i < items.Length ? D(items[i]) : double.NaN)]);
                }

                if (item == typeof(int))
                {
                    return new VBuffer<int>(size, [.. Enumerable.Range(0, size).Select(i => i < items.Length ? I(items[i]) : 0)]);
                }

                if (item == typeof(long))
                {
                    return new VBuffer<long>(size, [.. Enumerable.Range(0, size).Select(i => i < items.Length ? L(items[i]) : 0L)]);
                }

                if (item == typeof(bool))
                {
                    return new VBuffer<bool>(size, [.. Enumerable.Range(0, size).Select(i => i < items.Length && B(items[i]))]);
                }

                return new VBuffer<ReadOnlyMemory<char>>(size, [.. Enumerable.Range(0, size).Select(i => i < items.Length ? T(items[i]) : ReadOnlyMemory<char>.Empty)]);
            };
        }

        var raw = type.RawType;
        return raw == typeof(float) ? row => cells is null ? float.NaN : F(cells[row])
            : raw == typeof(double) ? row => cells is null ? double.NaN : D(cells[row])
            : raw == typeof(int) ? row => cells is null ? 0 : I(cells[row])
            : raw == typeof(long) ? row => cells is null ? 0L : L(cells[row])
            : raw == typeof(bool) ? row => cells is not null && B(cells[row])
            : row => cells is null ? ReadOnlyMemory<char>.Empty : T(cells[row]);
    }

    // Cells the signature enforcement already accepted, as the column's .NET type (missing → NaN, 0, false, empty).
    private static double Number(Cell cell) => cell.Kind == CellKind.Null ? double.NaN : cell.Number;

    private static float F(Cell cell) => (float)Number(cell);

    private static double D(Cell cell) => Number(cell);

    private static int I(Cell cell) => cell.Kind == CellKind.Null ? 0 : (int)cell.Number;

    private static long L(Cell cell) => cell.Kind switch
    {
        CellKind.Null => 0L,
        CellKind.Integer => cell.Integer,
        _ => (long)cell.Number,
    };

    private static bool B(Cell cell) => cell.Kind != CellKind.Null && cell.Number != 0;

    private static ReadOnlyMemory<char> T(Cell cell) => cell.AsText().AsMemory();

    public long? GetRowCount() => _rows;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(this);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => [new Cursor(this)];

    private sealed class Cursor(RequestDataView view) : DataViewRowCursor
    {
        private long _position = -1;

        public override DataViewSchema Schema => view.Schema;

        public override long Position => _position;

        public override long Batch => 0;

        public override bool MoveNext() => ++_position < view._rows;

        public override bool IsColumnActive(DataViewSchema.Column column) => true;

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            var read = view._columns[column.Index];
            return (ref TValue value) => value = (TValue)read((int)_position);
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);
    }
}
