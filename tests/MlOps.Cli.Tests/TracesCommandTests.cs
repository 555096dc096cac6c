using System.Text.Json.Nodes;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;

namespace MlOps.Cli.Tests;

/// <summary><c>mlops traces search|show</c> as a process, against what a real MLflow 3.6 server answered (Python's recorded exchanges).</summary>
public sealed class TracesCommandTests : IDisposable
{
    private readonly WireMockServer _server = WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"], StartAdminInterface = false });
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-cli-traces-");

    public TracesCommandTests()
    {
        var exchanges = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Recorded", "traces", "tracing.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        JsonNode Seq(int n) => exchanges.Single(e => e["seq"]!.GetValue<int>() == n);
        void Serve(int n)
        {
            var e = Seq(n);
            _server.Given(Request.Create().WithPath(e["path"]!.GetValue<string>()).UsingMethod(e["method"]!.GetValue<string>()))
                .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(e["response"]!["json"]!.ToJsonString()));
        }

        Serve(19); // GET traces/<id>, with the assessment
        Serve(20); // batchGet: the spans
        Serve(21); // search, filtered
    }

    public void Dispose()
    {
        _server.Stop();
        _dir.Delete(recursive: true);
    }

    private Dictionary<string, string> Env => new() { ["MLFLOW_TRACKING_URI"] = _server.Url!, ["COLUMNS"] = "200" };

    [Fact]
    public async Task Show_prints_the_span_tree_with_types_inputs_outputs_tokens_and_the_assessment()
    {
        var result = await Mlops.RunAsync(_dir.FullName, Env, "traces", "show", "tr-ff22bfff0c631e5a9c8e62171b0abe8a");

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.Output.Split('\n').Select(l => l.TrimEnd()).ToList();
        Assert.StartsWith("tr-ff22bfff0c631e5a9c8e62171b0abe8a  OK  1.339 s  experiment 9  run 9bc8ee72c164421ba1a5ff218079a2b1", lines[0], StringComparison.Ordinal);
        Assert.Contains(lines, l => l.StartsWith("  agent [AGENT] ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("    get_weather [TOOL] ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("      chat [CHAT_MODEL] ", StringComparison.Ordinal));
        Assert.Contains("        tokens: {\"input_tokens\":12,\"output_tokens\":5,\"total_tokens\":17}", lines);
        Assert.Contains("    in:  {\"question\":\"What is the weather in Paris?\"}", lines);
        Assert.Contains("  assessment helpful = true by HUMAN bob: answered the question", lines);
    }

    [Fact]
    public async Task Search_writes_the_traces_as_json_and_show_as_json()
    {
        var search = await Mlops.RunAsync(_dir.FullName, Env, "traces", "search", "-x", "9", "--filter", "tags.team = 'recording'", "-f", "json");
        var show = await Mlops.RunAsync(_dir.FullName, Env, "traces", "show", "tr-ff22bfff0c631e5a9c8e62171b0abe8a", "-f", "json");

        Assert.True(search.ExitCode == 0, search.ToString());
        var row = Assert.Single(JsonNode.Parse(search.Output)!.AsArray());
        Assert.Equal("tr-ff22bfff0c631e5a9c8e62171b0abe8a", row!["trace_id"]!.GetValue<string>());
        Assert.Equal("agent", row["name"]!.GetValue<string>());
        Assert.Equal("9bc8ee72c164421ba1a5ff218079a2b1", row["source_run"]!.GetValue<string>());
        var sent = JsonNode.Parse(_server.LogEntries.First(e => e.RequestMessage!.Path == "/api/3.0/mlflow/traces/search").RequestMessage!.Body!)!;
        Assert.Equal("tags.team = 'recording'", sent["filter"]!.GetValue<string>());

        Assert.True(show.ExitCode == 0, show.ToString());
        var trace = JsonNode.Parse(show.Output)!;
        Assert.Equal(3, trace["spans"]!.AsArray().Count);
        Assert.Equal("CHAT_MODEL", trace["spans"]!.AsArray().Single(s => s!["name"]!.GetValue<string>() == "chat")!["span_type"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_embedded_store_s_traces_are_searched_and_shown()
    {
        const string traceId = "tr-0af7651916cd43dd8448eb211c80319c";
        await using (var store = MlOps.Client.Stores.SqliteTrackingStore.Open("sqlite:///" + Path.Combine(_dir.FullName, "mlflow.db"), MlOps.Client.Stores.SqliteSchema.Mlflow3))
        {
            var start = DateTimeOffset.FromUnixTimeMilliseconds(1_765_000_000_000);
            await store.LogSpansAsync("0", [new MlOps.Client.TraceSpan
            {
                TraceId = traceId, SpanId = "b7ad6b7169203331", Name = "agent", Status = "OK", StartTime = start, EndTime = start.AddMilliseconds(250),
                Attributes = new Dictionary<string, System.Text.Json.JsonElement>
                {
                    ["mlflow.spanType"] = System.Text.Json.JsonDocument.Parse("\"AGENT\"").RootElement.Clone(),
                    ["mlflow.spanInputs"] = System.Text.Json.JsonDocument.Parse("""{"question": "weather in Paris?"}""").RootElement.Clone(),
                },
            }]);
            await store.StartTraceAsync(new MlOps.Client.TraceInfo
            {
                TraceId = traceId, ExperimentId = "0", RequestTime = start, ExecutionDuration = TimeSpan.FromMilliseconds(250), State = "OK",
                Tags = new Dictionary<string, string> { ["mlflow.traceName"] = "agent", ["team"] = "support" },
            });
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var search = await Mlops.RunAsync(_dir.FullName, null, "traces", "search", "-x", "0", "--filter", "tags.team = 'support'", "-f", "csv");
        Assert.True(search.ExitCode == 0, search.Error);
        Assert.Contains(traceId + ",", search.Output, StringComparison.Ordinal);
        var show = await Mlops.RunAsync(_dir.FullName, null, "traces", "show", traceId);
        Assert.True(show.ExitCode == 0, show.Error);
        Assert.Contains("agent", show.Output, StringComparison.Ordinal);
        Assert.Contains("AGENT", show.Output, StringComparison.Ordinal);
        Assert.Contains("weather in Paris?", show.Output, StringComparison.Ordinal);
    }
}
