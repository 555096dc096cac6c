using System.Text.RegularExpressions;

namespace MlOps.Client.Tests.Architecture;

/// <summary>
/// Environment variable names live in one place, <c>MlflowEnvironment</c>: a reader finds every variable the SDK reads
/// there (with its meaning), and a name is never spelled twice. The check scans every source file of <c>src/</c> for a
/// string literal that is exactly such a name.
/// </summary>
public sealed partial class EnvironmentNameTests
{
    [Fact]
    public void Environment_variable_names_are_spelled_only_in_MlflowEnvironment()
    {
        var root = SourceTree.Root;
        var offenders = SourceTree.Files()
            .Where(f => !f.EndsWith(Path.Combine("Configuration", "MlflowEnvironment.cs"), StringComparison.Ordinal))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (File: Path.GetRelativePath(root, f), Line: i + 1, Text: line)))
            .Where(l => !l.Text.TrimStart().StartsWith("///", StringComparison.Ordinal) && VariableLiteral().IsMatch(l.Text))
            .Select(l => $"{l.File}:{l.Line}: {l.Text.Trim()}")
            .ToList();
        Assert.True(offenders.Count == 0, "environment variable names outside MlflowEnvironment:\n" + string.Join("\n", offenders));
    }

    [GeneratedRegex("\"(MLFLOW|MLOPS|XGBOOST|DATABRICKS)_[A-Z0-9_]+\"|\"(AZURE_STORAGE_[A-Z_]+|AWS_REGION|AWS_DEFAULT_REGION|AWS_PROFILE|AWS_REQUEST_[A-Z_]+)\"")]
    private static partial Regex VariableLiteral();
}
