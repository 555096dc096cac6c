using System.Text;
using System.Text.Json;
using CsvHelper;

namespace MlOps.Client.Serving.Input;

/// <summary>
/// Reads <c>/invocations</c> bodies as MLflow's scoring server (<c>mlflow/pyfunc/scoring_server</c>) does: JSON with
/// exactly one of <c>dataframe_split</c>, <c>dataframe_records</c>, <c>instances</c>, <c>inputs</c> (and optional
/// <c>params</c>, accepted and ignored as Python does without a params schema), or <c>text/csv</c>.
/// </summary>
internal static class ScoringRequest
{
    private static readonly string[] FormatKeys = ["dataframe_split", "dataframe_records", "instances", "inputs"];

    /// <summary>Parses a body into rows, or explains (status and MLflow's error JSON) why it cannot.</summary>
    public static InputFrame? Parse(string? contentType, ReadOnlyMemory<byte> body, out ScoringError? error)
    {
        if (body.Span.StartsWith("\uFEFF"u8))
        {
            body = body[3..]; // a UTF-8 byte order mark, as Python's decoding drops it
        }

        error = null;
        if (string.Equals(contentType, "application/json", StringComparison.OrdinalIgnoreCase))
        {
            // The usual case, without taking the header apart.
            return System.Text.Unicode.Utf8.IsValid(body.Span) ? ParseJson(body, out error) : InvalidUtf8(body.Span, out error);
        }

        var parts = (contentType ?? "").Split(';').Select(p => p.Trim()).ToArray();
        var mediaType = parts[0].ToLowerInvariant();
        var parameters = parts.Skip(1).Where(p => p.Length > 0).ToList();
        var charset = parameters.FirstOrDefault(p => p.StartsWith("charset=", StringComparison.OrdinalIgnoreCase))?["charset=".Length..].Trim('"');
        if (mediaType.Length == 0)
        {
            // MLflow's server answers a plain-text 500 here; this one says what is missing.
            error = new ScoringError(415, "BAD_REQUEST", "Missing Content-Type: send application/json or text/csv.");
            return null;
        }

        var others = parameters.Where(p => !p.StartsWith("charset=", StringComparison.OrdinalIgnoreCase)).Select(p => p.Split('=')[0]).ToList();
        if (others.Count > 0)
        {
            error = new ScoringError(415, "BAD_REQUEST",
                $"Unrecognized content type parameters: {string.Join(", ", others)}. Since MLflow 2.0 the format is a key of the JSON body (dataframe_split, dataframe_records, instances, inputs).");
            return null;
        }

        if (mediaType is not ("application/json" or "text/csv") || (charset is not null && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase)))
        {
            error = new ScoringError(415, "BAD_REQUEST", $"This predictor only supports the following content types: Types: ['text/csv', 'application/json']. Got '{contentType}'.");
            return null;
        }

        if (!System.Text.Unicode.Utf8.IsValid(body.Span))
        {
            return InvalidUtf8(body.Span, out error);
        }

