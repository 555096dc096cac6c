using System.Net;

namespace MlOps.Client.Authentication;

/// <summary>
/// A <c>databricks</c> / <c>databricks://&lt;profile&gt;</c> tracking URI resolved as Python MLflow resolves it through the
/// Databricks SDK: the <c>DATABRICKS_*</c> values first; the configuration file's profile fills what they leave unset
/// (without an explicit profile, the file's <c>DEFAULT</c> profile is read only when no host or credential is set);
/// then a personal access token, else OAuth machine-to-machine with the client id and secret.
/// </summary>
internal static class DatabricksConfiguration
{
    /// <summary>Whether <paramref name="trackingUri"/> names Databricks (<c>databricks</c>, <c>databricks://…</c>).</summary>
    public static bool IsDatabricksUri(string trackingUri) =>
        trackingUri.Equals("databricks", StringComparison.OrdinalIgnoreCase) || trackingUri.StartsWith("databricks://", StringComparison.OrdinalIgnoreCase);

    /// <summary>The workspace's base URI and the provider of its credentials.</summary>
    /// <param name="trackingUri">The tracking URI.</param>
    /// <param name="options">The client options (<see cref="MlflowClientOptions.Databricks"/>, the clock, the TLS transport).</param>
    /// <param name="tokenTransport">Makes the transport the OAuth token requests use, and says whether the provider owns it.</param>
    public static (Uri Host, IMlflowAuthProvider Auth) Resolve(string trackingUri, MlflowClientOptions options, Func<(HttpMessageHandler Transport, bool Owned)> tokenTransport)
    {
        var settings = options.Databricks.Copy();
        var uriProfile = trackingUri.Length > "databricks://".Length ? trackingUri["databricks://".Length..].TrimEnd('/') : null;
        if (uriProfile is not null && uriProfile.Contains(':', StringComparison.Ordinal))
        {
            throw new NotSupportedException(
                $"'databricks://{uriProfile}' names a secret scope and key prefix, whose credentials only Databricks' own runtime can read. " +
                "Outside Databricks use 'databricks' with DATABRICKS_HOST and DATABRICKS_TOKEN (or DATABRICKS_CLIENT_ID/DATABRICKS_CLIENT_SECRET), or 'databricks://<profile>'.");
        }

        var profile = string.IsNullOrEmpty(uriProfile) ? settings.Profile : uriProfile;
        var file = settings.ConfigFile is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".databrickscfg");
        var configuredDirectly = settings.Host is not null || settings.Token is not null || settings.ClientId is not null;
        if (profile is not null || !configuredDirectly)
        {
            FillFromFile(settings, file, profile);
        }

        if (string.IsNullOrWhiteSpace(settings.Host))
        {
            throw new InvalidOperationException(
                $"No Databricks workspace for tracking URI '{trackingUri}': set DATABRICKS_HOST (e.g. https://adb-123.4.azuredatabricks.net) or a host in the profile '{profile ?? "DEFAULT"}' of {file}.");
        }

        var hostText = settings.Host.Contains("://", StringComparison.Ordinal) ? settings.Host : "https://" + settings.Host;
        if (!Uri.TryCreate(hostText.TrimEnd('/') + "/", UriKind.Absolute, out var host) || (host.Scheme != Uri.UriSchemeHttps && host.Scheme != Uri.UriSchemeHttp))
        {
            throw new ArgumentException($"The Databricks host '{settings.Host}' is not an https:// URL.", nameof(options));
        }

        RefuseClearText(host, options, "Databricks credentials");
        if (options.AuthProvider is { } given)
        {
            return (host, given); // the caller's provider (e.g. Entra ID for Azure Databricks): only the host is resolved here
        }

        if (!string.IsNullOrEmpty(settings.Token))
        {
            return (host, new CredentialAuthProvider(MlflowCredential.Bearer(settings.Token)));
        }

        if (!string.IsNullOrEmpty(settings.ClientId) && !string.IsNullOrEmpty(settings.ClientSecret))
        {
            var (transport, owned) = tokenTransport();
            return (host, new DatabricksOAuthProvider(host, settings.ClientId, settings.ClientSecret, transport, owned, options.TimeProvider));
        }

        throw new InvalidOperationException(
            $"No Databricks credentials for {host.GetLeftPart(UriPartial.Authority)}: set DATABRICKS_TOKEN (a personal access token), or DATABRICKS_CLIENT_ID and " +
            $"DATABRICKS_CLIENT_SECRET (a service principal), or token / client_id and client_secret in the profile '{profile ?? "DEFAULT"}' of {file}.");
    }

    /// <summary>
    /// Credentials over plain http only to the loopback interface (tests, a local gateway) unless
    /// <see cref="MlflowClientOptions.AllowHttpCredentials"/> says so: anywhere else they would travel in clear.
    /// </summary>
    internal static void RefuseClearText(Uri host, MlflowClientOptions options, string what)
    {
        if (host.Scheme != Uri.UriSchemeHttp || options.AllowHttpCredentials)
        {
            return;
        }

        var loopback = host.IsLoopback || (IPAddress.TryParse(host.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
        if (!loopback)
        {
            throw new ArgumentException(
                $"Refusing to send {what} to {host.GetLeftPart(UriPartial.Authority)} over plain http: they would travel in clear. " +
                "Use https://, or set MLOPS_ALLOW_HTTP_CREDENTIALS=true (MlflowClientOptions.AllowHttpCredentials) for a trusted network.",
                nameof(options));
        }
    }

    /// <summary>The Databricks SDK's file loader: the profile's values for what is still unset; an explicit profile that is not there is an error.</summary>
    private static void FillFromFile(DatabricksOptions settings, string file, string? profile)
    {
        if (!File.Exists(file))
        {
            if (profile is not null)
            {
                throw new FileNotFoundException($"The Databricks profile '{profile}' was asked for, but the configuration file {file} does not exist (DATABRICKS_CONFIG_FILE names another one).", file);
            }

            return;
        }

        var profiles = ReadIni(file);
        var name = profile ?? "DEFAULT";
        if (!profiles.TryGetValue(name, out var values))
        {
            if (profile is not null)
            {
                throw new InvalidOperationException(
                    $"{file} has no '{profile}' profile (it has: {(profiles.Count == 0 ? "none" : string.Join(", ", profiles.Keys.Order(StringComparer.Ordinal)))}).");
            }

            return;
        }

        settings.Host ??= values.GetValueOrDefault("host");
        settings.Token ??= values.GetValueOrDefault("token");
        settings.ClientId ??= values.GetValueOrDefault("client_id");
        settings.ClientSecret ??= values.GetValueOrDefault("client_secret");
    }

    /// <summary>An INI file as Python's <c>configparser</c> reads it: <c>[section]</c>, <c>key = value</c> or <c>key: value</c>, keys in lower case, <c>#</c>/<c>;</c> comments.</summary>
    internal static Dictionary<string, Dictionary<string, string>> ReadIni(string file)
    {
        var sections = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        Dictionary<string, string>? current = null;
        foreach (var raw in File.ReadLines(file))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            if (line[0] == '[' && line[^1] == ']')
            {
                var section = line[1..^1].Trim();
                if (!sections.TryGetValue(section, out current))
                {
                    current = new Dictionary<string, string>(StringComparer.Ordinal);
                    sections[section] = current;
                }

                continue;
            }

            var separator = line.IndexOfAny(['=', ':']);
            if (current is null || separator <= 0)
            {
                continue;
            }

            current[line[..separator].Trim().ToLowerInvariant()] = line[(separator + 1)..].Trim();
        }

        return sections;
    }
}
