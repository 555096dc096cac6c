using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using MlOps.Client.Artifacts;
using MlOps.Client.Stores;

namespace MlOps.Client.Tracking;

/// <summary>
/// Artifact logging on a run scope. Uploads start at once and run in the background; the run end waits for them
/// (like it waits for metrics) and the returned task completes when the upload is done.
/// </summary>
public static class RunScopeArtifactExtensions
{
    /// <summary>The artifact repository of <paramref name="run"/> (its server's proxy, or a local folder for the embedded store).</summary>
    /// <param name="run">The run.</param>
    public static IArtifactRepository GetArtifactRepository(this RunScope run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var uri = run.ArtifactUri ?? throw new InvalidOperationException($"Run {run.RunId} has no artifact URI.");
        return run.Tracker.Store.ArtifactsFor(uri);
    }

    /// <summary>Uploads a file to <c>&lt;artifactPath&gt;/&lt;file name&gt;</c> (the root when <paramref name="artifactPath"/> is <see langword="null"/>).</summary>
    /// <param name="run">The run.</param>
    /// <param name="localFile">The file.</param>
    /// <param name="artifactPath">The destination folder.</param>
    /// <param name="progress">Receives progress.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    public static Task LogArtifactAsync(this RunScope run, string localFile, string? artifactPath = null, IProgress<ArtifactTransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (!File.Exists(localFile))
        {
            throw new FileNotFoundException($"Cannot log artifact: '{localFile}' does not exist.", localFile);
        }

