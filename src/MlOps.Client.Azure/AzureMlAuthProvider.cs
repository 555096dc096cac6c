using Azure.Core;
using Azure.Identity;
using MlOps.Client.Authentication;

namespace MlOps.Client.Azure;

/// <summary>
/// Microsoft Entra tokens for Azure Machine Learning's MLflow, as azureml-mlflow sends them: <c>Authorization: Bearer</c>
/// with a token for <see cref="DefaultScope"/> from a <see cref="TokenCredential"/> (<see cref="DefaultAzureCredential"/>
/// unless another is given). A token is kept until five minutes before it expires (Azure.Core's margin) and renewed once
/// when the workspace answers 401.
/// </summary>
public sealed class AzureMlAuthProvider : IMlflowAuthProvider, IDisposable
{
    /// <summary>The scope azureml-mlflow asks tokens for: <c>https://management.azure.com/.default</c>.</summary>
    public const string DefaultScope = "https://management.azure.com/.default";

    /// <summary>How long before its expiry a token is renewed.</summary>
    internal static readonly TimeSpan RenewBefore = TimeSpan.FromMinutes(5);

    private readonly TokenCredential _credential;
    private readonly TokenRequestContext _context;
    private readonly RenewingToken _token;

    /// <summary>Tokens from <paramref name="credential"/> (default: a <see cref="DefaultAzureCredential"/>) for <paramref name="scope"/>.</summary>
    /// <param name="credential">The credential: a managed identity, a service principal, the developer's Azure CLI login…</param>
    /// <param name="scope">The scope. Default <see cref="DefaultScope"/>.</param>
    /// <param name="timeProvider">The clock. Default the system's.</param>
    public AzureMlAuthProvider(TokenCredential? credential = null, string scope = DefaultScope, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(scope);
        _credential = credential ?? new DefaultAzureCredential();
        _context = new TokenRequestContext([scope]);
        _token = new RenewingToken(FetchAsync, RenewBefore, timeProvider ?? TimeProvider.System);
    }

    /// <summary>How many tokens were asked of the credential.</summary>
    internal int TokensFetched => _token.Fetched;

    /// <inheritdoc/>
    public async ValueTask AuthenticateAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var header = await _token.HeaderAsync(cancellationToken).ConfigureAwait(false);
        request.Headers.Remove("Authorization");
        request.Headers.TryAddWithoutValidation("Authorization", header);
    }

    /// <inheritdoc/>
    public async ValueTask<bool> OnUnauthorizedAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        await _token.RefusedAsync(request.Headers.TryGetValues("Authorization", out var values) ? values.FirstOrDefault() : null, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Releases the renewal lock (the credential is the caller's).</summary>
    public void Dispose() => _token.Dispose();

    /// <summary>Whether the failure is the identity service's, not the credential's: unavailable, a timeout, a connection error, a 5xx or 429.</summary>
    private static bool IsTransient(AuthenticationFailedException ex) =>
        ex is CredentialUnavailableException
        || ex.InnerException is HttpRequestException or TimeoutException or TaskCanceledException
        || (ex.InnerException is global::Azure.RequestFailedException { Status: 0 or 429 or >= 500 });

    /// <summary>A description without the token.</summary>
    public override string ToString() => $"AzureMlAuthProvider({_credential.GetType().Name}, {_context.Scopes[0]})";

    private async Task<(string Header, DateTimeOffset ExpiresOn)> FetchAsync(CancellationToken cancellationToken)
    {
        try
        {
            var token = await _credential.GetTokenAsync(_context, cancellationToken).ConfigureAwait(false);
            return ("Bearer " + token.Token, token.ExpiresOn);
        }
        catch (AuthenticationFailedException ex) when (IsTransient(ex))
        {
            // The identity endpoint hiccuped (managed identity timeout, Entra 5xx/429): retried, spooled — never a refusal that drops data.
            throw new MlflowException(0, null, $"Microsoft Entra did not answer for Azure Machine Learning ({_credential.GetType().Name}) this time: {ex.Message}", ex);
        }
        catch (AuthenticationFailedException ex)
        {
            throw new MlflowException(401, "UNAUTHENTICATED",
                $"No Microsoft Entra token for Azure Machine Learning ({_credential.GetType().Name}, scope {_context.Scopes[0]}): {ex.Message} "
                + "Sign in (az login), or give a managed identity / service principal (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_CLIENT_SECRET).", ex);
        }
    }
}
