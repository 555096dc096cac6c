namespace MlOps.Client.Monitoring;

/// <summary>
/// Compares a window of served data with a model's <see cref="ReferenceProfile"/>, column by column, with the methods
/// and defaults of <see cref="DriftOptions"/>. Statistics come from the profile (quantiles, category counts), so they
/// are within <see cref="ReferenceProfile.CdfError"/> of the same statistics over the raw training data.
/// </summary>
public static class DriftDetector
{
    /// <summary>Tests every feature (and prediction) of <paramref name="reference"/> on <paramref name="window"/>.</summary>
    /// <param name="reference">The training data's profile.</param>
    /// <param name="window">The served data.</param>
    /// <param name="options">Methods and thresholds; Evidently's defaults when <see langword="null"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option out of range.</exception>
    public static DriftReport Detect(ReferenceProfile reference, DataWindow window, DriftOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(window);
        options ??= new DriftOptions();
        options.Validate();
        var alpha = options.Bonferroni && reference.Features.Count > 0 ? options.PValue / reference.Features.Count : options.PValue;
        return new DriftReport
        {
            Window = window.Index,
            Start = window.Start,
            End = window.End,
            Rows = window.Rows,
            DatasetDriftShare = options.DatasetDriftShare,
            Features = [.. reference.Features.Select(f => Column(f, window, options, alpha))],
            Predictions = [.. reference.Predictions.Select(p => Column(p, window, options, options.PValue))],
        };
    }

    /// <summary>One column's test.</summary>
    internal static FeatureDrift Column(FeatureProfile reference, DataWindow window, DriftOptions options, double alpha)
    {
        if (reference.Kind == FeatureKind.Numeric)
        {
            var (values, missing) = window.Numbers(reference.Name);
            var method = Choose(reference, options, () => Distinct(reference, values));
            if (values.Length == 0 || reference.Count == 0)
            {
                return new FeatureDrift(reference.Name, method, double.NaN, Threshold(method, options, alpha), false, double.NaN, double.NaN, values.Length, missing);
            }

            Array.Sort(values);
            var psi = NumericPsi(reference, values);
            var (score, statistic) = method switch
            {
                DriftMethod.KolmogorovSmirnov => KolmogorovSmirnovTest(reference, values),
                DriftMethod.Wasserstein => Same(Wasserstein(reference, values) / Math.Max(reference.StandardDeviation ?? 0, 0.001)),
                DriftMethod.PopulationStabilityIndex => Same(psi),
                _ => CategoricalScore(method, reference.IsDiscrete ? reference.Categories : DecileCounts(reference),
                    reference.IsDiscrete ? [.. values.Select(v => ((float)v).ToString("R", System.Globalization.CultureInfo.InvariantCulture))] : DecileKeys(reference, values), 0),
            };
            return Result(reference.Name, method, score, statistic, psi, values.Length, missing, options, alpha);
        }
        else
        {
            var (values, missing) = window.Categories(reference.Name);
            var method = Choose(reference, options, () => reference.Categories.Keys.Union(values).Count());
            if (values.Length == 0 || reference.Count == 0)
            {
                return new FeatureDrift(reference.Name, method, double.NaN, Threshold(method, options, alpha), false, double.NaN, double.NaN, values.Length, missing);
            }

            var psi = CategoricalScore(DriftMethod.PopulationStabilityIndex, reference.Categories, values, reference.OtherCount).Score;
            var (score, statistic) = method is DriftMethod.KolmogorovSmirnov or DriftMethod.Wasserstein
                ? throw new ArgumentException($"Column '{reference.Name}' is categorical: {method} needs numbers (DriftOptions.Methods).", nameof(options))
                : CategoricalScore(method, reference.Categories, values, reference.OtherCount);
            return Result(reference.Name, method, score, statistic, psi, values.Length, missing, options, alpha);
        }
    }

    private static FeatureDrift Result(string name, DriftMethod method, double score, double statistic, double psi, long values, long missing, DriftOptions options, double alpha)
    {
        var threshold = Threshold(method, options, alpha);
        var distance = method is DriftMethod.Wasserstein or DriftMethod.JensenShannon or DriftMethod.PopulationStabilityIndex;
        var drifted = distance ? score >= threshold : score < threshold;
        return new FeatureDrift(name, method, score, threshold, drifted, statistic, psi, values, missing) { PsiMajor = psi >= options.PsiMajorThreshold };
    }

    private static (double Score, double Statistic) Same(double value) => (value, value);

    private static double Threshold(DriftMethod method, DriftOptions options, double alpha) => method switch
    {
        DriftMethod.Wasserstein => options.WassersteinThreshold,
        DriftMethod.JensenShannon => options.JensenShannonThreshold,
        DriftMethod.PopulationStabilityIndex => options.PsiThreshold,
        _ => alpha,
    };

