using System.Text.Json.Nodes;
using WireMock;

namespace MlOps.Client.Tests.Fixtures;

public static class RequestAssert
{
    /// <summary>The request has the recorded method, path, query and (semantically) the recorded JSON body.</summary>
    public static void MatchesRecorded(RecordedExchange recorded, IRequestMessage actual, string[]? ignoreQuery = null, string[]? allowExtraFields = null)
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
            foreach (var key in actual.Query.Keys.Except(recorded.Query.Keys).Except(ignoreQuery ?? []))
            {
                Assert.Fail($"unexpected query parameter '{key}'");
            }
        }

        if (recorded.RequestJson is JsonObject expectedObject && allowExtraFields is { Length: > 0 })
        {
            var body = (JsonObject)RecordedServer.BodyOf(actual)!;
            foreach (var (key, value) in expectedObject)
            {
                Assert.True(JsonNode.DeepEquals(value, body[key]), $"field '{key}': sent {body[key]?.ToJsonString()}, recorded {value?.ToJsonString()}");
            }

            foreach (var (key, _) in body)
            {
                Assert.True(expectedObject.ContainsKey(key) || allowExtraFields.Contains(key), $"unexpected field '{key}'");
            }
        }
        else if (recorded.RequestJson is { } expected)
        {
            var body = RecordedServer.BodyOf(actual);
            Assert.True(JsonNode.DeepEquals(expected, body), $"body {body?.ToJsonString()} differs from the recorded {expected.ToJsonString()}");
            Assert.StartsWith("application/json", actual.Headers!["Content-Type"].Single(), StringComparison.Ordinal);
        }
    }
}
