namespace MlOps.Client.Uploading;

/// <summary>
/// The uploader's one retry policy: when a failed request is sent again, and whether the server counts as away.
/// <list type="bullet">
/// <item>A quick re-send: a request that failed fast (5xx, 429, connection refused or reset) is sent once more after
/// 250–500 ms, or after the server's <c>Retry-After</c> when that is at most <see cref="MaxQuickRetryAfter"/>. A timeout
/// gets no quick re-send: it already waited.</item>
/// <item>An outage: a request that failed again (or timed out) moves its entities to the spool (or, without one, to the
/// in-memory re-send list) and pushes the next attempt back by a jittered exponential backoff — 0.5 s × 2^(n−1) ×
/// (0.5…1), at most <see cref="UploaderOptions.MaxRetryBackoff"/>, never before the server's <c>Retry-After</c>.</item>
/// </list>
/// The client's own retries (Polly) are not used for the uploader's requests: each is sent once per attempt here.
/// </summary>
internal sealed class OutagePolicy(UploaderOptions options, TimeProvider time)
{
    /// <summary>The longest <c>Retry-After</c> honoured by a quick re-send; a longer one goes straight to the backoff.</summary>
    public static readonly TimeSpan MaxQuickRetryAfter = TimeSpan.FromSeconds(2);

    private readonly object _gate = new();
    private int _attempt;
    private DateTimeOffset _notBefore = DateTimeOffset.MinValue;

    /// <summary>When the next re-send (or spool replay) may start.</summary>
    public DateTimeOffset NotBefore
    {
        get
        {
            lock (_gate)
            {
                return _notBefore;
            }
        }
    }

    /// <summary>Whether the backoff has passed.</summary>
    public bool IsDue => time.GetUtcNow() >= NotBefore;

    /// <summary>How long until <see cref="NotBefore"/> (zero when due).</summary>
    public TimeSpan UntilDue
    {
        get
        {
            var wait = NotBefore - time.GetUtcNow();
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }
    }

    /// <summary>The wait before a quick re-send of a request that failed with <paramref name="outcome"/>, or <see langword="null"/> for none.</summary>
    public static TimeSpan? QuickRetryDelay(in SendOutcome outcome)
    {
        if (outcome.TimedOut)
        {
            return null;
        }

        if (outcome.RetryAfter is { } told)
        {
            return told <= MaxQuickRetryAfter ? told : null;
        }

        return TimeSpan.FromMilliseconds(250 + Random.Shared.Next(250));
    }

    /// <summary>Records a failure that the quick re-send did not cure: the next attempt waits for the backoff.</summary>
    public void Failed(TimeSpan? retryAfter)
    {
        lock (_gate)
        {
            _attempt = Math.Min(_attempt + 1, 30);
            var backoff = Backoff.Exponential(TimeSpan.FromMilliseconds(500), Math.Min(_attempt, 17), options.MaxRetryBackoff) * (0.5 + (Random.Shared.NextDouble() * 0.5));
            if (retryAfter is { } told && told > backoff)
            {
                backoff = told;
            }

            _notBefore = time.GetUtcNow() + backoff;
        }
    }

    /// <summary>A request went through: the backoff starts over.</summary>
    public void Succeeded()
    {
        lock (_gate)
        {
            _attempt = 0;
        }
    }

    /// <summary>Puts the next attempt at least <paramref name="pause"/> from now, without counting a failure (the backoff does not grow).</summary>
    public void Defer(TimeSpan pause)
    {
        lock (_gate)
        {
            var at = time.GetUtcNow() + pause;
            if (at > _notBefore)
            {
                _notBefore = at;
            }
        }
    }

    /// <summary>Makes the next attempt due now (an explicit replay, or records appended during a replay).</summary>
    public void DueNow()
    {
        lock (_gate)
        {
            _notBefore = time.GetUtcNow();
        }
    }
}
