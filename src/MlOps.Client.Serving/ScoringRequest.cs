using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MlOps.Client.Serving;

/// <summary>A refused scoring request: the HTTP status and MLflow's error JSON (<c>error_code</c>, <c>message</c>).</summary>
/// <param name="Status">The HTTP status.</param>
/// <param name="ErrorCode">MLflow's error code, e.g. <c>BAD_REQUEST</c>.</param>
/// <param name="Message">What is wrong, for the caller.</param>
public sealed record ScoringError(int Status, string ErrorCode, string Message);

/// <summary>
/// Reads <c>/invocations</c> bodies as MLflow's scoring server (<c>mlflow/pyfunc/scoring_server</c>) does: JSON with
/// exactly one of <c>dataframe_split</c>, <c>dataframe_records</c>, <c>instances</c>, <c>inputs</c> (and optional
/// <c>params</c>), or <c>text/csv</c>; the rows are converted to the model's float32 input of <c>columns</c> features.
/// </summary>
internal static class ScoringRequest
{
    private static readonly string[] FormatKeys = ["dataframe_split", "dataframe_records", "instances", "inputs"];

    /// <summary>Parses a body into a row-major float32 matrix of <paramref name="columns"/> columns.</summary>
    public static (float[] Data, int Rows)? Parse(string? contentType, ReadOnlySpan<byte> body, IReadOnlyList<string>? columnNames, int columns, out ScoringError? error)
    {
        error = null;
        var mediaType = (contentType ?? "").Split(';')[0].Trim().ToLowerInvariant();
        var charset = (contentType ?? "").Split(';').Skip(1).Select(p => p.Trim()).FirstOrDefault(p => p.StartsWith("charset=", StringComparison.OrdinalIgnoreCase))?["charset=".Length..].Trim('"');
        if (mediaType.Length == 0)
        {
            // MLflow's server answers a plain-text 500 here; this one says what is missing.
            error = new ScoringError(415, "BAD_REQUEST", "Missing Content-Type: send application/json or text/csv.");
            return null;
        }

        var otherParameters = (contentType ?? "").Split(';').Skip(1).Select(p => p.Trim()).Any(p => p.Length > 0 && !p.StartsWith("charset=", StringComparison.OrdinalIgnoreCase));
        if (otherParameters)
        {
            var names = (contentType ?? "").Split(';').Skip(1).Select(p => p.Trim().Split('=')[0]).Where(p => p.Length > 0 && p != "charset");
            error = new ScoringError(415, "BAD_REQUEST",
                $"Unrecognized content type parameters: {string.Join(", ", names)}. Since MLflow 2.0 the format is a key of the JSON body (dataframe_split, dataframe_records, instances, inputs).");
            return null;
        }

        if (mediaType is not ("application/json" or "text/csv") || (charset is not null && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase)))
        {
            error = new ScoringError(415, "BAD_REQUEST", $"This predictor only supports the following content types: Types: ['text/csv', 'application/json']. Got '{contentType}'.");
            return null;
        }

