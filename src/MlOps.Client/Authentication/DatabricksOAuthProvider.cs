using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace MlOps.Client.Authentication;

/// <summary>
/// Databricks OAuth machine-to-machine, as the Databricks SDK's <c>oauth-m2m</c> does it: the token endpoint from
/// <c>{host}/oidc/.well-known/oauth-authorization-server</c>, a <c>client_credentials</c> grant with scope <c>all-apis</c>
/// and the client's id and secret as Basic credentials; the token is kept until shortly before <c>expires_in</c> runs out,
/// and renewed once when the workspace answers 401 to it.
/// </summary>
internal sealed class DatabricksOAuthProvider : IMlflowAuthProvider, ISecretRedactor, IDisposable
{
    /// <summary>How long before its expiry a token is renewed (the SDK's margin is of this order).</summary>
    internal static readonly TimeSpan RenewBefore = TimeSpan.FromSeconds(40);

    private readonly Uri _host;
    private readonly string _clientId;
    private readonly string _clientSecret;
    private readonly HttpClient _http;
    private readonly RenewingToken _token;
    private readonly TimeProvider _time;
    private Uri? _tokenEndpoint;

    public DatabricksOAuthProvider(Uri host, string clientId, string clientSecret, HttpMessageHandler transport, bool ownsTransport, TimeProvider time)
    {
        _host = host;
        _clientId = clientId;
        _clientSecret = clientSecret;
        _http = new HttpClient(transport, disposeHandler: ownsTransport) { Timeout = TimeSpan.FromSeconds(60) };
        _time = time;
        _token = new RenewingToken(FetchAsync, RenewBefore, time);
    }

    /// <summary>How many tokens were fetched (tests and diagnostics).</summary>
    internal int TokensFetched => _token.Fetched;

    public async ValueTask AuthenticateAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var header = await _token.HeaderAsync(cancellationToken).ConfigureAwait(false);
        request.Headers.Remove("Authorization");
        request.Headers.TryAddWithoutValidation("Authorization", header);
    }

    public async ValueTask<bool> OnUnauthorizedAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        await _token.RefusedAsync(request.Headers.TryGetValues("Authorization", out var values) ? values.FirstOrDefault() : null, cancellationToken).ConfigureAwait(false);
        return true;
    }

    public string Redact(string text) => _token.Redact(text.Replace(_clientSecret, "***", StringComparison.Ordinal));

    public override string ToString() => $"Databricks OAuth M2M ({_host.GetLeftPart(UriPartial.Authority)}, client {_clientId})";

    public void Dispose()
    {
        _http.Dispose();
        _token.Dispose();
    }

    /// <summary>One <c>client_credentials</c> grant: the header value and the token's expiry.</summary>
    private async Task<(string Header, DateTimeOffset ExpiresOn)> FetchAsync(CancellationToken cancellationToken)
    {
        _tokenEndpoint ??= await DiscoverAsync(cancellationToken).ConfigureAwait(false);
        using var request = new HttpRequestMessage(HttpMethod.Post, _tokenEndpoint)
        {
            Content = new FormUrlEncodedContent([new("grant_type", "client_credentials"), new("scope", "all-apis")]),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes(Uri.EscapeDataString(_clientId) + ":" + Uri.EscapeDataString(_clientSecret))));
        using var response = await SendAsync(request, "token", cancellationToken).ConfigureAwait(false);
        using var json = await ReadJsonAsync(response, "token", cancellationToken).ConfigureAwait(false);
        var root = json.RootElement;
        var value = root.TryGetProperty("access_token", out var at) ? at.GetString() : null;
        if (string.IsNullOrEmpty(value))
        {
            throw new MlflowException(401, "UNAUTHENTICATED", $"The Databricks token endpoint {_tokenEndpoint} answered without an access_token for client {_clientId}.");
        }

        var type = root.TryGetProperty("token_type", out var tt) && tt.GetString() is { Length: > 0 } t ? t : "Bearer";
        var lifetime = root.TryGetProperty("expires_in", out var ei) && ei.TryGetDouble(out var seconds) ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromHours(1);
        return (type + " " + value, _time.GetUtcNow() + lifetime);
    }

    private async Task<Uri> DiscoverAsync(CancellationToken cancellationToken)
    {
        var discovery = new Uri(_host, "oidc/.well-known/oauth-authorization-server");
        using var request = new HttpRequestMessage(HttpMethod.Get, discovery);
        using var response = await SendAsync(request, "discovery", cancellationToken).ConfigureAwait(false);
        using var json = await ReadJsonAsync(response, "discovery", cancellationToken).ConfigureAwait(false);
        return json.RootElement.TryGetProperty("token_endpoint", out var endpoint) && Uri.TryCreate(endpoint.GetString(), UriKind.Absolute, out var uri)
            ? uri
            : throw new MlflowException(400, MlflowErrorCodes.InvalidParameterValue, $"The Databricks OAuth discovery document at {discovery} names no token_endpoint (is DATABRICKS_HOST a workspace URL?).");
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, string what, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new MlflowException(0, null, $"Cannot reach the Databricks OAuth {what} endpoint {request.RequestUri}: {ex.Message}", ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            // The token client's own timeout, not the caller's cancellation: a transient failure like any other.
            throw new MlflowException(0, null, $"The Databricks OAuth {what} endpoint {request.RequestUri} did not answer in time.", ex);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var body = Redact(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
            throw new MlflowException((int)response.StatusCode, (int)response.StatusCode is 400 or 401 ? "UNAUTHENTICATED" : null,
                $"The Databricks OAuth {what} endpoint {request.RequestUri} answered {(int)response.StatusCode} for client {_clientId}"
                + (body.Length > 0 ? $": {(body.Length > 300 ? body[..300] + "…" : body)}" : "")
                + ". Check DATABRICKS_CLIENT_ID / DATABRICKS_CLIENT_SECRET (or the profile's client_id / client_secret).");
        }
    }

    private static async Task<JsonDocument> ReadJsonAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        try
        {
            return await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            // A 200 that is not JSON is a proxy's page, not the endpoint: transient like a gateway error.
            throw new MlflowException(response.IsSuccessStatusCode ? 502 : (int)response.StatusCode, null, $"The Databricks OAuth {what} endpoint answered a body that is not JSON: {ex.Message}", ex);
        }
    }
}
