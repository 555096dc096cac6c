namespace MlOps.Client.Configuration;

/// <summary>
/// Credentials kept in a URI's user info (<c>https://user:token@host</c>) never reach logs, exceptions, spool files,
/// tags or <c>ToString()</c>: the one place URIs are cleaned.
/// </summary>
internal static class UriRedaction
{
    /// <summary>The URI with its user info replaced by <c>***</c> (for messages: the reader sees there was one); <c>(none)</c> for null.</summary>
    public static string Redact(string? uri)
    {
        if (uri is null)
        {
            return "(none)";
        }

        var at = uri.IndexOf('@', StringComparison.Ordinal);
        var scheme = uri.IndexOf("://", StringComparison.Ordinal);
        var path = scheme > 0 ? uri.IndexOf('/', scheme + 3) : -1;
        return at > 0 && scheme > 0 && at > scheme && (path < 0 || at < path) ? uri[..(scheme + 3)] + "***@" + uri[(at + 1)..] : uri;
    }

    /// <summary>The http(s) URI without its user info (for what is stored: git remotes in tags, the spool's server key).</summary>
    public static string StripUserInfo(string uri) =>
        Uri.TryCreate(uri, UriKind.Absolute, out var parsed) && !string.IsNullOrEmpty(parsed.UserInfo) && parsed.Scheme.StartsWith("http", StringComparison.Ordinal)
            ? new UriBuilder(parsed) { UserName = "", Password = "" }.Uri.ToString()
            : uri;
}
