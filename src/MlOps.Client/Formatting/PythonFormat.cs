using System.Collections;
using System.Globalization;
using System.Text;

namespace MlOps.Client.Formatting;

/// <summary>
/// Values as Python's <c>str()</c> prints them — what Python MLflow stores for a param or tag — so that a filter such
/// as <c>params.lr = '1e-05'</c> finds runs logged from C# and from Python alike. The one place this is decided.
/// </summary>
internal static class PythonFormat
{
    /// <summary>
    /// A double as Python's <c>repr</c>/<c>str</c>: the shortest digits that round-trip, in positional notation when the
    /// decimal exponent is in [−4, 16), otherwise <c>d.ddde±XX</c>; always a decimal point or an exponent
    /// (<c>1.0</c>, <c>1e-05</c>, <c>1e+16</c>, <c>0.0001</c>, <c>1234567890123456.0</c>); <c>nan</c>, <c>inf</c>, <c>-inf</c>.
    /// </summary>
    public static string Float(double value) =>
        double.IsNaN(value) ? "nan"
        : double.IsPositiveInfinity(value) ? "inf"
        : double.IsNegativeInfinity(value) ? "-inf"
        : FromRoundTrip(value.ToString("R", CultureInfo.InvariantCulture));

    /// <summary>A float32 as numpy prints <c>str(np.float32(x))</c>: its own shortest digits, with Python's notation rules.</summary>
    public static string Float(float value) =>
        float.IsNaN(value) ? "nan"
        : float.IsPositiveInfinity(value) ? "inf"
        : float.IsNegativeInfinity(value) ? "-inf"
        : FromRoundTrip(value.ToString("R", CultureInfo.InvariantCulture));

    /// <summary>
    /// Any value as Python MLflow's <c>str(value)</c> stores it: <c>None</c>, <c>True</c>/<c>False</c>, floats as
    /// <see cref="Float(double)"/>, integers and other formattables with the invariant culture, sequences as Python
    /// lists (<c>['a', 1, 2.5]</c>), dictionaries as Python dicts (<c>{'a': 1}</c>).
    /// </summary>
    public static string Value(object? value) => value switch
    {
        null => "None",
        string s => s,
        _ => Nested(value),
    };

    /// <summary>A value as Python's <c>repr</c> writes it inside a list or dict: strings quoted (<c>'a'</c>), the rest as <see cref="Value"/>.</summary>
    public static string Repr(object? value) => Nested(value);

    private static string Nested(object? value) => value switch
    {
        null => "None",
        string s => QuotedRepr(s),
        bool b => b ? "True" : "False",
        double d => Float(d),
        float f => Float(f),
        decimal m => Float((double)m),
        Enum e => e.ToString(),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        IDictionary map => "{" + string.Join(", ", map.Keys.Cast<object?>().Select(k => Nested(k) + ": " + Nested(map[k!]))) + "}",
        IEnumerable list => "[" + string.Join(", ", list.Cast<object?>().Select(Nested)) + "]",
        _ => value.ToString() ?? "",
    };

    /// <summary>
    /// JSON as Python's <c>json.dumps</c> writes it: by default <c>", "</c> and <c>": "</c> separators on one line; with
    /// <paramref name="indent"/>, one member per line indented by that many spaces per level, <c>","</c> at line ends
    /// (<c>json.dumps(x, indent=2)</c>); non-ASCII and control characters escaped as <c>\uXXXX</c> (<c>ensure_ascii</c>),
    /// numbers as they are.
    /// </summary>
    public static string JsonDumps(System.Text.Json.Nodes.JsonNode? node, int? indent = null)
    {
        var sb = new StringBuilder();
        Write(node, 0);
        return sb.ToString();

        void Break(int depth)
        {
            if (indent is { } width)
            {
                sb.Append('\n').Append(' ', width * depth);
            }
        }

        void Write(System.Text.Json.Nodes.JsonNode? n, int depth)
        {
            var separator = indent is null ? ", " : ",";
            switch (n)
            {
                case null:
                    sb.Append("null");
                    break;
                case System.Text.Json.Nodes.JsonObject obj when obj.Count == 0:
                    sb.Append("{}");
                    break;
                case System.Text.Json.Nodes.JsonObject obj:
                    sb.Append('{');
                    var first = true;
                    foreach (var (key, value) in obj)
                    {
                        sb.Append(first ? "" : separator);
                        first = false;
                        Break(depth + 1);
                        JsonString(sb, key);
                        sb.Append(": ");
                        Write(value, depth + 1);
                    }

                    Break(depth);
                    sb.Append('}');
                    break;
                case System.Text.Json.Nodes.JsonArray array when array.Count == 0:
                    sb.Append("[]");
                    break;
                case System.Text.Json.Nodes.JsonArray array:
                    sb.Append('[');
                    for (var i = 0; i < array.Count; i++)
                    {
                        sb.Append(i == 0 ? "" : separator);
                        Break(depth + 1);
                        Write(array[i], depth + 1);
                    }

                    Break(depth);
                    sb.Append(']');
                    break;
                default:
                    if (n.GetValueKind() == System.Text.Json.JsonValueKind.String)
                    {
                        JsonString(sb, n.GetValue<string>());
                    }
                    else
                    {
                        sb.Append(n.ToJsonString());
                    }

                    break;
            }
        }
    }

