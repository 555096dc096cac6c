namespace MlOps.Client;

/// <summary>
/// The one backoff formula of the SDK: <c>first × 2^(attempt−1)</c>, capped — used by the client's retries (MLflow's
/// <c>backoff_factor</c>, urllib3's additive jitter), the uploader's outage backoff (0.5–1× jitter) and the spool's
/// disk retries; each caller picks its first step, cap and jitter.
/// </summary>
internal static class Backoff
{
    /// <summary><paramref name="first"/> × 2^(<paramref name="attempt"/> − 1), at most <paramref name="max"/> (attempt 1 waits <paramref name="first"/>).</summary>
    public static TimeSpan Exponential(TimeSpan first, int attempt, TimeSpan max)
    {
        var ms = first.TotalMilliseconds * Math.Pow(2, Math.Clamp(attempt - 1, 0, 62));
        return TimeSpan.FromMilliseconds(Math.Min(ms, max.TotalMilliseconds));
    }
}
