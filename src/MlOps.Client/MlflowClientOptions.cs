using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using MlOps.Client.Configuration;

namespace MlOps.Client;

/// <summary>
/// Options of an <see cref="MlflowClient"/>. Precedence: what code sets wins over <see cref="IConfiguration"/>
/// (section <c>Mlflow</c>), which wins over the <c>MLFLOW_*</c> environment variables
/// (see <see cref="MlflowEnvironment"/>).
/// </summary>
public sealed class MlflowClientOptions
{
    /// <summary>The default configuration section name: <c>Mlflow</c>.</summary>
    public const string DefaultSectionName = "Mlflow";

    /// <summary>
    /// The tracking URI: <c>http(s)://host:port[/prefix]</c> for a tracking server. <see langword="null"/> when
    /// nothing is configured (the tracker then uses the embedded store). User info in the URI
    /// (<c>https://user:pass@host</c>) becomes basic authentication and is removed from the address.
    /// </summary>
    public string? TrackingUri { get; set; }

    /// <summary>The credential (bearer token or basic authentication), or <see langword="null"/>.</summary>
    public MlflowCredential? Credential { get; set; }

    /// <summary>
    /// Puts credentials on each request (a gateway's own scheme, Azure Machine Learning, SageMaker…); wins over
    /// <see cref="Credential"/> and over what a <c>databricks</c> URI would choose. Default none.
    /// </summary>
    public IMlflowAuthProvider? AuthProvider { get; set; }

    /// <summary>
    /// Signs every request with AWS Signature Version 4 for <c>execute-api</c> in <c>AWS_REGION</c>
    /// (<c>MLFLOW_TRACKING_AWS_SIGV4</c>): an open-source server behind Amazon API Gateway. Needs the package
    /// MlOps.Client.Aws. Default <see langword="false"/>.
    /// </summary>
    public bool AwsSigV4 { get; set; }

    /// <summary>Where a <c>databricks</c> / <c>databricks://&lt;profile&gt;</c> tracking URI leads (the <c>DATABRICKS_*</c> variables).</summary>
    public DatabricksOptions Databricks { get; private set; } = new();

    /// <summary>
    /// Lets credentials go to a plain <c>http://</c> tracking server that is not on the loopback interface
    /// (<c>MLOPS_ALLOW_HTTP_CREDENTIALS</c>): by default such a server with a Databricks or cloud provider is refused,
    /// as the token would travel in clear. Default <see langword="false"/>.
    /// </summary>
    public bool AllowHttpCredentials { get; set; }

    /// <summary>Disables TLS certificate verification (<c>MLFLOW_TRACKING_INSECURE_TLS</c>). Default <see langword="false"/>.</summary>
    public bool InsecureTls { get; set; }

    /// <summary>A PEM CA bundle to verify the server's certificate with (<c>MLFLOW_TRACKING_SERVER_CERT_PATH</c>).</summary>
    public string? ServerCertificatePath { get; set; }

    /// <summary>A PEM client certificate with its private key for mutual TLS (<c>MLFLOW_TRACKING_CLIENT_CERT_PATH</c>).</summary>
    public string? ClientCertificatePath { get; set; }

    /// <summary>The timeout of one attempt (<c>MLFLOW_HTTP_REQUEST_TIMEOUT</c>). Default 120 seconds.</summary>
    public TimeSpan RequestTimeout { get; set; } = MlflowEnvironment.DefaultRequestTimeout;

    /// <summary>
    /// The deadline of one call, all attempts and waits included. Default 10 minutes, which covers MLflow's
    /// default retry schedule; <see cref="Timeout.InfiniteTimeSpan"/> for none.
    /// </summary>
    public TimeSpan OverallTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Retry settings.</summary>
    public MlflowRetryOptions Retry { get; private set; } = new();

    /// <summary>A copy, retry options included (the credential, transport and logger factory are shared).</summary>
    internal MlflowClientOptions Copy()
    {
        var copy = (MlflowClientOptions)MemberwiseClone();
        copy.Retry = Retry.Copy();
        copy.Databricks = Databricks.Copy();
        return copy;
    }

    /// <summary>The clock used for backoff delays and timeouts (replace it in tests). Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// The logger factory for request and retry events. When <see langword="null"/>, warnings (retries, an unreachable
    /// server) go to standard error as Python MLflow prints them (<c>MLFLOW_LOGGING_LEVEL</c>; <c>MLFLOW_CONFIGURE_LOGGING=false</c>
    /// for none); <see cref="Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance"/> for no logging at all.
    /// </summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>An optional suffix of the <c>User-Agent</c> header (e.g. your application's name).</summary>
    public string? ApplicationId { get; set; }

