using MlOps.Client.Stores;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MlOps.Client;
using MlOps.Client.Reporting;
using Spectre.Console;

namespace MlOps.Cli.Commands;

/// <summary><c>mlops traces search|show</c>: MLflow 3's traces from the command line.</summary>
internal static partial class MlopsCommandLine
{
    private static Command Traces(Func<ParseResult, CliContext> context)
    {
        var experimentIds = new Option<string[]>("--experiment-id", "-x") { Description = "An experiment (repeat it).", AllowMultipleArgumentsPerToken = false };
        var experimentNames = new Option<string[]>("--experiment-name", "-e") { Description = "An experiment by name (repeat it)." };
        var filter = new Option<string?>("--filter") { Description = "MLflow's trace filter, e.g. \"tags.team = 'a'\", \"trace.status = 'ERROR'\", \"metadata.`mlflow.sourceRun` = '<run id>'\"." };
        var orderBy = new Option<string[]>("--order-by") { Description = "E.g. \"timestamp_ms DESC\" (repeat it)." };
        var max = new Option<int>("--max") { Description = "At most this many traces.", DefaultValueFactory = _ => 100 };
        var format = FormatOption();
        var search = new Command("search", "Search traces (Python's MlflowClient.search_traces): id, time, state, duration, name, run, previews.")
        {
            experimentIds, experimentNames, filter, orderBy, max, format,
        };
        search.SetAction((parse, ct) => Guard(context(parse), async ctx =>
        {
            await using var client = TraceSource.Open(ctx);
            var ids = new List<string>(parse.GetValue(experimentIds) ?? []);
            foreach (var name in parse.GetValue(experimentNames) ?? [])
            {
                ids.Add(await client.ExperimentIdAsync(name, ct).ConfigureAwait(false)
                    ?? throw new MlflowException(404, MlflowErrorCodes.ResourceDoesNotExist, $"No experiment named '{name}'."));
            }

            if (ids.Count == 0)
            {
                await ctx.Error.WriteLineAsync("mlops: give at least one experiment (--experiment-id or --experiment-name).").ConfigureAwait(false);
                return Usage;
            }

            var traces = new List<TraceInfo>();
            string? token = null;
            var limit = parse.GetValue(max);
            do
            {
                var page = await client.SearchTracesAsync(ids, parse.GetValue(filter), parse.GetValue(orderBy), Math.Clamp(limit - traces.Count, 1, 500), token, ct).ConfigureAwait(false);
                traces.AddRange(page.Values);
                token = page.NextPageToken;
            }
            while (token is not null && traces.Count < limit);

            var table = new TextTable(
                ["trace_id", "request_time", "state", "execution_duration_s", "name", "source_run", "request_preview", "response_preview"],
                [.. traces.Take(limit).Select(t => (IReadOnlyList<string?>)
                [
                    t.TraceId,
                    t.RequestTime?.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                    t.State,
                    t.ExecutionDuration?.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture),
                    t.Tags.GetValueOrDefault(TraceTagKeys.TraceName),
                    t.SourceRunId,
                    t.RequestPreview,
                    t.ResponsePreview,
                ])]);
            await WriteTracesAsync(ctx, table, parse.GetValue(format)!).ConfigureAwait(false);
            return Ok;
        }));

