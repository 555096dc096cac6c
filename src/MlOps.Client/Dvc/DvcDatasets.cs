using System.Text.Json;
using System.Text.Json.Nodes;

namespace MlOps.Client.Dvc;

/// <summary>
/// MLflow datasets for DVC-tracked data, so that a run's inputs say which data version it used: the dataset's digest is
/// the md5 DVC recorded (a folder's ends in <c>.dir</c>), its source the object on the DVC remote
/// (<c>{"uri": "s3://bucket/store/files/md5/ab/cdef…", "dvc_path": …, "dvc_file": …, "dvc_remote": …, "dvc_hash": …}</c>,
/// source type the URL's scheme — <c>s3</c>, <c>gs</c>, <c>http</c>… — or <c>local</c>), which Python MLflow reads
/// back as a dataset source of that type. Neither DVC nor its remote is needed: the files DVC writes are read.
/// </summary>
public static class DvcDatasets
{
    /// <summary>The dataset a <c>.dvc</c> file tracks (its only, or named, output).</summary>
    /// <param name="dvcFile">The <c>.dvc</c> file (e.g. <c>data/iris.csv.dvc</c>).</param>
    /// <param name="name">The dataset's name; the tracked file's name when not set.</param>
    /// <param name="allowModified">Accept a workspace copy whose content is not the recorded version (the recorded version is still what the dataset names).</param>
    /// <exception cref="FormatException">Not a <c>.dvc</c> file, or one without a hashed output.</exception>
    /// <exception cref="InvalidOperationException">The workspace copy differs from the version the file records (run <c>dvc add</c>/<c>dvc commit</c>, or <c>dvc checkout</c>), unless <paramref name="allowModified"/>.</exception>
    public static Dataset FromDvcFile(string dvcFile, string? name = null, bool allowModified = false)
    {
        var outputs = DvcFiles.ReadDvcFile(dvcFile);
        return outputs.Count switch
        {
            0 => throw new FormatException($"{dvcFile} records no hashed output."),
            1 => FromOutput(outputs[0], name, allowModified),
            _ => throw new FormatException($"{dvcFile} records {outputs.Count} outputs; read them with DvcFiles.ReadDvcFile and pass one to FromOutput."),
        };
    }

    /// <summary>The dataset a <c>dvc.lock</c> stage output (or dependency) names.</summary>
    /// <param name="lockFile">The <c>dvc.lock</c> file.</param>
    /// <param name="path">The output's path as recorded (e.g. <c>data/prepared</c>).</param>
    /// <param name="name">The dataset's name; the path's last part when not set.</param>
    /// <param name="allowModified">Accept a workspace copy that differs from the recorded version.</param>
    /// <exception cref="KeyNotFoundException">No stage records that path.</exception>
    public static Dataset FromLockFile(string lockFile, string path, string? name = null, bool allowModified = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        var normalized = path.Replace('\\', '/').TrimEnd('/');
        var match = DvcFiles.ReadLockFile(lockFile, includeDependencies: true).FirstOrDefault(o => o.Output.Path.TrimEnd('/') == normalized);
        return match.Output is null
            ? throw new KeyNotFoundException($"No stage in {lockFile} records '{path}' as an output or dependency.")
            : FromOutput(match.Output, name, allowModified);
    }

    /// <summary>The dataset for one tracked output.</summary>
    /// <param name="output">The output.</param>
    /// <param name="name">The dataset's name; the path's last part when not set.</param>
    /// <param name="allowModified">Accept a workspace copy that differs from the recorded version.</param>
    public static Dataset FromOutput(DvcOutput output, string? name = null, bool allowModified = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!allowModified && output.ComputeWorkspaceMd5() is { } workspace && workspace != output.Md5)
        {
            throw new InvalidOperationException(
                $"{output.FullPath} is not the version {Path.GetFileName(output.RecordedIn)} records (md5 {output.Md5}, the workspace's is {workspace}): " +
                "record it with 'dvc add'/'dvc commit', restore it with 'dvc checkout', or pass allowModified: true.");
        }

        var repository = DvcRepository.Find(output.RecordedIn);
        var remote = repository?.RemoteObject(output);
        var uri = remote?.Url ?? output.FullPath;
        var scheme = uri.Contains("://", StringComparison.Ordinal) ? uri[..uri.IndexOf("://", StringComparison.Ordinal)].ToLowerInvariant() : null;
        var sourceType = scheme switch
        {
            null or "file" => "local",
            "https" => "http",
            _ => scheme,
        };
        var source = new JsonObject
        {
            [sourceType == "http" ? "url" : "uri"] = uri,
            ["dvc_path"] = output.Path,
            ["dvc_file"] = repository is null ? output.RecordedIn : Path.GetRelativePath(repository.Root, output.RecordedIn).Replace('\\', '/'),
            ["dvc_remote"] = remote?.Remote,
            ["dvc_hash"] = output.HashKind == DvcHashKind.Md5 ? "md5" : "md5-dos2unix",
        };
        var profile = new JsonObject();
        if (output.Size is { } size)
        {
            profile["size"] = size;
        }

        if (output.FileCount is { } files)
        {
            profile["nfiles"] = files;
        }

        return new Dataset
        {
            Name = name ?? output.Path.TrimEnd('/').Split('/')[^1],
            Digest = output.Md5,
            SourceType = sourceType,
            Source = source.ToJsonString(),
            Profile = profile.Count > 0 ? profile.ToJsonString() : null,
        };
    }
}
