using System.Globalization;
using MlOps.Client;
using MlOps.Client.Formatting;

namespace MlOps.Client.Reporting;

/// <summary>
/// Runs as a table, the way Python's <c>mlflow.search_runs()</c> returns them as a DataFrame: one row per run; the
/// columns <c>run_id</c>, <c>experiment_id</c>, <c>status</c>, <c>artifact_uri</c>, <c>start_time</c>,
/// <c>end_time</c>, then <c>metrics.&lt;key&gt;</c>, <c>params.&lt;key&gt;</c> and <c>tags.&lt;key&gt;</c> (each group
/// sorted by key, so that the columns are stable). A run without a value has an empty cell.
/// </summary>
public sealed class RunTable
{
    /// <summary>The fixed leading columns, in order.</summary>
    public static IReadOnlyList<string> InfoColumns { get; } = ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"];

    private RunTable(IReadOnlyList<string> columns, IReadOnlyList<IReadOnlyList<string?>> rows, IReadOnlyList<Run> runs)
    {
        Columns = columns;
        Rows = rows;
        Text = new TextTable(columns, rows);
        Runs = runs;
    }

    /// <summary>The column names.</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>The cells, one list per run, aligned with <see cref="Columns"/> (<see langword="null"/> = no value).</summary>
    public IReadOnlyList<IReadOnlyList<string?>> Rows { get; }

    /// <summary>The runs, in row order.</summary>
    public IReadOnlyList<Run> Runs { get; }

    /// <summary>
    /// Builds the table. Times are written as pandas writes a UTC timestamp (<c>2026-12-02 10:16:11.653000+00:00</c>),
    /// metric values as Python's <c>repr</c> of a float (<c>0.9333333333333333</c>, <c>nan</c>), params and tags as stored.
    /// </summary>
    /// <param name="runs">The runs, e.g. from a search.</param>
    public static RunTable FromRuns(IEnumerable<Run> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var list = runs.ToList();
        var metrics = list.SelectMany(r => r.Data.Metrics.Select(m => m.Key)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var parameters = list.SelectMany(r => r.Data.Params.Select(p => p.Key)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var tags = list.SelectMany(r => r.Data.Tags.Select(t => t.Key)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var columns = InfoColumns.Concat(metrics.Select(k => "metrics." + k)).Concat(parameters.Select(k => "params." + k)).Concat(tags.Select(k => "tags." + k)).ToList();
        var rows = new List<IReadOnlyList<string?>>(list.Count);
        foreach (var run in list)
        {
            var row = new List<string?>(columns.Count)
            {
                run.Info.RunId, run.Info.ExperimentId, StatusName(run.Info.Status), run.Info.ArtifactUri, Time(run.Info.StartTime), Time(run.Info.EndTime),
            };
            var latest = run.Data.Metrics.GroupBy(m => m.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.Ordinal);
            row.AddRange(metrics.Select(k => latest.TryGetValue(k, out var v) ? PythonFormat.Float(v) : null));
            row.AddRange(parameters.Select(run.Data.GetParam));
            row.AddRange(tags.Select(run.Data.GetTag));
            rows.Add(row);
        }

        return new RunTable(columns, rows, list);
    }

    /// <summary>The value of <paramref name="column"/> in row <paramref name="row"/>, or <see langword="null"/>.</summary>
    /// <param name="row">The row index.</param>
    /// <param name="column">The column name.</param>
    public string? this[int row, string column]
    {
        get
        {
            var i = IndexOf(column);
            return i < 0 ? null : Rows[row][i];
        }
    }

    /// <summary>The index of <paramref name="column"/>, or −1.</summary>
    /// <param name="column">The column name.</param>
    public int IndexOf(string column) => Text.IndexOf(column);

    /// <summary>The table as text cells (the writer of every table the tool prints).</summary>
    public TextTable Text { get; }

    /// <summary>Writes RFC 4180 CSV (header row, then one row per run), as pandas' <c>to_csv(index=False)</c> would lay it out.</summary>
    /// <param name="writer">The destination.</param>
    public void WriteCsv(TextWriter writer) => Text.WriteCsv(writer);

    /// <summary>Writes a JSON array of objects, one per run, column name → value (missing values left out).</summary>
    /// <param name="writer">The destination.</param>
    public void WriteJson(TextWriter writer) => Text.WriteJson(writer);

    /// <summary>Writes a GitHub-flavored markdown table (pipes and line breaks in cells escaped).</summary>
    /// <param name="writer">The destination.</param>
    /// <param name="columns">The columns to show; all when <see langword="null"/>.</param>
    public void WriteMarkdown(TextWriter writer, IReadOnlyList<string>? columns = null) => Text.WriteMarkdown(writer, columns);

    internal static string StatusName(RunStatus status) => MlOps.Client.Rest.MlflowEnumNames.Of(status);

    /// <summary>A UTC time as pandas prints a <c>Timestamp</c> with a time zone: <c>yyyy-MM-dd HH:mm:ss.ffffff+00:00</c>.</summary>
    internal static string? Time(long? unixMs) =>
        unixMs is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture) + "+00:00" : null;
}

/// <summary>Markdown helpers shared by the table, the comparison and the report.</summary>
internal static class Markdown
{
    public static string Cell(string? text) =>
        text is null ? "" : text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("|", "\\|", StringComparison.Ordinal).Replace("\r", "", StringComparison.Ordinal).Replace("\n", "<br>", StringComparison.Ordinal);

    public static void WriteTable(TextWriter writer, IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string?>> rows)
    {
        writer.WriteLine("| " + string.Join(" | ", header.Select(Cell)) + " |");
        writer.WriteLine("|" + string.Concat(header.Select(_ => "---|")));
        foreach (var row in rows)
        {
            writer.WriteLine("| " + string.Join(" | ", row.Select(Cell)) + " |");
        }
    }
}
