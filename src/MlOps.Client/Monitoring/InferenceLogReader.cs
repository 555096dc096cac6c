using System.Globalization;
using System.Text.Json;

namespace MlOps.Client.Monitoring;

/// <summary>What an inference log holds: its requests and ground truth, oldest first, and the lines that could not be read.</summary>
/// <param name="Records">The logged requests.</param>
/// <param name="Feedback">The ground truth sent back.</param>
/// <param name="UnreadableLines">Lines that are not a whole record (a write torn by a crash or a full disk, a flipped byte): skipped.</param>
/// <param name="Files">Files read.</param>
public sealed record InferenceLogContents(IReadOnlyList<InferenceRecord> Records, IReadOnlyList<InferenceFeedback> Feedback, long UnreadableLines, int Files);

/// <summary>Reads the files an <see cref="InferenceLog"/> writes (also while it writes them).</summary>
public static class InferenceLogReader
{
    /// <summary>Reads every file of the log in <paramref name="directory"/>, in the order they were written.</summary>
    /// <param name="directory">The log's folder.</param>
    /// <param name="since">Only records served at or after this time, when given.</param>
    /// <exception cref="DirectoryNotFoundException">There is no such folder.</exception>
    public static InferenceLogContents Read(string directory, DateTimeOffset? since = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"No inference log at '{directory}'.");
        }

        var files = Directory.EnumerateFiles(directory, "*" + InferenceLog.Extension)
            .Where(f => Path.GetFileName(f) is var n && (n.StartsWith(InferenceLog.RecordPrefix, StringComparison.Ordinal) || n.StartsWith(InferenceLog.FeedbackPrefix, StringComparison.Ordinal)))
            .OrderBy(f => { var n = Path.GetFileName(f); return n[(n.IndexOf('-', StringComparison.Ordinal) + 1)..]; }, StringComparer.Ordinal)
            .ToList();
        var records = new List<InferenceRecord>();
        var feedback = new List<InferenceFeedback>();
        long unreadable = 0;
        var read = 0;
        foreach (var file in files)
        {
            InferenceLogContents contents;
            try
            {
                contents = ReadFile(file);
            }
            catch (FileNotFoundException)
            {
                continue; // evicted while listing
            }

            read++;
            records.AddRange(since is { } from ? contents.Records.Where(r => r.Timestamp >= from) : contents.Records);
            feedback.AddRange(contents.Feedback);
            unreadable += contents.UnreadableLines;
        }

        return new InferenceLogContents(records, feedback, unreadable, read);
    }

    /// <summary>Reads one file.</summary>
    /// <param name="path">The file.</param>
    public static InferenceLogContents ReadFile(string path)
    {
        var records = new List<InferenceRecord>();
        var feedback = new List<InferenceFeedback>();
        long unreadable = 0;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            try
            {
                using var document = JsonDocument.Parse(line);
                var root = document.RootElement;
                if (root.TryGetProperty("targets", out var targets))
                {
                    feedback.Add(new InferenceFeedback(root.GetProperty("request_id").GetString()!, Timestamp(root), [.. targets.EnumerateArray().Select(Value)]));
                }
                else
                {
                    records.Add(new InferenceRecord
                    {
                        RequestId = root.GetProperty("request_id").GetString()!,
                        Timestamp = Timestamp(root),
                        ModelUri = root.TryGetProperty("model_uri", out var uri) ? uri.GetString() : null,
                        LatencyMilliseconds = root.TryGetProperty("latency_ms", out var latency) ? latency.GetDouble() : 0,
                        Rows = root.GetProperty("rows").GetInt32(),
                        Inputs = Columns(root, "inputs"),
                        Predictions = Columns(root, "predictions"),
                    });
                }
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                unreadable++;
            }
        }

        return new InferenceLogContents(records, feedback, unreadable, 1);
    }

    private static DateTimeOffset Timestamp(JsonElement root) =>
        DateTimeOffset.Parse(root.GetProperty("timestamp").GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    private static InferenceColumn[] Columns(JsonElement root, string name) =>
        root.TryGetProperty(name, out var columns) ? [.. columns.EnumerateObject().Select(c => new InferenceColumn(c.Name, [.. c.Value.EnumerateArray().Select(Value)]))] : [];

    private static object? Value(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Number => e.GetDouble(),
        JsonValueKind.String => e.GetString(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Array => e.EnumerateArray().All(i => i.ValueKind is JsonValueKind.Number or JsonValueKind.Null)
            ? e.EnumerateArray().Select(i => i.ValueKind == JsonValueKind.Number ? i.GetDouble() : double.NaN).ToArray()
            : (object)e.EnumerateArray().Select(Value).ToArray(),
        _ => null,
    };
}
