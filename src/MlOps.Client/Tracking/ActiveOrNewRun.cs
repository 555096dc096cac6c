namespace MlOps.Client.Tracking;

/// <summary>
/// "Log to the active run, or to a run started for this work": the one place autologging and the logging helpers decide
/// it. A run started here is ended by it — <c>FINISHED</c> when the work returns, <c>FAILED</c> (with the exception)
/// when it throws, as Python's autologging does.
/// </summary>
internal static class ActiveOrNewRun
{
    /// <summary>
    /// Runs <paramref name="work"/> in the tracker's active run, or in a new run named <paramref name="name"/> that is
    /// ended afterwards. <paramref name="onStarted"/> runs first on a new run only (e.g. extra tags).
    /// <paramref name="endFailed"/>, when given, receives a failure of the final <c>End</c> (an artifact upload that
    /// failed) instead of it being thrown — autologging reports such failures rather than failing the training.
    /// </summary>
    public static T Run<T>(Tracker tracker, string? name, Func<RunScope, T> work, Action<RunScope>? onStarted = null, Action<RunScope, Exception>? endFailed = null)
    {
        ArgumentNullException.ThrowIfNull(tracker);
        ArgumentNullException.ThrowIfNull(work);
        var active = Tracker.ActiveRun;
        if (active is not null && ReferenceEquals(active.Tracker, tracker))
        {
            return work(active);
        }

        var run = tracker.StartRun(name, new StartRunOptions());
        T result;
        try
        {
            onStarted?.Invoke(run);
            result = work(run);
        }
        catch (Exception ex) when (!run.IsEnded)
        {
            run.Fail(ex);
            run.Dispose();
            throw;
        }

        try
        {
            run.End();
        }
        catch (Exception ex) when (endFailed is not null && run.IsEnded && ex is not OutOfMemoryException)
        {
            endFailed(run, ex); // the run is FINISHED; an upload that failed is reported, the work is not failed for it
        }

        return result;
    }
}
