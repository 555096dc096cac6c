namespace MlOps.Client;

/// <summary>
/// Where a <c>databricks</c> or <c>databricks://&lt;profile&gt;</c> tracking URI leads, as the Databricks SDK resolves it:
/// these values (from <c>DATABRICKS_HOST</c>, <c>DATABRICKS_TOKEN</c>, <c>DATABRICKS_CLIENT_ID</c>,
/// <c>DATABRICKS_CLIENT_SECRET</c>, <c>DATABRICKS_CONFIG_PROFILE</c>, <c>DATABRICKS_CONFIG_FILE</c>), then the profile of
/// the configuration file (<c>~/.databrickscfg</c>) for what they leave unset. Secrets never appear in <see cref="ToString"/>.
/// </summary>
public sealed class DatabricksOptions
{
    /// <summary>The workspace URL (<c>DATABRICKS_HOST</c>), e.g. <c>https://adb-123.4.azuredatabricks.net</c>; <c>https://</c> when no scheme is given.</summary>
    public string? Host { get; set; }

    /// <summary>A personal access token (<c>DATABRICKS_TOKEN</c>).</summary>
    public string? Token { get; set; }

    /// <summary>A service principal's client id for OAuth machine-to-machine (<c>DATABRICKS_CLIENT_ID</c>).</summary>
    public string? ClientId { get; set; }

    /// <summary>The service principal's OAuth secret (<c>DATABRICKS_CLIENT_SECRET</c>).</summary>
    public string? ClientSecret { get; set; }

    /// <summary>The profile of the configuration file (<c>DATABRICKS_CONFIG_PROFILE</c>); the URI's <c>databricks://&lt;profile&gt;</c> wins.</summary>
    public string? Profile { get; set; }

    /// <summary>The configuration file (<c>DATABRICKS_CONFIG_FILE</c>). Default <c>~/.databrickscfg</c>.</summary>
    public string? ConfigFile { get; set; }

    /// <summary>A copy.</summary>
    internal DatabricksOptions Copy() => (DatabricksOptions)MemberwiseClone();

    /// <summary>A description without secrets.</summary>
    public override string ToString() =>
        $"DatabricksOptions(Host={Host ?? "none"}, Token={(Token is null ? "none" : "***")}, ClientId={ClientId ?? "none"}, ClientSecret={(ClientSecret is null ? "none" : "***")}, Profile={Profile ?? "none"})";
}
