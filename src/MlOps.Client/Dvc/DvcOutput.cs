using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace MlOps.Client.Dvc;

/// <summary>
/// A file or folder DVC tracks, as a <c>.dvc</c> file's <c>outs</c> or a <c>dvc.lock</c> stage's <c>outs</c>/<c>deps</c>
/// record it (DVC 2 and 3): its path, the md5 DVC computed (a folder's ends in <c>.dir</c>), which md5 that is (DVC 3's
/// <c>hash: md5</c>, else DVC 2's), its size and file count, and the remote it is pushed to when the entry names one.
/// </summary>
/// <param name="Path">The path as recorded (relative to the recording file's folder, <c>/</c>-separated).</param>
/// <param name="FullPath">The workspace path it names.</param>
/// <param name="Md5">The recorded digest, lowercase.</param>
/// <param name="HashKind">Which md5.</param>
/// <param name="Size">Bytes (a folder: all its files), when recorded.</param>
/// <param name="FileCount">A folder's files, when recorded.</param>
/// <param name="Remote">The entry's own <c>remote:</c>, when it has one.</param>
/// <param name="RecordedIn">The <c>.dvc</c> or <c>dvc.lock</c> file.</param>
public sealed record DvcOutput(string Path, string FullPath, string Md5, DvcHashKind HashKind, long? Size, int? FileCount, string? Remote, string RecordedIn)
{
    /// <summary>Whether it is a folder (its digest ends in <c>.dir</c>).</summary>
    public bool IsDirectory => Md5.EndsWith(".dir", StringComparison.Ordinal);

    /// <summary>The digest of the workspace copy, computed as DVC would for this entry; <see langword="null"/> when the workspace has no copy (not pulled).</summary>
    public string? ComputeWorkspaceMd5()
    {
        if (IsDirectory)
        {
            return System.IO.Directory.Exists(FullPath) ? DvcHash.Directory(FullPath, HashKind).Digest : null;
        }

        return System.IO.File.Exists(FullPath) ? DvcHash.File(FullPath, HashKind) : null;
    }
}

/// <summary>Reads DVC's own files: <c>.dvc</c> files and <c>dvc.lock</c> (schema 2.0), DVC 2 and 3.</summary>
public static class DvcFiles
{
    /// <summary>The outputs a <c>.dvc</c> file records.</summary>
    /// <param name="dvcFile">The <c>.dvc</c> file.</param>
    /// <exception cref="FormatException">Not a <c>.dvc</c> file DVC would read (the message names the file and what is wrong).</exception>
    public static IReadOnlyList<DvcOutput> ReadDvcFile(string dvcFile)
    {
        var root = Load(dvcFile);
        return root.Children.TryGetValue(new YamlScalarNode("outs"), out var outs) ? Entries(outs, dvcFile, "outs") : [];
    }

    /// <summary>The outputs (and, with <paramref name="includeDependencies"/>, the dependencies) of every stage a <c>dvc.lock</c> records.</summary>
    /// <param name="lockFile">The <c>dvc.lock</c> file.</param>
    /// <param name="includeDependencies">Also the stages' <c>deps</c>.</param>
    /// <exception cref="FormatException">Not a <c>dvc.lock</c> of schema 2.0.</exception>
    public static IReadOnlyList<(string Stage, DvcOutput Output)> ReadLockFile(string lockFile, bool includeDependencies = false)
    {
        var root = Load(lockFile);
        if (!root.Children.TryGetValue(new YamlScalarNode("schema"), out var schema) || (schema as YamlScalarNode)?.Value != "2.0")
        {
            throw new FormatException($"{lockFile}: not a dvc.lock of schema '2.0' (DVC 2 and 3 write that; DVC 1's lock files are not read).");
        }

        var result = new List<(string, DvcOutput)>();
        if (root.Children.TryGetValue(new YamlScalarNode("stages"), out var stages) && stages is YamlMappingNode stageMap)
        {
            foreach (var (name, stage) in stageMap.Children)
            {
                if (stage is not YamlMappingNode s)
                {
                    continue;
                }

                foreach (var section in includeDependencies ? new[] { "deps", "outs" } : ["outs"])
                {
                    if (s.Children.TryGetValue(new YamlScalarNode(section), out var entries))
                    {
                        result.AddRange(Entries(entries, lockFile, section).Select(o => (((YamlScalarNode)name).Value ?? string.Empty, o)));
                    }
                }
            }
        }

        return result;
    }

    private static YamlMappingNode Load(string file)
    {
        try
        {
            var stream = new YamlStream();
            using (var reader = new StreamReader(file))
            {
                stream.Load(reader);
            }

            return stream.Documents.Count > 0 && stream.Documents[0].RootNode is YamlMappingNode map
                ? map
                : throw new FormatException($"{file}: not a mapping of keys to values.");
        }
        catch (YamlException ex)
        {
            throw new FormatException($"{file}, line {ex.Start.Line}: {ex.Message}", ex);
        }
    }

    private static List<DvcOutput> Entries(YamlNode node, string file, string section)
    {
        if (node is not YamlSequenceNode list)
        {
            throw new FormatException($"{file}: '{section}' is not a list.");
        }

        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(file))!;
        var result = new List<DvcOutput>();
        foreach (var item in list)
        {
            if (item is not YamlMappingNode entry)
            {
                continue;
            }

            string? Get(string key) => entry.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlScalarNode s && !string.IsNullOrEmpty(s.Value) ? s.Value : null;
            var path = Get("path") ?? throw new FormatException($"{file}: an entry of '{section}' has no 'path'.");
            var md5 = Get("md5");
            if (md5 is null)
            {
                continue; // not hashed (cache: false without a digest, a params dependency, an external etag)
            }

            var kind = Get("hash") switch
            {
                null => DvcHashKind.Md5Dos2Unix,
                "md5" => DvcHashKind.Md5,
                var other => throw new FormatException($"{file}: '{path}' has hash '{other}'; DVC writes 'md5' (DVC 3) or no hash (DVC 2)."),
            };
            result.Add(new DvcOutput(
                path,
                System.IO.Path.GetFullPath(System.IO.Path.Combine(folder, path)),
                md5.ToLowerInvariant(),
                kind,
                long.TryParse(Get("size"), out var size) ? size : null,
                int.TryParse(Get("nfiles"), out var files) ? files : null,
                Get("remote")?.ToLowerInvariant(),
                System.IO.Path.GetFullPath(file)));
        }

        return result;
    }
}
