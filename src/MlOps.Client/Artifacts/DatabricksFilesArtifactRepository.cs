using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using MlOps.Client.Rest;

namespace MlOps.Client.Artifacts;

/// <summary>
/// An MLflow 3 logged model's artifacts in a Databricks workspace
/// (<c>dbfs:/databricks/mlflow-tracking/&lt;experiment&gt;/logged_models/&lt;model&gt;…</c>), as Python's
/// <c>DatabricksLoggedModelArtifactRepository</c> reaches them: the workspace's Files API under
/// <c>/Mlflow/Artifacts/&lt;experiment&gt;/LoggedModels/&lt;model&gt;</c> — <c>PUT /api/2.0/fs/files{path}?overwrite=true</c>,
/// <c>GET /api/2.0/fs/files{path}</c>, <c>HEAD|GET /api/2.0/fs/directories{path}</c> (paged) — with the workspace's
/// credentials, through the client's pipeline.
/// </summary>
internal sealed partial class DatabricksFilesArtifactRepository : IArtifactRepository
{
    private readonly MlflowClient _client;
    private readonly string _root;

    public DatabricksFilesArtifactRepository(MlflowClient client, string artifactUri)
    {
        _client = client;
        RootUri = artifactUri;
        var m = LoggedModelUri().Match(artifactUri);
        if (!m.Success)
        {
            throw new NotSupportedException($"'{artifactUri}' is not a Databricks logged model artifact URI (dbfs:/databricks/mlflow-tracking/<experiment>/logged_models/<model>…).");
        }

        _root = $"/Mlflow/Artifacts/{m.Groups["experiment"].Value}/LoggedModels/{m.Groups["model"].Value}{m.Groups["path"].Value.TrimEnd('/')}";
    }

    /// <summary>Whether <paramref name="artifactUri"/> is a Databricks logged model artifact URI.</summary>
    public static bool Handles(string artifactUri) => LoggedModelUri().IsMatch(artifactUri);

    public string RootUri { get; }

    public async Task UploadFileAsync(string localFile, string artifactPath, IProgress<ArtifactTransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(localFile);
        var path = ArtifactPaths.Normalize(artifactPath);
        await _client.WithRetriesAsync(HttpMethod.Put, path, async _ =>
        {
            var file = new FileStream(localFile, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan);
            await using (file.ConfigureAwait(false))
            {
                using var request = new HttpRequestMessage(HttpMethod.Put, FilesUri("files", path, "?overwrite=true")) { Content = new StreamContent(file) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                request.Content.Headers.ContentLength = file.Length;
                request.Options.Set(MlflowHttpPipeline.ResilienceHandler.StreamingKey, true);
                using var response = await _client.SendRawAsync(request, cancellationToken).ConfigureAwait(false);
                progress?.Report(new ArtifactTransferProgress(path, file.Length, file.Length));
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ArtifactFileInfo>> ListAsync(string? path = null, CancellationToken cancellationToken = default)
    {
        var relative = ArtifactPaths.Normalize(path, allowEmpty: true);
        try
        {
            using var head = new HttpRequestMessage(HttpMethod.Head, FilesUri("directories", relative));
            using var exists = await _client.SendRawAsync(head, cancellationToken).ConfigureAwait(false);
        }
        catch (MlflowException ex) when (ex.Status == (int)HttpStatusCode.NotFound)
        {
            return []; // not a folder: nothing under it, as Python answers
        }

        var files = new List<ArtifactFileInfo>();
        string? token = null;
        do
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, FilesUri("directories", relative, token is null ? "" : "?page_token=" + Uri.EscapeDataString(token)));
            using var response = await _client.SendRawAsync(request, cancellationToken).ConfigureAwait(false);
            using var json = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (json.RootElement.TryGetProperty("contents", out var contents))
            {
                foreach (var entry in contents.EnumerateArray())
                {
                    var full = entry.GetProperty("path").GetString() ?? "";
                    files.Add(new ArtifactFileInfo
                    {
                        Path = full.StartsWith(_root + "/", StringComparison.Ordinal) ? full[(_root.Length + 1)..] : full,
                        IsDir = entry.TryGetProperty("is_directory", out var d) && d.GetBoolean(),
                        FileSize = entry.TryGetProperty("file_size", out var size) && size.TryGetInt64(out var n) ? n : null,
                    });
                }
            }

            token = json.RootElement.TryGetProperty("next_page_token", out var next) ? next.GetString() : null;
        }
        while (!string.IsNullOrEmpty(token));

        return [.. files.OrderBy(f => f.Path, StringComparer.Ordinal)];
    }

    public async Task DownloadFileAsync(string artifactPath, Stream destination, IProgress<ArtifactTransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var path = ArtifactPaths.Normalize(artifactPath);
        using var request = new HttpRequestMessage(HttpMethod.Get, FilesUri("files", path));
        using var response = await _client.SendRawAsync(request, cancellationToken, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        var source = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (source.ConfigureAwait(false))
        {
            await HttpArtifactRepository.CopyAsync(source, destination, path, response.Content.Headers.ContentLength, progress, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>As Python's: a logged model's artifacts are not deleted one by one through MLflow.</summary>
    public Task DeleteAsync(string artifactPath, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("A Databricks logged model's artifacts are not deleted through MLflow's API (Python's repository does not either); delete the logged model instead.");

    private Uri FilesUri(string kind, string relative, string query = "") =>
        new(_client.BaseUri, $"api/2.0/fs/{kind}" + string.Join('/', (_root + (relative.Length == 0 ? "" : "/" + relative)).Split('/').Select(Uri.EscapeDataString)) + query);

    [GeneratedRegex(@"^dbfs:/databricks/mlflow-tracking/(?<experiment>[^/]+)/logged_models/(?<model>[^/]+)(?<path>/.*)?$", RegexOptions.IgnoreCase)]
    private static partial Regex LoggedModelUri();
}
