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
        var offenders = SourceTree.LinesMatching(VariableLiteral(), f => f.EndsWith(Path.Combine("Configuration", "MlflowEnvironment.cs"), StringComparison.Ordinal));
        Assert.True(offenders.Count == 0, "environment variable names outside MlflowEnvironment:\n" + string.Join("\n", offenders));
    }

    [GeneratedRegex("\"(MLFLOW|MLOPS|XGBOOST|DATABRICKS)_[A-Z0-9_]+\"|\"(AZURE_STORAGE_[A-Z_]+|AWS_REGION|AWS_DEFAULT_REGION|AWS_PROFILE|AWS_REQUEST_[A-Z_]+)\"")]
    private static partial Regex VariableLiteral();
}
