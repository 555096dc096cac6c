using MlOps.Client.Formatting;

namespace MlOps.Client.Tests.Formatting;

/// <summary>Params and tags are stored as Python's <c>str()</c> writes them (values checked with CPython 3's <c>repr</c>).</summary>
public sealed class PythonFormatTests
{
    [Theory]
    [InlineData(1e-05, "1e-05")]
    [InlineData(1e16, "1e+16")]
    [InlineData(1e15, "1000000000000000.0")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(0.00012, "0.00012")]
    [InlineData(1.5e-07, "1.5e-07")]
    [InlineData(0.1, "0.1")]
    [InlineData(1.0, "1.0")]
    [InlineData(100.0, "100.0")]
    [InlineData(-2.5, "-2.5")]
    [InlineData(123456789.123, "123456789.123")]
    [InlineData(1.2345678901234568e+17, "1.2345678901234568e+17")]
    [InlineData(12345678901234567890.0, "1.2345678901234567e+19")]
    [InlineData(5e-324, "5e-324")]
    [InlineData(1.7976931348623157e+308, "1.7976931348623157e+308")]
    [InlineData(1e22, "1e+22")]
    [InlineData(0.0, "0.0")]
    [InlineData(-0.0, "-0.0")]
    [InlineData(double.NaN, "nan")]
    [InlineData(double.PositiveInfinity, "inf")]
    [InlineData(double.NegativeInfinity, "-inf")]
    public void Doubles_print_as_Pythons_repr(double value, string python) => Assert.Equal(python, PythonFormat.Float(value));

    [Theory]
    [InlineData(0.1f, "0.1")]
    [InlineData(3.4028235e38f, "3.4028235e+38")]
    [InlineData(1e-5f, "1e-05")]
    [InlineData(2f, "2.0")]
    public void Floats_print_as_numpys_str_of_a_float32(float value, string python) => Assert.Equal(python, PythonFormat.Float(value));

    [Fact]
    public void Other_values_print_as_Pythons_str()
    {
        Assert.Equal("None", PythonFormat.Value(null));
        Assert.Equal("True", PythonFormat.Value(true));
        Assert.Equal("42", PythonFormat.Value(42));
        Assert.Equal("plain", PythonFormat.Value("plain"));
        Assert.Equal("['a', 1, 2.5, None]", PythonFormat.Value(new object?[] { "a", 1, 2.5, null }));
        Assert.Equal("{'lr': 1e-05, 'layers': [64, 32]}", PythonFormat.Value(new Dictionary<string, object> { ["lr"] = 1e-5, ["layers"] = new[] { 64, 32 } }));
        Assert.Equal("[\"it's\", 'say \"hi\"', 'both \\' \"', 'a\\\\b\\n']", PythonFormat.Value(new[] { "it's", "say \"hi\"", "both ' \"", "a\\b\n" }));
    }
}
