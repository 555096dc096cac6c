namespace MlOps.Client.Artifacts;

/// <summary>
/// The content type and encoding Python's <c>mimetypes.guess_type</c> gives a file name, for the object stores whose
/// Python repositories set them (S3's <c>ContentType</c>/<c>ContentEncoding</c>, GCS's content type): the extensions an
/// MLflow run writes; <see langword="null"/> where Python guesses nothing (<c>MLmodel</c>, <c>.yaml</c>, <c>.ubj</c>, <c>.pkl</c>).
/// </summary>
internal static class ContentTypes
{
    private static readonly Dictionary<string, string> s_types = new(StringComparer.OrdinalIgnoreCase)
    {
        [".json"] = "application/json",
        [".txt"] = "text/plain",
        [".csv"] = "text/csv",
        [".html"] = "text/html",
        [".htm"] = "text/html",
        [".png"] = "image/png",
        [".jpg"] = "image/jpeg",
        [".jpeg"] = "image/jpeg",
        [".gif"] = "image/gif",
        [".svg"] = "image/svg+xml",
        [".pdf"] = "application/pdf",
        [".xml"] = "application/xml",
        [".md"] = "text/markdown",
        [".zip"] = "application/zip",
        [".tar"] = "application/x-tar",
        [".js"] = "text/javascript",
        [".py"] = "text/x-python",
        [".bin"] = "application/octet-stream",
    };

    private static readonly Dictionary<string, string> s_encodings = new(StringComparer.OrdinalIgnoreCase)
    {
        [".gz"] = "gzip",
        [".bz2"] = "bzip2",
        [".xz"] = "xz",
        [".br"] = "br",
    };

    /// <summary>The (type, encoding) of <paramref name="fileName"/>, either may be <see langword="null"/>.</summary>
    public static (string? Type, string? Encoding) Guess(string fileName)
    {
        var name = Path.GetFileName(fileName);
        string? encoding = null;
        if (Path.GetExtension(name).Equals(".tgz", StringComparison.OrdinalIgnoreCase))
        {
            return ("application/x-tar", "gzip"); // mimetypes' suffix_map: .tgz is .tar.gz
        }

        if (s_encodings.TryGetValue(Path.GetExtension(name), out var e))
        {
            encoding = e;
            name = Path.GetFileNameWithoutExtension(name);
        }

        return (s_types.GetValueOrDefault(Path.GetExtension(name)), encoding);
    }
}
