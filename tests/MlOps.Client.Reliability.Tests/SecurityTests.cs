using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using MlOps.Client.Tracking;

namespace MlOps.Client.Reliability.Tests;

/// <summary>
/// Security checks of the reliability suite: credentials stay out of logs (every level), exception messages, spool files
/// and <c>ToString()</c> through a whole faulty session; TLS errors fail closed; no Authorization goes to another origin.
/// (Traversal-safe downloads: <c>ArtifactRepositoryTests.Downloads_never_write_outside_the_destination</c>.)
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class SecurityTests
{
    private const string Token = "tok-SUPER-SECRET-4242";
    private const string Password = "pw-SUPER-SECRET-7373";

    public static TheoryData<string> Credentials => new() { "bearer", "basic", "databricks-oauth" };

    [Theory]
    [MemberData(nameof(Credentials))]
    public async Task Credentials_appear_in_no_log_exception_spool_file_or_ToString_through_a_faulty_session(string kind)
    {
        await using var server = await FaultyMlflowServer.StartAsync();
        var spoolDir = Directory.CreateTempSubdirectory("mlops-security-");
        try
        {
            using var logs = new FakeLoggerProvider();
            using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
            var credential = kind switch { "bearer" => MlflowCredential.Bearer(Token), "basic" => MlflowCredential.Basic("alice", Password), _ => null };
            if (credential is null)
            {
                server.OAuthTokenLifetime = TimeSpan.FromHours(1); // a Databricks workspace: OAuth M2M tokens from its OIDC endpoint
            }

            MlflowClientOptions Options(int? retries = null)
            {
                var o = credential is null
                    ? new MlflowClientOptions { TrackingUri = "databricks", Databricks = { Host = server.Url, ClientId = "sp-reliability", ClientSecret = FaultyMlflowServer.OAuthClientSecret } }
                    : new MlflowClientOptions { TrackingUri = server.Url, Credential = credential };
                o.LoggerFactory = loggerFactory;
                o.Retry.MaxRetries = retries ?? o.Retry.MaxRetries;
                return o;
            }

            // The tracker runs with the defaults a user gets; only the direct call below (the user's own request) is
            // told not to retry, so that it fails at once while the server is away.
            var clientOptions = Options();
            using var client = new MlflowClient(clientOptions);
            using var direct = new MlflowClient(Options(retries: 0));
            var options = new TrackerOptions { HandleProcessExit = false, SetSystemTags = false, ExperimentName = "security" };
            options.Uploader.Spool.Directory = spoolDir.FullName;
            var texts = new List<string>();
            await using (var tracker = new Tracker(client, options))
            {
                var run = await tracker.StartRunAsync("secure");
                server.Faults.FailShare = 1.0; // every batch fails: retries, warnings, spooling
                for (var i = 0; i < 2_000; i++)
                {
                    run.LogMetric("m", i, i);
                }

                run.LogParam("p", "v");
                await run.EndAsync();
                server.Faults.DownUntil = DateTimeOffset.UtcNow.AddHours(1);
                texts.Add((await Assert.ThrowsAnyAsync<Exception>(() => direct.GetRunAsync(run.RunId))).ToString());
                texts.Add(tracker.ToString());
                texts.Add(run.ToString());
                Assert.True(tracker.Counters.Spooled > 0);
            } // disposed while the server is still away: the spool is closed with its records in it

            var spoolFiles = Directory.EnumerateFiles(spoolDir.FullName, "*", SearchOption.AllDirectories).ToList();
            Assert.Contains(spoolFiles, f => f.EndsWith(".seg", StringComparison.Ordinal));
            foreach (var file in spoolFiles)
            {
                texts.Add(file + System.Text.Encoding.UTF8.GetString(File.ReadAllBytes(file)));
            }

            server.Faults.Clear();

            texts.Add(client.ToString());
            texts.Add(direct.ToString());
            texts.Add(clientOptions.ToString());
            texts.Add(credential?.ToString() ?? clientOptions.Databricks.ToString());
            texts.Add(client.AuthProvider?.ToString() ?? "");
            texts.AddRange(logs.Collector.GetSnapshot().Select(r => r.Level + " " + r.Message + " " + r.Exception));
            Assert.Contains(logs.Collector.GetSnapshot(), r => r.Level == LogLevel.Warning);
            Assert.NotEmpty(server.AuthorizationHeaders); // the credential was sent, to the server only
            foreach (var text in texts)
            {
                Assert.DoesNotContain(Token, text, StringComparison.Ordinal);
                Assert.DoesNotContain(Password, text, StringComparison.Ordinal);
                Assert.DoesNotContain(FaultyMlflowServer.OAuthClientSecret, text, StringComparison.Ordinal);
                Assert.DoesNotContain("dbx-SECRET-token-", text, StringComparison.Ordinal);
                Assert.DoesNotContain(Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("alice:" + Password)), text, StringComparison.Ordinal);
            }
        }
        finally
        {
            spoolDir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_certificate_the_client_cannot_verify_fails_closed_unless_insecure_tls_is_asked_for()
    {
        using var certificate = SelfSigned();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(certificate)));
        await using var app = builder.Build();
        app.MapGet("/api/2.0/mlflow/experiments/get", (HttpContext ctx) =>
            ctx.Response.WriteAsync("""{"experiment":{"experiment_id":"1","name":"x","lifecycle_stage":"active"}}"""));
        await app.StartAsync();
        var url = app.Urls.First().Replace("[::1]", "127.0.0.1", StringComparison.Ordinal);

        // Defaults (7 retries): a failed TLS handshake with a server that never answered fails at once, not after the retries.
        using (var strict = new MlflowClient(new MlflowClientOptions { TrackingUri = url }))
        {
            var refused = await Assert.ThrowsAsync<MlflowException>(() => strict.GetExperimentAsync("1"));
            Assert.Equal(0, refused.Status);
        }

        var fromEnvironment = new MlflowClientOptions { TrackingUri = url };
        fromEnvironment.ApplyEnvironment(name => name == "MLFLOW_TRACKING_INSECURE_TLS" ? "true" : null);
        Assert.True(fromEnvironment.InsecureTls);
        using var insecure = new MlflowClient(fromEnvironment);
        Assert.Equal("x", (await insecure.GetExperimentAsync("1")).Name);
    }

    [Fact]
    public async Task No_authorization_header_reaches_another_origin_through_a_redirect()
    {
        await using var other = await FaultyMlflowServer.StartAsync();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var redirecting = builder.Build();
        redirecting.MapGet("/api/2.0/mlflow/runs/get", (HttpContext ctx) =>
        {
            ctx.Response.StatusCode = 307;
            ctx.Response.Headers.Location = other.Url + "/api/2.0/mlflow/runs/get" + ctx.Request.QueryString;
            return Task.CompletedTask;
        });
        await redirecting.StartAsync();

        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = redirecting.Urls.First(), Credential = MlflowCredential.Bearer(Token), Retry = { MaxRetries = 0 } });
        var ex = await Assert.ThrowsAsync<MlflowException>(() => client.GetRunAsync("r1"));
        Assert.Equal(307, ex.Status);
        Assert.Empty(other.AuthorizationHeaders);
        Assert.Equal(0, other.Requests);
    }

    private static X509Certificate2 SelfSigned()
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
    }
}
