using System.Text.Json.Nodes;
using MlOps.Client.Scoring;
using MlOps.Client.Tests.Fixtures;

namespace MlOps.Client.Tests.Scoring;

public class ScoringClientTests
{
    [Fact]
    public async Task Ping_version_and_the_four_payloads()
    {
        using var server = new RecordedServer();
        server.ServeStatus("GET", "/ping", 200, "\n", "application/json");
        server.ServeStatus("GET", "/version", 200, "2.22.1", "text/plain");
        server.ServeStatus("POST", "/invocations", 200, """{"predictions": [[0.1, 0.9], [0.8, 0.2]]}""");
        using var client = new MlflowScoringClient(server.Url, o => { o.Retry.MaxRetries = 0; o.Credential = MlflowCredential.Bearer("t"); });

        Assert.True(await client.PingAsync());
        Assert.Equal("2.22.1", await client.GetVersionAsync());
        var split = await client.PredictDataFrameSplitAsync(["a", "b"], [new object?[] { 1.0, "x" }, new object?[] { 2.5, null }]);
        await client.PredictDataFrameRecordsAsync([new Dictionary<string, object?> { ["a"] = 1, ["b"] = true }]);
        await client.PredictInstancesAsync(new JsonArray(new JsonArray(1, 2), new JsonArray(3, 4)));
        await client.PredictInputsAsync(new JsonObject { ["x"] = new JsonArray(1.5) });

        Assert.Equal([0.1, 0.9, 0.8, 0.2], split.AsDoubles());
        Assert.Equal(0.8, split.AsRows()[1][0]);
        var bodies = server.Requests.Where(r => r.Path == "/invocations").Select(r => RecordedServer.BodyOf(r)!).ToList();
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"dataframe_split":{"columns":["a","b"],"data":[[1.0,"x"],[2.5,null]]}}"""), bodies[0]));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"dataframe_records":[{"a":1,"b":true}]}"""), bodies[1]));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"instances":[[1,2],[3,4]]}"""), bodies[2]));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"inputs":{"x":[1.5]}}"""), bodies[3]));
        Assert.All(server.Requests, r => Assert.Equal("Bearer t", r.Headers!["Authorization"].Single()));
        await Assert.ThrowsAsync<ArgumentException>(() => client.PredictDataFrameSplitAsync(["a"], [new object?[] { 1, 2 }]));
    }

    [Fact]
    public async Task A_scoring_error_is_an_MlflowException_and_a_dead_server_does_not_ping()
    {
        using var server = new RecordedServer();
        server.ServeStatus("POST", "/invocations", 400, """{"error_code":"BAD_REQUEST","message":"Failed to parse input"}""");
        using var client = new MlflowScoringClient(server.Url, o => o.Retry.MaxRetries = 0);
        var ex = await Assert.ThrowsAsync<MlflowException>(() => client.PredictInputsAsync(new JsonArray(1)));
        Assert.Equal(("BAD_REQUEST", 400), (ex.ErrorCode, ex.Status));
        using var dead = new MlflowScoringClient("http://127.0.0.1:1", o => o.Retry.MaxRetries = 0);
        Assert.False(await dead.PingAsync());
    }
}
