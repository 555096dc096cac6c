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
    [InlineData("models:/iris/3", null, "iris", "3", null, null)]
    [InlineData("models:/iris@champion", null, "iris", null, null, "champion")]
    [InlineData("models:/m-d1406ef4599a4f8aab3b619c20d68c2a", "m-d1406ef4599a4f8aab3b619c20d68c2a", null, null, null, null)]
    [InlineData("models:/iris/Production", null, "iris", null, "Production", null)]
    [InlineData("models:/iris/latest", null, "iris", null, null, null)]
    [InlineData("models:/iris/LATEST", null, "iris", null, null, null)]
    public void Models_uris_are_read_as_python_reads_them(string uri, string? modelId, string? name, string? version, string? stage, string? alias)
    {
        Assert.True(ModelUris.TryParseModels(uri, out var parsed));
        Assert.Equal(new ModelsUri(modelId, name, version, stage, alias), parsed);
    }

    [Fact]
    public void Malformed_uris_are_refused_and_others_are_not_model_uris()
    {
        Assert.Throws<ArgumentException>(() => ModelUris.TryParseModels("models:/team/iris/3", out _)); // Python: at most name/suffix
        Assert.Throws<ArgumentException>(() => ModelUris.TryParseModels("models:/", out _));
        Assert.Throws<ArgumentException>(() => ModelUris.TryParseModels("models:/iris@", out _));
        Assert.Throws<ArgumentException>(() => ModelUris.TryParseRuns("runs:/", out _, out _));
        Assert.False(ModelUris.TryParseRuns("models:/iris/1", out _, out _));
        Assert.False(ModelUris.TryParseModels(Path.Combine("saved", "model"), out _));
    }
}
