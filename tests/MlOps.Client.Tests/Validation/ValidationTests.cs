using MlOps.Client.Tests.Fixtures;
using MlOps.Client.Validation;

namespace MlOps.Client.Tests.Validation;

/// <summary>Each limit of <see cref="MlflowLimits"/> is checked before any request, naming field, size and limit.</summary>
public class ValidationTests
{
    private const string RunId = "e0615394aa0f4901b930c39ef92bfa3b";

    private static async Task<MlflowValidationException> Refused(Func<MlflowClient, Task> call, params string[] expected)
    {
        using var server = new RecordedServer();
        using var client = server.CreateClient();
        var ex = await Assert.ThrowsAsync<MlflowValidationException>(() => call(client));
        foreach (var text in expected)
        {
            Assert.Contains(text, ex.Message, StringComparison.Ordinal);
        }

        Assert.Empty(server.Requests);
        Assert.Equal(MlflowErrorCodes.InvalidParameterValue, ex.ErrorCode);
        return ex;
    }

    private static RunBatch Batch(int metrics = 0, int parameters = 0, int tags = 0)
    {
        var b = new RunBatch();
        for (var i = 0; i < metrics; i++)
        {
            b.Metrics.Add(new Metric("m" + i, i, 1, 0));
        }

        for (var i = 0; i < parameters; i++)
        {
            b.Params.Add(new Param("p" + i, "v"));
        }

        for (var i = 0; i < tags; i++)
        {
            b.Tags.Add(new RunTag("t" + i, "v"));
        }

        return b;
    }

    [Fact]
    public async Task Batch_limits()
    {
        await Refused(c => c.LogBatchAsync(RunId, Batch(metrics: 1001)), "at most 1000 metrics", "Got 1001");
        await Refused(c => c.LogBatchAsync(RunId, Batch(parameters: 101)), "at most 100 params", "Got 101");
        await Refused(c => c.LogBatchAsync(RunId, Batch(tags: 101)), "at most 100 tags", "Got 101");
        await Refused(c => c.LogBatchAsync(RunId, Batch(metrics: 950, parameters: 51)), "at most 1000 metrics, params, and tags", "Got 1001");
        var dup = Batch();
        dup.Params.Add(new Param("dup", "a"));
        dup.Params.Add(new Param("dup", "b"));
        await Refused(c => c.LogBatchAsync(RunId, dup), "'dup'");
    }

    [Fact]
    public async Task Key_and_value_limits()
    {
        var ex = await Refused(c => c.LogMetricAsync(RunId, new string('k', 251), 1), "251", "250");
        Assert.Equal("Metric name", ex.Field);
        await Refused(c => c.LogMetricAsync(RunId, "bad*key", 1), "bad*key", "alphanumerics");
        await Refused(c => c.LogMetricAsync(RunId, "../escape", 1), "../escape", "resolve to other names");
        await Refused(c => c.LogMetricAsync(RunId, "", 1), "key name must be provided");
        await Refused(c => c.LogParamAsync(RunId, "p", new string('v', 6001)), "'p'", "6001", "6000");
        await Refused(c => c.SetTagAsync(RunId, "t", new string('v', 8001)), "'t'", "8001", "8000");
        await Refused(c => c.CreateExperimentAsync(new string('e', 501)), "501", "500");
        await Refused(c => c.CreateExperimentAsync("x", tags: new Dictionary<string, string> { ["k"] = new string('v', 5001) }), "5001", "5000");
        await Refused(c => c.LogMetricAsync(RunId, "m", 1, 0, DateTimeOffset.FromUnixTimeMilliseconds(-5)), "timestamp", "-5");
        await Refused(c => c.SearchRunsPageAsync(new SearchRunsOptions { PageSize = 50_001, ExperimentIds = { "1" } }), "50000", "50001");
        await Refused(c => c.SearchRunsPageAsync(new SearchRunsOptions()), "experiment id");
    }

    [Fact]
    public async Task Dataset_limits()
    {
        DatasetInput Input(Dataset d, params InputTag[] tags) => new() { Dataset = d, Tags = tags };
        var ok = new Dataset { Name = "d", Digest = "x", SourceType = "local", Source = "{}" };
        await Refused(c => c.LogInputsAsync(RunId, [Input(new Dataset { Name = new string('n', 501), SourceType = "local", Source = "{}" })]), "Dataset name", "501", "500");
        await Refused(c => c.LogInputsAsync(RunId, [Input(new Dataset { Name = "d", Digest = new string('x', 37), SourceType = "local", Source = "{}" })]), "digest", "37", "36");
        await Refused(c => c.LogInputsAsync(RunId, [Input(new Dataset { Name = "d", SourceType = "local", Source = new string('s', 65_536) })]), "source", "65536", "65535");
        await Refused(c => c.LogInputsAsync(RunId, [Input(ok, new InputTag(new string('k', 256), "v"))]), "256", "255");
        await Refused(c => c.LogInputsAsync(RunId, [Input(ok, new InputTag("k", new string('v', 501)))]), "501", "500");
    }

    [Theory]
    [InlineData("loss", true)]
    [InlineData("train/loss", true)]
    [InlineData("eval-metric 1.0:final", true)]
    [InlineData("ümlaut_ok", true)]
    [InlineData("/abs", false)]
    [InlineData("a//b", false)]
    [InlineData("a/./b", false)]
    [InlineData("trailing/", false)]
    [InlineData(".", false)]
    [InlineData("a\"b", false)]
    public void Key_rules_follow_MLflow(string key, bool valid) => Assert.Equal(valid, MlflowValidator.CheckKey(key) is null);
}
