using MlOps.Client.Tracking;

namespace MlOps.Client.XGBoost.Autologging;

/// <summary>
/// Turns on MLflow autologging for every <see cref="XGBoost.Train"/> and <c>Fit</c> in the process, as Python's
/// <c>mlflow.xgboost.autolog()</c> does: parameters, per-iteration metrics, early-stopping results, feature importance,
/// datasets and the model go to the active run of the tracker, or to a run started for the training and ended after it.
/// </summary>
public static class XGBoostAutolog
{
    /// <summary>Whether autologging is on.</summary>
    public static bool IsEnabled => Active is not null;

    /// <summary>The session that takes over training (see <see cref="TrainInterception"/>), or <see langword="null"/>.</summary>
    internal static XGBoostAutologSession? Active => TrainInterception.Current as XGBoostAutologSession;

    /// <summary>Enables autologging to <paramref name="tracker"/>, replacing an earlier setting; dispose the result (or call <see cref="Disable"/>) to stop.</summary>
    /// <param name="tracker">The tracker runs are logged with.</param>
    /// <param name="options">What to log; defaults when <see langword="null"/>.</param>
    public static XGBoostAutologSession Enable(Tracker tracker, XGBoostAutologOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(tracker);
        options ??= new XGBoostAutologOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.LogEveryNIterations, nameof(options.LogEveryNIterations));
        var session = new XGBoostAutologSession(tracker, options);
        TrainInterception.Set(session);
        return session;
    }

    /// <summary>The enabled session, or <see langword="null"/> (as <c>MLNetAutolog.Current</c>).</summary>
    public static XGBoostAutologSession? Current => Active;

    /// <summary>Turns autologging off.</summary>
    public static void Disable() => TrainInterception.Set(null);

    internal static void Clear(XGBoostAutologSession session) => TrainInterception.Clear(session);
}

/// <summary><c>tracker.AutologXGBoost()</c>.</summary>
public static class TrackerXGBoostExtensions
{
    /// <summary>Enables XGBoost autologging to this tracker (see <see cref="XGBoostAutolog.Enable"/>).</summary>
    /// <param name="tracker">The tracker.</param>
    /// <param name="options">What to log.</param>
    public static XGBoostAutologSession AutologXGBoost(this Tracker tracker, XGBoostAutologOptions? options = null) => XGBoostAutolog.Enable(tracker, options);
}
