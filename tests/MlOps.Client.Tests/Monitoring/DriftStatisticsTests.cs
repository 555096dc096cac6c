using System.Globalization;
using MlOps.Client.Monitoring;

namespace MlOps.Client.Tests.Monitoring;

/// <summary>
/// Each statistic equals scipy 1.10.1's on fixed data (values printed by <c>scipy.stats.chisquare</c>,
/// <c>scipy.stats.chi2.sf</c>, <c>scipy.spatial.distance.jensenshannon</c>, <c>scipy.stats.wasserstein_distance</c>, and
/// PSI computed with numpy over the reference's deciles — <c>np.quantile</c>, <c>np.histogram</c>, shares floored at 1e-4).
/// </summary>
public sealed class DriftStatisticsTests
{
    // 200 reference values ~ N(0, 1) and 150 current ~ N(0.5, 1.2), rounded to 4 places (numpy default_rng(7)).
    private static readonly double[] Reference = Parse(
        "0.0012,0.2987,-0.2741,-0.8906,-0.4547,-0.9916,0.0601,1.3402,-0.4922,-0.6205,0.4898,0.3569,0.1054,-0." +
        "9305,-0.0293,0.6953,-1.3442,-0.4576,-1.9012,-1.2895,-1.8417,-0.2351,-1.2674,0.2713,0.1568,-0.1869,-2" +
        ".5168,-0.5387,-0.0485,0.1133,-1.5301,-0.4778,-0.9785,-0.8088,1.0609,-0.8075,-0.0325,0.8844,-0.5836,-" +
        "0.1117,0.1105,0.0638,-1.2251,0.0761,1.3588,-1.5471,0.8594,0.1194,-0.6415,2.0004,0.7623,-1.1993,0.074" +
        "5,0.5767,-0.1888,0.6829,-0.0665,0.6672,1.4385,-0.6757,0.2031,-0.4633,0.1273,-1.1872,-0.5793,-0.1962," +
        "0.8988,1.1452,-1.3235,-0.7946,0.6469,-1.9924,-0.4632,-0.0973,1.257,0.6894,-0.3272,-0.3686,-0.2502,1." +
        "5235,-0.428,-0.3037,0.3526,-0.1208,-0.1973,-1.1141,-0.0115,-0.4436,1.1661,0.6531,-0.0241,0.6684,-0.3" +
        "399,1.0521,-0.0054,0.5834,-1.2909,0.3467,-1.6882,-2.0353,-0.3045,-0.8999,0.1641,2.2448,-0.8317,-0.62" +
        "39,0.2054,0.493,-0.1764,-0.2059,0.7025,0.5199,-1.0337,-0.0792,0.0353,-1.0545,0.2598,-0.858,0.9721,0." +
        "1927,0.0893,-0.591,-0.1186,-1.9977,-1.1314,0.3628,-2.1286,0.8466,-1.7461,0.7567,-0.8455,0.779,0.131," +
        "-1.5368,1.2491,1.4417,-0.0658,-0.2739,-0.1599,-0.9752,1.0986,-0.5429,-0.0512,-0.7933,-0.6261,-1.2777" +
        ",1.2571,-0.1541,0.9659,0.0133,-0.6944,-0.3267,-0.5602,0.008,-0.3753,-0.2999,-1.3786,-0.8068,1.6541,-" +
        "0.6712,-1.0541,0.3373,1.4073,-1.454,-0.2085,-0.6321,-1.761,0.7349,-0.0234,0.0714,-0.7523,0.4548,-0.5" +
        "393,-0.1429,-1.1083,-1.2161,1.3355,-0.5071,0.2917,-0.0338,-0.4411,-0.508,0.6301,-0.3019,-0.1514,0.02" +
        "22,1.1765,0.6805,0.3826,-0.5636,-1.382,0.9495,0.9664,-0.1407,0.5419,0.7814,0.8312,0.9214,-0.4556,1.5" +
        "15");

