using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace MlOps.Client.Projects;

/// <summary>
/// A plain YAML scalar as Python MLflow sees it: PyYAML's <c>safe_load</c> (YAML 1.1 implicit types: null, bool, int,
/// float) and then Python's <c>str()</c> — so a default written <c>1.0e-5</c> becomes <c>1e-05</c>, <c>true</c> becomes
/// <c>True</c>, <c>0x10</c> becomes <c>16</c>, as in the command line and the parameters Python's launcher logs.
/// </summary>
internal static partial class YamlScalars
{
    /// <summary>The node's value as Python's <c>str(yaml.safe_load(...))</c> gives it; <see langword="null"/> for YAML null.</summary>
    public static string? PythonString(YamlNode node)
    {
        if (node is not YamlScalarNode scalar)
        {
            throw new FormatException($"Expected a single value at line {node.Start.Line}, found a {(node is YamlSequenceNode ? "list" : "mapping")}.");
        }

        var text = scalar.Value ?? string.Empty;
        if (scalar.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded)
        {
            return text;
        }

        if (text is "" or "~" or "null" or "Null" or "NULL")
        {
            return null;
        }

        if (text is "yes" or "Yes" or "YES" or "true" or "True" or "TRUE" or "on" or "On" or "ON")
        {
            return "True";
        }

        if (text is "no" or "No" or "NO" or "false" or "False" or "FALSE" or "off" or "Off" or "OFF")
        {
            return "False";
        }

        if (IntPattern().IsMatch(text))
        {
            return PythonInt(text);
        }

        if (FloatPattern().IsMatch(text))
        {
            return PythonFloat(text);
        }

        return text;
    }

    // PyYAML's resolvers (yaml/resolver.py), YAML 1.1.
    [GeneratedRegex(@"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$")]
    private static partial Regex IntPattern();

    [GeneratedRegex(@"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")]
    private static partial Regex FloatPattern();

    private static string PythonInt(string text)
    {
        var t = text.Replace("_", string.Empty, StringComparison.Ordinal);
        var sign = 1;
        if (t[0] is '-' or '+')
        {
            sign = t[0] == '-' ? -1 : 1;
            t = t[1..];
        }

        System.Numerics.BigInteger value;
        if (t.StartsWith("0b", StringComparison.Ordinal))
        {
            value = t[2..].Aggregate(System.Numerics.BigInteger.Zero, (v, c) => (v * 2) + (c - '0'));
        }
        else if (t.StartsWith("0x", StringComparison.Ordinal))
        {
            value = System.Numerics.BigInteger.Parse("0" + t[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        }
        else if (t.Contains(':', StringComparison.Ordinal))
        {
            value = t.Split(':').Aggregate(System.Numerics.BigInteger.Zero, (v, part) => (v * 60) + System.Numerics.BigInteger.Parse(part, CultureInfo.InvariantCulture));
        }
        else if (t.Length > 1 && t[0] == '0')
        {
            value = t[1..].Aggregate(System.Numerics.BigInteger.Zero, (v, c) => (v * 8) + (c - '0'));
        }
        else
        {
            value = System.Numerics.BigInteger.Parse(t, CultureInfo.InvariantCulture);
        }

        return (sign * value).ToString(CultureInfo.InvariantCulture);
    }

    private static string PythonFloat(string text)
    {
        var t = text.Replace("_", string.Empty, StringComparison.Ordinal).ToLowerInvariant();
        if (t.EndsWith(".inf", StringComparison.Ordinal))
        {
            return t[0] == '-' ? "-inf" : "inf";
        }

        if (t == ".nan")
        {
            return "nan";
        }

        double value;
        if (t.Contains(':', StringComparison.Ordinal))
        {
            var sign = t[0] == '-' ? -1 : 1;
            var parts = t.TrimStart('-', '+').Split(':');
            value = parts.Aggregate(0.0, (v, part) => (v * 60) + double.Parse(part, CultureInfo.InvariantCulture)) * sign;
        }
        else
        {
            value = double.Parse(t, NumberStyles.Float, CultureInfo.InvariantCulture);
        }

        return Formatting.PythonFormat.Float(value);
    }
}