    /// <summary>Evidently's <c>get_default_stattest</c>, on the profile's counts.</summary>
    private static DriftMethod Choose(FeatureProfile reference, DriftOptions options, Func<int> distinctWithCurrent)
    {
        if (options.Methods.TryGetValue(reference.Name, out var chosen) && chosen != DriftMethod.Auto)
        {
            return chosen;
        }

        var configured = reference.Kind == FeatureKind.Numeric ? options.NumericMethod : options.CategoricalMethod;
        if (configured != DriftMethod.Auto)
        {
            return configured;
        }

        var distinct = reference.Distinct ?? int.MaxValue;
        if (reference.Count <= options.SmallReference)
        {
            return reference.Kind == FeatureKind.Numeric && distinct > 5 ? DriftMethod.KolmogorovSmirnov
                : distinct > 2 ? DriftMethod.ChiSquare
                : DriftMethod.ZTest;
        }

        return reference.Kind == FeatureKind.Numeric && (reference.Distinct is null || distinctWithCurrent() > 5) ? DriftMethod.Wasserstein : DriftMethod.JensenShannon;
    }

    private static int Distinct(FeatureProfile reference, double[] values) =>
        reference.Distinct is null ? int.MaxValue : reference.Categories.Keys.Union(values.Select(v => ((float)v).ToString("R", System.Globalization.CultureInfo.InvariantCulture))).Count();

    /// <summary>KS between the profile's CDF and the window's ECDF (sup over both CDFs' jump points, from both sides), with scipy's p-value at the reference's count.</summary>
    private static (double P, double D) KolmogorovSmirnovTest(FeatureProfile reference, double[] sorted)
    {
        double d = 0;
        var m = sorted.Length;
        var i = 0;
        while (i < m)
        {
            var x = sorted[i];
            var below = (double)i / m;
            while (i < m && sorted[i] == x)
            {
                i++;
            }

            var at = (double)i / m;
            d = Math.Max(d, Math.Max(Math.Abs(reference.CdfBelow(x) - below), Math.Abs(reference.Cdf(x) - at)));
        }

        // The reference's own knots, where its CDF bends or jumps while the window's is flat.
        IEnumerable<double> knots = reference.IsDiscrete
            ? reference.Categories.Keys.Select(k => (double)float.Parse(k, System.Globalization.CultureInfo.InvariantCulture))
            : reference.Quantiles;
        foreach (var x in knots)
        {
            var below = (double)LowerBound(sorted, x) / m;
            var at = (double)UpperBound(sorted, x) / m;
            d = Math.Max(d, Math.Max(Math.Abs(reference.CdfBelow(x) - below), Math.Abs(reference.Cdf(x) - at)));
        }

        return (KolmogorovSmirnov.PValue(d, reference.Count, m), d);
    }

    /// <summary>W₁ = ∫₀¹ |Q_ref(u) − Q_window(u)| du, the reference's quantile function linear between its quantiles, the window's a step function.</summary>
    internal static double Wasserstein(FeatureProfile reference, double[] sorted)
    {
        var m = sorted.Length;
        var knots = reference.IsDiscrete ? reference.Count : reference.Quantiles.Count - 1;
        var points = new SortedSet<double> { 0, 1 };
        for (var k = 1; k < Math.Min(knots, 100_000); k++)
        {
            points.Add((double)k / knots);
        }

        for (var i = 1; i < m; i++)
        {
            points.Add((double)i / m);
        }

        double total = 0, previous = 0;
        foreach (var u in points)
        {
            if (u == 0)
            {
                continue;
            }

            // On (previous, u) the window's quantile is one value and the reference's is linear (or one value).
            var c = sorted[Math.Min((int)Math.Ceiling((((previous + u) / 2) * m) - 1), m - 1)];
            var a = reference.QuantileAt(previous) - c;
            var b = reference.QuantileAt(u) - c;
            var width = u - previous;
            if (reference.IsDiscrete)
            {
                a = b = reference.QuantileAt((previous + u) / 2) - c;
            }

            total += (a >= 0) == (b >= 0) ? width * Math.Abs(a + b) / 2 : width * ((a * a) + (b * b)) / (2 * Math.Abs(b - a));
            previous = u;
        }

        return total;
    }

    /// <summary>PSI over the reference's deciles: reference shares from its CDF (a value on an edge goes to the upper bin), both floored at <see cref="DriftStatistics.MinBinShare"/>.</summary>
    private static double NumericPsi(FeatureProfile reference, double[] sorted)
    {
        var edges = DecileEdges(reference);
        double psi = 0, lastRef = 0;
        var lastIndex = 0;
        for (var k = 0; k <= edges.Length; k++)
        {
            var refCum = k < edges.Length ? reference.CdfBelow(edges[k]) : 1;
            var index = k < edges.Length ? LowerBound(sorted, edges[k]) : sorted.Length;
            var r = Math.Max(refCum - lastRef, DriftStatistics.MinBinShare);
            var c = Math.Max((double)(index - lastIndex) / sorted.Length, DriftStatistics.MinBinShare);
            psi += (c - r) * Math.Log(c / r);
            lastRef = refCum;
            lastIndex = index;
        }

        return psi;
    }

    private static double[] DecileEdges(FeatureProfile reference) => [.. Enumerable.Range(1, 9).Select(k => reference.QuantileAt(k / 10.0))];

