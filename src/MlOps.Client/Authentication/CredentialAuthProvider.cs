namespace MlOps.Client.Authentication;

/// <summary>A provider that can take its own secrets out of a text (a server's error body) before it is shown.</summary>
internal interface ISecretRedactor
{
    /// <summary><paramref name="text"/> with every secret this provider holds replaced by <c>***</c>.</summary>
    string Redact(string text);
}

/// <summary>A fixed <see cref="MlflowCredential"/> (token or basic authentication) on every attempt; a 401 is the caller's.</summary>
internal sealed class CredentialAuthProvider(MlflowCredential credential) : IMlflowAuthProvider, ISecretRedactor
{
    public MlflowCredential Credential { get; } = credential;

    public ValueTask AuthenticateAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.Remove("Authorization");
        request.Headers.TryAddWithoutValidation("Authorization", Credential.AuthorizationHeaderValue);
        return ValueTask.CompletedTask;
    }

    public ValueTask<bool> OnUnauthorizedAsync(HttpRequestMessage request, CancellationToken cancellationToken) => ValueTask.FromResult(false);

    public string Redact(string text) => Credential.Redact(text);

    public override string ToString() => Credential.ToString();
}
