using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MlOps.Client.Diagnostics;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace MlOps.Client.Rest;

/// <summary>
/// Builds the handler chain every request goes through, in a fixed order:
/// resilience (overall deadline → retry → per-attempt timeout) → authentication (per try) → diagnostics → transport.
/// </summary>
internal static class MlflowHttpPipeline
{
    public static DelegatingHandler[] CreateHandlers(MlflowClientOptions options, Uri server, IMlflowAuthProvider? auth, ILogger logger) =>
    [
        new ResilienceHandler(options, logger),
        new AuthenticationHandler(server, auth),
        new DiagnosticsHandler(logger),
    ];

    public static HttpMessageHandler CreateTransport(MlflowClientOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            AutomaticDecompression = DecompressionMethods.GZip | DecompressionMethods.Deflate,
            AllowAutoRedirect = false,
        };
        ConfigureTls(handler.SslOptions, options);
        return handler;
    }

    public static HttpMessageHandler Chain(HttpMessageHandler transport, IEnumerable<DelegatingHandler> handlers)
    {
        HttpMessageHandler inner = transport;
        foreach (var handler in handlers.Reverse())
        {
            handler.InnerHandler = inner;
            inner = handler;
        }

        return inner;
    }

    internal static void ConfigureTls(SslClientAuthenticationOptions ssl, MlflowClientOptions options)
    {
        if (options.ClientCertificatePath is { Length: > 0 } clientPath)
        {
            ssl.ClientCertificates = [X509Certificate2.CreateFromPemFile(clientPath)];
        }

        if (options.InsecureTls)
        {
#pragma warning disable CA5359 // Only when the user set MLFLOW_TRACKING_INSECURE_TLS=true explicitly, as Python MLflow does.
            ssl.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
#pragma warning restore CA5359
        }
        else if (options.ServerCertificatePath is { Length: > 0 } caPath)
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(caPath);
            ssl.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                ValidateWithCustomRoots(certificate, errors, roots);
        }

        // Otherwise: the platform's default validation (fails closed).
    }

    private static bool ValidateWithCustomRoots(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2Collection roots)
    {
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false; // no certificate, or a name mismatch: never accepted
        }

        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var cert = new X509Certificate2(certificate);
        return chain.Build(cert);
    }

    /// <summary>
    /// The request's path and query for logs and messages, with the values of a signed URL's credentials replaced by
    /// <c>***</c> (AWS presigned and SigV4 query, Azure SAS <c>sig</c>, GCS signed URLs, CloudFront): such a URL is a
    /// credential for as long as it lives.
    /// </summary>
    internal static string Describe(HttpRequestMessage request)
    {
        if (request.RequestUri is not { } uri)
        {
            return "";
        }

        if (!uri.IsAbsoluteUri)
        {
            return uri.OriginalString;
        }

        return uri.Query.Length <= 1 ? uri.AbsolutePath : uri.AbsolutePath + "?" + string.Join('&', uri.Query[1..].Split('&').Select(pair =>
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var name = eq < 0 ? pair : pair[..eq];
            return eq >= 0 && SignedQueryNames.Contains(Uri.UnescapeDataString(name)) ? name + "=***" : pair;
        }));
    }

    private static readonly HashSet<string> SignedQueryNames = new(StringComparer.OrdinalIgnoreCase)
    {
        "X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token", "sig", "X-Goog-Signature", "X-Goog-Credential",
        "Signature", "AWSAccessKeyId", "Policy", "Key-Pair-Id", "GoogleAccessId", "token", "access_token",
    };

    /// <summary>
    /// The retries of an operation that re-opens its source on each try (a streamed artifact transfer, which the handler
    /// sends once): the same settings, transience and delays as every other request, and the same log line and counter.
    /// </summary>
    public static ResiliencePipeline CreateOperationRetries(MlflowClientOptions options, ILogger logger)
    {
        var retry = options.Retry;
        var builder = new ResiliencePipelineBuilder { TimeProvider = options.TimeProvider };
        if (retry.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = retry.MaxRetries,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is MlflowException ex && Transience.IsTransient(ex)),
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(
                    ResilienceHandler.ComputeDelay(retry, args.AttemptNumber + 1, (args.Outcome.Exception as MlflowException)?.RetryAfter, Random.Shared)),
                OnRetry = args =>
                {
                    var (method, path) = args.Context.Properties.GetValue(OperationKey, ("", ""));
                    MlflowClientMetrics.Retries.Add(1, new KeyValuePair<string, object?>("http.request.method", method));
                    ClientLog.Retrying(logger, method, path, args.RetryDelay.TotalMilliseconds, args.AttemptNumber + 1, retry.MaxRetries, args.Outcome.Exception?.Message ?? "");
                    return default;
                },
            });
        }

        return builder.Build();
    }

    /// <summary>The method and path of an operation run by <see cref="CreateOperationRetries"/>, for its log line.</summary>
    internal static readonly ResiliencePropertyKey<(string Method, string Path)> OperationKey = new("MlOps.Client.Operation");

    /// <summary>Overall deadline, retries with MLflow's backoff and <c>Retry-After</c>, per-attempt timeout.</summary>
    internal sealed class ResilienceHandler : DelegatingHandler
    {
        private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
        private readonly ILogger _logger;

        public ResilienceHandler(MlflowClientOptions options, ILogger logger)
        {
            _logger = logger;
            var retry = options.Retry;
            var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = options.TimeProvider };
            if (options.OverallTimeout != Timeout.InfiniteTimeSpan && options.OverallTimeout > TimeSpan.Zero)
            {
                builder.AddTimeout(options.OverallTimeout);
            }

            if (retry.MaxRetries > 0)
            {
                builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
                {
                    MaxRetryAttempts = retry.MaxRetries,
                    ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome) && !(NeverAnswered && IsUnreachable(args.Outcome.Exception))),
                    DelayGenerator = args =>
                    {
                        var delay = ComputeDelay(retry, args.AttemptNumber + 1, Transience.RetryAfter(args.Outcome.Result, options.TimeProvider), Random.Shared); // thread-safe: retries run concurrently
                        return ValueTask.FromResult<TimeSpan?>(delay);
                    },
                    OnRetry = args =>
                    {
                        var request = args.Context.Properties.GetValue(RequestKey, null!);
                        MlflowClientMetrics.Retries.Add(1, new KeyValuePair<string, object?>("http.request.method", request.Method.Method));
                        if (!_logger.IsEnabled(LogLevel.Warning))
                        {
                            args.Outcome.Result?.Dispose();
                            return default;
                        }

                        var reason = args.Outcome.Result is { } r
                            ? $"{(int)r.StatusCode} {r.ReasonPhrase}"
                            : args.Outcome.Exception?.GetType().Name + ": " + args.Outcome.Exception?.Message;
                        ClientLog.Retrying(_logger, request.Method.Method, Describe(request), args.RetryDelay.TotalMilliseconds, args.AttemptNumber + 1, retry.MaxRetries, reason);
                        args.Outcome.Result?.Dispose();
                        return default;
                    },
                });
            }

            if (options.RequestTimeout != Timeout.InfiniteTimeSpan && options.RequestTimeout > TimeSpan.Zero)
            {
                builder.AddTimeout(options.RequestTimeout);
            }

            _pipeline = builder.Build();
        }

        internal static readonly ResiliencePropertyKey<HttpRequestMessage> RequestKey = new("MlOps.Client.Request");

        /// <summary>Marks a request whose sender owns re-sends (the batched uploader): one attempt, no retry budget.</summary>
        internal static readonly HttpRequestOptionsKey<bool> SingleAttemptKey = new("MlOps.Client.SingleAttempt");

        /// <summary>Marks a request whose content is streamed: sent once, without buffering.</summary>
        internal static readonly HttpRequestOptionsKey<bool> StreamingKey = new("MlOps.Client.Streaming");

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if ((request.Options.TryGetValue(StreamingKey, out var streaming) && streaming)
                || (request.Options.TryGetValue(SingleAttemptKey, out var single) && single))
            {
                // Streamed content (artifact uploads) cannot be replayed: one attempt here, the caller retries by reopening the source.
                return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }

            if (request.Content is { } content)
            {
                // Retries send the same content again: make sure it can be read more than once.
                #if NET9_0_OR_GREATER
                await content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
#else
                await content.LoadIntoBufferAsync().ConfigureAwait(false);
#endif
            }

            var context = ResilienceContextPool.Shared.Get(cancellationToken);
            context.Properties.Set(RequestKey, request);
            try
            {
                var outcome = await _pipeline.ExecuteOutcomeAsync(
                    static async (ctx, state) =>
                    {
                        try
                        {
                            var response = await state.Handler.SendCoreAsync(state.Request, ctx.CancellationToken).ConfigureAwait(ctx.ContinueOnCapturedContext);
                            state.Handler._answered = true;
                            return Outcome.FromResult(response);
                        }
                        catch (Exception ex)
                        {
                            return Outcome.FromException<HttpResponseMessage>(ex);
                        }
                    },
                    context,
                    (Handler: this, Request: request)).ConfigureAwait(false);
                if (outcome.Exception is TimeoutRejectedException timeout)
                {
                    throw new MlflowException(0, null, $"MLflow {request.Method} {Describe(request)} timed out: {timeout.Message}", timeout);
                }

                outcome.ThrowIfException();
                return outcome.Result!;
            }
            finally
            {
                ResilienceContextPool.Shared.Return(context);
            }
        }

        /// <summary>
        /// Whether the server never answered this client: a refused connection, an unknown host or a failed TLS handshake
        /// then fails at once (a wrong URI or port, a server not started) instead of after every retry; once the server
        /// has answered, the same failures are an outage and are retried.
        /// </summary>
        private bool NeverAnswered => !_answered;

        private volatile bool _answered;

        internal static bool IsUnreachable(Exception? exception) =>
            exception is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError };

        private Task<HttpResponseMessage> SendCoreAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            base.SendAsync(request, cancellationToken);

        private static bool IsTransient(Outcome<HttpResponseMessage> outcome) =>
            Transience.IsTransient(outcome.Exception, outcome.Result is { } response ? (int)response.StatusCode : null);

        /// <summary>The wait before retry <paramref name="retryNumber"/>: MLflow's backoff with jitter, or the server's <c>Retry-After</c> when longer (and respected).</summary>
        internal static TimeSpan ComputeDelay(MlflowRetryOptions retry, int retryNumber, TimeSpan? retryAfter, Random random)
        {
            var backoff = Backoff.Exponential(TimeSpan.FromSeconds(retry.BackoffFactor), retryNumber, retry.MaxBackoff);
            if (retry.BackoffJitter > 0)
            {
                backoff += TimeSpan.FromSeconds(random.NextDouble() * retry.BackoffJitter);
            }

            if (retry.RespectRetryAfter && retryAfter is { } wait && wait > backoff)
            {
                backoff = wait;
            }

            return backoff < TimeSpan.Zero ? TimeSpan.Zero : backoff;
        }
    }

    /// <summary>
    /// Puts the provider's credentials on every try (so a renewed token is used), and only on requests to the tracking
    /// server's origin; a 401 the provider can mend (a token renewed) sends that try once more.
    /// </summary>
    internal sealed class AuthenticationHandler(Uri server, IMlflowAuthProvider? auth) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            // Credentials go to the tracking server's origin only (never to presigned upload URLs or other hosts).
            var sameOrigin = request.RequestUri is { IsAbsoluteUri: true } uri
                && Uri.Compare(uri, server, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;
            request.Headers.Remove("Authorization");
            if (!sameOrigin || auth is null || request.Options.TryGetValue(NoAuthKey, out _))
            {
                return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }

            await auth.AuthenticateAsync(request, cancellationToken).ConfigureAwait(false);
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.Unauthorized)
            {
                return response;
            }

            try
            {
                // Renew even when the body cannot be sent again (a streamed upload): the next request gets the new token.
                if (!await auth.OnUnauthorizedAsync(request, cancellationToken).ConfigureAwait(false) || !Resendable(request.Content))
                {
                    return response;
                }

                await auth.AuthenticateAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                response.Dispose();
                throw;
            }

            response.Dispose();
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        /// <summary>A body that can be sent again as it is (buffered); a streamed upload is not re-sent here.</summary>
        private static bool Resendable(HttpContent? content) => content is null or ByteArrayContent or ReadOnlyMemoryContent;

        internal static readonly HttpRequestOptionsKey<bool> NoAuthKey = new("MlOps.Client.NoAuth");
    }

    /// <summary>Logs and measures each attempt; never logs bodies or headers.</summary>
    internal sealed class DiagnosticsHandler(ILogger logger) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var start = Stopwatch.GetTimestamp();
            var method = new KeyValuePair<string, object?>("http.request.method", request.Method.Method);
            var server = new KeyValuePair<string, object?>("server.address", request.RequestUri?.Authority);
            try
            {
                var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
                var elapsed = Stopwatch.GetElapsedTime(start);
                var status = new KeyValuePair<string, object?>("http.response.status_code", (int)response.StatusCode);
                MlflowClientMetrics.Requests.Add(1, method, server, status);
                MlflowClientMetrics.Duration.Record(elapsed.TotalSeconds, method, server, status);
                if (!response.IsSuccessStatusCode)
                {
                    MlflowClientMetrics.Failures.Add(1, method, server, status);
                }

                if (logger.IsEnabled(LogLevel.Debug))
                {
                    ClientLog.RequestCompleted(logger, request.Method.Method, Describe(request), (int)response.StatusCode, elapsed.TotalMilliseconds);
                }
                return response;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                MlflowClientMetrics.Requests.Add(1, method, server);
                MlflowClientMetrics.Failures.Add(1, method, server);
                MlflowClientMetrics.Duration.Record(Stopwatch.GetElapsedTime(start).TotalSeconds, method, server);
                if (logger.IsEnabled(LogLevel.Debug))
                {
                    ClientLog.RequestFailed(logger, request.Method.Method, Describe(request), ex.GetType().Name + ": " + ex.Message);
                }
                throw;
            }
        }
    }

    internal static ILogger CreateLogger(MlflowClientOptions options) =>
        ConsoleLogging.Or(options.LoggerFactory).CreateLogger("MlOps.Client.MlflowClient");
}
