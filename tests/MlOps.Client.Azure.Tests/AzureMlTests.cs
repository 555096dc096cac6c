using Azure.Core;
using Microsoft.Extensions.Time.Testing;
using MlOps.Client.Stores;
using WireMock;
using WireMock.RequestBuilders;
using Request = WireMock.RequestBuilders.Request;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;
using WireMock.Types;
using WireMock.Util;

namespace MlOps.Client.Azure.Tests;

public sealed class AzureMlTests
{
    private const string Workspace =
        "azureml://westeurope.api.azureml.ms/mlflow/v1.0/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/ml-rg/providers/Microsoft.MachineLearningServices/workspaces/ml-ws";

    [Theory]
    [InlineData(Workspace)]
    [InlineData(Workspace + "?is-remote=True")]   // what a remote Azure ML job is given
    [InlineData(Workspace + "/")]
    public void The_workspace_uri_becomes_its_https_endpoint_as_azureml_mlflow_makes_it(string uri) =>
        Assert.Equal(
            "https://westeurope.api.azureml.ms/mlflow/v1.0/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/ml-rg/providers/Microsoft.MachineLearningServices/workspaces/ml-ws/",
            AzureMlTrackingUri.ToHttps(uri).ToString());

    [Fact]
    public void The_client_and_the_tracker_take_the_azureml_uri()
    {
        using var credential = new FakeCredential(new FakeTimeProvider());
        var options = new MlflowClientOptions { TrackingUri = Workspace, AuthProvider = new AzureMlAuthProvider(credential) };
        using var client = new MlflowClient(options);
        Assert.Equal("westeurope.api.azureml.ms", client.BaseUri.Host);
        Assert.Equal("https", client.BaseUri.Scheme);
        Assert.EndsWith("/workspaces/ml-ws/", client.BaseUri.AbsolutePath, StringComparison.Ordinal);
        Assert.Same(options.AuthProvider, client.AuthProvider);

        using var byDefault = new MlflowClient(new MlflowClientOptions { TrackingUri = Workspace });
        Assert.IsType<AzureMlAuthProvider>(byDefault.AuthProvider); // DefaultAzureCredential, asked only when a request is sent

        var bad = Assert.Throws<ArgumentException>(() => new MlflowClient(new MlflowClientOptions { TrackingUri = "azureml://westeurope.api.azureml.ms/mlflow" }));
        Assert.Contains("workspaces/<workspace>", bad.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Entra_tokens_are_sent_renewed_before_expiry_and_once_on_a_401()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-05T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        using var credential = new FakeCredential(time);
        using var server = WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"], StartAdminInterface = false });
        var seen = new List<string>();
        server.Given(Request.Create().WithPath("/api/2.0/mlflow/experiments/get").UsingGet()).RespondWith(Response.Create().WithCallback(request =>
        {
            var header = request.Headers!["Authorization"].Single();
            lock (seen)
            {
                seen.Add(header);
            }

            return credential.IsValid(header["Bearer ".Length..])
                ? Json(200, """{"experiment":{"experiment_id":"1","name":"e","lifecycle_stage":"active"}}""")
                : Json(401, """{"error_code":"UNAUTHENTICATED","message":"expired"}""");
        }));
        using var provider = new AzureMlAuthProvider(credential, timeProvider: time);
        var options = new MlflowClientOptions { TrackingUri = server.Url, AuthProvider = provider, TimeProvider = time };
        options.Retry.MaxRetries = 0;
        using var client = new MlflowClient(options);

        for (var i = 0; i < 5; i++)
        {
            await client.GetExperimentAsync("1"); // tokens live an hour; five requests 20 minutes apart
            time.Advance(TimeSpan.FromMinutes(20));
        }

        Assert.Equal(2, credential.Issued); // one renewal, 5 minutes before the first expired
        Assert.All(seen, h => Assert.StartsWith("Bearer token-", h, StringComparison.Ordinal));
        Assert.Equal(AzureMlAuthProvider.DefaultScope, Assert.Single(credential.Scopes.Distinct()));

        credential.RevokeAll();
        await client.GetExperimentAsync("1");
        Assert.Equal(3, credential.Issued); // exactly one renewal on the 401
        Assert.DoesNotContain("token-", provider.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_tracking_store_opens_on_the_workspace()
    {
        await using var store = TrackingStores.Open(new MlflowClientOptions { TrackingUri = Workspace, AuthProvider = new AzureMlAuthProvider(new FakeCredential(new FakeTimeProvider())) });
        Assert.IsType<RestTrackingStore>(store);
    }

    [Fact]
    public async Task An_identity_service_that_does_not_answer_is_transient_and_a_refused_credential_is_not()
    {
        using var unavailable = new AzureMlAuthProvider(new ThrowingCredential(new global::Azure.Identity.CredentialUnavailableException("IMDS timed out")));
        var transient = await Assert.ThrowsAsync<MlflowException>(async () => await unavailable.AuthenticateAsync(new HttpRequestMessage(HttpMethod.Get, "https://x/"), default));
        Assert.Equal(0, transient.Status); // retried and spooled by the uploader, never dropped as refused

        using var refused = new AzureMlAuthProvider(new ThrowingCredential(new global::Azure.Identity.AuthenticationFailedException("AADSTS7000215: Invalid client secret")));
        var permanent = await Assert.ThrowsAsync<MlflowException>(async () => await refused.AuthenticateAsync(new HttpRequestMessage(HttpMethod.Get, "https://x/"), default));
        Assert.Equal(401, permanent.Status);
    }

    private sealed class ThrowingCredential(Exception error) : TokenCredential
    {
        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) => throw error;

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) => throw error;
    }

    private static ResponseMessage Json(int status, string body) => new()
    {
        StatusCode = status,
        BodyData = new BodyData { BodyAsString = body, DetectedBodyType = BodyType.String },
        Headers = new Dictionary<string, WireMockList<string>> { ["Content-Type"] = new("application/json") },
    };

    /// <summary>A credential whose tokens live one hour on the fake clock, and can be revoked.</summary>
    private sealed class FakeCredential(TimeProvider time) : TokenCredential, IDisposable
    {
        private readonly Dictionary<string, DateTimeOffset> _tokens = [];

        public int Issued { get; private set; }

        public List<string> Scopes { get; } = [];

        public bool IsValid(string token)
        {
            lock (_tokens)
            {
                return _tokens.TryGetValue(token, out var expires) && expires > time.GetUtcNow();
            }
        }

        public void RevokeAll()
        {
            lock (_tokens)
            {
                _tokens.Clear();
            }
        }

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            lock (_tokens)
            {
                Scopes.AddRange(requestContext.Scopes);
                var token = "token-" + Issued++;
                var expires = time.GetUtcNow().AddHours(1);
                _tokens[token] = expires;
                return new AccessToken(token, expires);
            }
        }

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));

        public void Dispose()
        {
        }
    }
}
