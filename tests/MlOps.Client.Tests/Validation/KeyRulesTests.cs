using MlOps.Client.Validation;

namespace MlOps.Client.Tests.Validation;

/// <summary>
/// Key rules as MLflow's <c>mlflow/utils/validation.py</c> (2.22): <c>re.match(r"^[/\w.\- :]*$")</c> with Python's
/// Unicode <c>\w</c>, <c>posixpath.normpath</c> uniqueness, lengths in code points. The good and bad names are those of
/// MLflow's <c>tests/utils/test_validation.py</c>; the Unicode rows are what a 2.22 server accepted or refused.
/// </summary>
public sealed class KeyRulesTests
{
    [Theory]
    [InlineData("a")]
    [InlineData("Ab-5_")]
    [InlineData("a/b/c")]
    [InlineData("a.b.c")]
    [InlineData(".a")]
    [InlineData("b.")]
    [InlineData("a..a/._./o_O/.e.")]
    [InlineData("a b/c d")]
    [InlineData("epoch:1")]        // colon: allowed except on Windows servers
    [InlineData("x²")]             // No (other number): Python's \w
    [InlineData("Ⅷ")]              // Nl (letter number)
    [InlineData("Größe/μ")]        // letters of any script
    [InlineData("名前")]
    [InlineData("loss\n")]         // '$' matches before a final newline in Python's re
    public void MLflows_good_names_pass(string name)
    {
        Assert.Null(MlflowValidator.CheckKey(name));
        MlflowValidator.ValidateMetricKey(name);
    }

    [Theory]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("/")]
    [InlineData("..")]
    [InlineData("//")]
    [InlineData("a//b")]
    [InlineData("a/./b")]
    [InlineData("/a")]
    [InlineData("a/")]
    [InlineData("\\")]
    [InlineData("./")]
    [InlineData("/./")]
    [InlineData("e\u0301")]        // a combining mark: not \w in Python (the server refuses it)
    [InlineData("x\u203fy")]       // connector punctuation other than '_'
    [InlineData("a\tb")]
    [InlineData("a\nb")]
    [InlineData("😀")]             // So (symbol)
    public void MLflows_bad_names_are_refused_naming_the_key(string name)
    {
        var error = Assert.Throws<MlflowValidationException>(() => MlflowValidator.ValidateMetricKey(name));
        Assert.Contains("Metric name", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lengths_are_counted_in_code_points_as_Pythons_len()
    {
        var emoji = string.Concat(Enumerable.Repeat("😀", 3_001)); // 6,002 UTF-16 units, 3,001 code points
        MlflowValidator.ValidateParam("p", emoji);                   // the limit is 6,000: a 2.22 server stores it
        var tooLong = string.Concat(Enumerable.Repeat("😀", 6_001));
        var error = Assert.Throws<MlflowValidationException>(() => MlflowValidator.ValidateParam("p", tooLong));
        Assert.Contains("length 6001", error.Message, StringComparison.Ordinal);
        Assert.Contains("6000", error.Message, StringComparison.Ordinal);

        var key = string.Concat(Enumerable.Repeat("名", 250));
        Assert.Null(MlflowValidator.CheckKey(key));
        Assert.Contains("251", MlflowValidator.CheckKey(key + "名"), StringComparison.Ordinal);
    }
}