    private static readonly double[] Current = Parse(
        "-0.9959,1.5341,1.0927,1.5483,2.7548,2.2813,-0.8742,-1.5264,1.4803,-0.718,0.4851,1.5077,-1.4726,-2.03" +
        "2,0.8112,0.5533,0.205,0.5462,-0.5326,-1.3162,0.3,-0.6661,-1.4722,1.1068,0.4263,0.9878,-0.6872,-0.289" +
        "7,-0.6989,-0.564,0.7345,-0.4396,0.9273,0.9077,2.9302,-1.1713,1.5655,0.3926,0.4832,-1.2398,-0.0522,1." +
        "3918,0.401,0.5973,0.1511,1.8855,0.4742,-2.1405,-0.3305,-1.8626,-3.4017,-0.1361,2.1003,0.5565,-0.9071" +
        ",-0.6288,1.8567,0.6892,0.5576,0.4358,0.5461,1.4665,1.1631,0.7588,-0.7514,1.1133,-0.3211,1.8126,-1.02" +
        "53,0.3349,0.4912,-1.0896,2.5664,2.2525,-0.0563,1.4261,0.9544,-2.6363,0.8005,0.4264,0.5999,-0.7922,0." +
        "1768,0.2861,1.9257,0.9013,0.4933,2.3348,-0.1663,0.0327,-1.6801,2.3829,1.6572,1.6002,1.3027,0.6322,0." +
        "7586,0.1976,0.2557,0.5652,2.3142,1.1668,0.4298,-0.1953,-0.262,2.4232,1.108,0.5811,0.0846,-0.8309,0.4" +
        "198,1.5484,0.029,0.2273,0.2348,0.6315,-1.4116,0.2175,-0.5253,1.5615,-0.4247,1.1925,2.3293,0.1237,-0." +
        "2219,0.7297,0.4976,-0.6923,1.0531,2.9186,0.1903,0.2565,-0.7539,0.8829,-0.9964,-0.8283,2.0356,-0.5865" +
        ",1.7976,2.3292,0.8112,1.1641,2.8427,0.2639,-0.2116,-1.1239,0.55,2.275,1.6515,-0.6305");

    /// <summary>The fixed reference and current samples (for the profile-based tests).</summary>
    internal static (double[] Reference, double[] Current) Samples() => (Reference, Current);

    private static double[] Parse(string csv) => [.. csv.Split(',').Select(s => double.Parse(s, CultureInfo.InvariantCulture))];

    [Fact]
    public void Kolmogorov_smirnov_statistic_and_exact_p_value_equal_scipys()
    {
        // ks_2samp(reference, current): different sizes (Hodges' inside method).
        var (d, p) = DriftStatistics.KolmogorovSmirnov(Reference, Current);
        Assert.Equal(0.315, d, 12);
        Assert.Equal(5.322584564390106e-08, p, 1e-18);

        // Equal sizes (the square's closed form).
        (d, p) = DriftStatistics.KolmogorovSmirnov(Reference.AsSpan(0, 150), Current);
        Assert.Equal(0.32666666666666666, d, 12);
        Assert.Equal(1.7564392953194488e-07, p, 1e-17);

        // The same distribution: no evidence.
        (d, p) = DriftStatistics.KolmogorovSmirnov(Reference, Reference.AsSpan(0, 100));
        Assert.Equal(0.04, d, 12);
        Assert.Equal(0.9999028113127277, p, 12);
    }

    [Fact]
    public void Kolmogorov_smirnov_beyond_10000_values_uses_scipys_asymptotic_distribution()
    {
        // Deterministic samples both sides compute identically (integer arithmetic, one division).
        var a = Enumerable.Range(0, 12000).Select(i => (i * 7919L % 12000) / 12000.0).ToArray();
        var b = Enumerable.Range(0, 3000).Select(i => ((i * 104729L % 3000) / 3000.0 * 1.05) + 0.01).ToArray();
        var (d, p) = DriftStatistics.KolmogorovSmirnov(a, b);
        Assert.Equal(0.0571666666666667, d, 12);
        Assert.Equal(2.934695327346464e-07, p, 1e-15); // kstwo.sf at n = 2400 by the Smirnov sum

        b = [.. Enumerable.Range(0, 3000).Select(i => ((i * 104729L % 3000) / 3000.0 * 1.01) + 0.001)];
        (d, p) = DriftStatistics.KolmogorovSmirnov(a, b);
        Assert.Equal(0.010916666666666686, d, 12);
        Assert.Equal(0.9342096238647863, p, 9); // Pelz–Good

        var c = Enumerable.Range(0, 20000).Select(i => (i * 31L % 20000) / 20000.0).ToArray();
        var e = Enumerable.Range(0, 150).Select(i => (i * 17L % 150) / 150.0 * 1.1).ToArray();
        (d, p) = DriftStatistics.KolmogorovSmirnov(c, e);
        Assert.Equal(0.09068333333333334, d, 12);
        Assert.Equal(0.16213163992468194, p, 9);
    }

