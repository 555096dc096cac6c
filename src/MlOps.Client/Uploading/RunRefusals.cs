using System.Collections.Concurrent;

namespace MlOps.Client.Uploading;

/// <summary>
/// What the server refused, per run, in bounded memory: the first <see cref="KeptPerRun"/> refused entities of a run
/// with a count of all of them, and the runs that can no longer be logged to (deleted, not active, unknown).
/// </summary>
internal sealed class RunRefusals
{
    /// <summary>Refused entities kept (with their errors) per run; the rest are counted only.</summary>
    public const int KeptPerRun = 100;

    /// <summary>Refused entities of a run logged one line each; the rest are counted (one summary line).</summary>
    public const int LoggedPerRun = 10;

    private readonly ConcurrentDictionary<string, RunLog> _runs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, MlflowException> _lost = new(StringComparer.Ordinal);

    /// <summary>Records one refused entity; returns how many of the run's were refused so far (for rate-limited logging).</summary>
    public long Add(RejectedEntity entity)
    {
        var log = _runs.GetOrAdd(entity.RunId, static _ => new RunLog());
        lock (log)
        {
            log.Total++;
            if (log.Kept.Count < KeptPerRun)
            {
                log.Kept.Add(entity);
            }

            return log.Total;
        }
    }

    /// <summary>Takes (and forgets) the refusals of <paramref name="runId"/>: the kept entities and the total count.</summary>
    public (IReadOnlyList<RejectedEntity> Kept, long Total) Take(string runId)
    {
        if (!_runs.TryRemove(runId, out var log))
        {
            return ([], 0);
        }

        lock (log)
        {
            return ([.. log.Kept], log.Total);
        }
    }

    /// <summary>Marks <paramref name="runId"/> as lost; <see langword="true"/> the first time only.</summary>
    public bool MarkLost(string runId, MlflowException error) => _lost.TryAdd(runId, error);

    /// <summary>Whether <paramref name="runId"/> can no longer be logged to, and why.</summary>
    public bool IsLost(string runId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out MlflowException? error) =>
        _lost.TryGetValue(runId, out error);

    /// <summary>Whether any run is lost (a cheap check before filtering).</summary>
    public bool AnyLost => !_lost.IsEmpty;

    private sealed class RunLog
    {
        public long Total;
        public List<RejectedEntity> Kept { get; } = [];
    }
}
