namespace MlOps.Client.Monitoring;

/// <summary>
/// The two-sample Kolmogorov–Smirnov test as <c>scipy.stats.ks_2samp</c> (scipy 1.10, <c>method='auto'</c>,
/// two-sided) computes it: the exact distribution (Hodges' lattice-path counts, Viehmann's recursion) when both samples
/// have at most 10 000 values, else the one-sample distribution <c>kstwo</c> at n = round(mn/(m+n)) (Simard and
/// L'Ecuyer's choice of Ruben–Gambino, Durbin's matrix, Pelz–Good and the exact Smirnov sum).
/// </summary>
internal static class KolmogorovSmirnov
{
    /// <summary>scipy's <c>MAX_AUTO_N</c>: 'auto' is exact while both samples are at most this size.</summary>
    public const int MaxExactN = 10_000;

    /// <summary>The statistic D = sup |F₁ − F₂| of two sorted samples (the empirical CDFs compared just after each value, as searchsorted side='right').</summary>
    public static double Statistic(ReadOnlySpan<double> sorted1, ReadOnlySpan<double> sorted2)
    {
        int i = 0, j = 0, n1 = sorted1.Length, n2 = sorted2.Length;
        double d = 0;
        while (i < n1 || j < n2)
        {
            var x = i == n1 ? sorted2[j] : j == n2 ? sorted1[i] : Math.Min(sorted1[i], sorted2[j]);
            while (i < n1 && sorted1[i] <= x)
            {
                i++;
            }

            while (j < n2 && sorted2[j] <= x)
            {
                j++;
            }

            d = Math.Max(d, Math.Abs(((double)i / n1) - ((double)j / n2)));
        }

        return d;
    }

    /// <summary>The two-sided p-value of statistic <paramref name="d"/> for samples of sizes <paramref name="n1"/> and <paramref name="n2"/>.</summary>
    public static double PValue(double d, long n1, long n2)
    {
        if (Math.Max(n1, n2) <= MaxExactN && TryExact(d, (int)n1, (int)n2, out var exact))
        {
            return Math.Clamp(exact, 0, 1);
        }

        double m = Math.Max(n1, n2), n = Math.Min(n1, n2);
        var en = Math.Round(m * n / (m + n), MidpointRounding.ToEven);
        return Math.Clamp(KolmogorovSurvival((long)en, d), 0, 1);
    }

    /// <summary>scipy's <c>_attempt_exact_2kssamp</c> (two-sided).</summary>
    private static bool TryExact(double d, int n1, int n2, out double p)
    {
        var g = Gcd(n1, n2);
        var lcm = (double)(n1 / g) * n2;
        var h = (long)Math.Round(d * lcm, MidpointRounding.ToEven);
        p = double.NaN;
        if (h == 0)
        {
            p = 1;
            return true;
        }

        p = n1 == n2 ? ProbabilityOutsideSquare(n1, h) : OuterProbabilityInside(n1, n2, g, h);
        return double.IsFinite(p) && p is >= 0 and <= 1;
    }

    /// <summary>scipy's <c>_compute_prob_outside_square</c>: the share of paths leaving |x − y| &lt; h when n₁ = n₂ = n.</summary>
    private static double ProbabilityOutsideSquare(long n, long h)
    {
        double p = 0;
        for (var k = n / h; k >= 0; k--)
        {
            double p1 = 1;
            for (long j = 0; j < h; j++)
            {
                p1 = (n - (k * h) - j) * p1 / (n + (k * h) + j + 1);
            }

            p = p1 * (1 - p);
        }

        return 2 * p;
    }

    /// <summary>scipy's <c>_compute_outer_prob_inside_method</c> (Hodges; Viehmann's 1 − p recursion).</summary>
    private static double OuterProbabilityInside(long m, long n, long g, long h)
    {
        if (m < n)
        {
            (m, n) = (n, m);
        }

        long mg = m / g, ng = n / g;
        long minj = 0, maxj = Math.Min((long)Math.Ceiling((double)h / mg), n + 1);
        var curlen = maxj - minj;
        var lenA = Math.Min((2 * maxj) + 2, n + 1);
        var a = new double[lenA];
        Array.Fill(a, 1.0);
        Array.Fill(a, 0.0, (int)minj, (int)(maxj - minj));
        for (long i = 1; i <= m; i++)
        {
            long lastminj = minj, lastlen = curlen;
            minj = Math.Min(Math.Max((long)Math.Floor((double)((ng * i) - h) / mg) + 1, 0), n);
            maxj = Math.Min((long)Math.Ceiling((double)((ng * i) + h) / mg), n + 1);
            if (maxj <= minj)
            {
                return 1.0;
            }

            var val = minj == 0 ? 0.0 : 1.0;
            for (long jj = 0; jj < maxj - minj; jj++)
            {
                var j = jj + minj;
                val = ((a[jj + minj - lastminj] * i) + (val * j)) / (i + j);
                a[jj] = val;
            }

            curlen = maxj - minj;
            if (lastlen > curlen)
            {
                Array.Fill(a, 1.0, (int)(maxj - minj), (int)(lastlen - curlen));
            }
        }

        return a[maxj - minj - 1];
    }

