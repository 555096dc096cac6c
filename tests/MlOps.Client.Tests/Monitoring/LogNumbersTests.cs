using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MlOps.Client.Monitoring;

namespace MlOps.Client.Tests.Monitoring;

public sealed class LogNumbersTests
{
    private static string Written(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            write(json);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    [Theory]
    [InlineData(5.1, "5.1")]
    [InlineData(5.0, "5")]
    [InlineData(0.0, "0")]
    [InlineData(-3.25, "-3.25")]
    [InlineData(123456.789, "123456.789")]
    [InlineData(0.000001, "0.000001")]
    [InlineData(0.1 + 0.2, "0.30000000000000004")] // no short decimal reads back as it: the general formatter's digits
    [InlineData(1e300, "1E+300")]
    [InlineData(-0.0, "-0")]
    public void A_double_is_written_in_its_shortest_form(double value, string expected) =>
        Assert.Equal(expected, Written(json => LogNumbers.Write(json, value)));

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void A_number_that_is_not_finite_is_null(double value)
    {
        Assert.Equal("null", Written(json => LogNumbers.Write(json, value)));
        Assert.Equal("null", Written(json => LogNumbers.Write(json, (float)value)));
    }

    [Fact]
    public void A_float32_is_written_as_itself_not_as_its_double_expansion()
    {
        // A classifier's probability: the double of this float prints as 0.9482152462005615.
        Assert.Equal("0.94821525", Written(json => LogNumbers.Write(json, 0.94821525f)));
        Assert.Equal("5.1", Written(json => LogNumbers.Write(json, 5.1f)));
    }

    [Fact]
    public void Every_number_reads_back_as_itself_in_no_more_digits_than_the_general_formatter()
    {
        var random = new Random(20261206);
        for (var i = 0; i < 200_000; i++)
        {
            // Short decimals (what clients send), arbitrary doubles and floats of every magnitude the fast path takes and beyond.
            var scale = Math.Pow(10, random.Next(-9, 12));
            var d = i % 2 == 0 ? Math.Round(random.NextDouble() * scale, random.Next(0, 8)) : (random.NextDouble() - 0.5) * scale;
            var text = Written(json => LogNumbers.Write(json, d));
            Assert.Equal(d, double.Parse(text, CultureInfo.InvariantCulture));
            Assert.True(Digits(text) <= Digits(d.ToString("R", CultureInfo.InvariantCulture)), $"{d:R} written as {text}");

            var f = (float)d;
            var single = Written(json => LogNumbers.Write(json, f));
            Assert.Equal(f, float.Parse(single, CultureInfo.InvariantCulture));
            Assert.True(Digits(single) <= Digits(f.ToString("R", CultureInfo.InvariantCulture)), $"{f:R} written as {single}");
        }
    }

    /// <summary>Significant digits of a decimal text (with or without an exponent).</summary>
    private static int Digits(string text)
    {
        var mantissa = text.Split('E', 'e')[0].TrimStart('-').Replace(".", "", StringComparison.Ordinal).TrimStart('0');
        return Math.Max(1, mantissa.TrimEnd('0').Length);
    }
}
