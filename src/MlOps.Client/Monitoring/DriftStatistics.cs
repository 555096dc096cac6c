namespace MlOps.Client.Monitoring;

/// <summary>
/// The statistics drift detection compares a feature's reference (training) distribution with a window of served data —
/// the methods Evidently uses by default, computed as scipy computes them (<c>scipy.stats.ks_2samp</c>, <c>scipy.stats.chisquare</c>,
/// <c>scipy.spatial.distance.jensenshannon</c>, <c>scipy.stats.wasserstein_distance</c>) and PSI by its formula.
/// </summary>
public static class DriftStatistics
{
    /// <summary>The share an empty bin is given in <see cref="PopulationStabilityIndex"/> (as Evidently), so that its logarithm is finite.</summary>
    public const double MinBinShare = 1e-4;

    /// <summary>
    /// The two-sample Kolmogorov–Smirnov test (<c>scipy.stats.ks_2samp</c>, two-sided, <c>method='auto'</c>): the largest
    /// distance between the two empirical CDFs and its p-value — exact while both samples have at most 10 000 values,
    /// else from the one-sample distribution at n = round(mn/(m+n)), as scipy computes them.
    /// </summary>
    /// <param name="reference">The reference sample.</param>
    /// <param name="current">The current sample.</param>
    /// <exception cref="ArgumentException">A sample is empty or holds NaN.</exception>
    public static (double Statistic, double PValue) KolmogorovSmirnov(ReadOnlySpan<double> reference, ReadOnlySpan<double> current)
    {
        var r = Sorted(reference, nameof(reference));
        var c = Sorted(current, nameof(current));
        var d = Monitoring.KolmogorovSmirnov.Statistic(r, c);
        return (d, Monitoring.KolmogorovSmirnov.PValue(d, r.Length, c.Length));
    }

    /// <summary>Pearson's chi-square test of observed against expected counts (<c>scipy.stats.chisquare</c>): the statistic and the p-value with k − 1 degrees of freedom.</summary>
    /// <param name="observed">Observed counts per category.</param>
    /// <param name="expected">Expected counts per category, with the same total as <paramref name="observed"/> (scale them first).</param>
    /// <exception cref="ArgumentException">The lengths differ, there are fewer than 2 categories, an expected count is not positive, or the totals differ.</exception>
    public static (double Statistic, double PValue) ChiSquare(ReadOnlySpan<double> observed, ReadOnlySpan<double> expected)
    {
        if (observed.Length != expected.Length || observed.Length < 2)
        {
            throw new ArgumentException($"observed and expected need the same number of categories, at least 2 (got {observed.Length} and {expected.Length}).", nameof(expected));
        }

        double statistic = 0, totalObserved = 0, totalExpected = 0;
        for (var i = 0; i < observed.Length; i++)
        {
            if (!(expected[i] > 0))
            {
                throw new ArgumentException($"expected[{i}] is {expected[i]}: every expected count must be positive.", nameof(expected));
            }

            var d = observed[i] - expected[i];
            statistic += d * d / expected[i];
            totalObserved += observed[i];
            totalExpected += expected[i];
        }

        if (Math.Abs(totalObserved - totalExpected) > 1e-8 * Math.Max(Math.Abs(totalObserved), Math.Abs(totalExpected)))
        {
            throw new ArgumentException($"observed counts sum to {totalObserved} and expected to {totalExpected}: they must agree (as scipy requires, to a relative 1e-8).", nameof(expected));
        }

        return (statistic, ChiSquareSurvival(statistic, observed.Length - 1));
    }