    /// <summary><c>scipy.stats.kstwo.sf(x, n)</c>: P(Dₙ &gt; x) for the one-sample two-sided statistic (scipy's <c>_kolmogn</c>, cdf=False).</summary>
    public static double KolmogorovSurvival(long n, double x)
    {
        if (x >= 1)
        {
            return 0;
        }

        if (x <= 0)
        {
            return 1;
        }

        var t = n * x;
        if (t <= 1)
        {
            if (t <= 0.5)
            {
                return 1;
            }

            // Ruben–Gambino: P(Dₙ ≤ x) = n!/nⁿ (2t − 1)ⁿ for 1/2n ≤ x ≤ 1/n.
            double prob;
            if (n <= 140)
            {
                prob = 1;
                for (long i = 1; i <= n; i++)
                {
                    prob *= i * (1.0 / n) * ((2 * t) - 1);
                }
            }
            else
            {
                prob = Math.Exp(LogFactorialOverPower(n) + (n * Math.Log((2 * t) - 1)));
            }

            return Math.Clamp(1 - prob, 0, 1);
        }

        if (t >= n - 1)
        {
            return Math.Clamp(2 * Math.Pow(1 - x, n), 0, 1);
        }

        if (x >= 0.5)
        {
            return Math.Clamp(2 * Smirnov(n, x), 0, 1);
        }

        var nxSquared = t * x;
        if (n <= 140)
        {
            // scipy takes Pomeranz's recursion for 0.754693 < nx² ≤ 4; Durbin's matrix is exact there too.
            return nxSquared <= 4 ? Math.Clamp(1 - DurbinMatrix(n, x), 0, 1) : Math.Clamp(2 * Smirnov(n, x), 0, 1);
        }

        if (nxSquared >= 370)
        {
            return 0;
        }

        if (nxSquared >= 2.2)
        {
            return Math.Clamp(2 * Smirnov(n, x), 0, 1);
        }

        var cdf = nxSquared >= 18 ? 1.0
            : n <= 100_000 && n * Math.Pow(x, 1.5) <= 1.4 ? DurbinMatrix(n, x)
            : PelzGood(n, x);
        return Math.Clamp(1 - cdf, 0, 1);
    }

    /// <summary>
    /// The one-sided Smirnov survival P(Dₙ⁺ ≥ x) by the exact Birnbaum–Tingey sum
    /// x Σⱼ C(n, j) (x + j/n)^(j−1) (1 − x − j/n)^(n−j), j ≤ ⌊n(1 − x)⌋, each (positive) term in logarithms.
    /// </summary>
    internal static double Smirnov(long n, double x)
    {
        if (x >= 1)
        {
            return 0;
        }

        if (x <= 0)
        {
            return 1;
        }

        var last = (long)Math.Floor(n * (1 - x));
        var logN = LogGamma(n + 1);
        double sum = 0;
        for (long j = 0; j <= last; j++)
        {
            var rest = 1 - x - ((double)j / n);
            if (rest <= 0 && n - j > 0)
            {
                continue;
            }

            var log = logN - LogGamma(j + 1) - LogGamma(n - j + 1)
                + ((j - 1) * Math.Log(x + ((double)j / n)))
                + (n - j == 0 ? 0 : (n - j) * Math.Log(rest));
            sum += Math.Exp(log);
        }

        return x * sum;
    }

    /// <summary>scipy's <c>_kolmogn_DMTW</c>: P(Dₙ ≤ d) by Durbin's matrix (Marsaglia, Tsang and Wang), powers rescaled by 2¹²⁸.</summary>
    private static double DurbinMatrix(long n, double d)
    {
        if (d >= 1)
        {
            return 1;
        }

        var nd = n * d;
        if (nd <= 0.5)
        {
            return 0;
        }

        var k = (int)Math.Ceiling(nd);
        var h = k - nd;
        var m = (2 * k) - 1;
        var matrix = new double[m, m];
        var v = new double[m];
        var w = new double[m];
        double fac = 1;
        for (var j = 1; j <= m; j++)
        {
            v[j - 1] = 1 - Math.Pow(h, j);
            w[j - 1] = fac;
            fac /= j;
            v[j - 1] *= fac;
        }

        var tt = Math.Pow(Math.Max((2 * h) - 1, 0), m) - (2 * Math.Pow(h, m));
        v[m - 1] = (1 + tt) * fac;
        for (var i = 1; i < m; i++)
        {
            for (var r = i - 1; r < m; r++)
            {
                matrix[r, i] = w[r - i + 1];
            }
        }

        for (var r = 0; r < m; r++)
        {
            matrix[r, 0] = v[r];
            matrix[m - 1, r] = v[m - 1 - r];
        }

        var power = new double[m, m];
        for (var i = 0; i < m; i++)
        {
            power[i, i] = 1;
        }

        var scale = Math.ScaleB(1.0, 128);
        long exponent = 0, matrixExponent = 0;
        var nn = n;
        while (nn > 0)
        {
            if (nn % 2 == 1)
            {
                power = Multiply(power, matrix);
                exponent += matrixExponent;
            }

            matrix = Multiply(matrix, matrix);
            matrixExponent *= 2;
            if (Math.Abs(matrix[k - 1, k - 1]) > scale)
            {
                for (var r = 0; r < m; r++)
                {
                    for (var c = 0; c < m; c++)
                    {
                        matrix[r, c] /= scale;
                    }
                }

                matrixExponent += 128;
            }

            nn /= 2;
        }

        var p = power[k - 1, k - 1];
        for (long i = 1; i <= n; i++)
        {
            p = i * p / n;
            if (Math.Abs(p) < 1 / scale)
            {
                p *= scale;
                exponent -= 128;
            }
        }

        return Math.Clamp(exponent != 0 ? Math.ScaleB(p, (int)exponent) : p, 0, 1);
    }