        var traceId = new Argument<string>("trace_id") { Description = "The trace (tr-…)." };
        var showFormat = new Option<string>("--format", "-f") { Description = "tree (the spans indented under their parents) or json.", DefaultValueFactory = _ => "tree" };
        showFormat.AcceptOnlyFromAmong("tree", "json");
        var show = new Command("show", "A trace: its info and its spans as a tree (type, duration, inputs, outputs, tokens), or as JSON.") { traceId, showFormat };
        show.SetAction((parse, ct) => Guard(context(parse), async ctx =>
        {
            await using var client = TraceSource.Open(ctx);
            var trace = await client.GetTraceAsync(parse.GetValue(traceId)!, ct).ConfigureAwait(false);
            if (parse.GetValue(showFormat) == "json")
            {
                await ctx.Output.WriteLineAsync(TraceJson(trace).ToJsonString(new JsonSerializerOptions { WriteIndented = true })).ConfigureAwait(false);
                return Ok;
            }

            var info = trace.Info;
            await ctx.Output.WriteLineAsync($"{info.TraceId}  {info.State}  {info.ExecutionDuration?.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s  experiment {info.ExperimentId}{(info.SourceRunId is { } run ? "  run " + run : "")}").ConfigureAwait(false);
            foreach (var (key, value) in info.Metadata.Where(m => m.Key is TraceMetadataKeys.User or TraceMetadataKeys.Session or TraceMetadataKeys.ModelId or TraceMetadataKeys.TokenUsage))
            {
                await ctx.Output.WriteLineAsync($"  {key}: {value}").ConfigureAwait(false);
            }

            foreach (var root in trace.Spans.Where(s => s.ParentSpanId is null || trace.Spans.All(p => p.SpanId != s.ParentSpanId)))
            {
                await WriteSpanAsync(ctx.Output, trace, root, 0).ConfigureAwait(false);
            }

            foreach (var a in info.Assessments)
            {
                await ctx.Output.WriteLineAsync($"  assessment {a.Name} = {(a.FeedbackValue ?? a.ExpectationValue)?.GetRawText()} by {a.Source.SourceType} {a.Source.SourceId}{(a.Rationale is { } r ? ": " + r : "")}").ConfigureAwait(false);
            }

            return Ok;
        }));

