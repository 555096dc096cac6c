using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MlOps.Client.Rest;

namespace MlOps.Client;

/// <summary>
/// A typed client for MLflow's REST API (tracking and model registry, API version 2.0). Thread-safe; create one
/// per tracking server and reuse it. Every call is asynchronous and retried on transient failures (connection
/// errors, timeouts, 408, 429, 5xx) with MLflow's backoff, honouring <c>Retry-After</c>. Non-2xx answers raise
/// <see cref="MlflowException"/>.
/// </summary>
public partial class MlflowClient : IDisposable
{
    internal const string ApiPrefix = "api/2.0/mlflow/";
    private static readonly MediaTypeHeaderValue JsonMediaType = new("application/json");

    private readonly HttpClient _http;
    private readonly bool _ownsHttpClient;
    private readonly IMlflowAuthProvider? _auth;
    private readonly bool _ownsAuth;

    /// <summary>The resolution of each container's options, shared by its clients and handler chains (one OAuth token cache, not one per handler rotation).</summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<MlflowClientOptions, Tuple<Uri, IMlflowAuthProvider?>> SharedResolutions = new();

    /// <summary>For mocking only.</summary>
    protected MlflowClient()
    {
        _http = null!;
        Options = new MlflowClientOptions();
        BaseUri = new Uri("http://127.0.0.1/");
    }

    /// <summary>Creates a client for the server at <paramref name="trackingUri"/> with default options.</summary>
    /// <param name="trackingUri">The tracking server, e.g. <c>http://127.0.0.1:5000</c>.</param>
    public MlflowClient(string trackingUri)
        : this(new MlflowClientOptions { TrackingUri = trackingUri })
    {
    }

    /// <summary>Creates a client from <paramref name="options"/>, without any dependency-injection container.</summary>
    /// <param name="options">The options; <see cref="MlflowClientOptions.TrackingUri"/> must be an http(s) URI.</param>
    public MlflowClient(MlflowClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options = options.Copy(); // the client's own: later changes to the caller's object do not reach it
        Options = options;
        (BaseUri, _auth) = ResolveServer(options);
        _ownsAuth = _auth is not null && !ReferenceEquals(_auth, options.AuthProvider);
        var logger = MlflowHttpPipeline.CreateLogger(options);
        var transport = options.Transport ?? MlflowHttpPipeline.CreateTransport(options);
        var handler = MlflowHttpPipeline.Chain(transport, MlflowHttpPipeline.CreateHandlers(options, BaseUri, _auth, logger));
        _http = new HttpClient(handler, disposeHandler: options.Transport is null) { Timeout = Timeout.InfiniteTimeSpan };
        _ownsHttpClient = true;
        ConfigureHttpClient(_http);
    }

