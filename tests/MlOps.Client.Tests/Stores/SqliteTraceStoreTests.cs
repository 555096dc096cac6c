using System.Text.Json;
using Microsoft.Data.Sqlite;
using MlOps.Client.Stores;

namespace MlOps.Client.Tests.Stores;

/// <summary>
/// The embedded store's traces as MLflow's SQL store keeps them (<c>log_spans</c>, <c>start_trace</c>): a trace is made
/// by its first spans (in progress until its root comes), grows to cover later spans, sums token usage over calls,
/// replaces a span sent again, and takes the info written after its spans.
/// </summary>
public sealed class SqliteTraceStoreTests : IDisposable
{
    private const string TraceId = "tr-0af7651916cd43dd8448eb211c80319c";
    private const string RootId = "b7ad6b7169203331";
    private const string ChildId = "00f067aa0ba902b7";
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_765_000_000_000);
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-sqlite-traces-");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    private SqliteTrackingStore Open() => SqliteTrackingStore.Open("sqlite:///" + Path.Combine(_dir.FullName, "mlflow.db"), SqliteSchema.Mlflow3);

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    private static TraceSpan Span(string id, string? parent, int startMs, int endMs, string status = "OK", string? usage = null)
    {
        var attributes = new Dictionary<string, JsonElement> { [SpanAttributeKeys.SpanType] = Json("\"CHAIN\""), [SpanAttributeKeys.Inputs] = Json("""{"q": "hi"}""") };
        if (usage is not null)
        {
            attributes[SpanAttributeKeys.ChatTokenUsage] = Json(usage);
        }

        return new TraceSpan
        {
            TraceId = TraceId, SpanId = id, ParentSpanId = parent, Name = id, Status = status,
            StartTime = T0.AddMilliseconds(startMs), EndTime = T0.AddMilliseconds(endMs), Attributes = attributes,
        };
    }

    [Fact]
    public async Task A_trace_is_in_progress_until_its_root_comes_and_grows_to_cover_its_spans()
    {
        await using var store = Open();
        await store.LogSpansAsync("0", [Span(ChildId, RootId, 10, 20, usage: """{"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}""")]);
        var partial = await store.GetTraceAsync(TraceId);
        Assert.Equal("IN_PROGRESS", partial.Info.State);
        Assert.Equal((T0.AddMilliseconds(10), TimeSpan.FromMilliseconds(10)), (partial.Info.RequestTime!.Value, partial.Info.ExecutionDuration!.Value));

        await store.LogSpansAsync("0", [Span(RootId, null, 0, 50, status: "ERROR", usage: """{"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}""")]);
        var whole = await store.GetTraceAsync(TraceId);
        Assert.Equal("ERROR", whole.Info.State); // the root's
        Assert.Equal((T0, TimeSpan.FromMilliseconds(50)), (whole.Info.RequestTime!.Value, whole.Info.ExecutionDuration!.Value));
        Assert.Equal(7, JsonDocument.Parse(whole.Info.Metadata[TraceMetadataKeys.TokenUsage]).RootElement.GetProperty("total_tokens").GetInt32()); // summed over calls
        Assert.Equal("""{"q": "hi"}""", whole.Info.RequestPreview); // from the root, once
        Assert.Equal(2, whole.Spans.Count);
        Assert.Equal(RootId, whole.Root!.SpanId);
        Assert.Equal("ERROR", whole.Root.Status);

        await store.LogSpansAsync("0", [Span(ChildId, RootId, 10, 30)]); // sent again: replaced, not added
        Assert.Equal(2, (await store.GetTraceAsync(TraceId)).Spans.Count);
        Assert.Equal(T0.AddMilliseconds(30), (await store.GetTraceAsync(TraceId)).Spans.Single(s => s.SpanId == ChildId).EndTime);
    }

    [Fact]
    public async Task The_info_written_after_the_spans_takes_their_trace_and_keeps_the_location_tags()
    {
        await using var store = Open();
        await store.LogSpansAsync("0", [Span(RootId, null, 0, 50)]);
        await store.StartTraceAsync(new TraceInfo
        {
            TraceId = TraceId, ExperimentId = "0", RequestTime = T0, ExecutionDuration = TimeSpan.FromMilliseconds(50), State = "OK",
            Metadata = new Dictionary<string, string> { [TraceMetadataKeys.SourceRun] = "run-1" },
            Tags = new Dictionary<string, string> { [TraceTagKeys.TraceName] = "root" },
            RequestPreview = "hi", ResponsePreview = "hello",
        });

        var trace = await store.GetTraceAsync(TraceId);
        Assert.Equal(("OK", "run-1", "root", "hi", "hello"), (trace.Info.State, trace.Info.SourceRunId, trace.Info.Tags[TraceTagKeys.TraceName], trace.Info.RequestPreview, trace.Info.ResponsePreview));
        Assert.Equal("TRACKING_STORE", trace.Info.Tags["mlflow.trace.spansLocation"]);
        Assert.StartsWith("file://", trace.Info.Tags["mlflow.artifactLocation"], StringComparison.Ordinal);
        Assert.Single(trace.Spans);
    }

    [Fact]
    public async Task Unknown_experiments_and_traces_are_refused_with_mlflows_errors()
    {
        await using var store = Open();
        var experiment = await Assert.ThrowsAsync<MlflowException>(() => store.LogSpansAsync("42", [Span(RootId, null, 0, 1)]));
        Assert.Equal((404, MlflowErrorCodes.ResourceDoesNotExist), (experiment.Status, experiment.ErrorCode));
        var trace = await Assert.ThrowsAsync<MlflowException>(() => store.GetTraceAsync("tr-00000000000000000000000000000000"));
        Assert.Equal(404, trace.Status);
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.StartTraceAsync(new TraceInfo { TraceId = TraceId })); // no experiment
    }

    [Fact]
    public async Task Traces_are_searched_by_attributes_tags_and_metadata_newest_first_in_pages()
    {
        await using var store = Open();
        for (var i = 0; i < 5; i++)
        {
            var id = $"tr-{i:x32}";
            await store.StartTraceAsync(new TraceInfo
            {
                TraceId = id, ExperimentId = "0", RequestTime = T0.AddSeconds(i), ExecutionDuration = TimeSpan.FromMilliseconds(100 * (5 - i)),
                State = i == 3 ? "ERROR" : "OK",
                Tags = new Dictionary<string, string> { ["team"] = i % 2 == 0 ? "support" : "sales", [TraceTagKeys.TraceName] = "agent-" + i },
                Metadata = new Dictionary<string, string> { [TraceMetadataKeys.ModelId] = i < 2 ? "m-old" : "m-new", [TraceMetadataKeys.SourceRun] = "run-" + i },
            });
        }

        async Task<string> Ids(string? filter, params string[] orderBy) =>
            string.Join(",", (await store.SearchTracesAsync(["0"], filter, orderBy)).Values.Select(t => int.Parse(t.TraceId[^1..], System.Globalization.CultureInfo.InvariantCulture)));

        Assert.Equal("4,3,2,1,0", await Ids(null)); // newest first
        Assert.Equal("4,2,0", await Ids("tags.team = 'support'"));
        Assert.Equal("3", await Ids("trace.status = 'ERROR'"));
        Assert.Equal("4,3,2", await Ids("metadata.`mlflow.modelId` = 'm-new'"));
        Assert.Equal("2", await Ids("trace.run_id = 'run-2'"));
        Assert.Equal("1", await Ids("trace.name LIKE '%-1'"));
        Assert.Equal("4,3", await Ids($"trace.timestamp_ms >= {T0.AddSeconds(3).ToUnixTimeMilliseconds()}"));
        Assert.Equal("4,3,2,1,0", await Ids("attributes.execution_time_ms > 0", "execution_time_ms ASC"));
        Assert.Equal("4,2", await Ids("tags.team = 'support' AND metadata.`mlflow.modelId` = 'm-new'"));

        var first = await store.SearchTracesAsync(["0"], maxResults: 2);
        var second = await store.SearchTracesAsync(["0"], maxResults: 2, pageToken: first.NextPageToken);
        Assert.Equal(["tr-" + 4.ToString("x32", System.Globalization.CultureInfo.InvariantCulture), "tr-" + 3.ToString("x32", System.Globalization.CultureInfo.InvariantCulture)], first.Values.Select(t => t.TraceId));
        Assert.Equal(2, second.Values.Count);
        Assert.NotNull(second.NextPageToken);

        var bad = await Assert.ThrowsAsync<MlflowException>(() => store.SearchTracesAsync(["0"], "trace.colour = 'red'"));
        Assert.Contains("Invalid attribute key 'colour'", bad.Message, StringComparison.Ordinal);
    }
}
