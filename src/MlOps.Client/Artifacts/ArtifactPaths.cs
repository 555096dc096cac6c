namespace MlOps.Client.Artifacts;

/// <summary>Checks artifact paths and keeps downloads inside their destination folder.</summary>
internal static class ArtifactPaths
{
    /// <summary>
    /// Normalizes a relative artifact path (<c>\</c> becomes <c>/</c>, empty and <c>.</c> segments dropped) and refuses
    /// anything that could leave the root: <c>..</c> segments, absolute paths, drive letters, NUL characters.
    /// </summary>
    /// <param name="path">The path.</param>
    /// <param name="allowEmpty">Whether the root itself (empty path) is acceptable.</param>
    /// <exception cref="ArgumentException">The path escapes the root.</exception>
    public static string Normalize(string? path, bool allowEmpty = false)
    {
        if (string.IsNullOrEmpty(path))
        {
            return allowEmpty ? "" : throw new ArgumentException("An artifact path is required.", nameof(path));
        }

        if (path.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"Artifact path '{path.Replace("\0", "\\0", StringComparison.Ordinal)}' contains a NUL character.", nameof(path));
        }

        var p = path.Replace('\\', '/');
        if (p.StartsWith('/') || (p.Length >= 2 && char.IsAsciiLetter(p[0]) && p[1] == ':'))
        {
            throw new ArgumentException($"Artifact path '{path}' is absolute; artifact paths are relative to the run's artifact root.", nameof(path));
        }

        var parts = new List<string>();
        foreach (var segment in p.Split('/'))
        {
            if (segment.Length == 0 || segment == ".")
            {
                continue;
            }

            if (segment == "..")
            {
                throw new ArgumentException($"Artifact path '{path}' contains '..' and could leave the artifact root.", nameof(path));
            }

            parts.Add(segment);
        }

        if (parts.Count == 0 && !allowEmpty)
        {
            throw new ArgumentException($"Artifact path '{path}' names no file.", nameof(path));
        }

        return string.Join('/', parts);
    }

    /// <summary>Joins two relative artifact paths.</summary>
    /// <param name="left">The first part (may be empty).</param>
    /// <param name="right">The second part.</param>
    public static string Join(string? left, string right)
    {
        var l = Normalize(left, allowEmpty: true);
        var r = Normalize(right, allowEmpty: true);
        return l.Length == 0 ? r : r.Length == 0 ? l : l + "/" + r;
    }

    /// <summary>
    /// The local file an artifact entry maps to under <paramref name="destination"/>; refuses (before anything is
    /// written) any entry that would resolve outside it.
    /// </summary>
    /// <param name="destination">The destination folder.</param>
    /// <param name="relative">The entry's path relative to the downloaded folder.</param>
    /// <exception cref="InvalidOperationException">The entry would be written outside <paramref name="destination"/>.</exception>
    public static string ResolveInside(string destination, string relative)
    {
        string normalized;
        try
        {
            normalized = Normalize(relative);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidOperationException($"Refusing to download artifact '{relative}': {ex.Message} Nothing was written for it.", ex);
        }

        var root = Path.GetFullPath(destination);
        var full = Path.GetFullPath(Path.Combine(root, normalized.Replace('/', Path.DirectorySeparatorChar)));
        var rootWithSep = root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
        if (!full.StartsWith(rootWithSep, OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"Refusing to download artifact '{relative}': it resolves outside '{root}'. Nothing was written for it.");
        }

        return full;
    }
}
