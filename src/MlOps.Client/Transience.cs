using System.Net;
using Polly.Timeout;

namespace MlOps.Client;

/// <summary>
/// Whether trying the same request again may succeed — the one place the client, the uploader and the artifact
/// uploads decide it: 408, 429 and 5xx except 501 (as Python MLflow's retry list), connection failures and timeouts;
/// not a host name that does not resolve, not a request this client refused before sending.
/// </summary>
internal static class Transience
{
    /// <summary>408, 429 and 5xx except 501.</summary>
    public static bool IsTransientStatus(int status) =>
        status is (int)HttpStatusCode.RequestTimeout or 429
        || (status >= 500 && status != (int)HttpStatusCode.NotImplemented);

    /// <summary>An exception of one attempt (or its HTTP answer) that a retry may cure.</summary>
    public static bool IsTransient(Exception? exception, int? status) => exception switch
    {
        HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError } => false, // a wrong host name: fail fast
        HttpRequestException or TimeoutRejectedException or IOException => true,
        MlflowException ex => IsTransient(ex),
        null => status is { } s && IsTransientStatus(s),
        _ => false,
    };

    /// <summary>
    /// A failed call that a retry may cure: a transient status, or no answer at all (status 0) — unless the exception
    /// names a lasting cause (an error code other than TEMPORARILY_UNAVAILABLE: a local state, a missing resource);
    /// never a validation error.
    /// </summary>
    public static bool IsTransient(MlflowException ex) =>
        ex is not MlflowValidationException
        && (ex.Status == 0 ? ex.ErrorCode is null or MlflowErrorCodes.TemporarilyUnavailable : IsTransientStatus(ex.Status));

    /// <summary>How long the server asked to wait (<c>Retry-After</c>: seconds or an HTTP date, never negative), when it said.</summary>
    public static TimeSpan? RetryAfter(HttpResponseMessage? response, TimeProvider time)
    {
        if (response?.Headers.RetryAfter is not { } header)
        {
            return null;
        }

        TimeSpan? told = header.Delta ?? (header.Date is { } date ? date - time.GetUtcNow() : null);
        return told < TimeSpan.Zero ? TimeSpan.Zero : told;
    }
}
