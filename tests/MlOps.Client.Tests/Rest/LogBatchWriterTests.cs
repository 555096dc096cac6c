using System.Text;
using System.Text.Json;
using MlOps.Client.Rest;
using MlOps.Client.Tests.Fixtures;
using MlOps.Client.Tracking;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace MlOps.Client.Tests.Rest;

/// <summary>
/// The uploader's log-batch requests are written straight from its metric rows (issue V: no <see cref="Metric"/> object
/// per value): the bytes must be those the serializer writes for the same metrics, which is what was sent before.
/// </summary>
public sealed class LogBatchWriterTests
{
    private static readonly MetricLink Link = new("m-4354cf06f15548849112e7b7a3ab9856", "iris-test", "b90c1eab");

    public static TheoryData<string> Sections => ["metrics, params and tags", "metrics only", "params only", "tags only", "params and tags"];

    private static readonly MetricRow[] Rows =
    [
        new("loss", 0.25, 1795382460915, 4),
        new("loss", -0.0, 0, 0),
        new("weird", double.NaN, 1795382460925, 0),
        new("weird", double.PositiveInfinity, 1795382460942, 2),
        new("weird", double.NegativeInfinity, 1795382460957, 3),
        new("tiny", double.Epsilon, 1, long.MaxValue),
        new("huge", double.MaxValue, long.MaxValue, -5),
        new("third", 1.0 / 3, 2, 1),
        new("integral", 12345678901234, 3, 2),
        new("accuracy", 0.93, 1795382460875, 2, Link),
        new("model only", 0.5, 1, 1, new MetricLink("m-1", null, null)),
        new("dataset only", 0.5, 1, 1, new MetricLink(null, "train", null)),
    ];

    // Not a key the run scope lets through, but a row's key is escaped as the serializer escapes it all the same.
    private static readonly MetricRow[] WriterRows = [.. Rows, new("escaped <&>' \"quote\" \\ é 日本", 1, 1, 1)];

    private static readonly Param[] Params = [new("max_depth", "6"), new("path", "C:\\data\\\"iris\".csv <b>"), new("unicode", "ñ 日本 \u0001")];

    private static readonly RunTag[] Tags = [new("team", "calm-owl-1"), new("note", "line\nbreak\ttab </script>")];

    [Theory]
    [MemberData(nameof(Sections))]
    public void The_rows_are_written_byte_for_byte_as_the_serializer_writes_the_same_metrics(string sections)
    {
        var metrics = sections.Contains("metrics", StringComparison.Ordinal) ? WriterRows : [];
        var parameters = sections.Contains("params", StringComparison.Ordinal) ? Params : [];
        var tags = sections.Contains("tags", StringComparison.Ordinal) ? Tags : [];

        var body = new PooledBufferWriter(64); // small, so that the writer has to grow it
        LogBatchWriter.Write(body, "5ba1d8cc3cf74b5fa6bc1ea4b9b38c97", metrics, parameters, tags);

        var expected = JsonSerializer.SerializeToUtf8Bytes(
            new LogBatchRequest("5ba1d8cc3cf74b5fa6bc1ea4b9b38c97", metrics.Length == 0 ? null : [.. metrics.Select(m => m.ToMetric())],
                parameters.Length == 0 ? null : parameters, tags.Length == 0 ? null : tags),
            MlflowJsonContext.Default.LogBatchRequest);
        Assert.Equal(Encoding.UTF8.GetString(expected), Encoding.UTF8.GetString(body.WrittenMemory.Span));
        Assert.True(expected.AsSpan().SequenceEqual(body.WrittenMemory.Span));
        body.Dispose();
    }

    [Fact]
    public void A_row_and_its_metric_stand_for_each_other_links_included()
    {
        foreach (var row in Rows)
        {
            Assert.Equal(row, MetricRow.Of(row.ToMetric()));
        }

        var withRun = new Metric("a", 1, 2, 3) { RunId = "r", ModelId = "m-1" };
        Assert.Equal(new MetricRow("a", 1, 2, 3, new MetricLink("m-1", null, null)), MetricRow.Of(withRun)); // a log-batch carries no run id per metric
    }

