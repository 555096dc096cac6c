using Microsoft.Extensions.DependencyInjection;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using MlOps.Client.Authentication;
using MlOps.Client.Stores;
using MlOps.Client.Tests.Fixtures;
using MlOps.Client.Tests.Rest;
using WireMock;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Types;
using WireMock.Util;

namespace MlOps.Client.Tests.Authentication;

/// <summary>
/// <c>databricks</c> / <c>databricks://&lt;profile&gt;</c> against a fake workspace that behaves as Databricks documents it:
/// personal access tokens, <c>.databrickscfg</c> profiles, and OAuth machine-to-machine with expiring tokens.
/// </summary>
public sealed class DatabricksAuthTests : IDisposable
{
    private const string Pat = "dapi-SECRET-0123456789abcdef";
    private const string ClientSecret = "dose-CLIENT-SECRET-987";
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-dbx-");

    public void Dispose() => _dir.Delete(recursive: true);

    private static MlflowClientOptions Databricks(string uri, Action<DatabricksOptions> configure)
    {
        var options = new MlflowClientOptions { TrackingUri = uri }.WithNoRetries();
        configure(options.Databricks);
        return options;
    }

    [Fact]
    public async Task A_personal_access_token_from_the_variables_goes_as_bearer_to_the_workspace()
    {
        using var server = new RecordedServer();
        server.Serve("014-experiments-get");
        var options = new MlflowClientOptions().WithNoRetries();
        options.ApplyEnvironment(name => name switch
        {
            "MLFLOW_TRACKING_URI" => "databricks",
            "DATABRICKS_HOST" => server.Url,
            "DATABRICKS_TOKEN" => Pat,
            "DATABRICKS_CONFIG_FILE" => Path.Combine(_dir.FullName, "absent.cfg"),
            _ => null,
        });
        using var client = new MlflowClient(options);
        Assert.Equal(new Uri(server.Url + "/"), client.BaseUri);
        await client.GetExperimentAsync("1");
        Assert.Equal("Bearer " + Pat, server.SingleRequest().Headers!["Authorization"].Single());
        Assert.DoesNotContain(Pat, options.Databricks.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Pat, client.AuthProvider!.ToString(), StringComparison.Ordinal);

        // The tracker opens the same URI as a tracking server.
        await using var store = TrackingStores.Open(options);
        Assert.IsType<RestTrackingStore>(store);
    }

