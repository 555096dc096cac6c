namespace MlOps.Client.Models;

/// <summary>Parsing of MLflow's model URIs (<c>runs:/&lt;run id&gt;/&lt;path&gt;</c>, <c>models:/&lt;name&gt;/&lt;version&gt;</c>, <c>models:/&lt;name&gt;@&lt;alias&gt;</c>): the one place they are read.</summary>
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

    /// <summary>Reads <c>models:/&lt;name&gt;/&lt;version&gt;</c> (alias null) or <c>models:/&lt;name&gt;@&lt;alias&gt;</c> (version null).</summary>
    public static bool TryParseModels(string uri, out string name, out string? version, out string? alias)
    {
        (name, version, alias) = ("", null, null);
        if (!uri.StartsWith(ModelsScheme, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = uri[ModelsScheme.Length..].TrimStart('/');
        var at = rest.LastIndexOf('@');
        if (at > 0)
        {
            (name, alias) = (rest[..at], rest[(at + 1)..]);
            return true;
        }

        var slash = rest.LastIndexOf('/');
        if (slash <= 0 || slash == rest.Length - 1)
        {
            throw new ArgumentException($"'{uri}' must be models:/<name>/<version> or models:/<name>@<alias>.", nameof(uri));
        }

        (name, version) = (rest[..slash], rest[(slash + 1)..]);
        return true;
    }
}
