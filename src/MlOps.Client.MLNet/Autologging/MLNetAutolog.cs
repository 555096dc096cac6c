using Microsoft.ML;
using Microsoft.ML.Runtime;
using MlOps.Client.Tracking;

namespace MlOps.Client.MLNet.Autologging;

/// <summary>
/// ML.NET autologging. ML.NET raises no training events, so logging hooks in where the user's code already passes:
/// one setup line enables it for an <see cref="MLContext"/>; then <c>estimator.WithTracking().Fit(data)</c> logs a fit,
/// <c>catalog.Evaluate(...).LogTo()</c> logs metrics and <c>catalog.CrossValidate(...).LogTo()</c> logs folds (see
/// <c>docs/mlnet.md</c>).
/// </summary>
public static class MLNetAutolog
{
    private static MLNetAutologSession? s_current;

    /// <summary>The enabled session, or <see langword="null"/>.</summary>
    public static MLNetAutologSession? Current => Volatile.Read(ref s_current);

    /// <summary>Enables autologging for <paramref name="mlContext"/> to <paramref name="tracker"/> (replacing an earlier session); dispose the result to stop.</summary>
    /// <param name="mlContext">The ML.NET context whose log is captured during tracked fits.</param>
    /// <param name="tracker">The tracker runs are logged with.</param>
    /// <param name="options">What to log; defaults when <see langword="null"/>.</param>
    public static MLNetAutologSession Enable(MLContext mlContext, Tracker tracker, MLNetAutologOptions? options = null)
    {
        var session = new MLNetAutologSession(mlContext, tracker, options ?? new MLNetAutologOptions());
        Interlocked.Exchange(ref s_current, session)?.Dispose();
        return session;
    }

    /// <summary><c>mlContext.AutologMlflow(tracker)</c>: see <see cref="Enable"/>.</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="tracker">The tracker.</param>
    /// <param name="options">What to log.</param>
    public static MLNetAutologSession AutologMlflow(this MLContext mlContext, Tracker tracker, MLNetAutologOptions? options = null) => Enable(mlContext, tracker, options);

    /// <summary>Whether autologging is enabled (the same shape as <c>XGBoostAutolog.IsEnabled</c>).</summary>
    public static bool IsEnabled => Current is not null;

    /// <summary>Stops autologging (as disposing the session does; the same shape as <c>XGBoostAutolog.Disable()</c>).</summary>
    public static void Disable() => Interlocked.Exchange(ref s_current, null)?.Dispose();

    internal static void Clear(MLNetAutologSession session) => Interlocked.CompareExchange(ref s_current, null, session);
}

/// <summary>An enabled autologging session for one <see cref="MLContext"/> and <see cref="Tracker"/>.</summary>
public sealed class MLNetAutologSession : IDisposable
{
    private readonly object _gate = new();
    private List<string>? _capture;

    internal MLNetAutologSession(MLContext mlContext, Tracker tracker, MLNetAutologOptions options)
    {
        MLContext = mlContext ?? throw new ArgumentNullException(nameof(mlContext));
        Tracker = tracker ?? throw new ArgumentNullException(nameof(tracker));
        Options = options;
        MLContext.Log += OnLog;
    }

    /// <summary>The ML.NET context.</summary>
    public MLContext MLContext { get; }

    /// <summary>The tracker.</summary>
    public Tracker Tracker { get; }

    /// <summary>The options.</summary>
    public MLNetAutologOptions Options { get; }

    /// <summary>Stops autologging.</summary>
    public void Dispose()
    {
        MLContext.Log -= OnLog;
        MLNetAutolog.Clear(this);
    }

    /// <summary>
    /// Runs <paramref name="work"/> in the tracker's active run, or in a new run (with the extra tags) ended FINISHED
    /// after it or FAILED when it throws; a failed upload at that end is reported through the logger, not thrown.
    /// </summary>
    internal void InRun(string? runName, Action<RunScope> work) => InRun<int>(runName, run =>
    {
        work(run);
        return 0;
    });

    /// <summary>As <see cref="InRun(string?, Action{RunScope})"/>, with a result.</summary>
    internal T InRun<T>(string? runName, Func<RunScope, T> work) =>
        ActiveOrNewRun.Run(Tracker, runName, work,
            onStarted: run =>
            {
                if (Options.ExtraTags.Count > 0)
                {
                    run.SetTags(Options.ExtraTags);
                }
            },
            endFailed: (run, ex) =>
            {
                if (Options.Logger is { } logger)
                {
                    AutologLog.UploadFailed(logger, run.RunId, ex);
                }
            });

    internal void BeginCapture()
    {
        lock (_gate)
        {
            _capture = [];
        }
    }

    internal IReadOnlyList<string> EndCapture()
    {
        lock (_gate)
        {
            var lines = _capture ?? [];
            _capture = null;
            return lines;
        }
    }

    private void OnLog(object? sender, LoggingEventArgs e)
    {
        if (e.Kind == ChannelMessageKind.Trace && !e.Message.Contains("iteration", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        lock (_gate)
        {
            _capture?.Add(e.Message);
        }
    }
}
