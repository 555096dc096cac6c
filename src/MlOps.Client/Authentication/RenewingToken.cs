namespace MlOps.Client.Authentication;

/// <summary>
/// One access token shared by every request of a client: fetched on first use, renewed a margin before it expires
/// (<see cref="RenewBefore"/>, or half the lifetime of a short-lived token), and renewed once when the server refuses
/// it — several requests refused with the same token renew it once. The header value is never shown.
/// </summary>
/// <param name="fetch">Gets a new token: the <c>Authorization</c> header value and when the token expires.</param>
/// <param name="renewBefore">How long before its expiry a token is renewed.</param>
/// <param name="time">The clock.</param>
internal sealed class RenewingToken(Func<CancellationToken, Task<(string Header, DateTimeOffset ExpiresOn)>> fetch, TimeSpan renewBefore, TimeProvider time) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile Held? _held;

    /// <summary>How long before its expiry a token is renewed.</summary>
    public TimeSpan RenewBefore { get; } = renewBefore;

    /// <summary>How many tokens were fetched.</summary>
    public int Fetched { get; private set; }

    /// <summary>The current header value (a token fetched when none is held or the held one is due).</summary>
    public async ValueTask<string> HeaderAsync(CancellationToken cancellationToken)
    {
        var held = _held;
        if (held is null || time.GetUtcNow() >= held.RenewAt)
        {
            try
            {
                held = await RenewAsync(held, force: false, cancellationToken).ConfigureAwait(false);
            }
            catch (MlflowException) when (held is not null && time.GetUtcNow() < held.ExpiresOn)
            {
                // The early renewal failed but the token still works: use it; the next request tries again.
            }
        }

        return held.Header;
    }

    /// <summary>The server refused <paramref name="sentHeader"/>: renews unless another request did meanwhile.</summary>
    public async ValueTask RefusedAsync(string? sentHeader, CancellationToken cancellationToken)
    {
        var held = _held;
        if (held is not null && sentHeader != held.Header)
        {
            return; // renewed by another request meanwhile
        }

        await RenewAsync(held, force: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Whether <paramref name="text"/> holds the current token's header value.</summary>
    public string Redact(string text) =>
        _held is { } held ? text.Replace(held.Header[(held.Header.IndexOf(' ', StringComparison.Ordinal) + 1)..], "***", StringComparison.Ordinal) : text;

    public void Dispose() => _gate.Dispose();

    private async Task<Held> RenewAsync(Held? seen, bool force, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_held is { } current && !ReferenceEquals(current, seen) && (force || time.GetUtcNow() < current.RenewAt))
            {
                return current;
            }

            var (header, expiresOn) = await fetch(cancellationToken).ConfigureAwait(false);
            Fetched++;
            var lifetime = expiresOn - time.GetUtcNow();
            var margin = lifetime > RenewBefore * 2 ? RenewBefore : lifetime / 2;
            var held = new Held(header, expiresOn - margin, expiresOn);
            _held = held;
            return held;
        }
        finally
        {
            _gate.Release();
        }
    }

    private sealed record Held(string Header, DateTimeOffset RenewAt, DateTimeOffset ExpiresOn)
    {
        public override string ToString() => "Held(***)";
    }
}
