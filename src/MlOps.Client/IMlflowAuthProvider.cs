namespace MlOps.Client;

/// <summary>
/// Puts credentials on the requests to a tracking server — what Python's <c>MLFLOW_TRACKING_AUTH</c> plugins do. The SDK
/// has providers for a token or basic authentication (<see cref="MlflowCredential"/>), Databricks (personal access token
/// and OAuth machine-to-machine) and, in their own packages, Azure Machine Learning and Amazon SageMaker; a team
/// implements this interface for its own gateway and sets <see cref="MlflowClientOptions.AuthProvider"/>.
/// </summary>
/// <remarks>
/// Called on every attempt, after the retry policy decided to send it and before it is logged, and only for requests
/// to the tracking server's own origin (never for presigned artifact URLs or other hosts). Implementations are
/// thread-safe and never put a secret in an exception message or in <see cref="object.ToString"/>.
/// </remarks>
public interface IMlflowAuthProvider
{
    /// <summary>Sets the credentials of one attempt (e.g. the <c>Authorization</c> header, or a signature of the request).</summary>
    /// <param name="request">The request, its content complete.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask AuthenticateAsync(HttpRequestMessage request, CancellationToken cancellationToken);

    /// <summary>
    /// The server answered 401 to <paramref name="request"/>: renew what can be renewed (a token) and return
    /// <see langword="true"/> to have the request sent once more with new credentials, or <see langword="false"/> to
    /// give the 401 to the caller. Several requests may fail with the same expired token at once: renew once.
    /// </summary>
    /// <param name="request">The request the server refused, with the credentials it carried.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<bool> OnUnauthorizedAsync(HttpRequestMessage request, CancellationToken cancellationToken);
}
