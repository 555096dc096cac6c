using System.Globalization;

namespace MlOps.Client.Monitoring;

/// <summary>What a profiled column holds.</summary>
public enum FeatureKind
{
    /// <summary>Numbers: quantiles, moments, and the value counts while there are at most <see cref="FeatureProfile.MaxDiscreteValues"/> distinct values.</summary>
    Numeric,

    /// <summary>Categories (text, booleans): the counts of the most frequent values.</summary>
    Categorical,
}

/// <summary>
/// One column of a <see cref="ReferenceProfile"/>: enough of its distribution to test a window of served data against
/// it without keeping the training data.
/// </summary>
public sealed class FeatureProfile
{
    /// <summary>Numeric columns keep their exact value counts up to this many distinct values (Evidently treats such columns as categories).</summary>
    public const int MaxDiscreteValues = 20;

    /// <summary>Categorical columns keep the counts of this many most frequent values; the rest are counted together in <see cref="OtherCount"/>.</summary>
    public const int MaxCategories = 100;

    /// <summary>The column's name (a feature, <c>target</c>, or a prediction output).</summary>
    public required string Name { get; init; }

    /// <summary>Numeric or categorical.</summary>
    public required FeatureKind Kind { get; init; }

    /// <summary>Values present (missing ones excluded).</summary>
    public long Count { get; init; }

    /// <summary>Missing values (NaN, null, an absent field).</summary>
    public long Missing { get; init; }

    /// <summary>The smallest value (numeric).</summary>
    public double? Min { get; init; }

    /// <summary>The largest value (numeric).</summary>
    public double? Max { get; init; }

    /// <summary>The mean (numeric).</summary>
    public double? Mean { get; init; }

    /// <summary>The population standard deviation (numeric; numpy's <c>std</c>, which normalises the Wasserstein distance).</summary>
    public double? StandardDeviation { get; init; }

    /// <summary>
    /// Numeric: the quantiles at 0, 1/(q−1), …, 1 (q = <see cref="ReferenceProfile.QuantileCount"/>; numpy's linear
    /// interpolation), of all values or of the uniform sample a large column is summarised by.
    /// </summary>
    public IReadOnlyList<double> Quantiles
    {
        get => _quantiles;
        init => _quantiles = [.. value];
    }

    private readonly double[] _quantiles = [];

    /// <summary>The discrete values and their counts, sorted by value (parsed once).</summary>
    private (double Value, long Count)[] DiscreteValues => _discrete ??=
        [.. Categories.Select(c => ((double)float.Parse(c.Key, NumberStyles.Float, CultureInfo.InvariantCulture), c.Value)).OrderBy(c => c.Item1)];

    private (double Value, long Count)[]? _discrete;

    /// <summary>
    /// Value → count: a categorical column's <see cref="MaxCategories"/> most frequent values, or every value of a
    /// numeric column with at most <see cref="MaxDiscreteValues"/> distinct values (keyed by the float32 value, invariant round-trip form);
    /// empty otherwise.
    /// </summary>
    public IReadOnlyDictionary<string, long> Categories { get; init; } = new Dictionary<string, long>();

    /// <summary>Values of the categories not kept in <see cref="Categories"/>.</summary>
    public long OtherCount { get; init; }

    /// <summary>Distinct values when known (at most <see cref="MaxDiscreteValues"/> for numeric columns, the categories seen for categorical ones), else <see langword="null"/> (more).</summary>
    public int? Distinct { get; init; }

    /// <summary>Whether the numeric column is summarised by its exact value counts (few distinct values).</summary>
    public bool IsDiscrete => Kind == FeatureKind.Numeric && Categories.Count > 0;

    /// <summary>The reference's CDF at <paramref name="x"/> (P(X ≤ x)): exact for a discrete column, else linear between the quantiles.</summary>
    /// <param name="x">The value.</param>
    public double Cdf(double x) => CdfCore(x, inclusive: true);

    /// <summary>P(X &lt; x).</summary>
    internal double CdfBelow(double x) => CdfCore(x, inclusive: false);

    private double CdfCore(double x, bool inclusive)
    {
        if (IsDiscrete)
        {
            long below = 0;
            foreach (var (v, count) in DiscreteValues)
            {
                if (v < x || (inclusive && v == x))
                {
                    below += count;
                }
                else
                {
                    break;
                }
            }

            return Count == 0 ? 0 : (double)below / Count;
        }

        var q = _quantiles;
        if (q.Length == 0)
        {
            return double.NaN;
        }

        if (x < q[0] || (!inclusive && x == q[0]))
        {
            return 0;
        }

        if (x > q[^1] || (inclusive && x == q[^1]))
        {
            return 1;
        }

        var step = 1.0 / (q.Length - 1);
        // The last knot at or below x (inclusive) / below x (exclusive); flat runs of equal quantiles are a jump.
        var lo = 0;
        var hi = q.Length - 1;
        while (hi - lo > 1)
        {
            var mid = (lo + hi) / 2;
            if (q[mid] < x || (inclusive && q[mid] == x))
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        var width = q[hi] - q[lo];
        var within = width > 0 ? Math.Clamp((x - q[lo]) / width, 0, 1) : (inclusive ? 1 : 0);
        return (lo + within) * step;
    }

    /// <summary>The reference's quantile function at <paramref name="u"/> (linear between the stored quantiles; exact steps for a discrete column).</summary>
    internal double QuantileAt(double u)
    {
        if (IsDiscrete)
        {
            var sorted = DiscreteValues;
            var target = u * Count;
            long seen = 0;
            foreach (var (value, count) in sorted)
            {
                seen += count;
                if (seen >= target)
                {
                    return value;
                }
            }

            return sorted[^1].Value;
        }

        var q = _quantiles;
        var position = Math.Clamp(u, 0, 1) * (q.Length - 1);
        var k = Math.Min((int)position, q.Length - 2);
        return q[k] + ((position - k) * (q[k + 1] - q[k]));
    }

    /// <inheritdoc/>
    public override string ToString() => Kind == FeatureKind.Numeric
        ? string.Create(CultureInfo.InvariantCulture, $"{Name}: numeric, {Count} values ({Missing} missing), {Min}…{Max}")
        : string.Create(CultureInfo.InvariantCulture, $"{Name}: categorical, {Count} values ({Missing} missing), {Categories.Count} categories");
}
