using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace MlOps.Client.Models;

/// <summary>
/// Writes JSON values as block-style YAML, as PyYAML's <c>safe_dump</c> does for the files MLflow writes
/// (<c>MLmodel</c>, <c>log_dict</c>): strings that would read back as another type are quoted.
/// </summary>
internal static partial class YamlText
{
    public static string Write(JsonNode? node, bool sortKeys)
    {
        var sb = new StringBuilder();
        switch (node)
        {
            case JsonObject { Count: > 0 } obj:
                WriteMapping(sb, obj, 0, sortKeys);
                break;
            case JsonArray { Count: > 0 } arr:
                WriteSequence(sb, arr, 0, sortKeys);
                break;
            default:
                sb.Append(Value(node)).Append('\n');
                break;
        }

        return sb.ToString();
    }

    public static void WriteMapping(StringBuilder sb, IEnumerable<KeyValuePair<string, JsonNode?>> map, int indent, bool sortKeys)
    {
        foreach (var (key, value) in sortKeys ? map.OrderBy(kv => kv.Key, StringComparer.Ordinal) : map)
        {
            sb.Append(' ', indent).Append(Scalar(key)).Append(':');
            switch (value)
            {
                case JsonObject { Count: > 0 } obj:
                    sb.Append('\n');
                    WriteMapping(sb, obj, indent + 2, sortKeys);
                    break;
                case JsonArray { Count: > 0 } arr:
                    sb.Append('\n');
                    WriteSequence(sb, arr, indent, sortKeys);
                    break;
                default:
                    sb.Append(' ').Append(Value(value)).Append('\n');
                    break;
            }
        }
    }

    private static void WriteSequence(StringBuilder sb, JsonArray arr, int indent, bool sortKeys)
    {
        foreach (var item in arr)
        {
            sb.Append(' ', indent).Append("- ");
            if (item is JsonObject { Count: > 0 } itemObj)
            {
                var inner = new StringBuilder();
                WriteMapping(inner, itemObj, indent + 2, sortKeys);
                sb.Append(inner.ToString().TrimStart());
            }
            else
            {
                sb.Append(Value(item)).Append('\n');
            }
        }
    }

    private static string Value(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "{}",
        JsonArray => "[]",
        JsonValue v when v.TryGetValue<string>(out var s) => Scalar(s),
        JsonValue v when v.TryGetValue<bool>(out var b) => b ? "true" : "false",
        _ => node.ToJsonString(),
    };

    /// <summary>
    /// The one reading of a plain (unquoted) YAML scalar, PyYAML's implicit resolver: null (<c>~</c>, <c>null</c>, empty),
    /// bool (<c>true</c>/<c>false</c>, <c>yes</c>/<c>no</c>, <c>on</c>/<c>off</c> in their three casings), int, float;
    /// anything else the string itself. <c>MLmodel</c> reading uses it, and writing quotes a string that it would not give back.
    /// </summary>
    internal static JsonNode? Resolve(string text)
    {
        if (text is "" or "~" or "null" or "Null" or "NULL")
        {
            return null;
        }

        if (text is "true" or "True" or "TRUE" or "yes" or "Yes" or "YES" or "on" or "On" or "ON")
        {
            return true;
        }

        if (text is "false" or "False" or "FALSE" or "no" or "No" or "NO" or "off" or "Off" or "OFF")
        {
            return false;
        }

        if (IntText().IsMatch(text) && long.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var l))
        {
            return l;
        }

        if (FloatText().IsMatch(text) && double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d))
        {
            return d;
        }

        return text;
    }

    // PyYAML quotes a string when it would read back as another type (null, bool, number, date) or is not plain.
    private static string Scalar(string s)
    {
        var needsQuotes = s.Length == 0
            || char.IsWhiteSpace(s[0]) || char.IsWhiteSpace(s[^1])
            || s.IndexOfAny([':', '#', '\'', '"', '\n', '\r', '\t', '{', '}', '[', ']', ',', '&', '*', '!', '|', '>', '%', '@', '`']) >= 0 && !PlainWithColon(s)
            || s[0] is '-' or '?'
            || s is "y" or "n" // YAML 1.1 booleans some readers take (as before)
            || Resolve(s) is not JsonValue resolved || !resolved.TryGetValue<string>(out _)
            || IntText().IsMatch(s) || FloatText().IsMatch(s) || DatePattern().IsMatch(s);
        return needsQuotes ? "'" + s.Replace("'", "''", StringComparison.Ordinal) + "'" : s;
    }

    // "xgboost.core.Booster" and "mlflow.xgboost" are plain; a colon followed by a space is not.
    private static bool PlainWithColon(string s) =>
        s.IndexOfAny(['#', '\'', '"', '\n', '\r', '\t', '{', '}', '[', ']', ',', '&', '*', '!', '|', '>', '%', '@', '`']) < 0
        && !s.Contains(": ", StringComparison.Ordinal) && !s.EndsWith(':');

    [GeneratedRegex(@"^[-+]?[0-9]+$")]
    private static partial Regex IntText();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatText();

    [GeneratedRegex(@"^\d{4}-\d{1,2}-\d{1,2}")]
    private static partial Regex DatePattern();
}