    [Theory]
    [InlineData(50, 0.1, 0.6623112704658186)] // Durbin's matrix
    [InlineData(50, 0.2, 0.03143877776953241)] // scipy: Pomeranz; here Durbin's matrix, exact too
    [InlineData(100, 0.35, 1.865228719089831e-11)] // 2 × Smirnov
    [InlineData(300, 0.6, 8.399665126868074e-104)] // x ≥ 0.5: 2 × Smirnov
    [InlineData(200, 0.07, 0.2682332715315976)] // n > 140: Durbin's matrix
    [InlineData(500, 0.03, 0.7473166700457021)] // Pelz–Good
    [InlineData(2000, 0.02, 0.3953133626892045)]
    [InlineData(2000, 0.05, 8.74309579589503e-05)] // 2 × Smirnov
    [InlineData(200000, 0.002, 0.39995085369038097)]
    [InlineData(1000, 0.0008, 1.0)] // Ruben–Gambino
    [InlineData(10, 0.95, 1.9531250000000172e-13)] // Ruben–Gambino, upper end
    public void Kolmogorov_survival_equals_scipys_kstwo_sf(long n, double x, double expected)
    {
        var actual = KolmogorovSmirnov.KolmogorovSurvival(n, x);
        Assert.True(Math.Abs(actual - expected) <= Math.Max(1e-12, 1e-9 * expected), $"kstwo.sf({x}, {n}): {actual} vs scipy's {expected}");
    }

    [Fact]
    public void Chi_square_statistic_and_p_value_equal_scipys()
    {
        var (statistic, p) = DriftStatistics.ChiSquare([18, 22, 31, 29], [25, 25, 25, 25]);
        Assert.Equal(4.3999999999999995, statistic, 12);
        Assert.Equal(0.2213853871894879, p, 12);

        (statistic, p) = DriftStatistics.ChiSquare([5, 15, 40, 40], [10, 20, 30, 40]);
        Assert.Equal(7.083333333333334, statistic, 12);
        Assert.Equal(0.0692885571632859, p, 12);
    }

    [Theory]
    [InlineData(0.5, 3, 0.9188914116546758)]
    [InlineData(30, 10, 0.000856641210775301)]
    [InlineData(2.0, 1, 0.15729920705028105)]
    public void The_chi_square_tail_equals_scipys_chi2_sf(double x, int degrees, double expected) =>
        Assert.Equal(expected, DriftStatistics.ChiSquareSurvival(x, degrees), 12);

    [Fact]
    public void Jensen_Shannon_distance_equals_scipys()
    {
        Assert.Equal(0.16692996572597965, DriftStatistics.JensenShannon([0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25]), 12);
        Assert.Equal(0.8325546111576977, DriftStatistics.JensenShannon([1, 0, 0], [0, 0, 1]), 12); // disjoint: sqrt(ln 2)
        Assert.Equal(0.16692996572597965, DriftStatistics.JensenShannon([10, 20, 30, 40], [1, 1, 1, 1]), 12); // counts are normalised
    }

    [Fact]
    public void Wasserstein_distance_equals_scipys_and_its_normalised_form_divides_by_the_reference_spread()
    {
        double[] u = [0.0, 1.0, 3.0, 3.5, 7.2];
        double[] v = [5.0, 6.0, 8.0, 1.5];
        Assert.Equal(2.185, DriftStatistics.Wasserstein(u, v), 12);
        Assert.Equal(0.0, DriftStatistics.Wasserstein([1, 2, 3], [3, 1, 2]), 12);
        Assert.Equal(2.185 / 2.4848339984795764, DriftStatistics.NormalizedWasserstein(u, v), 12); // np.std(u)
    }

    [Fact]
    public void PSI_over_the_reference_deciles_equals_numpys()
    {
        Assert.Equal(0.5751374597524255, DriftStatistics.PopulationStabilityIndex(Reference, Current), 10);
        Assert.True(DriftStatistics.PopulationStabilityIndex(Reference, Reference) < 1e-12);
    }

    [Fact]
    public void Bad_input_names_the_argument_and_the_rule()
    {
        var e = Assert.Throws<ArgumentException>(() => DriftStatistics.ChiSquare([1, 2], [3, 0]));
        Assert.Contains("expected[1]", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => DriftStatistics.ChiSquare([1, 2], [1, 1]));
        Assert.Contains("must agree", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => DriftStatistics.Wasserstein([], [1]));
        Assert.Equal("u", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => DriftStatistics.PopulationStabilityIndex([1, double.NaN], [1]));
        Assert.Contains("NaN", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => DriftStatistics.PopulationStabilityIndex([1, 2], [1], bins: 1));
    }
}
