namespace MlOps.Client.Tests.Fixtures;

/// <summary>
/// A team's own auth provider (e.g. an API gateway's key): signs each attempt with <c>X-Gateway-Key: key-N</c> and
/// moves to the next key when the server answers 401.
/// </summary>
internal sealed class GatewayKeyProvider : IMlflowAuthProvider
{
    private int _key = 1;

    public int Renewals { get; private set; }

    public ValueTask AuthenticateAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.Remove("X-Gateway-Key");
        request.Headers.Add("X-Gateway-Key", "key-" + _key);
        return ValueTask.CompletedTask;
    }

    public ValueTask<bool> OnUnauthorizedAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Renewals++;
        _key++;
        return ValueTask.FromResult(true);
    }
}
