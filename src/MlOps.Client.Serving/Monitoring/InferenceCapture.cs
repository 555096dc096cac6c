using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using MlOps.Client.Monitoring;
using MlOps.Client.Serving.Input;
using MlOps.Client.Serving.Output;

namespace MlOps.Client.Serving.Monitoring;

/// <summary>
/// What the scoring endpoint hands to the inference log and the drift monitor: the request id (the client's
/// <c>X-Request-Id</c>, else a new one, answered in the same header), and, for a sampled answered request, its rows as
/// the signature cast them and its predictions. The request only copies its values; writing and testing happen on the
/// log's and the monitor's own tasks.
/// </summary>
internal sealed class InferenceCapture(string modelUri, InferenceLog? log, DriftMonitor? monitor)
{
    /// <summary>The header a request's id comes in and is answered in.</summary>
    public const string RequestIdHeader = "X-Request-Id";

    private const int MaxRequestIdLength = 128;

    public InferenceLog? Log => log;

    public DriftMonitor? Monitor => monitor;

    /// <summary>The request's id: the client's when it is printable ASCII of at most 128 characters, else a new one.</summary>
    public static string RequestId(HttpContext context)
    {
        var given = context.Request.Headers[RequestIdHeader].ToString();
        return given.Length is > 0 and <= MaxRequestIdLength && given.All(c => c is > ' ' and < (char)127) ? given : Guid.NewGuid().ToString("N");
    }

    /// <summary>Whether this request is captured (the log's sampling draw; always when only the monitor is on).</summary>
    public bool ShouldCapture() => log?.ShouldLog() ?? true;

    /// <summary>Hands an answered request to the log and the monitor (never waits).</summary>
    public void Capture(string requestId, EnforcedInput input, Predictions predictions, TimeSpan latency)
    {
        var record = new InferenceRecord
        {
            RequestId = requestId,
            Timestamp = DateTimeOffset.UtcNow,
            ModelUri = modelUri,
            LatencyMilliseconds = latency.TotalMilliseconds,
            Rows = input.Rows,
            Inputs = Inputs(input),
            Predictions = Outputs(predictions),
        };
        log?.TryLog(record);
        monitor?.TryAdd(record);
    }

    /// <summary>Reads <c>POST /feedback</c>: <c>{"request_id": "…", "targets": [t₁, …]}</c>, one target per row of that request.</summary>
    public async Task FeedbackAsync(HttpContext context) => await (await ReadFeedbackAsync(context).ConfigureAwait(false)).ExecuteAsync(context).ConfigureAwait(false);

    private async Task<IResult> ReadFeedbackAsync(HttpContext context)
    {
        InferenceFeedback feedback;
        try
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted).ConfigureAwait(false);
            var root = document.RootElement;
            var id = root.TryGetProperty("request_id", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
            if (string.IsNullOrEmpty(id) || !root.TryGetProperty("targets", out var targets) || targets.ValueKind != JsonValueKind.Array)
            {
                return Error("The feedback needs 'request_id' (the X-Request-Id of the scoring request) and 'targets' (a list, one target per row).");
            }

            feedback = new InferenceFeedback(id, DateTimeOffset.UtcNow, [.. targets.EnumerateArray().Select(Target)]);
        }
        catch (JsonException ex)
        {
            return Error("The feedback is not JSON: " + ex.Message);
        }

        var accepted = log?.TryLog(feedback) ?? true;
        monitor?.TryAdd(feedback);
        return accepted
            ? Results.Text("""{"status":"ok"}""", "application/json")
            : Results.Text("""{"error_code":"TEMPORARILY_UNAVAILABLE","message":"The inference log is busy: retry later."}""", "application/json", statusCode: 503);
    }

    private static IResult Error(string message)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("error_code", "BAD_REQUEST");
            json.WriteString("message", message);
            json.WriteEndObject();
        }

        return Results.Text(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length), "application/json", statusCode: 400);
    }

    private static object? Target(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Number => e.GetDouble(),
        JsonValueKind.String => e.GetString(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    private static InferenceColumn[] Inputs(EnforcedInput input)
    {
        var columns = new InferenceColumn[input.Columns.Count];
        for (var c = 0; c < columns.Length; c++)
        {
            var cells = input.Values[c];
            var name = input.Columns[c].Name ?? c.ToString(CultureInfo.InvariantCulture);
            if (cells is null)
            {
                columns[c] = new InferenceColumn(name, new object?[input.Rows]); // an absent optional column: missing
                continue;
            }

            if (cells.All(cell => cell.IsNumber || cell.Kind == CellKind.Null))
            {
                // Numbers go into one array: no box per value on the request's thread.
                var numbers = new double[input.Rows];
                for (var r = 0; r < input.Rows; r++)
                {
                    numbers[r] = cells[r].Kind == CellKind.Null ? double.NaN : cells[r].Number;
                }

                columns[c] = new InferenceColumn(name, new NumberValues(numbers));
                continue;
            }

            var values = new object?[input.Rows];
            for (var r = 0; r < input.Rows; r++)
            {
                values[r] = Value(cells[r]);
            }

            columns[c] = new InferenceColumn(name, values);
        }

        return columns;
    }

    private static object? Value(Cell cell) => cell.Kind switch
    {
        CellKind.Integer or CellKind.Float => cell.Number,
        CellKind.Boolean => cell.Number != 0,
        CellKind.String => cell.Text,
        CellKind.Array => cell.Items!.All(i => i.IsNumber) ? cell.Items!.Select(i => i.Number).ToArray() : null,
        _ => null,
    };

    private static InferenceColumn[] Outputs(Predictions predictions)
    {
        var columns = new InferenceColumn[predictions.Columns.Count];
        for (var c = 0; c < columns.Length; c++)
        {
            var column = predictions.Columns[c];
            var name = column.Name ?? "prediction";
            if (column.Labels is { } labels && !column.IsNumericLabel)
            {
                columns[c] = new InferenceColumn(name, column.IsBoolean ? [.. labels.Select(l => (object?)(l == "true"))] : labels);
            }
            else if (column.Width == 1 && !column.IsVector)
            {
                var numbers = new double[predictions.Rows];
                for (var r = 0; r < numbers.Length; r++)
                {
                    numbers[r] = column.Numbers![r];
                }

                columns[c] = new InferenceColumn(name, new NumberValues(numbers));
            }
            else
            {
                // The model's own row-major output, shared (it is not touched after the answer): no copy per row.
                columns[c] = new InferenceColumn(name, new VectorValues(column.Numbers!, column.Width, predictions.Rows));
            }
        }

        return columns;
    }
}