    /// <summary>The Jensen–Shannon distance of two distributions (<c>scipy.spatial.distance.jensenshannon</c>, natural logarithm): each is normalised to sum to 1 first; 0 for equal, √ln 2 ≈ 0.83 for disjoint.</summary>
    /// <param name="p">The first distribution (counts or shares).</param>
    /// <param name="q">The second, over the same categories.</param>
    /// <exception cref="ArgumentException">The lengths differ, are empty, a value is negative, or a distribution sums to 0.</exception>
    public static double JensenShannon(ReadOnlySpan<double> p, ReadOnlySpan<double> q)
    {
        if (p.Length != q.Length || p.Length == 0)
        {
            throw new ArgumentException($"p and q need the same, non-zero number of categories (got {p.Length} and {q.Length}).", nameof(q));
        }

        var sp = Sum(p, nameof(p));
        var sq = Sum(q, nameof(q));
        double divergence = 0;
        for (var i = 0; i < p.Length; i++)
        {
            var a = p[i] / sp;
            var b = q[i] / sq;
            var m = (a + b) / 2;
            divergence += (a > 0 ? a * Math.Log(a / m) : 0) + (b > 0 ? b * Math.Log(b / m) : 0);
        }

        return Math.Sqrt(Math.Max(0, divergence / 2));
    }

    /// <summary>The first Wasserstein distance of two samples (<c>scipy.stats.wasserstein_distance</c>): the area between their empirical distribution functions.</summary>
    /// <param name="u">One sample.</param>
    /// <param name="v">The other.</param>
    /// <exception cref="ArgumentException">A sample is empty or holds NaN.</exception>
    public static double Wasserstein(ReadOnlySpan<double> u, ReadOnlySpan<double> v)
    {
        var a = Sorted(u, nameof(u));
        var b = Sorted(v, nameof(v));
        double distance = 0;
        int i = 0, j = 0;
        var previous = Math.Min(a[0], b[0]);
        while (i < a.Length || j < b.Length)
        {
            var next = j >= b.Length || (i < a.Length && a[i] <= b[j]) ? a[i] : b[j];
            distance += Math.Abs(((double)i / a.Length) - ((double)j / b.Length)) * (next - previous);
            while (i < a.Length && a[i] == next)
            {
                i++;
            }

            while (j < b.Length && b[j] == next)
            {
                j++;
            }

            previous = next;
        }

        return distance;
    }

    /// <summary>
    /// The Wasserstein distance divided by the reference's standard deviation (Evidently's "normed" Wasserstein, drift at
    /// 0.1 by default); a constant reference gives the plain distance.
    /// </summary>
    /// <param name="reference">The reference sample.</param>
    /// <param name="current">The current window.</param>
    public static double NormalizedWasserstein(ReadOnlySpan<double> reference, ReadOnlySpan<double> current)
    {
        var distance = Wasserstein(reference, current);
        double mean = 0;
        foreach (var x in reference)
        {
            mean += x;
        }

        mean /= reference.Length;
        double variance = 0;
        foreach (var x in reference)
        {
            variance += (x - mean) * (x - mean);
        }

        var std = Math.Sqrt(variance / reference.Length);
        return std > 0 ? distance / std : distance;
    }

