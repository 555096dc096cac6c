using System.Globalization;
using System.Text;
using MlOps.Client.Monitoring;

namespace MlOps.Client.Tests.Monitoring;

public sealed class ReferenceProfileTests
{
    private static double[] Normal(int n, double mean, double sd, int seed)
    {
        var random = new Random(seed);
        var values = new double[n];
        for (var i = 0; i < n; i++)
        {
            // Box–Muller: the same numbers on every run.
            var u1 = 1 - random.NextDouble();
            var u2 = random.NextDouble();
            values[i] = mean + (sd * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }

        return values;
    }

    [Fact]
    public void A_profile_of_100_features_is_under_100_KB_and_round_trips_through_its_json()
    {
        var builder = new ReferenceProfileBuilder();
        for (var f = 0; f < 100; f++)
        {
            builder.AddNumeric("f" + f, Normal(10_000, f, 1 + f, f));
        }

        builder.AddTarget([.. Enumerable.Range(0, 10_000).Select(i => (float)(i % 3))], categorical: true);
        builder.AddPredictedClasses("prediction", Enumerable.Range(0, 10_000).Select(i => (i % 3).ToString(CultureInfo.InvariantCulture)));
        var profile = builder.Build();
        var json = profile.ToJson();
        Assert.True(Encoding.UTF8.GetByteCount(json) <= 100 * 1024, $"{Encoding.UTF8.GetByteCount(json)} bytes for 100 features");

        var read = ReferenceProfile.Parse(Encoding.UTF8.GetBytes(json));
        Assert.Equal(json, read.ToJson());
        Assert.Equal(10_000, read.Rows);
        Assert.Equal(100, read.Features.Count);
        Assert.Equal(FeatureKind.Categorical, read.Target!.Kind);
        Assert.Equal(3, read.Target.Categories.Count);
        Assert.Equal("prediction", Assert.Single(read.Predictions).Name);
        // In memory and after the round trip: the same numbers (float32 of six digits).
        Assert.Equal(profile.Features[7].Quantiles, read.Features[7].Quantiles);
        Assert.Equal(profile.Features[7].StandardDeviation, read.Features[7].StandardDeviation);
    }

    [Fact]
    public void Counts_moments_and_discrete_values_are_exact()
    {
        var profile = new ReferenceProfileBuilder()
            .AddNumeric("x", [1, 2, 2, 3, double.NaN, 4])
            .AddCategorical("color", ["red", "blue", null, "red"])
            .Build();
        var x = profile.Feature("x")!;
        Assert.Equal(5, x.Count);
        Assert.Equal(1, x.Missing);
        Assert.Equal(1, x.Min);
        Assert.Equal(4, x.Max);
        Assert.Equal(2.4, x.Mean!.Value, 5);
        Assert.Equal(Math.Sqrt(1.04), x.StandardDeviation!.Value, 5); // numpy's population std, six significant digits
        Assert.Equal(4, x.Distinct);
        Assert.Equal(2, x.Categories["2"]);
        Assert.Equal(0.6, x.Cdf(2), 12);
        Assert.Equal(0.2, x.CdfBelow(2), 12);

        var color = profile.Feature("color")!;
        Assert.Equal(3, color.Count);
        Assert.Equal(1, color.Missing);
        Assert.Equal(2, color.Categories["red"]);
        Assert.Equal(2, color.Distinct);
    }

    [Fact]
    public void A_sampled_column_keeps_its_quantiles_within_the_stated_error_of_the_exact_ones()
    {
        // 1 000 000 values, profiled from a 100 000-value sample: every stored quantile's exact rank is within the
        // sampling part of CdfError of its nominal rank.
        var values = Normal(1_000_000, 10, 3, 42);
        var profile = new ReferenceProfileBuilder().AddNumeric("x", values).Build();
        var sorted = values.ToArray();
        Array.Sort(sorted);
        var feature = profile.Features[0];
        var samplingError = profile.CdfError - 0.01;
        Assert.True(samplingError is > 0 and < 0.006, $"stated sampling error {samplingError}");
        for (var k = 1; k < 100; k++)
        {
            var rank = (double)UpperBound(sorted, feature.Quantiles[k]) / sorted.Length;
            Assert.True(Math.Abs(rank - (k / 100.0)) <= samplingError + 1e-6, $"quantile {k}%: exact rank {rank}");
        }

        // Moments are exact whatever the sampling (float32 of six digits).
        Assert.Equal(values.Average(), feature.Mean!.Value, 4);
    }

    [Fact]
    public void Exact_below_the_sample_capacity_numpy_quantiles()
    {
        var values = Enumerable.Range(0, 200).Select(i => (double)((i * 37) % 200)).ToArray();
        var feature = new ReferenceProfileBuilder().AddNumeric("x", values).Build().Features[0];
        Assert.Equal(0, feature.Quantiles[0]);
        Assert.Equal(199, feature.Quantiles[100]);
        Assert.Equal(99.5, feature.Quantiles[50]); // np.quantile(range(200), 0.5)
        Assert.Equal(19.9, feature.Quantiles[10], 5);
    }

    [Fact]
    public void Loading_a_folder_without_a_profile_says_what_is_missing()
    {
        var dir = Directory.CreateTempSubdirectory("mlops-profile-");
        try
        {
            var ex = Assert.Throws<FileNotFoundException>(() => ReferenceProfile.Load(dir.FullName));
            Assert.Contains(ReferenceProfile.FileName, ex.Message, StringComparison.Ordinal);
            Assert.Throws<FormatException>(() => ReferenceProfile.Parse("""{"format":"other"}"""u8));
            Assert.Throws<FormatException>(() => ReferenceProfile.Parse("""{"format":"mlops-reference-profile","version":9}"""u8));
        }
        finally
        {
            dir.Delete(true);
        }
    }

    private static int UpperBound(double[] sorted, double x)
    {
        var i = Array.BinarySearch(sorted, x);
        if (i < 0)
        {
            return ~i;
        }

        while (i < sorted.Length && sorted[i] == x)
        {
            i++;
        }

        return i;
    }
}