        var target = ArtifactPaths.Join(artifactPath, Path.GetFileName(localFile));
        return Track(run, run.GetArtifactRepository().UploadFileAsync(localFile, target, progress, cancellationToken));
    }

    /// <summary>Uploads every file under a folder to <paramref name="artifactPath"/> (the root when <see langword="null"/>), a bounded number at a time.</summary>
    /// <param name="run">The run.</param>
    /// <param name="localDirectory">The folder.</param>
    /// <param name="artifactPath">The destination folder.</param>
    /// <param name="progress">Receives progress.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    public static Task LogArtifactsAsync(this RunScope run, string localDirectory, string? artifactPath = null, IProgress<ArtifactTransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (!Directory.Exists(localDirectory))
        {
            throw new DirectoryNotFoundException($"Cannot log artifacts: '{localDirectory}' does not exist.");
        }

        return Track(run, run.GetArtifactRepository().UploadDirectoryAsync(localDirectory, artifactPath, 4, progress, cancellationToken));
    }

    /// <summary>Logs <paramref name="text"/> (UTF-8) as the artifact file <paramref name="artifactFile"/>.</summary>
    /// <param name="run">The run.</param>
    /// <param name="text">The text.</param>
    /// <param name="artifactFile">The artifact file path, e.g. <c>notes/summary.txt</c>.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    public static Task LogTextAsync(this RunScope run, string text, string artifactFile, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        return LogBytesAsync(run, Encoding.UTF8.GetBytes(text), artifactFile, cancellationToken);
    }

    /// <summary>
    /// Logs a dictionary (any JSON value) as <c>.json</c> (indented) or <c>.yaml</c>/<c>.yml</c>, chosen by the file name,
    /// as Python's <c>mlflow.log_dict</c> does.
    /// </summary>
    /// <param name="run">The run.</param>
    /// <param name="value">The value.</param>
    /// <param name="artifactFile">The artifact file path ending in <c>.json</c>, <c>.yaml</c> or <c>.yml</c>.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    public static Task LogDictionaryAsync(this RunScope run, JsonNode value, string artifactFile, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentException.ThrowIfNullOrEmpty(artifactFile);
        var extension = Path.GetExtension(artifactFile).ToUpperInvariant();
        var text = extension switch
        {
            ".JSON" => value.ToJsonString(new JsonSerializerOptions { WriteIndented = true }),
            ".YAML" or ".YML" => MlOps.Client.Models.YamlText.Write(value, sortKeys: false),
            _ => throw new ArgumentException($"LogDictionaryAsync writes .json, .yaml or .yml files; got '{artifactFile}'.", nameof(artifactFile)),
        };
        return LogTextAsync(run, text, artifactFile, cancellationToken);
    }

    /// <summary>Logs a JSON object as <c>.json</c> or <c>.yaml</c>/<c>.yml</c> (Python's <c>mlflow.log_dict</c>).</summary>
    /// <param name="run">The run.</param>
    /// <param name="value">The object.</param>
    /// <param name="artifactFile">The artifact file path ending in <c>.json</c>, <c>.yaml</c> or <c>.yml</c>.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    public static Task LogDictionaryAsync(this RunScope run, JsonObject value, string artifactFile, CancellationToken cancellationToken = default) =>
        LogDictionaryAsync(run, (JsonNode)value, artifactFile, cancellationToken);

    /// <summary>
    /// Logs a dictionary as <c>.json</c> or <c>.yaml</c>/<c>.yml</c> (Python's <c>mlflow.log_dict</c>): values may be
    /// strings, numbers, booleans, null, nested dictionaries and sequences.
    /// </summary>
    /// <typeparam name="TValue">The value type.</typeparam>
    /// <param name="run">The run.</param>
    /// <param name="value">The dictionary.</param>
    /// <param name="artifactFile">The artifact file path ending in <c>.json</c>, <c>.yaml</c> or <c>.yml</c>.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    public static Task LogDictionaryAsync<TValue>(this RunScope run, IEnumerable<KeyValuePair<string, TValue>> value, string artifactFile, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(value);
        var json = new JsonObject();
        foreach (var (key, item) in value)
        {
            json[key] = ToNode(item);
        }

        return LogDictionaryAsync(run, (JsonNode)json, artifactFile, cancellationToken);
    }

    private static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        JsonNode node => node.DeepClone(),
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        double d => double.IsFinite(d) ? JsonValue.Create(d) : JsonValue.Create(MlOps.Client.Formatting.PythonFormat.Float(d)),
        float f => float.IsFinite(f) ? JsonValue.Create(f) : JsonValue.Create(MlOps.Client.Formatting.PythonFormat.Float(f)),
        decimal m => JsonValue.Create(m),
        int or long or short or byte or sbyte or uint or ulong or ushort => JsonValue.Create(Convert.ToDecimal(value, System.Globalization.CultureInfo.InvariantCulture)),
        System.Collections.IDictionary map => new JsonObject(map.Keys.Cast<object>().Select(k =>
            KeyValuePair.Create(Convert.ToString(k, System.Globalization.CultureInfo.InvariantCulture) ?? "", ToNode(map[k])))),
        System.Collections.IEnumerable items => new JsonArray([.. items.Cast<object?>().Select(ToNode)]),
        IFormattable f => JsonValue.Create(f.ToString(null, System.Globalization.CultureInfo.InvariantCulture)),
        _ => JsonValue.Create(value.ToString()),
    };

    /// <summary>Logs a value serialized with <paramref name="typeInfo"/> (source-generated) as JSON or YAML.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="run">The run.</param>
    /// <param name="value">The value.</param>
    /// <param name="typeInfo">Its JSON metadata.</param>
    /// <param name="artifactFile">The artifact file path ending in <c>.json</c>, <c>.yaml</c> or <c>.yml</c>.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    public static Task LogDictionaryAsync<T>(this RunScope run, T value, JsonTypeInfo<T> typeInfo, string artifactFile, CancellationToken cancellationToken = default) =>
        LogDictionaryAsync(run, JsonSerializer.SerializeToNode(value, typeInfo) ?? JsonValue.Create((string?)null)!, artifactFile, cancellationToken);

    /// <summary>Lists the run's artifacts directly under <paramref name="path"/>.</summary>
    /// <param name="run">The run.</param>
    /// <param name="path">A folder; the root when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public static Task<IReadOnlyList<ArtifactFileInfo>> ListArtifactsAsync(this RunScope run, string? path = null, CancellationToken cancellationToken = default) =>
        run.GetArtifactRepository().ListAsync(path, cancellationToken);

    /// <summary>Downloads an artifact file or folder into <paramref name="destination"/>; returns the local path.</summary>
    /// <param name="run">The run.</param>
    /// <param name="path">A file or folder; everything when <see langword="null"/>.</param>
    /// <param name="destination">The local folder.</param>
    /// <param name="progress">Receives progress.</param>
    /// <param name="cancellationToken">Cancels the download.</param>
    public static Task<string> DownloadArtifactsAsync(this RunScope run, string? path, string destination, IProgress<ArtifactTransferProgress>? progress = null, CancellationToken cancellationToken = default) =>
        run.GetArtifactRepository().DownloadAsync(path, destination, 4, progress, cancellationToken);

    internal static Task LogBytesAsync(RunScope run, byte[] bytes, string artifactFile, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        var target = ArtifactPaths.Normalize(artifactFile);
        var repository = run.GetArtifactRepository();
        return Track(run, Upload());

        async Task Upload()
        {
            var temp = Path.Combine(Path.GetTempPath(), "mlops-" + Guid.NewGuid().ToString("N") + Path.GetExtension(target));
            try
            {
                await File.WriteAllBytesAsync(temp, bytes, cancellationToken).ConfigureAwait(false);
                await repository.UploadFileAsync(temp, target, null, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                File.Delete(temp);
            }
        }
    }

    private static Task Track(RunScope run, Task upload)
    {
        run.TrackPending(upload);
        return upload;
    }
}
