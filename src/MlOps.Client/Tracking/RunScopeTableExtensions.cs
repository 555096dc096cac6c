using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MlOps.Client.Artifacts;
using MlOps.Client.Formatting;

namespace MlOps.Client.Tracking;

/// <summary>Python's <c>mlflow.log_table</c>: a table as a JSON artifact the MLflow UI shows in its artifact view and evaluation tab.</summary>
public static class RunScopeTableExtensions
{
    private static readonly System.Buffers.SearchValues<char> Forbidden = System.Buffers.SearchValues.Create("\"',:[]{}");

    /// <summary>
    /// Logs a table as <paramref name="artifactFile"/> in pandas' <c>split</c> JSON (<c>{"columns": […], "data": [[…]]}</c>,
    /// what Python's <c>log_table</c> writes) and records it in the run's <c>mlflow.loggedArtifacts</c> tag. A table
    /// already logged under that name is appended to, as in Python (columns joined, missing cells <c>null</c>).
    /// </summary>
    /// <param name="run">The run.</param>
    /// <param name="columns">The column names.</param>
    /// <param name="rows">The rows, one value per column: numbers, strings, booleans, <see langword="null"/>, or any JSON value.</param>
    /// <param name="artifactFile">The artifact file, ending in <c>.json</c> (e.g. <c>eval/predictions.json</c>).</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    /// <exception cref="ArgumentException">The file name does not end in .json, holds a character Python refuses, or a row's length differs from the columns'.</exception>
    public static async Task LogTableAsync(this RunScope run, IReadOnlyList<string> columns, IEnumerable<IReadOnlyList<object?>> rows, string artifactFile, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentException.ThrowIfNullOrEmpty(artifactFile);
        if (artifactFile.AsSpan().IndexOfAny(Forbidden) is var bad and >= 0)
        {
            throw new ArgumentException($"The artifact_file contains forbidden character: {artifactFile[bad]}", nameof(artifactFile));
        }

        if (!artifactFile.EndsWith(".json", StringComparison.Ordinal))
        {
            throw new ArgumentException(
                $"Invalid artifact file path '{artifactFile}'. LogTableAsync writes a table as '.json' (Python's '.parquet' form is not written here).", nameof(artifactFile));
        }

        var target = ArtifactPaths.Normalize(artifactFile);
        var table = new LoggedTable([.. columns]);
        var index = 0;
        foreach (var row in rows)
        {
            if (row.Count != columns.Count)
            {
                throw new ArgumentException($"Row {index} has {row.Count} values for {columns.Count} columns.", nameof(rows));
            }

            table.Rows.Add([.. row.Select(PythonFormat.PandasCell)]);
            index++;
        }

        var repository = run.GetArtifactRepository();
        var folder = target.Contains('/', StringComparison.Ordinal) ? target[..target.LastIndexOf('/')] : null;
        if ((await repository.ListAsync(folder, cancellationToken).ConfigureAwait(false)).Any(f => !f.IsDir && ArtifactPaths.Normalize(f.Path) == target))
        {
            table = LoggedTable.Concat(await ReadAsync(repository, target, cancellationToken).ConfigureAwait(false), table);
        }

        await RunScopeArtifactExtensions.LogBytesAsync(run, Encoding.UTF8.GetBytes(table.ToSplitJson()), target, cancellationToken).ConfigureAwait(false);

        // The tag lists each table once, in the order logged (json.dumps' form, as Python writes it).
        await run.FlushAsync(cancellationToken).ConfigureAwait(false);
        var current = (await run.Tracker.Store.GetRunAsync(run.RunId, cancellationToken).ConfigureAwait(false)).Data.GetTag(MlflowTags.LoggedArtifacts);
        var list = current is null ? [] : JsonNode.Parse(current) as JsonArray ?? [];
        if (!list.Any(e => e?["path"]?.GetValue<string>() == artifactFile && e?["type"]?.GetValue<string>() == "table"))
        {
            list.Add((JsonNode)new JsonObject { ["path"] = artifactFile, ["type"] = "table" });
            run.SetTag(MlflowTags.LoggedArtifacts, PythonFormat.JsonDumps(list));
        }
    }

    private static async Task<LoggedTable> ReadAsync(IArtifactRepository repository, string path, CancellationToken cancellationToken)
    {
        var dir = Directory.CreateTempSubdirectory("mlops-table-");
        try
        {
            var local = await repository.DownloadAsync(path, dir.FullName, 1, null, cancellationToken).ConfigureAwait(false);
            var json = JsonNode.Parse(await File.ReadAllTextAsync(local, cancellationToken).ConfigureAwait(false))
                ?? throw new InvalidDataException($"The table '{path}' already logged is empty.");
            var existing = new LoggedTable([.. json["columns"]!.AsArray().Select(c => c!.ToString())]);
            foreach (var row in json["data"]!.AsArray())
            {
                existing.Rows.Add([.. row!.AsArray().Select(v => v?.DeepClone())]);
            }

            return existing;
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private sealed class LoggedTable(List<string> columns)
    {
        public List<string> Columns { get; } = columns;

        public List<JsonNode?[]> Rows { get; } = [];

        /// <summary>pandas.concat([first, second], ignore_index=True): the columns of both, in order of appearance; missing cells null.</summary>
        public static LoggedTable Concat(LoggedTable first, LoggedTable second)
        {
            var columns = first.Columns.Concat(second.Columns.Where(c => !first.Columns.Contains(c))).ToList();
            var result = new LoggedTable(columns);
            foreach (var part in new[] { first, second })
            {
                var map = columns.Select(c => part.Columns.IndexOf(c)).ToArray();
                foreach (var row in part.Rows)
                {
                    result.Rows.Add([.. map.Select(i => i < 0 ? null : row[i]?.DeepClone())]);
                }
            }

            return result;
        }

        /// <summary>pandas' <c>to_json(orient="split", index=False)</c>: compact, columns then data.</summary>
        public string ToSplitJson()
        {
            var data = new JsonArray();
            foreach (var row in Rows)
            {
                data.Add((JsonNode)new JsonArray([.. row.Select(v => v?.DeepClone())]));
            }

            return new JsonObject { ["columns"] = new JsonArray([.. Columns.Select(c => (JsonNode)c)]), ["data"] = data }
                .ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        }
    }
}