        return mediaType == "text/csv" ? ParseCsv(body, columnNames, columns, out error) : ParseJson(body, columnNames, columns, out error);
    }

    private static (float[] Data, int Rows)? ParseJson(ReadOnlySpan<byte> body, IReadOnlyList<string>? columnNames, int columns, out ScoringError? error)
    {
        error = null;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body.ToArray());
        }
        catch (JsonException ex)
        {
            error = new ScoringError(400, "BAD_REQUEST", $"Invalid input. Ensure that input is a valid JSON formatted string. Error: '{ex.Message}'");
            return null;
        }

        using (document)
        {
            var root = document.RootElement;
            var keys = root.ValueKind == JsonValueKind.Object ? root.EnumerateObject().Select(p => p.Name).Where(FormatKeys.Contains).ToList() : [];
            if (keys.Count != 1)
            {
                error = new ScoringError(400, "BAD_REQUEST",
                    "The input must be a JSON dictionary with exactly one of the input fields {'instances', 'inputs', 'dataframe_split', 'dataframe_records'}. " +
                    $"Received dictionary with input fields: [{string.Join(", ", keys.Select(k => $"'{k}'"))}].");
                return null;
            }

            var value = root.GetProperty(keys[0]);
            return keys[0] switch
            {
                "dataframe_split" => Split(value, columnNames, columns, out error),
                "dataframe_records" => Records(value, columnNames, columns, out error),
                _ => Tensor(value, columns, out error),
            };
        }
    }

    private static (float[] Data, int Rows)? Split(JsonElement split, IReadOnlyList<string>? columnNames, int columns, out ScoringError? error)
    {
        error = null;
        if (split.ValueKind != JsonValueKind.Object || !split.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
        {
            error = new ScoringError(400, "BAD_REQUEST", "Invalid input. dataframe_split needs a 'data' list of rows (and 'columns').");
            return null;
        }

        string[]? names = split.TryGetProperty("columns", out var c) && c.ValueKind == JsonValueKind.Array ? [.. c.EnumerateArray().Select(x => x.ToString())] : null;
        var rows = data.EnumerateArray().Select(r => r.ValueKind == JsonValueKind.Array ? r.EnumerateArray().ToArray() : [r]).ToList();
        return Matrix(rows, names, columnNames, columns, out error);
    }

    private static (float[] Data, int Rows)? Records(JsonElement records, IReadOnlyList<string>? columnNames, int columns, out ScoringError? error)
    {
        error = null;
        if (records.ValueKind != JsonValueKind.Array || records.EnumerateArray().Any(r => r.ValueKind != JsonValueKind.Object))
        {
            error = new ScoringError(400, "BAD_REQUEST", "Invalid input. dataframe_records needs a list of {column: value} objects.");
            return null;
        }

        var names = records.EnumerateArray().SelectMany(r => r.EnumerateObject().Select(p => p.Name)).Distinct(StringComparer.Ordinal).ToArray();
        var rows = records.EnumerateArray().Select(r => names.Select(n => r.TryGetProperty(n, out var v) ? v : default).ToArray()).ToList();
        return Matrix(rows, names, columnNames, columns, out error);
    }

    private static (float[] Data, int Rows)? Tensor(JsonElement value, int columns, out ScoringError? error)
    {
        error = null;
        if (value.ValueKind == JsonValueKind.Object)
        {
            error = new ScoringError(400, "BAD_REQUEST",
                "Invalid input. Failed to parse input data. This model contains an un-named  model signature which expects a single n-dimensional array or a single value as input, however, an input of type <class 'dict'> was found.");
            return null;
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            error = new ScoringError(400, "BAD_REQUEST", "Invalid input. Expected a list of rows.");
            return null;
        }

        var rows = value.EnumerateArray().Select(r => r.ValueKind == JsonValueKind.Array ? r.EnumerateArray().ToArray() : [r]).ToList();
        return Matrix(rows, null, null, columns, out error);
    }

    private static (float[] Data, int Rows)? ParseCsv(ReadOnlySpan<byte> body, IReadOnlyList<string>? columnNames, int columns, out ScoringError? error)
    {
        error = null;
        var lines = Encoding.UTF8.GetString(body).Replace("\r", "", StringComparison.Ordinal).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0)
        {
            error = new ScoringError(400, "BAD_REQUEST", "Invalid input. The CSV body is empty.");
            return null;
        }

        var first = lines[0].Split(',').Select(f => f.Trim().Trim('"')).ToArray();
        // A header when its first field is not a number (pandas' read_csv reads the first line as the header).
        var hasHeader = !double.TryParse(first[0], NumberStyles.Float, CultureInfo.InvariantCulture, out _);
        var names = hasHeader ? first : null;
        var rows = lines.Skip(hasHeader ? 1 : 0).Select(l => l.Split(',').Select(f => JsonDocument.Parse(ToJsonScalar(f.Trim())).RootElement.Clone()).ToArray()).ToList();
        return Matrix(rows, names, columnNames, columns, out error);
    }

    private static string ToJsonScalar(string field) =>
        double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out _) ? field : JsonSerializer.Serialize(field.Trim('"'));

    /// <summary>Orders the columns by the signature's names when both sides have names, then converts to float32 (ints and floats allowed, as pyfunc converts them).</summary>
    private static (float[] Data, int Rows)? Matrix(List<JsonElement[]> rows, string[]? names, IReadOnlyList<string>? signatureNames, int columns, out ScoringError? error)
    {
        error = null;
        var order = Enumerable.Range(0, columns).ToArray();
        if (names is not null && signatureNames is { Count: > 0 })
        {
            var missing = signatureNames.Where(n => !names.Contains(n)).ToList();
            if (missing.Count > 0)
            {
                error = new ScoringError(400, "INVALID_PARAMETER_VALUE", $"Failed to enforce schema of data: the input is missing columns [{string.Join(", ", missing.Select(m => $"'{m}'"))}].");
                return null;
            }

            order = [.. signatureNames.Select(n => Array.IndexOf(names, n))];
        }

        var data = new float[rows.Count * columns];
        for (var r = 0; r < rows.Count; r++)
        {
            if (rows[r].Length != (names?.Length ?? columns) || (names is null && rows[r].Length != columns) || (names is not null && signatureNames is not { Count: > 0 } && names.Length != columns))
            {
                error = new ScoringError(400, "INVALID_PARAMETER_VALUE",
                    $"Failed to enforce schema of data: row {r} has {rows[r].Length} values, the model expects {columns} (shape (-1, {columns})).");
                return null;
            }

            for (var c = 0; c < columns; c++)
            {
                var cell = rows[r][order[c]];
                if (cell.ValueKind == JsonValueKind.Number)
                {
                    data[(r * columns) + c] = (float)cell.GetDouble();
                }
                else if (cell.ValueKind == JsonValueKind.Null || cell.ValueKind == JsonValueKind.Undefined)
                {
                    data[(r * columns) + c] = float.NaN; // a missing value: XGBoost's missing
                }
                else
                {
                    var column = names is not null ? names[order[c]] : c.ToString(CultureInfo.InvariantCulture);
                    error = new ScoringError(400, "BAD_REQUEST",
                        $"Invalid input. Data is not compatible with model signature. Failed to convert column {column} to type 'float32'. Error: 'could not convert {cell.ValueKind.ToString().ToLowerInvariant()} to float: {cell.GetRawText()}'");
                    return null;
                }
            }
        }

        return (data, rows.Count);
    }
}