    [Fact]
    public async Task A_profile_of_the_configuration_file_is_used_and_a_missing_one_is_named_with_the_file()
    {
        using var server = new RecordedServer();
        server.Serve("014-experiments-get");
        var file = Path.Combine(_dir.FullName, ".databrickscfg");
        await File.WriteAllTextAsync(file, $"""
            ; written by `databricks configure`
            [DEFAULT]
            host = https://default.cloud.databricks.com
            token = dapi-default

            [prod]
            host  = {server.Url}
            token : {Pat}
            """);

        using (var client = new MlflowClient(Databricks("databricks://prod", d => d.ConfigFile = file)))
        {
            await client.GetExperimentAsync("1");
        }

        Assert.Equal("Bearer " + Pat, server.SingleRequest().Headers!["Authorization"].Single());

        // The profile from DATABRICKS_CONFIG_PROFILE; the URI's wins over it.
        using (var client = new MlflowClient(Databricks("databricks", d => (d.ConfigFile, d.Profile) = (file, "prod"))))
        {
            Assert.Equal(new Uri(server.Url + "/"), client.BaseUri);
        }

        // Without a profile, the DEFAULT one; not read when the variables already name a host (the SDK's rule).
        using (var client = new MlflowClient(Databricks("databricks", d => d.ConfigFile = file)))
        {
            Assert.Equal("https://default.cloud.databricks.com/", client.BaseUri.ToString());
        }

        var direct = Assert.Throws<InvalidOperationException>(() => new MlflowClient(Databricks("databricks", d => (d.ConfigFile, d.Host) = (file, "https://x.cloud.databricks.com"))));
        Assert.Contains("No Databricks credentials", direct.Message, StringComparison.Ordinal);

        var missing = Assert.Throws<InvalidOperationException>(() => new MlflowClient(Databricks("databricks://staging", d => d.ConfigFile = file)));
        Assert.Contains(file, missing.Message, StringComparison.Ordinal);
        Assert.Contains("'staging'", missing.Message, StringComparison.Ordinal);
        Assert.Contains("DEFAULT, prod", missing.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Pat, missing.Message, StringComparison.Ordinal);

        var noFile = Assert.Throws<FileNotFoundException>(() => new MlflowClient(Databricks("databricks://prod", d => d.ConfigFile = file + ".absent")));
        Assert.Contains("'prod'", noFile.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Credentials_never_go_to_a_plain_http_host_off_the_loopback_unless_allowed()
    {
        var refused = Assert.Throws<ArgumentException>(() => new MlflowClient(Databricks("databricks", d => (d.Host, d.Token) = ("http://workspace.example.com", Pat))));
        Assert.Contains("plain http", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Pat, refused.Message, StringComparison.Ordinal);

        var allowed = Databricks("databricks", d => (d.Host, d.Token) = ("http://workspace.example.com", Pat));
        allowed.AllowHttpCredentials = true;
        using (var client = new MlflowClient(allowed))
        {
            Assert.Equal("http://workspace.example.com/", client.BaseUri.ToString());
        }

        using var bare = new MlflowClient(Databricks("databricks", d => (d.Host, d.Token) = ("adb-1.2.azuredatabricks.net", Pat)));
        Assert.Equal("https://adb-1.2.azuredatabricks.net/", bare.BaseUri.ToString()); // no scheme: https, as the SDK

        Assert.Throws<NotSupportedException>(() => new MlflowClient(Databricks("databricks://scope:prefix", d => (d.Host, d.Token) = ("https://x", Pat))));
    }

    [Fact]
    public async Task OAuth_machine_to_machine_renews_tokens_before_they_expire_and_once_on_a_401()
    {
        using var server = new RecordedServer();
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-05T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var issued = new List<(string Token, DateTimeOffset Expires)>();
        var revoked = new HashSet<string>();
        var tokenRequests = new List<(string? Authorization, string Body)>();
        server.Server.Given(Request.Create().WithPath("/oidc/.well-known/oauth-authorization-server").UsingGet())
            .RespondWith(Response.Create().WithBody($$"""{"authorization_endpoint":"{{server.Url}}/oidc/v1/authorize","token_endpoint":"{{server.Url}}/oidc/v1/token"}"""));
        server.Server.Given(Request.Create().WithPath("/oidc/v1/token").UsingPost()).RespondWith(Response.Create().WithCallback(request =>
        {
            lock (issued)
            {
                tokenRequests.Add((request.Headers!.TryGetValue("Authorization", out var a) ? a.Single() : null, request.Body ?? ""));
                var token = "eyJ-access-" + issued.Count;
                issued.Add((token, time.GetUtcNow().AddSeconds(3600)));
                return Json(200, $$"""{"access_token":"{{token}}","token_type":"Bearer","expires_in":3600,"scope":"all-apis"}""");
            }
        }));
        var accepted = new List<string>();
        var experiment = RecordedExchange.Load("014-experiments-get").ResponseJson!.ToJsonString();
        server.Server.Given(Request.Create().WithPath("/api/2.0/mlflow/experiments/get").UsingGet()).RespondWith(Response.Create().WithCallback(request =>
        {
            lock (issued)
            {
                var header = request.Headers!.TryGetValue("Authorization", out var a) ? a.Single() : "";
                var valid = issued.Any(t => "Bearer " + t.Token == header && t.Expires > time.GetUtcNow() && !revoked.Contains(t.Token));
                if (valid)
                {
                    accepted.Add(header);
                }

                return valid ? Json(200, experiment) : Json(401, """{"error_code":"UNAUTHENTICATED","message":"Invalid access token."}""");
            }
        }));

        var options = Databricks("databricks", d => (d.Host, d.ClientId, d.ClientSecret) = (server.Url, "sp-client-1", ClientSecret));
        options.TimeProvider = time;
        using var client = new MlflowClient(options);

        // A run that outlives two tokens: every request carries one that is valid when it is sent.
        for (var minute = 0; minute < 150; minute += 10)
        {
            await client.GetExperimentAsync("1");
            time.Advance(TimeSpan.FromMinutes(10));
        }

        Assert.Equal(15, accepted.Count);
        Assert.Equal(3, issued.Count); // t=0, then 59:20 and 118:40 in, renewed 40 s before each expiry
        Assert.All(tokenRequests, r =>
        {
            Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("sp-client-1:" + ClientSecret)), r.Authorization);
            Assert.Equal("grant_type=client_credentials&scope=all-apis", r.Body);
        });

        // The workspace revokes the token in use: exactly one renewal, and the call succeeds.
        lock (issued)
        {
            revoked.Add(issued[^1].Token);
        }

        await client.GetExperimentAsync("1");
        Assert.Equal(4, issued.Count);
        Assert.Equal("Bearer " + issued[^1].Token, accepted[^1]);

        // Secrets stay out of what is shown.
        Assert.DoesNotContain(ClientSecret, client.AuthProvider!.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(ClientSecret, options.ToString() + options.Databricks, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_client_secret_is_said_with_the_client_and_the_variables_never_the_secret()
    {
        using var server = new RecordedServer();
        server.Server.Given(Request.Create().WithPath("/oidc/.well-known/oauth-authorization-server").UsingGet())
            .RespondWith(Response.Create().WithBody($$"""{"token_endpoint":"{{server.Url}}/oidc/v1/token"}"""));
        server.ServeStatus("POST", "/oidc/v1/token", 401, $$"""{"error":"invalid_client","error_description":"Client authentication failed for {{ClientSecret}}"}""");
        using var client = new MlflowClient(Databricks("databricks", d => (d.Host, d.ClientId, d.ClientSecret) = (server.Url, "sp-client-1", ClientSecret)));
        var ex = await Assert.ThrowsAsync<MlflowException>(() => client.GetExperimentAsync("1"));
        Assert.Equal(401, ex.Status);
        Assert.Contains("sp-client-1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("DATABRICKS_CLIENT_SECRET", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(ClientSecret, ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_team_s_own_provider_signs_every_attempt_and_renews_once_on_a_401()
    {
        using var server = new RecordedServer();
        var experiment = RecordedExchange.Load("014-experiments-get").ResponseJson!.ToJsonString();
        server.Server.Given(Request.Create().WithPath("/api/2.0/mlflow/experiments/get").UsingGet()).RespondWith(Response.Create().WithCallback(request =>
            request.Headers!.TryGetValue("X-Gateway-Key", out var key) && key.Single() == "key-2" ? Json(200, experiment) : Json(401, "{}")));
        var provider = new GatewayKeyProvider();
        using var client = server.CreateClient(o => o.AuthProvider = provider);
        await client.GetExperimentAsync("1");
        Assert.Equal(["key-1", "key-2"], server.Requests.Select(r => r.Headers!["X-Gateway-Key"].Single()));
        Assert.Equal(1, provider.Renewals);
        await client.GetExperimentAsync("1");
        Assert.Equal(1, provider.Renewals);
    }

    [Fact]
    public async Task A_provider_registered_in_the_container_is_used_by_AddMlflowClient()
    {
        using var server = new RecordedServer();
        var experiment = RecordedExchange.Load("014-experiments-get").ResponseJson!.ToJsonString();
        server.Server.Given(Request.Create().WithPath("/api/2.0/mlflow/experiments/get").UsingGet()).RespondWith(Response.Create().WithCallback(request =>
            request.Headers!.TryGetValue("X-Gateway-Key", out var key) && key.Single() == "key-1" ? Json(200, experiment) : Json(401, "{}")));
        var services = new ServiceCollection();
        services.AddSingleton<IMlflowAuthProvider, GatewayKeyProvider>();
        services.AddMlflowClient(o => o.TrackingUri = server.Url);
        await using var container = services.BuildServiceProvider();
        var client = container.GetRequiredService<MlflowClient>();
        await client.GetExperimentAsync("1");
        Assert.Equal("key-1", server.SingleRequest().Headers!["X-Gateway-Key"].Single());
    }

    [Fact]
    public async Task Clients_from_the_container_share_one_OAuth_token()
    {
        using var server = new RecordedServer();
        server.Serve("014-experiments-get");
        var fetched = 0;
        server.Server.Given(Request.Create().WithPath("/oidc/.well-known/oauth-authorization-server").UsingGet())
            .RespondWith(Response.Create().WithBody($$"""{"token_endpoint":"{{server.Url}}/oidc/v1/token"}"""));
        server.Server.Given(Request.Create().WithPath("/oidc/v1/token").UsingPost()).RespondWith(Response.Create().WithCallback(_ =>
            Json(200, $$"""{"access_token":"shared-{{Interlocked.Increment(ref fetched)}}","token_type":"Bearer","expires_in":3600}""")));
        var services = new ServiceCollection();
        services.AddMlflowClient(o =>
        {
            o.TrackingUri = "databricks";
            (o.Databricks.Host, o.Databricks.ClientId, o.Databricks.ClientSecret) = (server.Url, "sp-1", ClientSecret);
        });
        await using (var container = services.BuildServiceProvider())
        {
            for (var i = 0; i < 3; i++)
            {
                await container.GetRequiredService<MlflowClient>().GetExperimentAsync("1");
            }

            // Every handler chain the factory builds (one per rotation) takes the same provider as the clients.
            var options = container.GetRequiredService<Microsoft.Extensions.Options.IOptions<MlflowClientOptions>>().Value;
            Assert.Same(MlflowClient.ResolveShared(options).Auth, MlflowClient.ResolveShared(options).Auth);
            Assert.Same(MlflowClient.ResolveShared(options).Auth, container.GetRequiredService<MlflowClient>().AuthProvider);
        }

        Assert.Equal(1, fetched);
        Assert.All(server.Requests.Where(r => r.Path.StartsWith("/api/", StringComparison.Ordinal)), r => Assert.Equal("Bearer shared-1", r.Headers!["Authorization"].Single()));
    }

    [Fact]
    public async Task A_team_s_provider_with_a_databricks_uri_needs_only_the_host()
    {
        using var server = new RecordedServer();
        var experiment = RecordedExchange.Load("014-experiments-get").ResponseJson!.ToJsonString();
        server.Server.Given(Request.Create().WithPath("/api/2.0/mlflow/experiments/get").UsingGet()).RespondWith(Response.Create().WithCallback(request =>
            request.Headers!.TryGetValue("X-Gateway-Key", out var key) && key.Single() == "key-1" ? Json(200, experiment) : Json(401, "{}")));
        var options = Databricks("databricks", d => (d.Host, d.ConfigFile) = (server.Url, Path.Combine(_dir.FullName, "none.cfg"))); // no token, no client secret
        options.AuthProvider = new GatewayKeyProvider(); // e.g. Entra ID for Azure Databricks
        using var client = new MlflowClient(options);
        await client.GetExperimentAsync("1");
        Assert.Same(options.AuthProvider, client.AuthProvider);
    }

    [Fact]
    public void The_configuration_file_is_read_as_configparser_reads_it()
    {
        var file = Path.Combine(_dir.FullName, "cfg");
        File.WriteAllText(file, "# comment\n[a]\nHost = h1\n; other\n[b]\nclient_id: c\nempty =\n");
        var sections = DatabricksConfiguration.ReadIni(file);
        Assert.Equal("h1", sections["a"]["host"]);
        Assert.Equal(("c", ""), (sections["b"]["client_id"], sections["b"]["empty"]));
    }

    private static ResponseMessage Json(int status, string body) => RecordedServer.JsonAnswer(status, body);
}
