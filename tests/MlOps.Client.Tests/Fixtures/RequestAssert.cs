using System.Text.Json.Nodes;
using WireMock;

namespace MlOps.Client.Tests.Fixtures;

public static class RequestAssert
{
    /// <summary>The request has the recorded method, path, query and (semantically) the recorded JSON body.</summary>
    public static void MatchesRecorded(RecordedExchange recorded, IRequestMessage actual, params string[] ignoreQuery)
    {
        Assert.Equal(recorded.Method, actual.Method);
        Assert.Equal(recorded.Path, actual.Path);
        foreach (var (key, value) in recorded.Query)
        {
            Assert.True(actual.Query!.ContainsKey(key), $"query parameter '{key}' missing");
            Assert.Equal(value, string.Join(",", actual.Query[key]));
        }

        if (actual.Query is not null)
        {
            foreach (var key in actual.Query.Keys.Except(recorded.Query.Keys).Except(ignoreQuery))
            {
                Assert.Fail($"unexpected query parameter '{key}'");
            }
        }

        if (recorded.RequestJson is { } expected)
        {
            var body = RecordedServer.BodyOf(actual);
            Assert.True(JsonNode.DeepEquals(expected, body), $"body {body?.ToJsonString()} differs from the recorded {expected.ToJsonString()}");
            Assert.StartsWith("application/json", actual.Headers!["Content-Type"].Single(), StringComparison.Ordinal);
        }
    }
}