    /// <summary>The reference's counts in its decile bins, as categories named by bin.</summary>
    private static Dictionary<string, long> DecileCounts(FeatureProfile reference)
    {
        var edges = DecileEdges(reference);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        double last = 0;
        for (var k = 0; k <= edges.Length; k++)
        {
            var cum = k < edges.Length ? reference.CdfBelow(edges[k]) : 1;
            counts["bin" + k] = (long)Math.Round((cum - last) * reference.Count);
            last = cum;
        }

        return counts;
    }

    private static string[] DecileKeys(FeatureProfile reference, double[] sorted)
    {
        var edges = DecileEdges(reference);
        return [.. sorted.Select(v => "bin" + UpperBound(edges, v))];
    }

    /// <summary>Chi-square, z-test, Jensen–Shannon or PSI over categories (Evidently's <c>get_binned_data</c> shares for the distances).</summary>
    private static (double Score, double Statistic) CategoricalScore(DriftMethod method, IReadOnlyDictionary<string, long> reference, string[] current, long referenceOther)
    {
        const string Other = "\u0000other";
        var known = new HashSet<string>(reference.Keys, StringComparer.Ordinal);
        var currentCounts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var v in current)
        {
            // A value among the reference's uncounted rare categories goes with them; an unseen one stands alone.
            var key = known.Contains(v) || referenceOther == 0 ? v : Other;
            currentCounts[key] = currentCounts.GetValueOrDefault(key) + 1;
        }

        var referenceCounts = new Dictionary<string, long>(reference, StringComparer.Ordinal);
        if (referenceOther > 0)
        {
            referenceCounts[Other] = referenceOther;
        }

        var keys = referenceCounts.Keys.Union(currentCounts.Keys).Order(StringComparer.Ordinal).ToArray();
        double n = referenceCounts.Values.Sum(), m = current.Length;
        switch (method)
        {
            case DriftMethod.ZTest:
                return ZTest(keys, referenceCounts, currentCounts, n, m);
            case DriftMethod.ChiSquare:
                {
                    if (keys.Length < 2)
                    {
                        return (1, 0);
                    }

                    double statistic = 0;
                    foreach (var key in keys)
                    {
                        var expected = referenceCounts.GetValueOrDefault(key) * m / n;
                        var observed = currentCounts.GetValueOrDefault(key);
                        if (expected == 0)
                        {
                            return (0, double.PositiveInfinity); // a category the reference never had: scipy's inf statistic, p = 0
                        }

                        statistic += (observed - expected) * (observed - expected) / expected;
                    }

                    return (DriftStatistics.ChiSquareSurvival(statistic, keys.Length - 1), statistic);
                }

            case DriftMethod.PopulationStabilityIndex:
                {
                    double psi = 0;
                    foreach (var key in keys)
                    {
                        var r = Math.Max(referenceCounts.GetValueOrDefault(key) / n, DriftStatistics.MinBinShare);
                        var c = Math.Max(currentCounts.GetValueOrDefault(key) / m, DriftStatistics.MinBinShare);
                        psi += (c - r) * Math.Log(c / r);
                    }

                    return (psi, psi);
                }

            default:
                {
                    var p = Filled([.. keys.Select(k => referenceCounts.GetValueOrDefault(k) / n)]);
                    var q = Filled([.. keys.Select(k => currentCounts.GetValueOrDefault(k) / m)]);
                    var js = DriftStatistics.JensenShannon(p, q);
                    return (js, js);
                }
        }
    }

    /// <summary>Evidently's <c>feel_zeroes</c>: an empty share becomes 0.0001, or a millionth of the smallest share when that is smaller.</summary>
    private static double[] Filled(double[] shares)
    {
        var smallest = shares.Where(s => s > 0).DefaultIfEmpty(1).Min();
        var fill = smallest <= 0.0001 ? smallest / 1e6 : 0.0001;
        return [.. shares.Select(s => s == 0 ? fill : s)];
    }

    /// <summary>Evidently's z-test of a binary column: the share of its first category (sorted), two-sided.</summary>
    private static (double P, double Z) ZTest(string[] keys, Dictionary<string, long> reference, Dictionary<string, long> current, double n, double m)
    {
        if (keys.Length <= 1)
        {
            return (1, 0);
        }

        var target = keys[0];
        var p1 = reference.GetValueOrDefault(target) / n;
        var p2 = current.GetValueOrDefault(target) / m;
        var pooled = ((p1 * n) + (p2 * m)) / (n + m);
        var z = (p1 - p2) / Math.Sqrt(pooled * (1 - pooled) * ((1 / n) + (1 / m)));
        if (double.IsNaN(z))
        {
            return (1, 0);
        }

        // 2 (1 − Φ(|z|)) = erfc(|z|/√2) = Q(1/2, z²/2).
        return (double.IsInfinity(z) ? 0 : DriftStatistics.UpperRegularizedGamma(0.5, z * z / 2), z);
    }

    private static int LowerBound(double[] sorted, double x)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (sorted[mid] < x)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private static int UpperBound(double[] sorted, double x)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (sorted[mid] <= x)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}
