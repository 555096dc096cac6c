using Amazon.Runtime;
using Amazon.Runtime.Credentials;

namespace MlOps.Client.Aws;

/// <summary>
/// Signs every attempt with AWS Signature Version 4, as Python's <c>sagemaker-mlflow</c> (service
/// <c>sagemaker-mlflow</c>) and <c>MLFLOW_TRACKING_AWS_SIGV4</c> (service <c>execute-api</c>) do: <c>X-Amz-Date</c>,
/// <c>X-Amz-Content-SHA256</c> (the body's hash), <c>X-Amz-Security-Token</c> for temporary credentials, and the
/// <c>Authorization</c> header, with credentials from the standard AWS chain (environment, profile, SSO, container and
/// instance roles…) unless others are given. A <c>+</c> in the query of a GET or DELETE is sent as <c>%20</c>, as
/// sagemaker-mlflow sends it.
/// </summary>
public sealed class AwsSigV4AuthProvider : IMlflowAuthProvider
{
    private readonly AWSCredentials? _given;
    private readonly TimeProvider _time;
    private readonly KeyValuePair<string, string>[] _headers;
    private AWSCredentials? _credentials;

    /// <summary>A signer for <paramref name="service"/> in <paramref name="region"/>.</summary>
    /// <param name="region">The region, e.g. <c>eu-west-1</c>.</param>
    /// <param name="service">The signing name: <c>sagemaker-mlflow</c> (SageMaker's MLflow) or <c>execute-api</c> (API Gateway).</param>
    /// <param name="credentials">The credentials; the default AWS chain when <see langword="null"/>, resolved at the first request.</param>
    /// <param name="headers">Headers sent and signed with every request (SageMaker's <c>x-mlflow-sm-tracking-server-arn</c>).</param>
    /// <param name="timeProvider">The clock. Default the system's.</param>
    public AwsSigV4AuthProvider(string region, string service, AWSCredentials? credentials = null, IReadOnlyDictionary<string, string>? headers = null, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(region);
        ArgumentException.ThrowIfNullOrEmpty(service);
        Region = region;
        Service = service;
        _given = credentials;
        _headers = headers?.ToArray() ?? [];
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The signing region.</summary>
    public string Region { get; }

    /// <summary>The signing service name.</summary>
    public string Service { get; }

    /// <inheritdoc/>
    public async ValueTask AuthenticateAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var uri = request.RequestUri ?? throw new ArgumentException("The request has no URI.", nameof(request));
        if ((request.Method == HttpMethod.Get || request.Method == HttpMethod.Delete) && uri.Query.Contains('+', StringComparison.Ordinal))
        {
            uri = new UriBuilder(uri) { Query = uri.Query.TrimStart('?').Replace("+", "%20", StringComparison.Ordinal) }.Uri;
            request.RequestUri = uri;
        }

        var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        var credentials = await (_credentials ??= _given ?? await DefaultAWSCredentialsIdentityResolver.GetCredentialsAsync(null).ConfigureAwait(false))
            .GetCredentialsAsync().ConfigureAwait(false);
        var now = _time.GetUtcNow();
        var payloadHash = SigV4.PayloadHash(body);
        foreach (var name in new[] { "Authorization", "X-Amz-Date", "X-Amz-Content-SHA256", "X-Amz-Security-Token" })
        {
            request.Headers.Remove(name);
        }

        var signed = new List<KeyValuePair<string, string>>
        {
            new("host", SigV4.Host(uri)),
            new("x-amz-date", SigV4.AmzDate(now)),
            new("x-amz-content-sha256", payloadHash),
        };
        request.Headers.TryAddWithoutValidation("X-Amz-Date", SigV4.AmzDate(now));
        request.Headers.TryAddWithoutValidation("X-Amz-Content-SHA256", payloadHash);
        if (credentials.UseToken)
        {
            signed.Add(new("x-amz-security-token", credentials.Token));
            request.Headers.TryAddWithoutValidation("X-Amz-Security-Token", credentials.Token);
        }

        foreach (var (name, value) in _headers)
        {
            request.Headers.Remove(name);
            request.Headers.TryAddWithoutValidation(name, value);
            signed.Add(new(name, value));
        }

        if (request.Content?.Headers.ContentType is { } contentType)
        {
            signed.Add(new("content-type", contentType.ToString()));
        }

        var (authorization, _) = SigV4.Authorization(request.Method.Method, uri, signed, payloadHash, credentials.AccessKey, credentials.SecretKey, Region, Service, now);
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
    }

    /// <summary>A refused signature is not mended by signing again: the 401/403 goes to the caller with the server's words.</summary>
    public ValueTask<bool> OnUnauthorizedAsync(HttpRequestMessage request, CancellationToken cancellationToken) => ValueTask.FromResult(false);

    /// <summary>A description without any key.</summary>
    public override string ToString() => $"AwsSigV4AuthProvider({Service}, {Region})";
}
