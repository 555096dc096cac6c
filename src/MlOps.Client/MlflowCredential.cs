using System.Text;

namespace MlOps.Client;

/// <summary>
/// Credentials for an MLflow tracking server: a bearer token (<c>MLFLOW_TRACKING_TOKEN</c>) or basic
/// authentication (<c>MLFLOW_TRACKING_USERNAME</c>/<c>MLFLOW_TRACKING_PASSWORD</c>). The secret is never exposed
/// through a property, <see cref="ToString"/> or a serializer; <see cref="Update(string)"/> rotates a token.
/// </summary>
public sealed class MlflowCredential
{
    private readonly object _gate = new();
    private string _secret;
    private string _headerValue;

    private MlflowCredential(MlflowCredentialKind kind, string? username, string secret)
    {
        Kind = kind;
        Username = username;
        _secret = secret;
        _headerValue = BuildHeader(kind, username, secret);
    }

    /// <summary>The kind of credential.</summary>
    public MlflowCredentialKind Kind { get; }

    /// <summary>The user name of a basic credential (not secret); <see langword="null"/> for a token.</summary>
    public string? Username { get; }

    /// <summary>Creates a bearer-token credential.</summary>
    /// <param name="token">The token.</param>
    public static MlflowCredential Bearer(string token)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        return new MlflowCredential(MlflowCredentialKind.Bearer, null, token);
    }

    /// <summary>Creates a basic-authentication credential.</summary>
    /// <param name="username">The user name.</param>
    /// <param name="password">The password.</param>
    public static MlflowCredential Basic(string username, string password)
    {
        ArgumentException.ThrowIfNullOrEmpty(username);
        ArgumentNullException.ThrowIfNull(password);
        return new MlflowCredential(MlflowCredentialKind.Basic, username, password);
    }

    /// <summary>Replaces the token or password, e.g. when a token is rotated. Requests sent afterwards use it.</summary>
    /// <param name="secret">The new token or password.</param>
    public void Update(string secret)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        lock (_gate)
        {
            _secret = secret;
            _headerValue = BuildHeader(Kind, Username, secret);
        }
    }

    /// <summary>Returns a description without the secret.</summary>
    public override string ToString() =>
        Kind == MlflowCredentialKind.Bearer ? "MlflowCredential(Bearer, ***)" : $"MlflowCredential(Basic, {Username}, ***)";

    internal string AuthorizationHeaderValue
    {
        get
        {
            lock (_gate)
            {
                return _headerValue;
            }
        }
    }

    internal bool Contains(string text)
    {
        lock (_gate)
        {
            return text.Contains(_secret, StringComparison.Ordinal)
                || text.Contains(_headerValue, StringComparison.Ordinal);
        }
    }

    internal string Redact(string text)
    {
        lock (_gate)
        {
            var header = _headerValue;
            var encoded = header[(header.IndexOf(' ', StringComparison.Ordinal) + 1)..];
            return text.Replace(encoded, "***", StringComparison.Ordinal).Replace(_secret, "***", StringComparison.Ordinal);
        }
    }

    private static string BuildHeader(MlflowCredentialKind kind, string? username, string secret) =>
        kind == MlflowCredentialKind.Bearer
            ? "Bearer " + secret
            : "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(username + ":" + secret));
}

/// <summary>The kind of an <see cref="MlflowCredential"/>.</summary>
public enum MlflowCredentialKind
{
    /// <summary><c>Authorization: Bearer &lt;token&gt;</c>.</summary>
    Bearer,

    /// <summary><c>Authorization: Basic &lt;base64(user:password)&gt;</c>.</summary>
    Basic,
}