    /// <summary>
    /// The innermost HTTP handler (the transport). <see langword="null"/> creates a <see cref="SocketsHttpHandler"/>
    /// honouring the TLS settings. Set it to route requests through a custom handler.
    /// </summary>
    public HttpMessageHandler? Transport { get; set; }

    /// <summary>Creates options from the <c>MLFLOW_*</c> environment variables.</summary>
    public static MlflowClientOptions FromEnvironment()
    {
        var options = new MlflowClientOptions();
        options.ApplyEnvironment(Environment.GetEnvironmentVariable);
        return options;
    }

    /// <summary>
    /// Creates options from the environment, then from <paramref name="configuration"/> (which wins).
    /// Set properties afterwards to give code the last word.
    /// </summary>
    /// <param name="configuration">The configuration; its <c>Mlflow</c> section is read when present, else the root.</param>
    public static MlflowClientOptions FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = FromEnvironment();
        options.ApplyConfiguration(configuration);
        return options;
    }

    /// <summary>Applies the settings found in <paramref name="configuration"/> over the current values.</summary>
    /// <param name="configuration">
    /// A configuration whose <c>Mlflow</c> section (or the section itself) has keys such as <c>TrackingUri</c>,
    /// <c>Token</c>, <c>Username</c>, <c>Password</c>, <c>InsecureTls</c>, <c>ServerCertPath</c>,
    /// <c>ClientCertPath</c>, <c>HttpRequestTimeout</c> (seconds), <c>HttpRequestMaxRetries</c>,
    /// <c>HttpRequestBackoffFactor</c>, <c>HttpRequestBackoffJitter</c>, <c>RespectRetryAfterHeader</c>.
    /// The environment variable names (<c>MLFLOW_TRACKING_URI</c>…) are accepted as keys too.
    /// </param>
    public void ApplyConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(DefaultSectionName);
        IConfiguration source = section.Exists() ? section : configuration;
        Apply(name =>
        {
            var setting = Array.Find(Settings, s => s.EnvName == name);
            return source[setting.ConfigKey] ?? source[name];
        });
    }

    internal void ApplyEnvironment(Func<string, string?> getVariable) => Apply(getVariable);

    private void Apply(Func<string, string?> get)
    {
        string? token = null, user = null, password = null;
        foreach (var setting in Settings)
        {
            var value = get(setting.EnvName);
            if (string.IsNullOrEmpty(value))
            {
                continue;
            }

            switch (setting.EnvName)
            {
                case MlflowEnvironment.TrackingUri: TrackingUri = value.Trim(); break;
                case MlflowEnvironment.TrackingToken: token = value; break;
                case MlflowEnvironment.TrackingUsername: user = value; break;
                case MlflowEnvironment.TrackingPassword: password = value; break;
                case MlflowEnvironment.TrackingInsecureTls: InsecureTls = MlflowEnvironment.ParseBool(setting.EnvName, value); break;
                case MlflowEnvironment.TrackingServerCertPath: ServerCertificatePath = value; break;
                case MlflowEnvironment.TrackingClientCertPath: ClientCertificatePath = value; break;
                case MlflowEnvironment.HttpRequestTimeout:
                    RequestTimeout = TimeSpan.FromSeconds(MlflowEnvironment.ParseDouble(setting.EnvName, value, 0.001));
                    break;
                case MlflowEnvironment.HttpRequestMaxRetries: Retry.MaxRetries = MlflowEnvironment.ParseInt(setting.EnvName, value, 0); break;
                case MlflowEnvironment.HttpRequestBackoffFactor: Retry.BackoffFactor = MlflowEnvironment.ParseDouble(setting.EnvName, value, 0); break;
                case MlflowEnvironment.HttpRequestBackoffJitter: Retry.BackoffJitter = MlflowEnvironment.ParseDouble(setting.EnvName, value, 0); break;
                case MlflowEnvironment.HttpRespectRetryAfterHeader: Retry.RespectRetryAfter = MlflowEnvironment.ParseBool(setting.EnvName, value); break;
                case MlflowEnvironment.DatabricksHost: Databricks.Host = value.Trim(); break;
                case MlflowEnvironment.DatabricksToken: Databricks.Token = value.Trim(); break;
                case MlflowEnvironment.DatabricksClientId: Databricks.ClientId = value.Trim(); break;
                case MlflowEnvironment.DatabricksClientSecret: Databricks.ClientSecret = value.Trim(); break;
                case MlflowEnvironment.DatabricksConfigProfile: Databricks.Profile = value.Trim(); break;
                case MlflowEnvironment.DatabricksConfigFile: Databricks.ConfigFile = value.Trim(); break;
                case MlflowEnvironment.AllowHttpCredentials: AllowHttpCredentials = MlflowEnvironment.ParseBool(setting.EnvName, value); break;
                case MlflowEnvironment.TrackingAwsSigV4: AwsSigV4 = MlflowEnvironment.ParseBool(setting.EnvName, value); break;
            }
        }

        // As in Python: a token wins over basic authentication.
        if (token is not null)
        {
            Credential = MlflowCredential.Bearer(token);
        }
        else if (user is not null && password is not null)
        {
            Credential = MlflowCredential.Basic(user, password);
        }
        else if (user is not null || password is not null)
        {
            throw new FormatException(
                $"Basic authentication needs both {MlflowEnvironment.TrackingUsername} and {MlflowEnvironment.TrackingPassword}; only one is set.");
        }
    }

    /// <summary>Returns a description without any secret.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture,
            $"MlflowClientOptions(TrackingUri={Configuration.UriRedaction.Redact(TrackingUri)}, Credential={Credential?.ToString() ?? "none"}, AuthProvider={AuthProvider?.GetType().Name ?? "none"}, InsecureTls={InsecureTls}, RequestTimeout={RequestTimeout.TotalSeconds}s, MaxRetries={Retry.MaxRetries})");

    private readonly record struct Setting(string EnvName, string ConfigKey);

    private static readonly Setting[] Settings =
    [
        new(MlflowEnvironment.TrackingUri, "TrackingUri"),
        new(MlflowEnvironment.TrackingToken, "Token"),
        new(MlflowEnvironment.TrackingUsername, "Username"),
        new(MlflowEnvironment.TrackingPassword, "Password"),
        new(MlflowEnvironment.TrackingInsecureTls, "InsecureTls"),
        new(MlflowEnvironment.TrackingServerCertPath, "ServerCertPath"),
        new(MlflowEnvironment.TrackingClientCertPath, "ClientCertPath"),
        new(MlflowEnvironment.HttpRequestTimeout, "HttpRequestTimeout"),
        new(MlflowEnvironment.HttpRequestMaxRetries, "HttpRequestMaxRetries"),
        new(MlflowEnvironment.HttpRequestBackoffFactor, "HttpRequestBackoffFactor"),
        new(MlflowEnvironment.HttpRequestBackoffJitter, "HttpRequestBackoffJitter"),
        new(MlflowEnvironment.HttpRespectRetryAfterHeader, "RespectRetryAfterHeader"),
        new(MlflowEnvironment.DatabricksHost, "Databricks:Host"),
        new(MlflowEnvironment.DatabricksToken, "Databricks:Token"),
        new(MlflowEnvironment.DatabricksClientId, "Databricks:ClientId"),
        new(MlflowEnvironment.DatabricksClientSecret, "Databricks:ClientSecret"),
        new(MlflowEnvironment.DatabricksConfigProfile, "Databricks:Profile"),
        new(MlflowEnvironment.DatabricksConfigFile, "Databricks:ConfigFile"),
        new(MlflowEnvironment.AllowHttpCredentials, "AllowHttpCredentials"),
        new(MlflowEnvironment.TrackingAwsSigV4, "AwsSigV4"),
    ];
}