        return mediaType == "text/csv" ? ParseCsv(body.Span, out error) : ParseJson(body, out error);
    }

    /// <summary>
    /// Wherever the bad bytes are (a key, a value the model does not use): the whole body is refused, as a text decoder
    /// refuses it, before any of it is read.
    /// </summary>
    private static InputFrame? InvalidUtf8(ReadOnlySpan<byte> body, out ScoringError? error)
    {
        error = new ScoringError(400, "BAD_REQUEST", $"Invalid input. The request body is not valid UTF-8 (at byte {FirstInvalidUtf8(body)}).");
        return null;
    }

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        var offset = 0;
        while (offset < bytes.Length)
        {
            if (System.Text.Rune.DecodeFromUtf8(bytes[offset..], out _, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                return offset;
            }

            offset += consumed;
        }

        return offset;
    }

    private static InputFrame? ParseJson(ReadOnlyMemory<byte> body, out ScoringError? error)
    {
        error = null;
        return SimpleSplit(body.Span) ?? ParseJsonDocument(body, out error);
    }

    /// <summary>
    /// The usual body — <c>{"dataframe_split": {"columns": [names], "data": [[numbers or nulls], …]}}</c> and nothing
    /// else — read in one pass without building a <see cref="JsonDocument"/>, each value as <see cref="Cell.From"/> reads
    /// it. Anything else (other keys, an index, text, booleans or lists as values, a scalar row, a row of another width,
    /// a key twice, invalid JSON, Python's NaN) gives <see langword="null"/>: the general reader then takes the whole
    /// body, with its own answers and messages.
    /// </summary>
    internal static InputFrame? SimpleSplit(ReadOnlySpan<byte> body)
    {
        if (body.Length > SimpleSplitMaxBytes)
        {
            return null; // a large body: the general reader sizes its arrays from the parsed document
        }

        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject
                || !reader.Read() || reader.TokenType != JsonTokenType.PropertyName || !reader.ValueTextEquals("dataframe_split"u8)
                || !reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            string[]? names = null;
            CellChunks? cells = null;
            int rows = 0, width = -1;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (names is null && reader.ValueTextEquals("columns"u8))
                {
                    if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
                    {
                        return null;
                    }

                    var list = new List<string>();
                    while (reader.Read() && reader.TokenType == JsonTokenType.String)
                    {
                        list.Add(reader.GetString()!);
                    }

                    if (reader.TokenType != JsonTokenType.EndArray)
                    {
                        return null;
                    }

                    names = [.. list];
                }
                else if (cells is null && reader.ValueTextEquals("data"u8))
                {
                    if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
                    {
                        return null;
                    }

                    cells = CellChunks.Growing();
                    while (reader.Read() && reader.TokenType == JsonTokenType.StartArray)
                    {
                        var start = cells.Count;
                        while (reader.Read() && reader.TokenType is JsonTokenType.Number or JsonTokenType.Null)
                        {
                            cells.Add(Cell.FromNumberOrNull(ref reader));
                        }

                        if (reader.TokenType != JsonTokenType.EndArray || (width >= 0 && cells.Count - start != width))
                        {
                            return null;
                        }

                        width = cells.Count - start;
                        rows++;
                    }

                    if (reader.TokenType != JsonTokenType.EndArray)
                    {
                        return null;
                    }
                }
                else
                {
                    return null;
                }
            }

            // The end of dataframe_split, then of the body, then nothing after it.
            if (reader.TokenType != JsonTokenType.EndObject || !reader.Read() || reader.TokenType != JsonTokenType.EndObject || reader.Read()
                || names is null || cells is null || (rows > 0 && width != names.Length))
            {
                return null;
            }

            return new InputFrame(names, cells, rows, names.Length);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The largest body <see cref="SimpleSplit"/> reads (it does not know the row count before it reads them; the usual request is a few KiB).</summary>
    private const int SimpleSplitMaxBytes = 256 * 1024;

    /// <summary>Any JSON body, read through a <see cref="JsonDocument"/> (the general reader).</summary>
    internal static InputFrame? ParseJsonDocument(ReadOnlyMemory<byte> body, out ScoringError? error)
    {
        error = null;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException) when (WithPythonConstants(body.Span) is { } rewritten)
        {
            // Python's json reads NaN, Infinity and -Infinity (json.dumps writes them for float('nan') and friends).
            return ParseJson(rewritten, out error);
        }
        catch (JsonException ex)
        {
            error = new ScoringError(400, "BAD_REQUEST", $"Invalid input. Ensure that input is a valid JSON formatted string. Error: '{ex.Message}'");
            return null;
        }

        using (document)
        {
            var root = document.RootElement;
            // A key sent twice is one key with its last value, as Python's dict keeps it; the keys in first-seen order.
            var keys = new List<string>(1);
            var value = default(JsonElement);
            if (root.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in root.EnumerateObject())
                {
                    var key = FormatKey(property);
                    if (key is null)
                    {
                        continue;
                    }

                    if (!keys.Contains(key))
                    {
                        keys.Add(key);
                    }

                    if (key == keys[0])
                    {
                        value = property.Value;
                    }
                }
            }

            if (keys.Count != 1)
            {
                error = new ScoringError(400, "BAD_REQUEST",
                    "The input must be a JSON dictionary with exactly one of the input fields {'instances', 'inputs', 'dataframe_split', 'dataframe_records'}. " +
                    $"Received dictionary with input fields: [{string.Join(", ", keys.Select(k => $"'{k}'"))}].");
                return null;
            }

            return keys[0] switch
            {
                "dataframe_split" => Split(value, out error),
                "dataframe_records" => Records(value, out error),
                _ => Tensor(value, out error),
            };
        }
    }

    private static string? FormatKey(JsonProperty property)
    {
        foreach (var key in FormatKeys)
        {
            if (property.NameEquals(key))
            {
                return key;
            }
        }

        return null;
    }

    private static InputFrame? Split(JsonElement split, out ScoringError? error)
    {
        error = null;
        if (split.ValueKind != JsonValueKind.Object || !split.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
        {
            error = new ScoringError(400, "BAD_REQUEST", "Invalid input. dataframe_split needs a 'data' list of rows (and 'columns').");
            return null;
        }

        if (split.TryGetProperty("index", out var index) && index.ValueKind == JsonValueKind.Array && index.GetArrayLength() != data.GetArrayLength())
        {
            // pandas refuses it ("Shape of passed values is …, indices imply …"); the index itself is not used.
            error = new ScoringError(400, "BAD_REQUEST",
                $"Invalid input. dataframe_split has {data.GetArrayLength()} rows of data for an index of {index.GetArrayLength()}.");
            return null;
        }

        string[]? names = null;
        if (split.TryGetProperty("columns", out var c) && c.ValueKind == JsonValueKind.Array)
        {
            names = new string[c.GetArrayLength()];
            var i = 0;
            foreach (var name in c.EnumerateArray())
            {
                names[i++] = name.ToString();
            }
        }

        if (names is null)
        {
            return Positional(data);
        }

        // Named: every row as wide as the columns (checked before the array is made, so that it holds what was sent),
        // read straight into one array.
        var count = data.GetArrayLength();
        var r = 0;
        foreach (var row in data.EnumerateArray())
        {
            var length = row.ValueKind == JsonValueKind.Array ? row.GetArrayLength() : 1;
            if (length != names.Length)
            {
                error = new ScoringError(400, "BAD_REQUEST",
                    $"Invalid input. dataframe_split row {r} has {length} values for {names.Length} columns.");
                return null;
            }

            r++;
        }

        var cells = Values(data, count * names.Length);

        return new InputFrame(names, cells, count, names.Length);
    }

    /// <summary>The values of rows already checked to hold <paramref name="total"/> in all (a scalar row holds one).</summary>
    private static CellChunks Values(JsonElement data, int total)
    {
        var cells = CellChunks.Sized(total);
        var at = 0;
        foreach (var row in data.EnumerateArray())
        {
            if (row.ValueKind != JsonValueKind.Array)
            {
                cells[at++] = Cell.From(row);
                continue;
            }

            foreach (var value in row.EnumerateArray())
            {
                cells[at++] = Cell.From(value);
            }
        }

        return cells;
    }

    /// <summary>Rows without names (a list of lists, or of scalars: one value per row), which may be ragged.</summary>
    private static InputFrame Positional(JsonElement data)
    {
        // The widths are checked first (the parsed document knows each row's length), so that the values' room is made
        // once, no larger than what was sent (a 16 MiB body is millions of values).
        var count = data.GetArrayLength();
        var width = count == 0 ? 0 : Width(data[0]);
        foreach (var row in data.EnumerateArray())
        {
            if (Width(row) != width)
            {
                return InputFrame.Ragged(count, width);
            }
        }

        var cells = Values(data, count * width);

        return new InputFrame(null, cells, count, width);

        static int Width(JsonElement row) => row.ValueKind == JsonValueKind.Array ? row.GetArrayLength() : 1;
    }

    private static InputFrame? Records(JsonElement records, out ScoringError? error)
    {
        error = null;
        if (records.ValueKind != JsonValueKind.Array || records.EnumerateArray().Any(r => r.ValueKind != JsonValueKind.Object))
        {
            error = new ScoringError(400, "BAD_REQUEST", "Invalid input. dataframe_records needs a list of {column: value} objects.");
            return null;
        }

        return FromRecords(records, out error);
    }

    /// <summary>
    /// A list of objects as pandas' <c>DataFrame(records)</c>: the columns in first-seen order, absent values missing.
    /// A table far larger than what was sent (records with keys of their own: each row gets every column) is refused.
    /// </summary>
    private static InputFrame? FromRecords(JsonElement records, out ScoringError? error)
    {
        error = null;
        var names = records.EnumerateArray().SelectMany(r => r.EnumerateObject().Select(p => p.Name)).Distinct(StringComparer.Ordinal).ToArray();
        var count = records.GetArrayLength();
        var sent = records.EnumerateArray().Sum(r => (long)r.EnumerateObject().Count());
        if ((long)names.Length * count > Math.Max(MaxSparseCells, 4 * sent))
        {
            error = new ScoringError(400, "BAD_REQUEST",
                $"Invalid input. {count} records with {names.Length} distinct keys make a table of {(long)names.Length * count} values for {sent} sent; at most {Math.Max(MaxSparseCells, 4 * sent)} are accepted (send the same keys in every record, or dataframe_split).");
            return null;
        }

        var cells = CellChunks.Sized(count * names.Length);
        var at = 0;
        foreach (var record in records.EnumerateArray())
        {
            foreach (var name in names)
            {
                cells[at++] = record.TryGetProperty(name, out var v) ? Cell.From(v) : Cell.Missing;
            }
        }

        return new InputFrame(names, cells, count, names.Length);
    }

    /// <summary>How many values a records table may hold however sparse it is (beyond that, at most 4 per value sent).</summary>
    private const long MaxSparseCells = 1_000_000;

    /// <summary>
    /// The body with Python's JSON constants outside strings replaced — <c>NaN</c> by <c>null</c> (a missing value),
    /// <c>Infinity</c> by <c>1e999</c> (read as infinity) — or <see langword="null"/> when it has none.
    /// </summary>
    private static byte[]? WithPythonConstants(ReadOnlySpan<byte> body)
    {
        var output = new List<byte>(body.Length + 16);
        var inString = false;
        var changed = false;
        for (var i = 0; i < body.Length; i++)
        {
            var b = body[i];
            if (inString)
            {
                output.Add(b);
                if (b == (byte)'\\' && i + 1 < body.Length)
                {
                    output.Add(body[++i]);
                }
                else if (b == (byte)'"')
                {
                    inString = false;
                }

                continue;
            }

            if (b == (byte)'"')
            {
                inString = true;
            }
            else if (body[i..].StartsWith("NaN"u8))
            {
                output.AddRange("null"u8);
                i += 2;
                changed = true;
                continue;
            }
            else if (body[i..].StartsWith("Infinity"u8))
            {
                output.AddRange("1e999"u8);
                i += 7;
                changed = true;
                continue;
            }

            output.Add(b);
        }

        return changed ? [.. output] : null;
    }

    /// <summary><c>instances</c>/<c>inputs</c>: a list of rows (positional), a list of records, or a dictionary of columns.</summary>
    private static InputFrame? Tensor(JsonElement value, out ScoringError? error)
    {
        error = null;
        if (value.ValueKind == JsonValueKind.Object)
        {
            var columns = value.EnumerateObject().ToList();
            var lengths = columns.Select(c => c.Value.ValueKind == JsonValueKind.Array ? c.Value.GetArrayLength() : 1).Distinct().ToList();
            if (lengths.Count > 1)
            {
                error = new ScoringError(400, "BAD_REQUEST", "Invalid input. The columns of 'inputs' must all have the same length.");
                return null;
            }

            var count = lengths.FirstOrDefault();
            var cells = CellChunks.Sized(count * columns.Count);
            for (var c = 0; c < columns.Count; c++)
            {
                var column = columns[c].Value;
                var r = 0;
                if (column.ValueKind != JsonValueKind.Array)
                {
                    cells[c] = Cell.From(column); // a scalar: one row
                    continue;
                }

                foreach (var item in column.EnumerateArray())
                {
                    cells[(r++ * columns.Count) + c] = Cell.From(item);
                }
            }

            return new InputFrame([.. columns.Select(c => c.Name)], cells, count, columns.Count, IsDictionary: true);
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            error = new ScoringError(400, "BAD_REQUEST", "Invalid input. Expected a list of rows.");
            return null;
        }

        if (value.GetArrayLength() > 0 && value.EnumerateArray().All(r => r.ValueKind == JsonValueKind.Object))
        {
            return FromRecords(value, out error);
        }

        return Positional(value);
    }

    /// <summary>
    /// CSV as <c>pandas.DataFrame.to_csv()</c> writes it (RFC 4180 quoting). The first line is the header unless it is all
    /// numbers (Python's server always takes it as the header and then fails on the numbers as column names).
    /// </summary>
    private static InputFrame? ParseCsv(ReadOnlySpan<byte> body, out ScoringError? error)
    {
        error = null;
        var lines = new List<string[]>();
        try
        {
            // pandas' separator (no guessing among ; \t |), and no request value in a parser's message.
            using var reader = CsvReader.FromText(Encoding.UTF8.GetString(body), new CsvReaderOptions { HasHeader = false, Separator = ',', IncludeValuesInExceptions = false });
            foreach (var row in reader)
            {
                var fields = row.ToArray();
                if (fields.Length > 1 || (fields.Length == 1 && fields[0].Length > 0))
                {
                    lines.Add(fields);
                }
            }
        }
        catch (Exception ex) when (ex is FormatException or InvalidOperationException or CsvFormatException)
        {
            error = new ScoringError(400, "BAD_REQUEST", $"Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid CSV-formatted Pandas DataFrame produced using the `pandas.DataFrame.to_csv()` method. Error: '{ex.Message}'");
            return null;
        }

        if (lines.Count == 0)
        {
            error = new ScoringError(400, "BAD_REQUEST", "Failed to parse input as a Pandas DataFrame. The CSV body is empty.");
            return null;
        }

        // A header unless the first line is all numbers — but 0,1,2,… is the header pandas writes for unnamed columns.
        var hasHeader = lines[0].Any(f => !Cell.FromCsv(f).IsNumber)
            || lines[0].Select((f, i) => f == i.ToString(System.Globalization.CultureInfo.InvariantCulture)).All(same => same);
        var names = hasHeader ? lines[0] : null;
        var width = lines[0].Length;
        var count = lines.Count - (hasHeader ? 1 : 0);
        for (var r = 0; r < count; r++)
        {
            var line = lines[r + (hasHeader ? 1 : 0)];
            if (line.Length != width)
            {
                error = new ScoringError(400, "BAD_REQUEST",
                    $"Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid CSV-formatted Pandas DataFrame produced using the `pandas.DataFrame.to_csv()` method. Error: 'Error tokenizing data. Expected {width} fields in line {r + (hasHeader ? 2 : 1)}, saw {line.Length}'");
                return null;
            }
        }

        var cells = CellChunks.Sized(count * width); // every line checked first: the array holds what was sent
        for (var r = 0; r < count; r++)
        {
            var line = lines[r + (hasHeader ? 1 : 0)];
            for (var c = 0; c < width; c++)
            {
                cells[(r * width) + c] = Cell.FromCsv(line[c]);
            }
        }

        return new InputFrame(names, cells, count, width, IsCsv: true);
    }
}