    /// <summary>
    /// The population stability index of a window against a reference: <c>Σ (c − r) · ln(c / r)</c> over the reference's
    /// quantile bins (<paramref name="bins"/>, 10 by default; quantiles as numpy's default linear interpolation, the
    /// outer bins open-ended, a value on an edge in the upper bin), an empty bin counted as <see cref="MinBinShare"/>.
    /// Read as: below 0.1 stable, 0.1–0.25 a moderate shift, above 0.25 a significant one.
    /// </summary>
    /// <param name="reference">The reference sample.</param>
    /// <param name="current">The current window.</param>
    /// <param name="bins">The number of quantile bins.</param>
    /// <exception cref="ArgumentException">A sample is empty or holds NaN.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bins"/> is below 2.</exception>
    public static double PopulationStabilityIndex(ReadOnlySpan<double> reference, ReadOnlySpan<double> current, int bins = 10)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 2);
        var sorted = Sorted(reference, nameof(reference));
        var edges = new double[bins - 1]; // the interior edges
        for (var k = 1; k < bins; k++)
        {
            edges[k - 1] = Quantile(sorted, (double)k / bins);
        }

        var r = Shares(sorted, edges, bins);
        var c = Shares(Sorted(current, nameof(current)), edges, bins);
        double psi = 0;
        for (var k = 0; k < bins; k++)
        {
            psi += (c[k] - r[k]) * Math.Log(c[k] / r[k]);
        }

        return psi;
    }

    /// <summary>The <paramref name="q"/> quantile of sorted values with linear interpolation (numpy's default, Hyndman–Fan type 7).</summary>
    internal static double Quantile(double[] sorted, double q) => ReferenceProfileBuilder.Quantile(sorted, q);

    /// <summary>The upper tail of the chi-square distribution with <paramref name="degrees"/> degrees of freedom (<c>scipy.stats.chi2.sf</c>).</summary>
    internal static double ChiSquareSurvival(double x, int degrees) => x <= 0 ? 1 : UpperRegularizedGamma(degrees / 2.0, x / 2);

    private static double[] Shares(double[] sorted, double[] edges, int bins)
    {
        var counts = new double[bins];
        foreach (var x in sorted)
        {
            var index = Array.BinarySearch(edges, x);
            if (index >= 0)
            {
                while (index + 1 < edges.Length && edges[index + 1] == x)
                {
                    index++; // equal edges: past the last of them
                }

                index++;
            }
            else
            {
                index = ~index;
            }

            counts[index]++;
        }

        for (var k = 0; k < bins; k++)
        {
            counts[k] = Math.Max(counts[k] / sorted.Length, MinBinShare);
        }

        return counts;
    }

    private static double[] Sorted(ReadOnlySpan<double> values, string name)
    {
        if (values.IsEmpty)
        {
            throw new ArgumentException("The sample is empty.", name);
        }

        var copy = values.ToArray();
        if (Array.Exists(copy, double.IsNaN))
        {
            throw new ArgumentException("The sample holds NaN: drop missing values first (they are counted apart).", name);
        }

        Array.Sort(copy);
        return copy;
    }

    private static double Sum(ReadOnlySpan<double> values, string name)
    {
        double sum = 0;
        for (var i = 0; i < values.Length; i++)
        {
            if (values[i] < 0 || double.IsNaN(values[i]))
            {
                throw new ArgumentException($"{name}[{i}] is {values[i]}: a distribution holds no negative or NaN value.", name);
            }

            sum += values[i];
        }

        return sum > 0 ? sum : throw new ArgumentException($"{name} sums to 0.", name);
    }

    /// <summary>Q(a, x), the upper regularised incomplete gamma function: a series below a + 1, Lentz's continued fraction above.</summary>
    internal static double UpperRegularizedGamma(double a, double x)
    {
        var logPrefix = (a * Math.Log(x)) - x - LogGamma(a);
        if (x < a + 1)
        {
            double term = 1 / a, sum = term;
            for (var n = 1; n < 1000 && Math.Abs(term) > Math.Abs(sum) * 1e-16; n++)
            {
                term *= x / (a + n);
                sum += term;
            }

            return Math.Max(0, 1 - (sum * Math.Exp(logPrefix)));
        }

        const double Tiny = 1e-300;
        var b = x + 1 - a;
        var c = 1 / Tiny;
        var d = 1 / b;
        var h = d;
        for (var i = 1; i < 1000; i++)
        {
            var an = -i * (i - a);
            b += 2;
            d = (an * d) + b;
            d = Math.Abs(d) < Tiny ? Tiny : d;
            c = b + (an / c);
            c = Math.Abs(c) < Tiny ? Tiny : c;
            d = 1 / d;
            var delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < 1e-16)
            {
                break;
            }
        }

        return Math.Exp(logPrefix) * h;
    }

    /// <summary>ln Γ(x) for x &gt; 0 (Lanczos, g = 7, n = 9: about 15 significant digits).</summary>
    internal static double LogGamma(double x)
    {
        ReadOnlySpan<double> g =
        [
            0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
        ];
        if (x < 0.5)
        {
            return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        }

        x -= 1;
        var sum = g[0];
        for (var i = 1; i < g.Length; i++)
        {
            sum += g[i] / (x + i);
        }

        var t = x + 7.5;
        return (0.5 * Math.Log(2 * Math.PI)) + ((x + 0.5) * Math.Log(t)) - t + Math.Log(sum);
    }
}
