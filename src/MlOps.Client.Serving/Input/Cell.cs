using System.Globalization;
using System.Text.Json;

namespace MlOps.Client.Serving.Input;

/// <summary>What a request cell holds, as pandas would type it.</summary>
internal enum CellKind : byte
{
    /// <summary>No value (a column a record lacks, or <c>null</c>): pandas' NaN/None.</summary>
    Null,

    /// <summary>A JSON or CSV integer.</summary>
    Integer,

    /// <summary>A number with a fraction or exponent.</summary>
    Float,

    /// <summary>Text.</summary>
    String,

    /// <summary><c>true</c>/<c>false</c>.</summary>
    Boolean,

    /// <summary>A list (an array column's value).</summary>
    Array,

    /// <summary>An object (refused where a scalar is expected).</summary>
    Object,
}

/// <summary>One value of a request, parsed once (JSON or CSV) and typed as pandas would read it.</summary>
/// <param name="Kind">What it holds.</param>
/// <param name="Number">Its value when a number or a boolean (1/0).</param>
/// <param name="Text">Its text when a string; the raw JSON when an object.</param>
/// <param name="Items">Its items when a list.</param>
internal readonly record struct Cell(CellKind Kind, double Number = 0, string? Text = null, Cell[]? Items = null)
{
    public static readonly Cell Missing = new(CellKind.Null);

    public bool IsNumber => Kind is CellKind.Integer or CellKind.Float;

    /// <summary>Reads a JSON value.</summary>
    public static Cell From(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Number => element.TryGetInt64(out var l) ? new Cell(CellKind.Integer, l)
            : element.TryGetDouble(out var d) ? new Cell(CellKind.Float, d)
            : new Cell(CellKind.Float, double.Parse(element.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture)), // 1e400 → inf, as Python's json reads it
        JsonValueKind.String => new Cell(CellKind.String, Text: element.GetString()),
        JsonValueKind.True => new Cell(CellKind.Boolean, 1),
        JsonValueKind.False => new Cell(CellKind.Boolean, 0),
        JsonValueKind.Array => new Cell(CellKind.Array, Items: [.. element.EnumerateArray().Select(From)]),
        JsonValueKind.Object => new Cell(CellKind.Object, Text: element.GetRawText()),
        _ => Missing,
    };

    /// <summary>Reads a CSV field as pandas' <c>read_csv</c> does: empty = NaN, integers, floats (also <c>nan</c>/<c>inf</c>), <c>True</c>/<c>False</c>, else text.</summary>
    public static Cell FromCsv(string field)
    {
        if (field.Length == 0)
        {
            return Missing;
        }

        if (long.TryParse(field, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
        {
            return new Cell(CellKind.Integer, l);
        }

        if (double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
        {
            return new Cell(CellKind.Float, d);
        }

        return field switch
        {
            "nan" or "NaN" or "NA" or "N/A" or "null" or "NULL" or "None" => Missing,
            "inf" or "Infinity" => new Cell(CellKind.Float, double.PositiveInfinity),
            "-inf" or "-Infinity" => new Cell(CellKind.Float, double.NegativeInfinity),
            "True" or "TRUE" or "true" => new Cell(CellKind.Boolean, 1),
            "False" or "FALSE" or "false" => new Cell(CellKind.Boolean, 0),
            _ => new Cell(CellKind.String, Text: field),
        };
    }

    /// <summary>The value as Python's <c>repr</c> shows it in an error message: <c>'abc'</c>, <c>1.5</c>, <c>True</c>.</summary>
    public string Repr() => Kind switch
    {
        CellKind.String => "'" + Text + "'",
        CellKind.Integer => Number.ToString("R", CultureInfo.InvariantCulture),
        CellKind.Float => MlOps.Client.Formatting.PythonFormat.Float(Number),
        CellKind.Boolean => Number != 0 ? "True" : "False",
        CellKind.Null => "None",
        CellKind.Array => "[" + string.Join(", ", Items!.Select(i => i.Repr())) + "]",
        _ => Text ?? "",
    };
}