/// <summary>Retry settings, with the defaults of Python MLflow's HTTP client.</summary>
public sealed class MlflowRetryOptions
{
    /// <summary>A copy.</summary>
    internal MlflowRetryOptions Copy() => (MlflowRetryOptions)MemberwiseClone();

    /// <summary>Retries after the first attempt (<c>MLFLOW_HTTP_REQUEST_MAX_RETRIES</c>). Default 7; 0 disables retries.</summary>
    public int MaxRetries { get; set; } = MlflowEnvironment.DefaultMaxRetries;

    /// <summary>Backoff before retry <c>n</c> is <c>factor × 2^(n-1)</c> seconds (<c>MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR</c>). Default 2.</summary>
    public double BackoffFactor { get; set; } = MlflowEnvironment.DefaultBackoffFactor;

    /// <summary>Up to this many seconds of random jitter are added to each backoff (<c>MLFLOW_HTTP_REQUEST_BACKOFF_JITTER</c>). Default 1.0.</summary>
    public double BackoffJitter { get; set; } = MlflowEnvironment.DefaultBackoffJitter;

    /// <summary>The longest single backoff. Default 120 seconds.</summary>
    public TimeSpan MaxBackoff { get; set; } = MlflowEnvironment.DefaultMaxBackoff;

    /// <summary>Whether a <c>Retry-After</c> header (seconds or HTTP date) sets the wait when it is longer than the backoff. Default <see langword="true"/>.</summary>
    public bool RespectRetryAfter { get; set; } = true;
}