    private static double[,] Multiply(double[,] a, double[,] b)
    {
        var m = a.GetLength(0);
        var result = new double[m, m];
        for (var i = 0; i < m; i++)
        {
            for (var k = 0; k < m; k++)
            {
                var aik = a[i, k];
                if (aik == 0)
                {
                    continue;
                }

                for (var j = 0; j < m; j++)
                {
                    result[i, j] += aik * b[k, j];
                }
            }
        }

        return result;
    }

    /// <summary>scipy's <c>_kolmogn_PelzGood</c>: the Pelz–Good approximation of P(Dₙ ≤ x).</summary>
    private static double PelzGood(long n, double x)
    {
        var z = Math.Sqrt(n) * x;
        double z2 = z * z, z3 = z2 * z, z4 = z2 * z2, z6 = z4 * z2;
        const double Pi2 = Math.PI * Math.PI, Pi4 = Pi2 * Pi2, Pi6 = Pi4 * Pi2;
        var qlog = -Pi2 / 8 / z2;
        if (qlog < -708)
        {
            return 0;
        }

        var q = Math.Exp(qlog);
        var k1a = -z2;
        var k1b = Pi2 / 4;
        var k2a = (6 * z6) + (2 * z4);
        var k2b = ((2 * z4) - (5 * z2)) * Pi2 / 4;
        var k2c = Pi4 * (1 - (2 * z2)) / 16;
        var k3d = Pi6 * (5 - (30 * z2)) / 64;
        var k3c = Pi4 * ((-60 * z2) + (212 * z4)) / 16;
        var k3b = Pi2 * ((135 * z4) - (96 * z6)) / 4;
        var k3a = (-30 * z6) - (90 * Math.Pow(z, 8));
        var terms = new double[4];
        var maxk = (int)Math.Ceiling(16 * z / Math.PI);
        for (var k = maxk; k > 0; k--)
        {
            double mm = (2 * k) - 1, m2 = mm * mm, m4 = m2 * m2, m6 = m4 * m2;
            var qpower = Math.Pow(q, 8 * k);
            terms[0] = (terms[0] * qpower) + 1;
            terms[1] = (terms[1] * qpower) + k1a + (k1b * m2);
            terms[2] = (terms[2] * qpower) + k2a + (k2b * m2) + (k2c * m4);
            terms[3] = (terms[3] * qpower) + k3a + (k3b * m2) + (k3c * m4) + (k3d * m6);
        }

        var sqrt2Pi = Math.Sqrt(2 * Math.PI);
        double[] divisors = [z, 6 * z4, 72 * Math.Pow(z, 7), 6480 * Math.Pow(z, 10)];
        for (var i = 0; i < 4; i++)
        {
            terms[i] = terms[i] * q * sqrt2Pi / divisors[i];
        }

        var q2 = Math.Exp(-Pi2 / 2 / z2);
        double k2extra = 0, k3extra = 0;
        var sqrt3z = Math.Sqrt(3) * z;
        for (var k = maxk; k > 0; k--)
        {
            double ks = (double)k * k, qpow = Math.Pow(q2, ks), kspi = Math.PI * k;
            k2extra += ks * qpow;
            k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ks * qpow;
        }

        terms[2] += k2extra * Pi2 * sqrt2Pi / (-36 * z3);
        terms[3] += k3extra * Pi2 * sqrt2Pi / (216 * z6);
        double sum = 0;
        for (var i = 0; i < 4; i++)
        {
            sum += terms[i] / Math.Pow(n, i / 2.0);
        }

        return sum;
    }

    /// <summary>log(n!/nⁿ) by Stirling's series (scipy's <c>_log_nfactorial_div_n_pow_n</c>).</summary>
    private static double LogFactorialOverPower(long n)
    {
        double[] coefficients = [-2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3, 8.4175084175084175084e-4,
            -5.952380952380952381e-4, 7.9365079365079365079e-4, -2.7777777777777777778e-3, 8.3333333333333333333e-2];
        var rn = 1.0 / n;
        var u = rn / n;
        double poly = 0;
        foreach (var c in coefficients)
        {
            poly = (poly * u) + c;
        }

        return (Math.Log(n) / 2) - n + (Math.Log(2 * Math.PI) / 2) + (rn * poly);
    }

    private static double LogGamma(double x) => DriftStatistics.LogGamma(x);

    private static long Gcd(long a, long b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }

        return a;
    }
}
