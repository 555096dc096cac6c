using System.Text;
using System.Text.Json;
using CsvHelper;

namespace MlOps.Client.Reporting;

/// <summary>
/// A table of text cells — a header and rows — written as CSV, JSON or GitHub markdown: the one writer of every table
/// the tool prints (runs, experiments, artifacts, registered models…).
/// </summary>
/// <param name="columns">The column names.</param>
/// <param name="rows">The rows, one cell per column (<see langword="null"/> for a missing value).</param>
public sealed class TextTable(IReadOnlyList<string> columns, IReadOnlyList<IReadOnlyList<string?>> rows)
{
    /// <summary>The column names.</summary>
    public IReadOnlyList<string> Columns { get; } = columns ?? throw new ArgumentNullException(nameof(columns));

    /// <summary>The rows, one cell per column.</summary>
    public IReadOnlyList<IReadOnlyList<string?>> Rows { get; } = rows ?? throw new ArgumentNullException(nameof(rows));

    /// <summary>Writes RFC 4180 CSV (header row, then the rows; quoting by CsvHelper, missing values empty), as pandas' <c>to_csv(index=False)</c> lays it out.</summary>
    /// <param name="writer">The destination.</param>
    public void WriteCsv(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        using var csv = CsvWriter.Create(writer, new CsvWriterOptions { NewLine = "\n" }, true);
        csv.WriteRecord([.. Columns]);
        foreach (var row in Rows)
        {
            csv.WriteRecord([.. row.Select(cell => cell ?? "")]);
        }

        csv.Flush();
    }

    /// <summary>Writes an indented JSON array of objects, one per row, column name → value (missing values left out).</summary>
    /// <param name="writer">The destination.</param>
    public void WriteJson(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartArray();
            foreach (var row in Rows)
            {
                json.WriteStartObject();
                for (var i = 0; i < Columns.Count; i++)
                {
                    if (row[i] is { } cell)
                    {
                        json.WriteString(Columns[i], cell);
                    }
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        writer.Write(Encoding.UTF8.GetString(stream.ToArray()));
        writer.WriteLine();
    }

    /// <summary>Writes a GitHub-flavored markdown table (pipes and line breaks in cells escaped).</summary>
    /// <param name="writer">The destination.</param>
    /// <param name="columns">The columns to show, in this order (unknown names skipped); all when <see langword="null"/>.</param>
    public void WriteMarkdown(TextWriter writer, IReadOnlyList<string>? columns = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var shown = (columns ?? Columns).Select(c => (Name: c, Index: IndexOf(c))).Where(c => c.Index >= 0).ToList();
        Markdown.WriteTable(writer, shown.Select(c => c.Name).ToList(), Rows.Select(r => (IReadOnlyList<string?>)shown.Select(c => r[c.Index]).ToList()));
    }

    /// <summary>The index of <paramref name="column"/>, or −1.</summary>
    /// <param name="column">The column name.</param>
    public int IndexOf(string column)
    {
        for (var i = 0; i < Columns.Count; i++)
        {
            if (string.Equals(Columns[i], column, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
