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
/// <param name="Integer">Its exact value when an integer (a double holds integers exactly only up to 2^53).</param>
internal readonly record struct Cell(CellKind Kind, double Number = 0, string? Text = null, Cell[]? Items = null, long Integer = 0)
{
    /// <summary>pandas' default <c>na_values</c>: the CSV fields <c>read_csv</c> reads as NaN.</summary>
    private static readonly HashSet<string> CsvMissing =
        new(StringComparer.Ordinal) { "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null" };

    public static readonly Cell Missing = new(CellKind.Null);

    public bool IsNumber => Kind is CellKind.Integer or CellKind.Float;

    /// <summary>Reads a JSON value.</summary>
    public static Cell From(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Number => element.TryGetInt64(out var l) ? new Cell(CellKind.Integer, l, Integer: l)
            : element.TryGetDouble(out var d) ? new Cell(CellKind.Float, d)
            : new Cell(CellKind.Float, double.Parse(element.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture)), // 1e400 → inf, as Python's json reads it
        JsonValueKind.String => new Cell(CellKind.String, Text: element.GetString()),
        JsonValueKind.True => new Cell(CellKind.Boolean, 1),
        JsonValueKind.False => new Cell(CellKind.Boolean, 0),
        JsonValueKind.Array => new Cell(CellKind.Array, Items: [.. element.EnumerateArray().Select(From)]),
        JsonValueKind.Object => new Cell(CellKind.Object, Text: element.GetRawText()),
        _ => Missing,
    };

    /// <summary>Reads the number or <c>null</c> under <paramref name="reader"/> exactly as <see cref="From"/> reads it from a document.</summary>
    public static Cell FromNumberOrNull(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.Null ? Missing
        : reader.TryGetInt64(out var l) ? new Cell(CellKind.Integer, l, Integer: l)
        : reader.TryGetDouble(out var d) ? new Cell(CellKind.Float, d)
        : new Cell(CellKind.Float, double.Parse(System.Text.Encoding.UTF8.GetString(reader.ValueSpan), NumberStyles.Float, CultureInfo.InvariantCulture)); // 1e400 → inf

    /// <summary>
    /// Reads a CSV field as pandas' <c>read_csv</c> does: empty and pandas' NA tokens = NaN, integers, floats (also
    /// <c>inf</c>), <c>True</c>/<c>False</c>, else text. The field's text is kept, so that a text column gets <c>"007"</c>
    /// as written.
    /// </summary>
    public static Cell FromCsv(string field)
    {
        if (field.Length == 0 || CsvMissing.Contains(field))
        {
            return Missing;
        }

        if (long.TryParse(field, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
        {
            return new Cell(CellKind.Integer, l, field, Integer: l);
        }

        if (double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
        {
            return new Cell(CellKind.Float, d, field);
        }

        return field switch
        {
            "inf" or "Infinity" or "+inf" => new Cell(CellKind.Float, double.PositiveInfinity, field),
            "-inf" or "-Infinity" => new Cell(CellKind.Float, double.NegativeInfinity, field),
            "True" or "TRUE" or "true" => new Cell(CellKind.Boolean, 1, field),
            "False" or "FALSE" or "false" => new Cell(CellKind.Boolean, 0, field),
            _ => new Cell(CellKind.String, Text: field),
        };
    }

    /// <summary>The value as text for a text column: the text as sent (a CSV field as written), else Python's <c>str</c>.</summary>
    public string AsText() => Kind switch
    {
        CellKind.String => Text!,
        CellKind.Null => "",
        _ => Text ?? Repr(),
    };

    /// <summary>The value as Python's <c>repr</c> shows it in an error message: <c>'abc'</c>, <c>1.5</c>, <c>True</c>.</summary>
    public string Repr() => Kind switch
    {
        CellKind.String => "'" + Text + "'",
        CellKind.Integer => Integer.ToString(CultureInfo.InvariantCulture),
        CellKind.Float => MlOps.Client.Formatting.PythonFormat.Float(Number),
        CellKind.Boolean => Number != 0 ? "True" : "False",
        CellKind.Null => "None",
        CellKind.Array => "[" + string.Join(", ", Items!.Select(i => i.Repr())) + "]",
        _ => Text ?? "",
    };
}
