using System.Net;

namespace MlOps.Client;

/// <summary>
/// An error answered by an MLflow server (non-2xx status), or a request rejected by client-side validation
/// (<see cref="Status"/> 0). Carries MLflow's <see cref="ErrorCode"/> when the server sent one.
/// </summary>
public class MlflowException : Exception
{
    /// <summary>Creates an exception with a message only.</summary>
    public MlflowException()
        : this("An MLflow request failed.")
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">The message.</param>
    public MlflowException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and an inner exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public MlflowException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception for a server answer.</summary>
    /// <param name="status">The HTTP status (0 when no answer was received or the error is client-side).</param>
    /// <param name="errorCode">MLflow's error code, e.g. <c>RESOURCE_DOES_NOT_EXIST</c>.</param>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause, if any.</param>
    public MlflowException(int status, string? errorCode, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Status = status;
        ErrorCode = errorCode;
    }

    /// <summary>The HTTP status of the answer; 0 for client-side errors.</summary>
    public int Status { get; }

    /// <summary>MLflow's error code (see <see cref="MlflowErrorCodes"/>), or <see langword="null"/> when the body was not MLflow's JSON.</summary>
    public string? ErrorCode { get; }

    /// <summary>The server's message without the status prefix (the whole message for client-side errors).</summary>
    public string? ServerMessage { get; init; }

    /// <summary>A short excerpt of a non-JSON error body (an HTML page from a proxy, for instance).</summary>
    public string? BodyExcerpt { get; init; }

    /// <summary>How long the server asked the client to wait (<c>Retry-After</c>, seconds or a date), when it said.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>
    /// Whether retrying the same request may succeed: 408, 429 and 5xx except 501; and no answer at all (status 0: the
    /// server or store unreachable, a timeout) unless the error says otherwise — the rule the client's retries, the
    /// uploader and the artifact transfers use.
    /// </summary>
    public bool IsTransient => Transience.IsTransient(this);
}

/// <summary>MLflow's error codes (<c>databricks_pb2.ErrorCode</c>) as constants.</summary>
public static class MlflowErrorCodes
{
    /// <summary><c>INTERNAL_ERROR</c>.</summary>
    public const string InternalError = "INTERNAL_ERROR";

    /// <summary><c>TEMPORARILY_UNAVAILABLE</c>.</summary>
    public const string TemporarilyUnavailable = "TEMPORARILY_UNAVAILABLE";

    /// <summary><c>BAD_REQUEST</c>.</summary>
    public const string BadRequest = "BAD_REQUEST";

    /// <summary><c>INVALID_PARAMETER_VALUE</c>.</summary>
    public const string InvalidParameterValue = "INVALID_PARAMETER_VALUE";

    /// <summary><c>ENDPOINT_NOT_FOUND</c>.</summary>
    public const string EndpointNotFound = "ENDPOINT_NOT_FOUND";

    /// <summary><c>RESOURCE_DOES_NOT_EXIST</c>.</summary>
    public const string ResourceDoesNotExist = "RESOURCE_DOES_NOT_EXIST";

    /// <summary><c>RESOURCE_ALREADY_EXISTS</c>.</summary>
    public const string ResourceAlreadyExists = "RESOURCE_ALREADY_EXISTS";

    /// <summary><c>INVALID_STATE</c>.</summary>
    public const string InvalidState = "INVALID_STATE";

    /// <summary><c>PERMISSION_DENIED</c>.</summary>
    public const string PermissionDenied = "PERMISSION_DENIED";

    /// <summary><c>UNAUTHENTICATED</c>.</summary>
    public const string Unauthenticated = "UNAUTHENTICATED";

    /// <summary><c>NOT_IMPLEMENTED</c>.</summary>
    public const string NotImplemented = "NOT_IMPLEMENTED";

    /// <summary><c>REQUEST_LIMIT_EXCEEDED</c>.</summary>
    public const string RequestLimitExceeded = "REQUEST_LIMIT_EXCEEDED";
}
