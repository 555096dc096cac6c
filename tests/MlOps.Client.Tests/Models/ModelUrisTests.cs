using MlOps.Client.Models;

namespace MlOps.Client.Tests.Models;

/// <summary>Model URIs are read in one place, the way Python MLflow reads them.</summary>
public sealed class ModelUrisTests
{
    [Theory]
    [InlineData("runs:/abc123/model", "abc123", "model")]
    [InlineData("runs:///abc123/sub/dir/", "abc123", "sub/dir")]
    [InlineData("runs:/abc123", "abc123", "")]
    public void Runs_uris_give_run_and_path(string uri, string runId, string path)
    {
        Assert.True(ModelUris.TryParseRuns(uri, out var r, out var p));
        Assert.Equal((runId, path), (r, p));
    }

    [Theory]
    [InlineData("models:/iris/3", "iris", "3", null)]
    [InlineData("models:/iris@champion", "iris", null, "champion")]
    [InlineData("models:/team/iris/3", "team/iris", "3", null)]
    public void Models_uris_give_name_and_version_or_alias(string uri, string name, string? version, string? alias)
    {
        Assert.True(ModelUris.TryParseModels(uri, out var n, out var v, out var a));
        Assert.Equal((name, version, alias), (n, v, a));
    }

    [Fact]
    public void Malformed_uris_are_refused_and_others_are_not_model_uris()
    {
        Assert.Throws<ArgumentException>(() => ModelUris.TryParseModels("models:/iris", out _, out _, out _));
        Assert.Throws<ArgumentException>(() => ModelUris.TryParseRuns("runs:/", out _, out _));
        Assert.False(ModelUris.TryParseRuns("models:/iris/1", out _, out _));
        Assert.False(ModelUris.TryParseModels(Path.Combine("saved", "model"), out _, out _, out _));
    }
}
