using Azure.Core;
using Azure.Identity;

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
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile Held? _held;

    /// <summary>Tokens from <paramref name="credential"/> (default: a <see cref="DefaultAzureCredential"/>) for <paramref name="scope"/>.</summary>
    /// <param name="credential">The credential: a managed identity, a service principal, the developer's Azure CLI login…</param>
    /// <param name="scope">The scope. Default <see cref="DefaultScope"/>.</param>
    /// <param name="timeProvider">The clock. Default the system's.</param>
    public AzureMlAuthProvider(TokenCredential? credential = null, string scope = DefaultScope, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(scope);
        _credential = credential ?? new DefaultAzureCredential();
        _context = new TokenRequestContext([scope]);
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>How many tokens were asked of the credential.</summary>
    internal int TokensFetched { get; private set; }

    /// <inheritdoc/>
    public async ValueTask AuthenticateAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var held = _held;
        if (held is null || _time.GetUtcNow() >= held.RenewAt)
        {
            held = await RenewAsync(held, force: false, cancellationToken).ConfigureAwait(false);
        }

        request.Headers.Remove("Authorization");
        request.Headers.TryAddWithoutValidation("Authorization", held.Header);
    }

    /// <inheritdoc/>
    public async ValueTask<bool> OnUnauthorizedAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var sent = request.Headers.TryGetValues("Authorization", out var values) ? values.FirstOrDefault() : null;
        var held = _held;
        if (held is not null && sent != held.Header)
        {
            return true; // renewed by another request meanwhile
        }

        await RenewAsync(held, force: true, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Releases the renewal lock (the credential is the caller's).</summary>
    public void Dispose() => _gate.Dispose();

    /// <summary>A description without the token.</summary>
    public override string ToString() => $"AzureMlAuthProvider({_credential.GetType().Name}, {_context.Scopes[0]})";

    private async Task<Held> RenewAsync(Held? seen, bool force, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_held is { } current && !ReferenceEquals(current, seen) && (force || _time.GetUtcNow() < current.RenewAt))
            {
                return current;
            }

            AccessToken token;
            try
            {
                token = await _credential.GetTokenAsync(_context, cancellationToken).ConfigureAwait(false);
            }
            catch (AuthenticationFailedException ex)
            {
                throw new MlflowException(401, "UNAUTHENTICATED",
                    $"No Microsoft Entra token for Azure Machine Learning ({_credential.GetType().Name}, scope {_context.Scopes[0]}): {ex.Message} "
                    + "Sign in (az login), or give a managed identity / service principal (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_CLIENT_SECRET).", ex);
            }

            TokensFetched++;
            var lifetime = token.ExpiresOn - _time.GetUtcNow();
            var margin = lifetime > RenewBefore * 2 ? RenewBefore : lifetime / 2;
            var held = new Held("Bearer " + token.Token, token.ExpiresOn - margin);
            _held = held;
            return held;
        }
        finally
        {
            _gate.Release();
        }
    }

    private sealed record Held(string Header, DateTimeOffset RenewAt)
    {
        public override string ToString() => "Held(***)";
    }
}
