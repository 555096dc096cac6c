using Microsoft.Extensions.Logging;

namespace MlOps.Client.SystemMetrics;

/// <summary>
/// Python's <c>SystemMetricsMonitor</c> for one run: on a background task, a sample every interval; every N samples
/// their aggregate is logged as <c>system/[&lt;node&gt;/]&lt;name&gt;</c> metrics at steps 0, 1, 2…; stopped when the
/// run ends (a partial window is not logged, as in Python). A source that throws is dropped with one warning.
/// </summary>
internal sealed class SystemMetricsMonitor : IAsyncDisposable
{
    private readonly Action<IReadOnlyDictionary<string, double>, long> _log;
    private readonly SystemMetricsOptions _options;
    private readonly List<ISystemMetricsSource> _sources;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<string, (List<double> Values, SampleAggregation Aggregation)> _window = new(StringComparer.Ordinal);
    private Task? _loop;
    private long _step;

    public SystemMetricsMonitor(
        Action<IReadOnlyDictionary<string, double>, long> log, SystemMetricsOptions options, IReadOnlyList<ISystemMetricsSource> sources, TimeProvider time, ILogger logger)
    {
        _log = log;
        _options = options;
        _sources = [.. sources];
        _time = time;
        _logger = logger;
    }

    /// <summary>The metric name prefix: <c>system/</c>, with the node id when one is set.</summary>
    public string Prefix => "system/" + (string.IsNullOrEmpty(_options.NodeId) ? "" : _options.NodeId + "/");

    /// <summary>Logged windows so far.</summary>
    public long Steps => Interlocked.Read(ref _step);

    public void Start() => _loop = Task.Run(RunAsync);

    /// <summary>Whether the sampling task runs (false before <see cref="Start"/> and once it has stopped).</summary>
    internal bool IsSampling => _loop is { IsCompleted: false };

    private async Task RunAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                for (var i = 0; i < _options.SamplesBeforeLogging; i++)
                {
                    Collect();
                    await Task.Delay(_options.SamplingInterval, _time, _stop.Token).ConfigureAwait(false);
                }

                Publish();
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // the run ended
        }
        catch (Exception ex) when (ex is MlflowException or InvalidOperationException)
        {
            SystemMetricsLog.Stopped(_logger, ex.Message); // e.g. the run was ended or lost underneath: stop quietly, as Python
        }
    }

    private void Collect()
    {
        foreach (var source in _sources.ToList())
        {
            try
            {
                foreach (var sample in source.Collect())
                {
                    if (!_window.TryGetValue(sample.Name, out var entry))
                    {
                        _window[sample.Name] = entry = ([], sample.Aggregation);
                    }

                    entry.Values.Add(sample.Value);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException or FormatException or System.ComponentModel.Win32Exception)
            {
                _sources.Remove(source);
                SystemMetricsLog.SourceFailed(_logger, source.GetType().Name, ex.Message);
            }
        }
    }

    private void Publish()
    {
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (name, (values, aggregation)) in _window)
        {
            if (values.Count > 0)
            {
                metrics[Prefix + name] = aggregation == SampleAggregation.Last ? values[^1] : Math.Round(values.Average(), 1, MidpointRounding.ToEven);
            }
        }

        _window.Clear();
        if (metrics.Count > 0)
        {
            _log(metrics, Interlocked.Increment(ref _step) - 1);
        }
    }

    /// <summary>Stops sampling; returns when the background task is done.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is { } loop)
        {
            await loop.ConfigureAwait(false);
        }

        _stop.Dispose();
    }
}

internal static partial class SystemMetricsLog
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "System metrics: the {Source} source failed and is dropped: {Reason}")]
    public static partial void SourceFailed(ILogger logger, string source, string reason);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "System metrics stopped: {Reason}")]
    public static partial void Stopped(ILogger logger, string reason);
}