    /// <summary>
    /// Creates a client over an <see cref="HttpClient"/> whose handlers already include the MLflow pipeline
    /// (what <c>services.AddMlflowClient()</c> registers).
    /// </summary>
    /// <param name="httpClient">The HTTP client from <see cref="IHttpClientFactory"/>.</param>
    /// <param name="options">The options.</param>
    [ActivatorUtilitiesConstructor]
    public MlflowClient(HttpClient httpClient, IOptions<MlflowClientOptions> options)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        Options = options.Value.Copy();
        (BaseUri, _auth) = ResolveShared(options.Value);
        _http = httpClient;
        _http.Timeout = Timeout.InfiniteTimeSpan;
        ConfigureHttpClient(_http);
    }

    /// <summary>Creates a client from the <c>MLFLOW_*</c> environment variables.</summary>
    public static MlflowClient FromEnvironment() => new(MlflowClientOptions.FromEnvironment());

    /// <summary>The options this client was created with (its own copy: changing the caller's object later does not reach it).</summary>
    public MlflowClientOptions Options { get; }

    /// <summary>The tracking server's base address (without user info).</summary>
    public Uri BaseUri { get; }

    /// <summary>What puts the credentials on this client's requests, or <see langword="null"/>.</summary>
    internal IMlflowAuthProvider? AuthProvider => _auth;

    /// <summary>
    /// Runs an operation that re-opens its source on each try (a streamed artifact transfer, which the pipeline sends once)
    /// under the client's retry policy: the same settings, transience, backoff and <c>Retry-After</c> as every request.
    /// </summary>
    internal async Task WithRetriesAsync(HttpMethod method, string path, Func<CancellationToken, Task> attempt, CancellationToken cancellationToken)
    {
        var retries = _operationRetries ??= MlflowHttpPipeline.CreateOperationRetries(Options, MlflowHttpPipeline.CreateLogger(Options));
        var context = Polly.ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(MlflowHttpPipeline.OperationKey, (method.Method, path));
        try
        {
            await retries.ExecuteAsync(static async (ctx, run) => await run(ctx.CancellationToken).ConfigureAwait(false), context, attempt).ConfigureAwait(false);
        }
        finally
        {
            Polly.ResilienceContextPool.Shared.Return(context);
        }
    }

    private Polly.ResiliencePipeline? _operationRetries;

    /// <summary>Disposes the HTTP resources this client created.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Disposes the HTTP resources this client created.</summary>
    /// <param name="disposing">Whether called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing && _ownsHttpClient)
        {
            _http?.Dispose();
        }

        if (disposing && _ownsAuth && _auth is IDisposable owned)
        {
            owned.Dispose(); // a provider this client made (Databricks OAuth), not the caller's nor the container's
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"MlflowClient({BaseUri})";

    /// <summary><see cref="ResolveServer"/> once per options instance of a container (its clients and handler chains share it).</summary>
    internal static (Uri BaseUri, IMlflowAuthProvider? Auth) ResolveShared(MlflowClientOptions options)
    {
        lock (SharedResolutions)
        {
            // Under a lock: the factory runs once per options instance (a second OAuth provider would leak its transport).
            var resolved = SharedResolutions.GetValue(options, static o => ResolveServer(o).ToTuple());
            return (resolved.Item1, resolved.Item2);
        }
    }

    /// <summary>
    /// The server's base URI and what authenticates to it: <see cref="MlflowClientOptions.AuthProvider"/> when set; for a
    /// <c>databricks</c> URI the workspace and its token or OAuth client; else <see cref="MlflowClientOptions.Credential"/>
    /// or the URI's user info (basic authentication).
    /// </summary>
    internal static (Uri BaseUri, IMlflowAuthProvider? Auth) ResolveServer(MlflowClientOptions options)
    {
        var text = options.TrackingUri?.Trim();
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new InvalidOperationException(
                "No MLflow tracking server is configured: set MLFLOW_TRACKING_URI (e.g. http://127.0.0.1:5000) or MlflowClientOptions.TrackingUri.");
        }

        if (MlOps.Client.Authentication.DatabricksConfiguration.IsDatabricksUri(text))
        {
            return MlOps.Client.Authentication.DatabricksConfiguration.Resolve(text, options,
                () => options.Transport is { } given ? (given, false) : (MlflowHttpPipeline.CreateTransport(options), true));
        }

        if (MlOps.Client.Authentication.TrackingUriResolvers.IsManaged(text))
        {
            return MlOps.Client.Authentication.TrackingUriResolvers.For(text).Resolve(text, options);
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException(
                $"MlflowClient needs an http:// or https:// tracking URI (or databricks, databricks://<profile>, azureml://…, arn:aws:sagemaker:…); got '{MlOps.Client.Configuration.UriRedaction.Redact(text)}'. " +
                "Use the tracker for sqlite:/// URIs (embedded store).",
                nameof(options));
        }

        if (options.AwsSigV4 && options.AuthProvider is null)
        {
            return MlOps.Client.Authentication.TrackingUriResolvers.ApiGateway(text).Resolve(text, options);
        }

        var credential = options.Credential;
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            var parts = uri.UserInfo.Split(':', 2);
            credential ??= MlflowCredential.Basic(Uri.UnescapeDataString(parts[0]), parts.Length > 1 ? Uri.UnescapeDataString(parts[1]) : "");
            uri = new UriBuilder(uri) { UserName = "", Password = "" }.Uri;
        }

        var baseText = uri.GetLeftPart(UriPartial.Path);
        if (!baseText.EndsWith('/'))
        {
            baseText += "/";
        }

        return (new Uri(baseText), options.AuthProvider ?? (credential is null ? null : new MlOps.Client.Authentication.CredentialAuthProvider(credential)));
    }

    private void ConfigureHttpClient(HttpClient http)
    {
        var version = typeof(MlflowClient).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        var agent = $"mlops-client-dotnet/{version}";
        if (!string.IsNullOrWhiteSpace(Options.ApplicationId))
        {
            agent += " " + Options.ApplicationId;
        }

        http.DefaultRequestHeaders.UserAgent.Clear();
        http.DefaultRequestHeaders.TryAddWithoutValidation("User-Agent", agent);
        http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
    }

    // ---- request helpers shared by the REST areas ----

    internal Uri ApiUri(string endpoint, QueryString? query = null) =>
        new(BaseUri, (endpoint.StartsWith("api/", StringComparison.Ordinal) ? "" : ApiPrefix) + endpoint + (query?.ToString() ?? "")); // "api/3.0/…": a full path

    internal Task<TResponse> PostAsync<TRequest, TResponse>(
        string endpoint, TRequest body, JsonTypeInfo<TRequest> requestInfo, JsonTypeInfo<TResponse> responseInfo, CancellationToken cancellationToken) =>
        SendJsonAsync(HttpMethod.Post, endpoint, body, requestInfo, responseInfo, cancellationToken);

    internal Task PostAsync<TRequest>(string endpoint, TRequest body, JsonTypeInfo<TRequest> requestInfo, CancellationToken cancellationToken) =>
        SendJsonAsync(HttpMethod.Post, endpoint, body, requestInfo, MlflowJsonContext.Default.EmptyMessage, cancellationToken);

    internal async Task<TResponse> SendJsonAsync<TRequest, TResponse>(
        HttpMethod method, string endpoint, TRequest body, JsonTypeInfo<TRequest> requestInfo, JsonTypeInfo<TResponse> responseInfo, CancellationToken cancellationToken, bool singleAttempt = false)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(body, requestInfo);
        return await SendBodyAsync(method, endpoint, bytes, responseInfo, cancellationToken, singleAttempt).ConfigureAwait(false);
    }

    /// <summary>Sends a JSON body already written (<paramref name="body"/> is read until the call returns).</summary>
    internal async Task<TResponse> SendBodyAsync<TResponse>(
        HttpMethod method, string endpoint, ReadOnlyMemory<byte> body, JsonTypeInfo<TResponse> responseInfo, CancellationToken cancellationToken, bool singleAttempt = false)
    {
        using var request = new HttpRequestMessage(method, ApiUri(endpoint));
        request.Content = new ReadOnlyMemoryContent(body) { Headers = { ContentType = JsonMediaType } };
        if (singleAttempt)
        {
            // The caller (the batched uploader) owns re-sends: no retry budget here, one attempt.
            request.Options.Set(MlflowHttpPipeline.ResilienceHandler.SingleAttemptKey, true);
        }

        return await SendAsync(request, responseInfo, cancellationToken).ConfigureAwait(false);
    }

    internal async Task<TResponse> GetAsync<TResponse>(string endpoint, QueryString query, JsonTypeInfo<TResponse> responseInfo, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, ApiUri(endpoint, query));
        return await SendAsync(request, responseInfo, cancellationToken).ConfigureAwait(false);
    }

    internal async Task<TResponse> SendAsync<TResponse>(HttpRequestMessage request, JsonTypeInfo<TResponse> responseInfo, CancellationToken cancellationToken)
    {
        using var response = await SendRawAsync(request, cancellationToken).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            if (response.Content.Headers.ContentLength == 0)
            {
                return JsonSerializer.Deserialize("{}"u8, responseInfo)!;
            }

            try
            {
                return await JsonSerializer.DeserializeAsync(stream, responseInfo, cancellationToken).ConfigureAwait(false)
                    ?? throw new MlflowException((int)response.StatusCode, null, $"MLflow {request.Method} {MlflowHttpPipeline.Describe(request)} answered an empty JSON body.");
            }
            catch (JsonException ex)
            {
                throw new MlflowException((int)response.StatusCode, null,
                    $"MLflow {request.Method} {MlflowHttpPipeline.Describe(request)} answered {(int)response.StatusCode} with a body that is not the expected JSON: {ex.Message}", ex);
            }
        }
    }

    private string? _serverVersion;

    /// <summary>
    /// The server's MLflow version (<c>GET /version</c>, one attempt, remembered), or <see langword="null"/> when it does
    /// not say (a managed service without that route, a proxy): what a logged model pins, as Python pins its own.
    /// </summary>
    internal async Task<string?> GetServerVersionAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _serverVersion) is { } known)
        {
            return known.Length == 0 ? null : known;
        }

        string version;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(BaseUri, "version"));
            request.Options.Set(MlflowHttpPipeline.ResilienceHandler.SingleAttemptKey, true);
            using var response = await SendRawAsync(request, cancellationToken).ConfigureAwait(false);
            var text = (await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)).Trim();
            version = text.Length is > 0 and < 40 && char.IsAsciiDigit(text[0]) ? text : "";
        }
        catch (MlflowException)
        {
            version = "";
        }

        Volatile.Write(ref _serverVersion, version);
        return version.Length == 0 ? null : version;
    }

    /// <summary>Sends through the pipeline; a non-2xx answer becomes an <see cref="MlflowException"/>.</summary>
    internal async Task<HttpResponseMessage> SendRawAsync(HttpRequestMessage request, CancellationToken cancellationToken, HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw Unreachable(request, ex);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            throw await CreateExceptionAsync(request, response, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A request that got no answer: the server's address, the cause in words, and what to check.</summary>
    private MlflowException Unreachable(HttpRequestMessage request, HttpRequestException ex)
    {
        // The tracking server, or another origin (an artifact store's signed URL): name the one that did not answer.
        var target = request.RequestUri is { IsAbsoluteUri: true } uri ? uri : BaseUri;
        var isServer = Uri.Compare(target, BaseUri, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;
        var server = target.GetLeftPart(UriPartial.Authority);
        var cause = ex.HttpRequestError switch
        {
            HttpRequestError.NameResolutionError => $"the host name '{target.Host}' could not be resolved",
            HttpRequestError.ConnectionError when ex.InnerException is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionRefused }
                => $"connection refused: nothing listens on port {target.Port}",
            HttpRequestError.SecureConnectionError => "the TLS handshake failed (an https:// URI for an http server, or a certificate not trusted)",
            _ => ex.Message,
        };
        return isServer
            ? new MlflowException(0, null,
                $"Cannot reach the MLflow tracking server at {server} ({cause}) for {request.Method} {MlflowHttpPipeline.Describe(request)}. "
                + $"Check the tracking URI ({Configuration.MlflowEnvironment.TrackingUri} or MlflowClientOptions.TrackingUri) and that the server runs there.", ex)
            : new MlflowException(0, null,
                $"Cannot reach the artifact store at {server} ({cause}) for {request.Method} {MlflowHttpPipeline.Describe(request)}, a URL the tracking server handed out.", ex);
    }

    internal async Task<MlflowException> CreateExceptionAsync(HttpRequestMessage request, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        string body;
        try
        {
            body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException)
        {
            body = "";
        }

        if (_auth is MlOps.Client.Authentication.ISecretRedactor redactor)
        {
            body = redactor.Redact(body);
        }

        var what = $"MLflow {request.Method} {MlflowHttpPipeline.Describe(request)}";
        var retryAfter = Transience.RetryAfter(response, Options.TimeProvider);

        MlflowErrorBody? error = null;
        if (body.Length > 0 && body.TrimStart().StartsWith('{'))
        {
            try
            {
                error = JsonSerializer.Deserialize(body, MlflowJsonContext.Default.MlflowErrorBody);
            }
            catch (JsonException)
            {
                error = null;
            }
        }

        if (error is { ErrorCode: not null } || error is { Message: not null })
        {
            return new MlflowException(status, error.ErrorCode, $"{what} failed with {status} {error.ErrorCode}: {error.Message}")
            {
                ServerMessage = error.Message,
                RetryAfter = retryAfter,
            };
        }

        var excerpt = Excerpt(body);
        var contentType = response.Content.Headers.ContentType?.MediaType ?? "no content type";
        var message = excerpt.Length == 0
            ? $"{what} failed with {status} {response.ReasonPhrase} and an empty body."
            : $"{what} failed with {status} {response.ReasonPhrase} ({contentType}): {excerpt}";
        if (status == 404 && BaseUri.AbsolutePath.TrimEnd('/').EndsWith("/api", StringComparison.OrdinalIgnoreCase))
        {
            // The client adds /api/2.0/mlflow/… itself: a tracking URI ending in /api doubles it (a page that is not MLflow's).
            message += $" The tracking URI {BaseUri.GetLeftPart(UriPartial.Path).TrimEnd('/')} ends in '/api': give the server's address without it "
                + "(the client adds /api/2.0/mlflow/…), as MLFLOW_TRACKING_URI is given to Python MLflow.";
        }

        return new MlflowException(status, null, message) { BodyExcerpt = excerpt, RetryAfter = retryAfter };
    }

    private static string Excerpt(string body)
    {
        var sb = new StringBuilder(Math.Min(body.Length, 200));
        var lastSpace = false;
        foreach (var c in body)
        {
            var ws = char.IsWhiteSpace(c) || char.IsControl(c);
            if (ws)
            {
                if (!lastSpace && sb.Length > 0)
                {
                    sb.Append(' ');
                }

                lastSpace = true;
            }
            else
            {
                sb.Append(c);
                lastSpace = false;
            }

            if (sb.Length >= 200)
            {
                sb.Append('…');
                break;
            }
        }

        return sb.ToString().Trim();
    }
}
