namespace MlOps.Client.Models;

/// <summary>Parsing of MLflow's model URIs (<c>runs:/&lt;run id&gt;/&lt;path&gt;</c>, <c>models:/…</c>): the one place they are read.</summary>
internal static class ModelUris
{
    public const string RunsScheme = "runs:/";
    public const string ModelsScheme = "models:/";

    /// <summary>Reads <c>runs:/&lt;run id&gt;[/&lt;path&gt;]</c>; the path is normalised and may be empty.</summary>
    public static bool TryParseRuns(string uri, out string runId, out string path)
    {
        (runId, path) = ("", "");
        if (!uri.StartsWith(RunsScheme, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = uri[RunsScheme.Length..].TrimStart('/');
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        runId = slash < 0 ? rest : rest[..slash];
        path = slash < 0 ? "" : Artifacts.ArtifactPaths.Normalize(rest[(slash + 1)..], allowEmpty: true);
        if (runId.Length == 0)
        {
            throw new ArgumentException($"'{uri}' names no run: runs:/<run id>/<path>.", nameof(uri));
        }

        return true;
    }

    /// <summary>
    /// Reads a <c>models:/</c> URI as Python's <c>_parse_model_uri</c> does: <c>models:/&lt;model id&gt;</c> (an MLflow 3
    /// logged model), <c>models:/&lt;name&gt;/&lt;version&gt;</c>, <c>models:/&lt;name&gt;/&lt;stage&gt;</c>,
    /// <c>models:/&lt;name&gt;/latest</c> or <c>models:/&lt;name&gt;@&lt;alias&gt;</c>.
    /// </summary>
    public static bool TryParseModels(string uri, out ModelsUri parsed)
    {
        parsed = default;
        if (!uri.StartsWith(ModelsScheme, StringComparison.Ordinal))
        {
            return false;
        }

        var parts = uri[ModelsScheme.Length..].TrimStart('/').Split('/');
        if (parts.Length > 2 || parts[0].Trim().Length == 0)
        {
            throw Improper(uri);
        }

        if (parts.Length == 2)
        {
            var (name, suffix) = (parts[0], parts[1]);
            parsed = suffix.Length > 0 && suffix.All(char.IsAsciiDigit) ? new ModelsUri(null, name, suffix, null, null)
                : string.Equals(suffix, "latest", StringComparison.OrdinalIgnoreCase) ? new ModelsUri(null, name, null, null, null)
                : suffix.Trim().Length > 0 ? new ModelsUri(null, name, null, suffix, null)
                : throw Improper(uri);
            return true;
        }

        var at = parts[0].LastIndexOf('@');
        if (at >= 0)
        {
            if (at == 0 || parts[0][(at + 1)..].Trim().Length == 0)
            {
                throw Improper(uri);
            }

            parsed = new ModelsUri(null, parts[0][..at], null, null, parts[0][(at + 1)..]);
            return true;
        }

        parsed = new ModelsUri(parts[0], null, null, null, null);
        return true;
    }

    private static ArgumentException Improper(string uri) => new(
        $"Not a proper models:/ URI: '{uri}'. Models URIs must be models:/<model id>, models:/<name>/<version>, models:/<name>/<stage>, " +
        "models:/<name>/latest or models:/<name>@<alias>.", nameof(uri));
}

/// <summary>A parsed <c>models:/</c> URI: a logged model id, or a registered name with one of version, stage, alias (none: the latest version).</summary>
internal readonly record struct ModelsUri(string? ModelId, string? Name, string? Version, string? Stage, string? Alias);
