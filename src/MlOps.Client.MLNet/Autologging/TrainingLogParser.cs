using System.Globalization;
using System.Text.RegularExpressions;

namespace MlOps.Client.MLNet.Autologging;

/// <summary>
/// Turns iteration lines of ML.NET trainers' log into per-iteration metrics, where the line format is unambiguous:
/// LightGBM's evaluation lines (<c>[12]: training's multi_logloss: 0.52</c> → <c>training_multi_logloss</c>, step 12)
/// and the <c>Iteration N ... name: value</c> / <c>Iter N: name=value</c> progress lines of iterative trainers.
/// Anything else is ignored (the raw log can be kept as an artifact).
/// </summary>
internal static partial class TrainingLogParser
{
    public static IEnumerable<(string Key, long Step, double Value)> Parse(IEnumerable<string> lines)
    {
        foreach (var raw in lines)
        {
            var line = StripSource().Replace(raw, "");
            var lightgbm = LightGbmLine().Match(line);
            if (lightgbm.Success)
            {
                var step = long.Parse(lightgbm.Groups["iter"].Value, CultureInfo.InvariantCulture);
                foreach (Match m in LightGbmMetric().Matches(lightgbm.Groups["rest"].Value))
                {
                    if (TryNumber(m.Groups["value"].Value, out var v))
                    {
                        yield return (Key(m.Groups["data"].Value + "_" + m.Groups["metric"].Value), step, v);
                    }
                }

                continue;
            }

            var iteration = IterationLine().Match(line);
            if (iteration.Success)
            {
                var step = long.Parse(iteration.Groups["iter"].Value, CultureInfo.InvariantCulture);
                foreach (Match m in NameValue().Matches(iteration.Groups["rest"].Value))
                {
                    if (TryNumber(m.Groups["value"].Value, out var v))
                    {
                        yield return (Key(m.Groups["name"].Value), step, v);
                    }
                }
            }
        }
    }

    /// <summary>Values trainers choose for themselves, e.g. SDCA's <c>Auto-tuning parameters: L2 = 2.6672002E-05</c> → (<c>L2</c>, 2.6672002E-05).</summary>
    public static IEnumerable<(string Name, string Value)> AutoTuned(IEnumerable<string> lines)
    {
        foreach (var raw in lines)
        {
            var m = AutoTunedLine().Match(StripSource().Replace(raw, ""));
            if (m.Success)
            {
                yield return (m.Groups["name"].Value.Trim(), m.Groups["value"].Value.Trim());
            }
        }
    }

    [GeneratedRegex(@"^Auto-tuning parameters:\s*(?<name>[^=]+?)\s*=\s*(?<value>\S+)\.?$")]
    private static partial Regex AutoTunedLine();

    private static bool TryNumber(string text, out double value) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    private static string Key(string name) =>
        string.Concat(name.Trim().ToLowerInvariant().Select(c => char.IsLetterOrDigit(c) ? c : '_')).Trim('_');

    [GeneratedRegex(@"^\[Source=[^\]]*\]\s*")]
    private static partial Regex StripSource();

    [GeneratedRegex(@"^\[(?<iter>\d+)\]:?\s*(?<rest>.+)$")]
    private static partial Regex LightGbmLine();

    [GeneratedRegex(@"(?<data>[A-Za-z_][\w]*)'s\s+(?<metric>[\w@\-]+)\s*:\s*(?<value>[-+0-9.eE]+|nan|inf)")]
    private static partial Regex LightGbmMetric();

    [GeneratedRegex(@"^\s*Iter(?:ation)?\s*(?<iter>\d+)\s*[:,]?\s*(?<rest>.*)$", RegexOptions.IgnoreCase)]
    private static partial Regex IterationLine();

    [GeneratedRegex(@"(?<name>[A-Za-z][A-Za-z0-9 _\-]{0,40}?)\s*[:=]\s*(?<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)")]
    private static partial Regex NameValue();
}