    [Fact]
    public async Task The_uploader_sends_what_the_client_sent_for_the_same_entities_and_checks_them_the_same()
    {
        using var server = new RecordedServer();
        server.ServeV3("012-runs-create");
        server.Server.Given(Request.Create().WithPath("/api/2.0/mlflow/runs/log-batch").UsingPost()).RespondWith(Response.Create().WithStatusCode(200).WithBody("{}"));
        server.ServeV3("100-runs-update-finished");
        using var client = server.CreateClient();
        string runId;
        await using (var tracker = new Tracker(client, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false }))
        {
            using var run = await tracker.StartRunAsync("m", new StartRunOptions { ExperimentId = "1" });
            runId = run.RunId;
            foreach (var row in Rows)
            {
                run.LogMetric(row.Key, row.Value, row.Step, row.Link?.ModelId, row.Link?.DatasetName is { } name ? new Dataset { Name = name, Digest = row.Link.DatasetDigest } : null);
            }

            run.LogParams(Params.ToDictionary(p => p.Key, p => p.Value));
            foreach (var t in Tags)
            {
                run.SetTag(t.Key, t.Value);
            }
        }

        var sent = server.Requests.Where(r => r.Path == "/api/2.0/mlflow/runs/log-batch").ToList();
        Assert.NotEmpty(sent);
        var requests = sent.Select(r => JsonSerializer.Deserialize(r.Body!, MlflowJsonContext.Default.LogBatchRequest)!).ToList();
        for (var i = 0; i < sent.Count; i++)
        {
            // Read back and written again by the serializer (as the client wrote a LogBatchRequest): the very same bytes.
            Assert.Equal(JsonSerializer.Serialize(requests[i], MlflowJsonContext.Default.LogBatchRequest), sent[i].Body);
            Assert.Equal(runId, requests[i].RunId);
        }

        // And they carry what was logged: values (NaN, ±Infinity, -0), steps and links; the timestamps are the tracker's.
        var logged = Rows.ToDictionary(r => (r.Key, r.Step)); // (key, step) tells the rows apart: requests may arrive in any order
        var sentRows = requests.SelectMany(r => r.Metrics ?? []).Select(MetricRow.Of).ToList();
        Assert.Equal(Rows.Length, sentRows.Count);
        Assert.All(sentRows, m => Assert.Equal(logged[(m.Key, m.Step)] with { Timestamp = m.Timestamp }, m));
        Assert.Equal(Params.OrderBy(p => p.Key, StringComparer.Ordinal), requests.SelectMany(r => r.Params ?? []).OrderBy(p => p.Key, StringComparer.Ordinal));
        Assert.Equal(Tags.OrderBy(t => t.Key, StringComparer.Ordinal), requests.SelectMany(r => r.Tags ?? []).OrderBy(t => t.Key, StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_row_with_a_bad_key_or_timestamp_is_refused_before_the_request_naming_the_field()
    {
        using var server = new RecordedServer();
        using var client = server.CreateClient();
        var badKey = await Assert.ThrowsAsync<MlflowValidationException>(() => client.LogBatchOnceAsync("r", new MetricRow[] { new("ok", 1, 1, 1), new("bad\u0000key", 1, 1, 1) }, [], [], default));
        Assert.Contains("bad", badKey.Message, StringComparison.Ordinal);
        var badTime = await Assert.ThrowsAsync<MlflowValidationException>(() => client.LogBatchOnceAsync("r", new MetricRow[] { new("ok", 1, -1, 1) }, [], [], default));
        Assert.Equal("timestamp", badTime.Field);
        var tooMany = await Assert.ThrowsAsync<MlflowValidationException>(() => client.LogBatchOnceAsync("r", Enumerable.Repeat(new MetricRow("ok", 1, 1, 1), 1001).ToArray(), [], [], default));
        Assert.Contains("1000", tooMany.Message, StringComparison.Ordinal);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task A_log_batch_answered_401_is_sent_again_with_the_same_body_after_the_provider_renews()
    {
        using var server = new RecordedServer();
        server.Server.Given(Request.Create().WithPath("/api/2.0/mlflow/runs/log-batch").UsingPost()).RespondWith(Response.Create().WithCallback(request =>
            RecordedServer.JsonAnswer(request.Headers!.TryGetValue("X-Gateway-Key", out var key) && key.Single() == "key-2" ? 200 : 401, "{}")));
        using var client = server.CreateClient(o => o.AuthProvider = new GatewayKeyProvider());
        await client.LogBatchOnceAsync("r", Rows, Params, Tags, default);
        Assert.Equal(2, server.Requests.Count);
        Assert.Equal(server.Requests[0].Body, server.Requests[1].Body);
        Assert.Equal(Rows.Length, RecordedServer.BodyOf(server.Requests[1])!["metrics"]!.AsArray().Count);
    }
}
