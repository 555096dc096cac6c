using System.Globalization;

namespace MlOps.Client.XGBoost;

/// <summary>One metric on one evaluation data set at one iteration, e.g. <c>train-mlogloss</c> = 0.26.</summary>
/// <param name="DataName">The evaluation data set's name (e.g. <c>train</c>).</param>
/// <param name="MetricName">The metric (e.g. <c>mlogloss</c>).</param>
/// <param name="Value">The value.</param>
public sealed record EvalSetMetric(string DataName, string MetricName, double Value)
{
    /// <summary>The name XGBoost prints and MLflow's autologging logs: <c>{data}-{metric}</c>.</summary>
    public string Key => $"{DataName}-{MetricName}";

    /// <summary>Parses <c>XGBoosterEvalOneIter</c>'s text, e.g. <c>[0]\ttrain-rmse:0.5\teval-rmse:0.6</c>.</summary>
    /// <param name="text">The evaluation text.</param>
    /// <param name="dataNames">The evaluation set names, to split names containing '-'.</param>
    public static IReadOnlyList<EvalSetMetric> Parse(string text, IReadOnlyList<string> dataNames)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(dataNames);
        var results = new List<EvalSetMetric>();
        foreach (var item in text.Split('\t', StringSplitOptions.RemoveEmptyEntries).Skip(1))
        {
            var colon = item.LastIndexOf(':');
            if (colon <= 0)
            {
                throw new FormatException($"Unexpected XGBoost evaluation item '{item}' in '{text}'.");
            }

            var name = item[..colon];
            var value = ParseValue(item[(colon + 1)..]);
            var data = dataNames.Where(d => name.StartsWith(d + "-", StringComparison.Ordinal)).MaxBy(d => d.Length)
                ?? name[..Math.Max(0, name.IndexOf('-', StringComparison.Ordinal))];
            results.Add(new EvalSetMetric(data, name[(data.Length + 1)..], value));
        }

        return results;
    }

    /// <summary>A metric value as XGBoost prints it, <c>inf</c>, <c>-inf</c> and <c>nan</c> included (e.g. <c>mape</c> with zero labels).</summary>
    private static double ParseValue(string text) => text.Trim() switch
    {
        "inf" or "+inf" or "Infinity" => double.PositiveInfinity,
        "-inf" or "-Infinity" => double.NegativeInfinity,
        "nan" or "-nan" or "NaN" => double.NaN,
        var t => double.Parse(t, NumberStyles.Float, CultureInfo.InvariantCulture),
    };
}