    /// <summary>
    /// A cell of a pandas DataFrame as MLflow writes it to JSON (tables, input examples): floats in Python's notation
    /// (<c>0.0</c> stays <c>0.0</c>), NaN and ±∞ as <c>null</c> (pandas), times in ISO form, other values as text.
    /// </summary>
    public static System.Text.Json.Nodes.JsonNode? PandasCell(object? value) => value switch
    {
        null => null,
        System.Text.Json.Nodes.JsonNode node => node.DeepClone(),
        double d when double.IsNaN(d) || double.IsInfinity(d) => null,
        float f when float.IsNaN(f) || float.IsInfinity(f) => null,
        double d => System.Text.Json.Nodes.JsonNode.Parse(Float(d)),
        float f => System.Text.Json.Nodes.JsonNode.Parse(Float((double)f)),
        bool b => System.Text.Json.Nodes.JsonValue.Create(b),
        string s => System.Text.Json.Nodes.JsonValue.Create(s),
        DateTimeOffset t => System.Text.Json.Nodes.JsonValue.Create(t.ToString("yyyy-MM-ddTHH:mm:ss.fffK", CultureInfo.InvariantCulture)), // date_format="iso"
        DateTime t => System.Text.Json.Nodes.JsonValue.Create(t.ToString("yyyy-MM-ddTHH:mm:ss.fff", CultureInfo.InvariantCulture)),
        IConvertible c when value is int or long or short or byte or sbyte or uint or ulong or ushort or decimal => System.Text.Json.Nodes.JsonValue.Create(c.ToDecimal(CultureInfo.InvariantCulture)),
        _ => System.Text.Json.Nodes.JsonValue.Create(Convert.ToString(value, CultureInfo.InvariantCulture)),
    };

    private static void JsonString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            _ = c switch
            {
                '"' => sb.Append("\\\""),
                '\\' => sb.Append("\\\\"),
                '\n' => sb.Append("\\n"),
                '\r' => sb.Append("\\r"),
                '\t' => sb.Append("\\t"),
                '\b' => sb.Append("\\b"),
                '\f' => sb.Append("\\f"),
                _ when c < 0x20 || c > 0x7E => sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)),
                _ => sb.Append(c),
            };
        }

        sb.Append('"');
    }

    /// <summary>A string as Python's <c>repr</c> (inside lists and dicts): single quotes, or double quotes when it holds a single quote and no double one.</summary>
    private static string QuotedRepr(string s)
    {
        var quote = s.Contains('\'', StringComparison.Ordinal) && !s.Contains('"', StringComparison.Ordinal) ? '"' : '\'';
        var sb = new StringBuilder().Append(quote);
        foreach (var c in s)
        {
            _ = c switch
            {
                '\\' => sb.Append("\\\\"),
                '\n' => sb.Append("\\n"),
                '\r' => sb.Append("\\r"),
                '\t' => sb.Append("\\t"),
                _ when c == quote => sb.Append('\\').Append(c),
                _ => sb.Append(c),
            };
        }

        return sb.Append(quote).ToString();
    }

    /// <summary>Turns .NET's shortest round-trip text ("1E-05", "123.45", "1E+15") into Python's notation.</summary>
    private static string FromRoundTrip(string roundTrip)
    {
        var negative = roundTrip.StartsWith('-');
        var text = negative ? roundTrip[1..] : roundTrip;
        var e = text.IndexOfAny(['E', 'e']);
        var exponent = e < 0 ? 0 : int.Parse(text.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var mantissa = e < 0 ? text : text[..e];
        var dot = mantissa.IndexOf('.', StringComparison.Ordinal);
        var digits = dot < 0 ? mantissa : mantissa.Remove(dot, 1);
        var pointAt = (dot < 0 ? mantissa.Length : dot) + exponent; // digits before the decimal point
        var firstNonZero = 0;
        while (firstNonZero < digits.Length - 1 && digits[firstNonZero] == '0')
        {
            firstNonZero++;
        }

        digits = digits[firstNonZero..].TrimEnd('0');
        pointAt -= firstNonZero;
        if (digits.Length == 0)
        {
            return negative ? "-0.0" : "0.0";
        }

        var exp10 = pointAt - 1; // scientific exponent of the first digit
        var sb = new StringBuilder(negative ? "-" : "");
        if (exp10 is >= -4 and < 16)
        {
            if (pointAt <= 0)
            {
                sb.Append("0.").Append('0', -pointAt).Append(digits);
            }
            else if (pointAt >= digits.Length)
            {
                sb.Append(digits).Append('0', pointAt - digits.Length).Append(".0");
            }
            else
            {
                sb.Append(digits, 0, pointAt).Append('.').Append(digits, pointAt, digits.Length - pointAt);
            }
        }
        else
        {
            sb.Append(digits[0]);
            if (digits.Length > 1)
            {
                sb.Append('.').Append(digits, 1, digits.Length - 1);
            }

            sb.Append('e').Append(exp10 < 0 ? '-' : '+').Append(Math.Abs(exp10).ToString("00", CultureInfo.InvariantCulture));
        }

        return sb.ToString();
    }
}
