using System.Globalization;
using MlOps.Client.Monitoring;

namespace MlOps.Client.Tests.Monitoring;

public sealed class DriftDetectorTests
{
    private static double[] Normal(Random random, int n, double mean = 0, double sd = 1)
    {
        var values = new double[n];
        for (var i = 0; i < n; i++)
        {
            values[i] = mean + (sd * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        }

        return values;
    }

    private static DataWindow Window(IReadOnlyDictionary<string, double[]> columns, long index = 0)
    {
        var window = new DataWindow { Index = index };
        var rows = columns.Values.First().Length;
        for (var r = 0; r < rows; r++)
        {
            foreach (var (name, values) in columns)
            {
                window.Add(name, values[r]);
            }

            window.EndRow();
        }

        return window;
    }

    [Fact]
    public void Ks_from_the_profile_is_within_its_stated_error_of_scipys_statistic_over_the_raw_data()
    {
        // The fixed samples of DriftStatisticsTests: scipy's ks_2samp(reference, current).statistic = 0.315.
        var (reference, current) = DriftStatisticsTests.Samples();
        var profile = new ReferenceProfileBuilder().AddNumeric("x", reference).Build();
        var report = DriftDetector.Detect(profile, Window(new Dictionary<string, double[]> { ["x"] = current }));
        var x = Assert.Single(report.Features);
        Assert.Equal(DriftMethod.KolmogorovSmirnov, x.Method); // 200 reference values, continuous
        Assert.InRange(x.Statistic, 0.315 - profile.CdfError, 0.315 + profile.CdfError);
        Assert.True(x.Drifted);
        Assert.True(x.Score < 1e-5, $"p = {x.Score}");
    }

    [Fact]
    public void Wasserstein_from_the_profile_is_close_to_scipys_over_the_raw_data()
    {
        var (reference, current) = DriftStatisticsTests.Samples();
        var profile = new ReferenceProfileBuilder().AddNumeric("x", reference).Build();
        var sorted = current.Order().Select(v => (double)(float)v).ToArray();
        var exact = DriftStatistics.Wasserstein(reference, current);
        Assert.InRange(DriftDetector.Wasserstein(profile.Features[0], sorted), exact * 0.97, exact * 1.03);
    }

    [Fact]
    public void The_default_methods_are_evidentlys()
    {
        var random = new Random(1);
        var small = new ReferenceProfileBuilder()
            .AddNumeric("continuous", Normal(random, 500))
            .AddNumeric("three_values", [.. Enumerable.Range(0, 500).Select(i => (double)(i % 3))])
            .AddNumeric("binary", [.. Enumerable.Range(0, 500).Select(i => (double)(i % 2))])
            .AddCategorical("city", Enumerable.Range(0, 500).Select(i => "c" + (i % 4)))
            .Build();
        var large = new ReferenceProfileBuilder()
            .AddNumeric("continuous", Normal(random, 5000))
            .AddNumeric("three_values", [.. Enumerable.Range(0, 5000).Select(i => (double)(i % 3))])
            .AddCategorical("city", Enumerable.Range(0, 5000).Select(i => "c" + (i % 4)))
            .Build();
        var window = new DataWindow();
        for (var i = 0; i < 100; i++)
        {
            window.Add("continuous", i / 100.0);
            window.Add("three_values", i % 3);
            window.Add("binary", i % 2);
            window.Add("city", "c" + (i % 4));
            window.EndRow();
        }

        var methods = DriftDetector.Detect(small, window).Features.ToDictionary(f => f.Name, f => f.Method);
        Assert.Equal(DriftMethod.KolmogorovSmirnov, methods["continuous"]);
        Assert.Equal(DriftMethod.ChiSquare, methods["three_values"]);
        Assert.Equal(DriftMethod.ZTest, methods["binary"]);
        Assert.Equal(DriftMethod.ChiSquare, methods["city"]);
        methods = DriftDetector.Detect(large, window).Features.ToDictionary(f => f.Name, f => f.Method);
        Assert.Equal(DriftMethod.Wasserstein, methods["continuous"]);
        Assert.Equal(DriftMethod.JensenShannon, methods["three_values"]);
        Assert.Equal(DriftMethod.JensenShannon, methods["city"]);

        var options = new DriftOptions { NumericMethod = DriftMethod.PopulationStabilityIndex };
        options.Methods["city"] = DriftMethod.ChiSquare;
        methods = DriftDetector.Detect(large, window, options).Features.ToDictionary(f => f.Name, f => f.Method);
        Assert.Equal(DriftMethod.PopulationStabilityIndex, methods["continuous"]);
        Assert.Equal(DriftMethod.ChiSquare, methods["city"]);
    }

    [Fact]
    public void Category_tests_equal_scipys_on_the_profiles_counts()
    {
        // Reference counts a:50 b:30 c:20; window a:20 b:20 c:10 → expected 25, 15, 10:
        // scipy.stats.chisquare([20, 20, 10], [25, 15, 10]) = (2.666666666666667, 0.2635971381157267).
        var profile = new ReferenceProfileBuilder()
            .AddCategorical("k", [.. Enumerable.Repeat("a", 50), .. Enumerable.Repeat("b", 30), .. Enumerable.Repeat("c", 20)])
            .Build();
        var window = new DataWindow();
        foreach (var v in (string[])[.. Enumerable.Repeat("a", 20), .. Enumerable.Repeat("b", 20), .. Enumerable.Repeat("c", 10)])
        {
            window.Add("k", v);
            window.EndRow();
        }

        var k = Assert.Single(DriftDetector.Detect(profile, window).Features);
        Assert.Equal(DriftMethod.ChiSquare, k.Method);
        Assert.Equal(2.666666666666667, k.Statistic, 12);
        Assert.Equal(0.2635971381157267, k.Score, 12);

        // jensenshannon([0.5, 0.3, 0.2], [0.4, 0.4, 0.2]) = 0.07979472622921725
        var options = new DriftOptions { CategoricalMethod = DriftMethod.JensenShannon };
        k = Assert.Single(DriftDetector.Detect(profile, window, options).Features);
        Assert.Equal(0.07979472622921725, k.Score, 12);
        Assert.False(k.Drifted);

        // A category the training data never had: chi-square's expected count is 0 → p = 0 (scipy: inf statistic).
        window.Add("k", "d");
        window.EndRow();
        k = Assert.Single(DriftDetector.Detect(profile, window).Features);
        Assert.Equal(0, k.Score);
        Assert.True(k.Drifted);
    }

    [Fact]
    public void Z_test_equals_evidentlys_formula()
    {
        // Reference 40 % "no" of 500, window 55 % of 200: z = (0.4 − 0.55)/√(P(1−P)(1/500 + 1/200)), P = 310/700;
        // p = 2(1 − Φ(|z|)) = 0.0003069835938871446 (scipy.stats.norm.cdf).
        var profile = new ReferenceProfileBuilder()
            .AddCategorical("flag", [.. Enumerable.Repeat("no", 200), .. Enumerable.Repeat("yes", 300)])
            .Build();
        var window = new DataWindow();
        foreach (var v in (string[])[.. Enumerable.Repeat("no", 110), .. Enumerable.Repeat("yes", 90)])
        {
            window.Add("flag", v);
            window.EndRow();
        }

        var flag = Assert.Single(DriftDetector.Detect(profile, window).Features);
        Assert.Equal(DriftMethod.ZTest, flag.Method);
        Assert.Equal(0.0003069835938871446, flag.Score, 10);
    }

    [Fact]
    public void A_shift_in_one_feature_is_flagged_on_that_feature_only()
    {
        var random = new Random(3);
        var builder = new ReferenceProfileBuilder();
        string[] names = ["a", "b", "c", "d"];
        foreach (var name in names)
        {
            builder.AddNumeric(name, Normal(random, 800));
        }

        var profile = builder.Build();
        var columns = names.ToDictionary(n => n, n => Normal(random, 300, n == "c" ? 0.5 : 0));
        var report = DriftDetector.Detect(profile, Window(columns));
        Assert.Equal(["c"], report.Features.Where(f => f.Drifted).Select(f => f.Name));
        Assert.Equal(0.25, report.DriftedShare);
        Assert.False(report.DatasetDrift);
        Assert.Equal(0.05 / 4, report.Features[0].Threshold, 12); // Bonferroni over 4 features
    }

    [Theory]
    [InlineData(800, 200)] // KS, Bonferroni over the features
    [InlineData(20_000, 2000)] // normalised Wasserstein (at 2 000 rows a window's distance is about 0.03; at 500 rows, 0.06, and 5 % of windows pass 0.1 — see docs/monitoring.md)
    public void Fifty_windows_from_the_reference_distribution_raise_at_most_the_expected_share_of_alarms(int referenceRows, int windowRows)
    {
        var random = new Random(20261206);
        string[] names = ["f1", "f2", "f3", "f4", "f5"];
        var builder = new ReferenceProfileBuilder();
        foreach (var name in names)
        {
            builder.AddNumeric(name, Normal(random, referenceRows, 5, 2));
        }

        var profile = builder.Build();
        var alarms = 0;
        var datasetAlarms = 0;
        for (var w = 0; w < 50; w++)
        {
            var report = DriftDetector.Detect(profile, Window(names.ToDictionary(n => n, _ => Normal(random, windowRows, 5, 2)), w));
            alarms += report.AnyDrift ? 1 : 0;
            datasetAlarms += report.DatasetDrift ? 1 : 0;
        }

        // With Bonferroni, a window raises any alarm with probability ≤ 5 %: 2.5 expected in 50; P(Binomial(50, 0.05) ≥ 7) < 0.01.
        Assert.True(alarms <= 6, $"{alarms} of 50 windows raised an alarm");
        Assert.Equal(0, datasetAlarms);
    }

    [Fact]
    public void Bad_options_name_the_field_and_its_range()
    {
        var profile = new ReferenceProfileBuilder().AddNumeric("x", [1, 2, 3]).Build();
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => DriftDetector.Detect(profile, new DataWindow(), new DriftOptions { PValue = 1.5 }));
        Assert.Contains("DriftOptions.PValue", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_window_is_not_tested_and_never_drifts()
    {
        var profile = new ReferenceProfileBuilder().AddNumeric("x", [1, 2, 3, 4, 5, 6, 7]).Build();
        var report = DriftDetector.Detect(profile, new DataWindow());
        Assert.False(report.Features[0].Tested);
        Assert.False(report.DatasetDrift);
        Assert.Equal(0, report.DriftedShare);
        _ = CultureInfo.InvariantCulture;
    }
}
