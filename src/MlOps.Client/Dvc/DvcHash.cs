using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace MlOps.Client.Dvc;

/// <summary>Which md5 a DVC entry records.</summary>
public enum DvcHashKind
{
    /// <summary>DVC 3 (<c>hash: md5</c>): the md5 of the bytes.</summary>
    Md5,

    /// <summary>DVC 2 (no <c>hash</c> key; DVC 3 calls it <c>md5-dos2unix</c>): text files hashed with CRLF read as LF.</summary>
    Md5Dos2Unix,
}

/// <summary>
/// DVC's digests, computed as DVC computes them (dvc-data's <c>hashfile/hash.py</c>, <c>istextfile.py</c>,
/// <c>tree.py</c>) without DVC: a file's md5 — of its bytes (DVC 3), or for DVC 2 with <c>\r\n</c> read as <c>\n</c>
/// when its first 512 bytes look like text, per 1 MiB chunk as DVC reads it — and a folder's, the md5 of the JSON list
/// of its files' <c>{"md5", "relpath"}</c> sorted by path, followed by <c>.dir</c>.
/// </summary>
public static class DvcHash
{
    private const int ChunkSize = 1 << 20;

    /// <summary>The md5 DVC records for a file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="kind">DVC 3's md5 or DVC 2's.</param>
    /// <returns>32 lowercase hex digits.</returns>
    public static string File(string path, DvcHashKind kind = DvcHashKind.Md5)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16, FileOptions.SequentialScan);
        return Stream(stream, kind);
    }

    /// <summary>The md5 DVC records for content read from <paramref name="stream"/>.</summary>
    /// <param name="stream">The content, read to its end.</param>
    /// <param name="kind">DVC 3's md5 or DVC 2's.</param>
    public static string Stream(Stream stream, DvcHashKind kind = DvcHashKind.Md5)
    {
        ArgumentNullException.ThrowIfNull(stream);
#pragma warning disable CA5351 // DVC's content address, not a security measure
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
#pragma warning restore CA5351
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        var converted = kind == DvcHashKind.Md5Dos2Unix ? ArrayPool<byte>.Shared.Rent(ChunkSize) : null;
        try
        {
            bool? text = null;
            while (true)
            {
                var n = ReadChunk(stream, buffer);
                if (n == 0)
                {
                    break;
                }

                if (converted is null)
                {
                    md5.AppendData(buffer, 0, n);
                    continue;
                }

                // DVC 2 decides once, from the file's first 512 bytes; CRLF pairs are joined within each 1 MiB chunk.
                text ??= IsText(buffer.AsSpan(0, Math.Min(512, n)));
                if (text.Value)
                {
                    md5.AppendData(converted, 0, Dos2Unix(buffer.AsSpan(0, n), converted));
                }
                else
                {
                    md5.AppendData(buffer, 0, n);
                }
            }

            return Convert.ToHexString(md5.GetHashAndReset()).ToLowerInvariant();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (converted is not null)
            {
                ArrayPool<byte>.Shared.Return(converted);
            }
        }
    }

    /// <summary>The digest DVC records for a folder: <c>md5(json list of {"md5", "relpath"}) + ".dir"</c>, with the folder's size and file count.</summary>
    /// <param name="directory">The folder.</param>
    /// <param name="kind">DVC 3's md5 or DVC 2's, for the files in it.</param>
    public static (string Digest, long Size, int Files) Directory(string directory, DvcHashKind kind = DvcHashKind.Md5)
    {
        var files = new List<(string RelPath, string Md5)>();
        long size = 0;
        foreach (var file in System.IO.Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(directory, file).Replace('\\', '/');
            var first = relative.Split('/')[0];
            if (first is ".git" or ".dvc" or ".hg")
            {
                continue; // DVC's default ignores
            }

            files.Add((relative, File(file, kind)));
            size += new FileInfo(file).Length;
        }

        return (ListingDigest(files), size, files.Count);
    }

    /// <summary>The <c>.dir</c> digest of a listing (what DVC stores as the folder's object).</summary>
    /// <param name="files">Each file's path relative to the folder (with <c>/</c>) and md5.</param>
    public static string ListingDigest(IEnumerable<(string RelPath, string Md5)> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var listing = new System.Text.Json.Nodes.JsonArray();
        foreach (var (relPath, md5) in files.OrderBy(f => f.RelPath, CodePointComparer.Instance))
        {
            listing.Add((System.Text.Json.Nodes.JsonNode)new System.Text.Json.Nodes.JsonObject { ["md5"] = md5, ["relpath"] = relPath }); // sort_keys: md5 < relpath
        }

        var json = Formatting.PythonFormat.JsonDumps(listing);
#pragma warning disable CA5351 // DVC's content address, not a security measure
        return Convert.ToHexString(MD5.HashData(Encoding.UTF8.GetBytes(json))).ToLowerInvariant() + ".dir";
#pragma warning restore CA5351
    }

    /// <summary>dvc-data's <c>istextblock</c>: empty is text; a NUL byte is binary; else text when at most 30 % of the bytes are outside printable ASCII and <c>\n \r \t \f \b</c>.</summary>
    internal static bool IsText(ReadOnlySpan<byte> block)
    {
        if (block.IsEmpty)
        {
            return true;
        }

        if (block.Contains((byte)0))
        {
            return false;
        }

        var nonText = 0;
        foreach (var b in block)
        {
            if (b is not ((>= 32 and < 127) or (byte)'\n' or (byte)'\r' or (byte)'\t' or (byte)'\f' or (byte)'\b'))
            {
                nonText++;
            }
        }

        return (double)nonText / block.Length <= 0.30;
    }

    private static int Dos2Unix(ReadOnlySpan<byte> source, byte[] target)
    {
        var n = 0;
        for (var i = 0; i < source.Length; i++)
        {
            if (source[i] == '\r' && i + 1 < source.Length && source[i + 1] == '\n')
            {
                continue;
            }

            target[n++] = source[i];
        }

        return n;
    }

    private static int ReadChunk(Stream stream, byte[] buffer)
    {
        var total = 0;
        while (total < ChunkSize)
        {
            var n = stream.Read(buffer, total, ChunkSize - total);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }

    /// <summary>Python's string order: by code point (UTF-16 order differs only for characters beyond U+FFFF against U+E000–U+FFFF).</summary>
    private sealed class CodePointComparer : IComparer<string>
    {
        public static readonly CodePointComparer Instance = new();

        public int Compare(string? x, string? y)
        {
            var a = (x ?? string.Empty).EnumerateRunes();
            var b = (y ?? string.Empty).EnumerateRunes();
            while (true)
            {
                var hasA = a.MoveNext();
                var hasB = b.MoveNext();
                if (!hasA || !hasB)
                {
                    return hasA == hasB ? 0 : hasA ? 1 : -1;
                }

                var c = a.Current.Value.CompareTo(b.Current.Value);
                if (c != 0)
                {
                    return c;
                }
            }
        }
    }
}
