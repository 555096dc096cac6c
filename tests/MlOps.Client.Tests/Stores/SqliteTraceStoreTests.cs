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

    /// <summary>Every table's columns (name, type, not null, default, key) and every index's columns, in a comparable text.</summary>
    private static SortedDictionary<string, string> SchemaOf(string path)
    {
        var schema = new SortedDictionary<string, string>(StringComparer.Ordinal);
        using var db = new SqliteConnection("Data Source=" + path);
        db.Open();
        var tables = new List<string>();
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name";
            using var reader = cmd.ExecuteReader();
            while (reader.Read())
            {
                tables.Add(reader.GetString(0));
            }
        }

        foreach (var table in tables)
        {
            var columns = new List<string>();
            using (var cmd = db.CreateCommand())
            {
                cmd.CommandText = $"SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('{table}') ORDER BY name";
                using var reader = cmd.ExecuteReader();
                while (reader.Read())
                {
                    columns.Add($"{reader.GetString(0)} {reader.GetString(1)} nn={reader.GetInt64(2)} d={(reader.IsDBNull(3) ? "" : reader.GetString(3))} pk={reader.GetInt64(4)}");
                }
            }

            using (var cmd = db.CreateCommand())
            {
                cmd.CommandText = $"SELECT il.name, il.\"unique\", group_concat(ii.name, ',') FROM pragma_index_list('{table}') il JOIN pragma_index_info(il.name) ii GROUP BY il.name ORDER BY il.name";
                using var reader = cmd.ExecuteReader();
                while (reader.Read())
                {
                    var name = reader.GetString(0);
                    columns.Add($"index {(name.StartsWith("sqlite_autoindex_", StringComparison.Ordinal) ? "(auto)" : name)} unique={reader.GetInt64(1)} ({reader.GetString(2)})");
                }
            }

            schema[table] = string.Join("; ", columns.Order(StringComparer.Ordinal));
        }

        return schema;
    }

    [Fact]
    public async Task A_file_in_mlflow_2_schema_upgrades_to_exactly_mlflow_3s_tables_and_keeps_its_data()
    {
        var old = "sqlite:///" + Path.Combine(_dir.FullName, "v2.db");
        string runId;
        await using (var v2 = SqliteTrackingStore.Open(old))
        {
            var run = await v2.CreateRunAsync("0", new CreateRunOptions { RunName = "before" }, default);
            runId = run.Info.RunId;
            await v2.LogBatchAsync(runId, [new Metric("m", 1, 1, 0)], [new Param("p", "1")], [], default);
            await v2.LogInputsAsync(runId, [new DatasetInput { Dataset = new Dataset { Name = "d", Digest = "x", SourceType = "code", Source = "{}" } }], default);
            Assert.False(v2.SupportsTraces);
            Assert.True(await v2.UpgradeToMlflow3Async());
            Assert.False(await v2.UpgradeToMlflow3Async()); // once
            Assert.True(v2.SupportsTraces);
            await v2.LogSpansAsync("0", [Span(RootId, null, 0, 5)]);
        }

        SqliteConnection.ClearAllPools();
        await using (var fresh = Open())
        {
            Assert.Equal("bf29a5ff90ea", fresh.SchemaVersion);
        }

        SqliteConnection.ClearAllPools();
        var upgraded = SchemaOf(Path.Combine(_dir.FullName, "v2.db"));
        var expected = SchemaOf(Path.Combine(_dir.FullName, "mlflow.db"));
        Assert.Equal(expected.Keys, upgraded.Keys);
        foreach (var (table, columns) in expected)
        {
            Assert.True(columns == upgraded[table], $"{table}:\n  MLflow 3.6: {columns}\n  upgraded:   {upgraded[table]}");
        }

        await using var reopened = SqliteTrackingStore.Open(old);
        Assert.Equal("bf29a5ff90ea", reopened.SchemaVersion);
        var got = await reopened.GetRunAsync(runId, default);
        Assert.Equal(("before", 1), (got.Info.RunName, got.Data.Metrics.Count));
        Assert.Single(got.Inputs.DatasetInputs);
        Assert.Single((await reopened.GetTraceAsync(TraceId)).Spans);
    }
}
