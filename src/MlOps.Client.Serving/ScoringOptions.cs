using MlOps.Client.Monitoring;

namespace MlOps.Client.Serving;

/// <summary>How a served model answers.</summary>
public sealed class ScoringOptions
{
    /// <summary>The largest request body accepted (413 beyond). Default 16 MiB.</summary>
    public long MaxRequestBodyBytes { get; set; } = 16L << 20;

    /// <summary>
    /// The most bytes of request bodies held at once, across concurrent requests: a body is read only once its size is
    /// reserved, so large bodies take turns instead of each taking its memory (parsing holds several times a body's
    /// size: about 50 times for a 16 MiB body of JSON rows). Default 16 MiB: one body of the maximum size at a time, or
    /// any number of small ones; requests of the usual sizes never wait.
    /// </summary>
    public long MaxInFlightBodyBytes { get; set; } = 16L << 20;

    /// <summary>
    /// How long a request waits for its share of <see cref="MaxInFlightBodyBytes"/> before it is answered 503 with
    /// <c>Retry-After</c>. Default 30 s; zero answers at once; <see cref="Timeout.InfiniteTimeSpan"/> waits as long as
    /// the client does.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative (other than infinite) or longer than <see cref="int.MaxValue"/> milliseconds.</exception>
    public TimeSpan InFlightBodyWait
    {
        get => _inFlightBodyWait;
        set => _inFlightBodyWait = value == Timeout.InfiniteTimeSpan || (value >= TimeSpan.Zero && value.TotalMilliseconds <= int.MaxValue)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(InFlightBodyWait), value, "ScoringOptions.InFlightBodyWait is between 0 and int.MaxValue milliseconds (about 24.8 days), or Timeout.InfiniteTimeSpan.");
    }

    private TimeSpan _inFlightBodyWait = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The inference log, when set: each answered request (sampled by <see cref="InferenceLogOptions.SampleRate"/>) with
    /// its rows, predictions, request id and latency, to rolling JSON Lines files; ground truth comes back on
    /// <c>POST /feedback</c>. Default none.
    /// </summary>
    public InferenceLogOptions? InferenceLog { get; set; }

    /// <summary>
    /// Drift detection on the host, when set: answered requests are tested in windows against the model's reference
    /// profile (<c>reference_profile.json</c> in its folder; without one, drift is off and a warning says so), with
    /// OpenTelemetry metrics (meter <c>MlOps.Client.Monitoring</c>) and <see cref="ServedModel.DriftMonitor"/>'s events.
    /// Default none.
    /// </summary>
    public DriftMonitorOptions? DriftMonitor { get; set; }

    /// <summary>The version <c>GET /version</c> reports. Default this package's version.</summary>
    public string Version { get; set; } = typeof(ScoringOptions).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
}
