using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using MlOps.Client.Tests.Fixtures;
using MlOps.Client.Tests.Rest;

namespace MlOps.Client.Tests.Configuration;

public class ConfigurationAndAuthTests
{
    private const string Token = "tok-SECRET-0123456789";

    private static Func<string, string?> Env(params (string Name, string Value)[] vars) =>
        name => vars.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void Environment_variables_are_read_with_MLflows_names_and_defaults()
    {
        var defaults = new MlflowClientOptions();
        Assert.Equal((TimeSpan.FromSeconds(120), 7, 2.0, 1.0, true), (defaults.RequestTimeout, defaults.Retry.MaxRetries, defaults.Retry.BackoffFactor, defaults.Retry.BackoffJitter, defaults.Retry.RespectRetryAfter));
        Assert.False(defaults.InsecureTls);

        var o = new MlflowClientOptions();
        o.ApplyEnvironment(Env(
            ("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000"), ("MLFLOW_TRACKING_TOKEN", Token), ("MLFLOW_TRACKING_INSECURE_TLS", "TRUE"),
            ("MLFLOW_TRACKING_SERVER_CERT_PATH", "ca.pem"), ("MLFLOW_HTTP_REQUEST_TIMEOUT", "30"), ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2"),
            ("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0.5"), ("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "0"), ("MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER", "false")));
        Assert.Equal("http://127.0.0.1:5000", o.TrackingUri);
        Assert.Equal(MlflowCredentialKind.Bearer, o.Credential!.Kind);
        Assert.True(o.InsecureTls);
        Assert.Equal("ca.pem", o.ServerCertificatePath);
        Assert.Equal((TimeSpan.FromSeconds(30), 2, 0.5, 0.0, false), (o.RequestTimeout, o.Retry.MaxRetries, o.Retry.BackoffFactor, o.Retry.BackoffJitter, o.Retry.RespectRetryAfter));

        var basic = new MlflowClientOptions();
        basic.ApplyEnvironment(Env(("MLFLOW_TRACKING_USERNAME", "alice"), ("MLFLOW_TRACKING_PASSWORD", "pw")));
        Assert.Equal((MlflowCredentialKind.Basic, "alice"), (basic.Credential!.Kind, basic.Credential.Username));
    }

    [Theory]
    [InlineData("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "abc")]
    [InlineData("MLFLOW_TRACKING_INSECURE_TLS", "maybe")]
    [InlineData("MLFLOW_HTTP_REQUEST_TIMEOUT", "-1")]
    [InlineData("MLFLOW_TRACKING_USERNAME", "only-user")]
    public void Bad_values_name_the_variable(string name, string value)
    {
        var ex = Assert.Throws<FormatException>(() => new MlflowClientOptions().ApplyEnvironment(Env((name, value))));
        Assert.Contains(name, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Code_wins_over_configuration_which_wins_over_environment()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Mlflow:TrackingUri"] = "http://127.0.0.1:6000",
            ["Mlflow:HttpRequestMaxRetries"] = "4",
        }).Build();
        var o = new MlflowClientOptions();
        o.ApplyEnvironment(Env(("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000"), ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1"), ("MLFLOW_HTTP_REQUEST_TIMEOUT", "9")));
        o.ApplyConfiguration(config);
        Assert.Equal("http://127.0.0.1:6000", o.TrackingUri); // configuration over environment
        Assert.Equal(4, o.Retry.MaxRetries);
        Assert.Equal(TimeSpan.FromSeconds(9), o.RequestTimeout); // environment when configuration is silent
        o.Retry.MaxRetries = 0; // code last
        Assert.Equal(0, o.Retry.MaxRetries);
    }

    [Fact]
    public async Task AddMlflowClient_binds_configuration_then_code_and_calls_the_server()
    {
        using var server = new RecordedServer();
        server.Serve("014-experiments-get");
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Mlflow:TrackingUri"] = "http://127.0.0.1:1",
            ["Mlflow:Token"] = Token,
            ["Mlflow:HttpRequestMaxRetries"] = "0",
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(config);
        services.AddMlflowClient(o => o.TrackingUri = server.Url); // code wins
        await using var provider = services.BuildServiceProvider();

        var client = provider.GetRequiredService<MlflowClient>();
        var experiment = await client.GetExperimentAsync("1");

        Assert.Equal("tour-experiment", experiment.Name);
        Assert.Equal("Bearer " + Token, server.SingleRequest().Headers!["Authorization"].Single());
        Assert.Equal(0, client.Options.Retry.MaxRetries);
    }

    [Fact]
    public async Task Bearer_and_basic_headers_are_sent_and_user_info_in_the_uri_becomes_basic_auth()
    {
        using var server = new RecordedServer();
        server.Serve("014-experiments-get");
        using (var bearer = server.CreateClient(o => o.Credential = MlflowCredential.Bearer(Token)))
        {
            await bearer.GetExperimentAsync("1");
        }

        var uri = new UriBuilder(server.Url) { UserName = "alice", Password = "p@ss" }.Uri.ToString();
        using (var basic = new MlflowClient(new MlflowClientOptions { TrackingUri = uri }.WithNoRetries()))
        {
            Assert.DoesNotContain("alice", basic.BaseUri.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain("alice", basic.ToString(), StringComparison.Ordinal);
            await basic.GetExperimentAsync("1");
        }

        var headers = server.Requests.Select(r => r.Headers!["Authorization"].Single()).ToList();
        Assert.Equal("Bearer " + Token, headers[0]);
        Assert.Equal("Basic " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("alice:p@ss")), headers[1]);
    }

    [Fact]
    public async Task A_rotated_token_is_used_by_the_next_request()
    {
        using var server = new RecordedServer();
        server.Serve("014-experiments-get");
        var credential = MlflowCredential.Bearer("old");
        using var client = server.CreateClient(o => o.Credential = credential);
        await client.GetExperimentAsync("1");
        credential.Update("new");
        await client.GetExperimentAsync("1");
        Assert.Equal(["Bearer old", "Bearer new"], server.Requests.Select(r => r.Headers!["Authorization"].Single()));
    }

    [Fact]
    public async Task The_token_never_appears_in_logs_exceptions_or_ToString()
    {
        using var server = new RecordedServer();
        // A misbehaving proxy that echoes the Authorization header in its error page.
        server.ServeStatus("GET", "/api/2.0/mlflow/experiments/get", 401, $"<html>denied for Bearer {Token}</html>", "text/html");
        server.ServeStatus("GET", "/api/2.0/mlflow/runs/get", 500, $$"""{"error_code":"INTERNAL_ERROR","message":"bad token {{Token}}"}""");
        using var logs = new FakeLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        var options = new MlflowClientOptions { TrackingUri = server.Url, Credential = MlflowCredential.Bearer(Token), LoggerFactory = loggerFactory };
        options.Retry.MaxRetries = 1;
        options.Retry.BackoffFactor = 0;
        options.Retry.BackoffJitter = 0;
        using var client = new MlflowClient(options);

        var e1 = await Assert.ThrowsAsync<MlflowException>(() => client.GetExperimentAsync("1"));
        var e2 = await Assert.ThrowsAsync<MlflowException>(() => client.GetRunAsync("r"));

        var texts = new List<string> { e1.ToString(), e2.ToString(), e1.BodyExcerpt ?? "", e2.ServerMessage ?? "", options.ToString(), options.Credential.ToString(), client.ToString() };
        texts.AddRange(logs.Collector.GetSnapshot().Select(r => r.Message + " " + r.Exception));
        Assert.NotEmpty(logs.Collector.GetSnapshot());
        Assert.All(texts, t => Assert.DoesNotContain(Token, t, StringComparison.Ordinal));
        Assert.Contains("***", e1.BodyExcerpt, StringComparison.Ordinal);
        Assert.DoesNotContain("pw", MlflowCredential.Basic("alice", "pw").ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_non_http_tracking_uri_is_refused_by_the_client_with_the_schemes()
    {
        var ex = Assert.Throws<ArgumentException>(() => new MlflowClient("sqlite:///mlflow.db"));
        Assert.Contains("http://", ex.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => new MlflowClient(new MlflowClientOptions()));
    }
}
