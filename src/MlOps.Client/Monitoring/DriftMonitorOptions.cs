namespace MlOps.Client.Monitoring;

/// <summary>How a <see cref="DriftMonitor"/> cuts served traffic into windows and tests them.</summary>
public sealed class DriftMonitorOptions
{
    /// <summary>A window closes once it holds this many rows (a request's rows stay together). Default 1 000; 0: no count limit (then <see cref="WindowDuration"/> is required).</summary>
    public long WindowRows { get; set; } = 1000;

    /// <summary>A window also closes this long after it opened, when set (a quiet hour still gets its report). Default none.</summary>
    public TimeSpan? WindowDuration { get; set; }

    /// <summary>The methods and thresholds.</summary>
    public DriftOptions Drift { get; set; } = new();

    /// <summary>Records waiting to be tested at most; beyond, new ones are counted as skipped rather than waited for. Default 10 000.</summary>
    public int QueueCapacity { get; set; } = 10_000;

    /// <summary>The most requests whose ground truth is awaited (for performance); the oldest are forgotten beyond. Default 100 000.</summary>
    public int MaxPendingFeedback { get; set; } = 100_000;

    /// <summary>The model's URI, the <c>model</c> tag of the metrics.</summary>
    public string? ModelUri { get; set; }

    /// <summary>Checks the values; throws naming the first out of range.</summary>
    /// <exception cref="ArgumentException">A value out of range.</exception>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Drift, nameof(Drift));
        Drift.Validate();
        if (WindowRows < 0 || (WindowRows == 0 && WindowDuration is null))
        {
            throw new ArgumentOutOfRangeException(nameof(WindowRows), WindowRows, "DriftMonitorOptions.WindowRows is positive, or 0 with a WindowDuration.");
        }

        if (WindowDuration is { } d && d <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(WindowDuration), d, "DriftMonitorOptions.WindowDuration is positive.");
        }

        if (QueueCapacity < 1 || MaxPendingFeedback < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(QueueCapacity), QueueCapacity, "DriftMonitorOptions.QueueCapacity is at least 1 and MaxPendingFeedback at least 0.");
        }
    }
}

/// <summary>A closed window's report, for <see cref="DriftMonitor.WindowCompleted"/> and <see cref="DriftMonitor.DriftDetected"/>.</summary>
/// <param name="report">The report.</param>
public sealed class DriftWindowEventArgs(DriftReport report) : EventArgs
{
    /// <summary>The window's report.</summary>
    public DriftReport Report { get; } = report;
}