        return new Command("traces", "MLflow 3's traces: search and show (a tracking server with the trace API).") { search, show };
    }

    private static readonly string[] TraceTableColumns = ["trace_id", "request_time", "state", "execution_duration_s", "name", "source_run"];

    private static async Task WriteTracesAsync(CliContext ctx, TextTable table, string format)
    {
        switch (format)
        {
            case "csv":
                table.WriteCsv(ctx.Output);
                break;
            case "json":
                table.WriteJson(ctx.Output);
                break;
            case "markdown":
                table.WriteMarkdown(ctx.Output);
                break;
            default:
                // The terminal gets the short columns (the previews are in CSV/JSON/markdown).
                var shown = TraceTableColumns.Select(c => (Name: c, Index: table.Columns.ToList().IndexOf(c))).ToList();
                var t = new Table().Border(TableBorder.Rounded);
                foreach (var (name, _) in shown)
                {
                    t.AddColumn(name is "trace_id" or "source_run" ? new TableColumn(name).NoWrap() : new TableColumn(Markup.Escape(name)));
                }

                foreach (var row in table.Rows)
                {
                    t.AddRow([.. shown.Select(c => Markup.Escape(row[c.Index] ?? ""))]);
                }

                ctx.Console.Write(t);
                await ctx.Output.WriteLineAsync($"{table.Rows.Count} trace(s)").ConfigureAwait(false);
                break;
        }
    }

    /// <summary>Where traces are read: an MLflow 3 server's REST API, or the embedded store's MLflow 3 tables (<c>sqlite:///…</c>, the default).</summary>
    private sealed class TraceSource : IAsyncDisposable
    {
        private readonly MlflowClient? _client;
        private readonly SqliteTrackingStore? _store;

        private TraceSource(MlflowClient? client, SqliteTrackingStore? store) => (_client, _store) = (client, store);

        public static TraceSource Open(CliContext ctx)
        {
            var options = ctx.ClientOptions();
            var uri = string.IsNullOrWhiteSpace(options.TrackingUri) ? TrackingStores.DefaultUri : options.TrackingUri.Trim();
            return uri.StartsWith("sqlite:", StringComparison.OrdinalIgnoreCase)
                ? new TraceSource(null, SqliteTrackingStore.Open(uri))
                : new TraceSource(new MlflowClient(options), null);
        }

        public async Task<string?> ExperimentIdAsync(string name, CancellationToken cancellationToken) => _client is { } client
            ? (await client.FindExperimentByNameAsync(name, cancellationToken).ConfigureAwait(false))?.ExperimentId
            : (await _store!.FindExperimentByNameAsync(name, cancellationToken).ConfigureAwait(false))?.ExperimentId;

        public Task<MlflowPage<TraceInfo>> SearchTracesAsync(IReadOnlyList<string> experimentIds, string? filter, IReadOnlyList<string>? orderBy, int maxResults, string? pageToken, CancellationToken cancellationToken) =>
            _client?.SearchTracesAsync(experimentIds, filter, orderBy, maxResults, pageToken, cancellationToken)
            ?? _store!.SearchTracesAsync(experimentIds, filter, orderBy, maxResults, pageToken, cancellationToken);

        public Task<Trace> GetTraceAsync(string traceId, CancellationToken cancellationToken) =>
            _client?.GetTraceAsync(traceId, cancellationToken) ?? _store!.GetTraceAsync(traceId, cancellationToken);

        public async ValueTask DisposeAsync()
        {
            _client?.Dispose();
            if (_store is not null)
            {
                await _store.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task WriteSpanAsync(TextWriter output, Trace trace, TraceSpan span, int depth)
    {
        var indent = new string(' ', 2 + (depth * 2));
        var duration = span.EndTime is { } end ? $" {(end - span.StartTime).TotalMilliseconds.ToString("0.#", CultureInfo.InvariantCulture)} ms" : "";
        await output.WriteLineAsync($"{indent}{span.Name} [{span.SpanType ?? "UNKNOWN"}]{duration}{(span.Status == "ERROR" ? " ERROR " + span.StatusMessage : "")}").ConfigureAwait(false);
        if (span.Inputs is { } inputs)
        {
            await output.WriteLineAsync($"{indent}  in:  {Short(inputs.GetRawText())}").ConfigureAwait(false);
        }

        if (span.Outputs is { } outputs)
        {
            await output.WriteLineAsync($"{indent}  out: {Short(outputs.GetRawText())}").ConfigureAwait(false);
        }

        if (span.TokenUsage is { } tokens)
        {
            await output.WriteLineAsync($"{indent}  tokens: {tokens.GetRawText()}").ConfigureAwait(false);
        }

        foreach (var child in trace.ChildrenOf(span).OrderBy(c => c.StartTime))
        {
            await WriteSpanAsync(output, trace, child, depth + 1).ConfigureAwait(false);
        }

        static string Short(string text) => text.Length <= 160 ? text : text[..157] + "...";
    }

    private static JsonObject TraceJson(Trace trace)
    {
        var info = trace.Info;
        return new JsonObject
        {
            ["trace_id"] = info.TraceId,
            ["experiment_id"] = info.ExperimentId,
            ["request_time"] = info.RequestTime?.ToString("O", CultureInfo.InvariantCulture),
            ["execution_duration_s"] = info.ExecutionDuration?.TotalSeconds,
            ["state"] = info.State,
            ["metadata"] = new JsonObject(info.Metadata.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => KeyValuePair.Create(m.Key, (JsonNode?)m.Value))),
            ["tags"] = new JsonObject(info.Tags.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => KeyValuePair.Create(m.Key, (JsonNode?)m.Value))),
            ["spans"] = new JsonArray([.. trace.Spans.Select(s => (JsonNode)new JsonObject
            {
                ["span_id"] = s.SpanId,
                ["parent_span_id"] = s.ParentSpanId,
                ["name"] = s.Name,
                ["span_type"] = s.SpanType,
                ["start_time"] = s.StartTime.ToString("O", CultureInfo.InvariantCulture),
                ["end_time"] = s.EndTime?.ToString("O", CultureInfo.InvariantCulture),
                ["status"] = s.Status,
                ["attributes"] = new JsonObject(s.Attributes.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => KeyValuePair.Create(a.Key, JsonNode.Parse(a.Value.GetRawText())))),
            })]),
        };
    }
}
