using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MlOps.Client.Monitoring;

/// <summary>
/// Tests served traffic for drift as it arrives: requests (<see cref="TryAdd(InferenceRecord)"/>) are cut into windows
/// (by <see cref="DriftMonitorOptions.WindowRows"/> and/or <see cref="DriftMonitorOptions.WindowDuration"/>), each closed
/// window is compared with the model's <see cref="ReferenceProfile"/>, and the report goes to
/// <see cref="WindowCompleted"/>, to <see cref="DriftDetected"/> when the dataset drifted (the in-process retraining
/// trigger), and to the OpenTelemetry metrics of <see cref="DriftMetrics"/>. Ground truth sent later
/// (<see cref="TryAdd(InferenceFeedback)"/>) adds the model's metrics to the windows that close after it arrives.
/// A request never waits: records are queued (skipped and counted when <see cref="DriftMonitorOptions.QueueCapacity"/>
/// wait) and one thread of its own tests them at low CPU priority (nice 10 on Linux), so that under full load the
/// requests have the CPU first; a handler that throws is logged, never stops the monitor.
/// </summary>
public sealed partial class DriftMonitor : IAsyncDisposable, IDisposable
{
    private readonly ReferenceProfile _reference;
    private readonly DriftMonitorOptions _options;
    private readonly DriftOptions _drift;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly BackgroundQueue _queue;
    private readonly WindowAssembler _window;
    private readonly Dictionary<string, IReadOnlyList<object?>> _feedback = new(StringComparer.Ordinal);
    private readonly Queue<string> _feedbackOrder = new();
    private readonly DriftMetrics _metrics;
    private readonly List<DriftReport> _reports = [];
    private readonly object _reportsLock = new();
    private ITimer? _timer;
    private long _index;
    private long _skipped;
    private int _skipWarned;

    /// <summary>Starts a monitor of traffic against <paramref name="reference"/>.</summary>
    /// <param name="reference">The model's training profile.</param>
    /// <param name="options">Windows, methods, thresholds.</param>
    /// <param name="logger">Where window results and failures are logged.</param>
    /// <param name="timeProvider">The clock of time windows.</param>
    /// <exception cref="ArgumentException">An option out of range.</exception>
    public DriftMonitor(ReferenceProfile reference, DriftMonitorOptions? options = null, ILogger? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(reference);
        options ??= new DriftMonitorOptions();
        options.Validate();
        _reference = reference;
        _options = options;
        _drift = options.Drift.Copy();
        _logger = logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _window = new WindowAssembler(reference);
        _window.Open(0, _time.GetUtcNow());
        _metrics = new DriftMetrics(options.ModelUri ?? "");
        _queue = new BackgroundQueue("MlOps drift monitor", options.QueueCapacity, Process);
        StartTimer();
    }

    /// <summary>Raised (on the monitor's thread) for every closed window.</summary>
    public event EventHandler<DriftWindowEventArgs>? WindowCompleted;

    /// <summary>Raised (on the monitor's thread) for a window whose dataset drifted: the in-process retraining trigger.</summary>
    public event EventHandler<DriftWindowEventArgs>? DriftDetected;

    /// <summary>The reports of the windows closed so far (the last 1 000).</summary>
    public IReadOnlyList<DriftReport> Reports
    {
        get
        {
            lock (_reportsLock)
            {
                return [.. _reports];
            }
        }
    }

    /// <summary>Records not tested because the queue was full.</summary>
    public long Skipped => Interlocked.Read(ref _skipped);

    /// <summary>Queues a served request without waiting; <see langword="false"/> (counted in <see cref="Skipped"/>) when the queue is full.</summary>
    /// <param name="record">The request.</param>
    public bool TryAdd(InferenceRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (_queue.TryEnqueue(record))
        {
            return true;
        }

        Interlocked.Increment(ref _skipped);
        if (Interlocked.Exchange(ref _skipWarned, 1) == 0)
        {
            Log.QueueFull(_logger, _options.QueueCapacity);
        }

        return false;
    }

    /// <summary>Queues ground truth for a request.</summary>
    /// <param name="feedback">The targets.</param>
    public bool TryAdd(InferenceFeedback feedback)
    {
        ArgumentNullException.ThrowIfNull(feedback);
        return _queue.TryEnqueue(feedback);
    }

    /// <summary>Tests what was queued so far and closes the current window now (when it has rows); its report, or <see langword="null"/>.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    public async Task<DriftReport?> CloseWindowAsync(CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource<DriftReport?>(TaskCreationOptions.RunContinuationsAsynchronously);
        return _queue.EnqueueControl(done) ? await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false) : null;
    }

    /// <summary>Stops the monitor, waiting up to 10 seconds for its thread (the current window is not reported).</summary>
    public void Dispose()
    {
        _timer?.Dispose();
        _queue.CompleteAndJoin(TimeSpan.FromSeconds(10));
        _metrics.Dispose();
    }

    /// <summary>Stops the monitor (the current window is not reported; <see cref="CloseWindowAsync"/> first to report it).</summary>
    public async ValueTask DisposeAsync()
    {
        _timer?.Dispose();
        _queue.Complete();
        await _queue.Completion.ConfigureAwait(false);
        _metrics.Dispose();
    }

    /// <summary>
    /// Tests a whole inference log offline (<c>mlops monitor</c>): its requests in time order, cut into the same windows
    /// (by rows, and by <see cref="DriftMonitorOptions.WindowDuration"/> of their timestamps), with all the ground truth the
    /// log holds. The last window is reported when it has at least half <see cref="DriftMonitorOptions.WindowRows"/> rows.
    /// </summary>
    /// <param name="reference">The model's training profile.</param>
    /// <param name="log">The log's contents.</param>
    /// <param name="options">Windows, methods, thresholds.</param>
    /// <exception cref="ArgumentException">An option out of range.</exception>
    public static IReadOnlyList<DriftReport> Analyze(ReferenceProfile reference, InferenceLogContents log, DriftMonitorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(log);
        options ??= new DriftMonitorOptions();
        options.Validate();
        var feedback = new Dictionary<string, IReadOnlyList<object?>>(StringComparer.Ordinal);
        foreach (var f in log.Feedback)
        {
            feedback[f.RequestId] = f.Targets;
        }

        var reports = new List<DriftReport>();
        var window = new WindowAssembler(reference);
        var records = log.Records.OrderBy(r => r.Timestamp).ToList();
        if (records.Count == 0)
        {
            return reports;
        }

        window.Open(0, records[0].Timestamp);
        var opened = records[0].Timestamp;
        foreach (var record in records)
        {
            if (options.WindowDuration is { } duration && record.Timestamp - opened >= duration && !window.IsEmpty)
            {
                reports.Add(window.Close(options.Drift, id => feedback.GetValueOrDefault(id)));
                window.Open(reports.Count, record.Timestamp);
                opened = record.Timestamp;
            }

            window.Add(record);
            if (options.WindowRows > 0 && window.Rows >= options.WindowRows)
            {
                reports.Add(window.Close(options.Drift, id => feedback.GetValueOrDefault(id)));
                window.Open(reports.Count, record.Timestamp);
                opened = record.Timestamp;
            }
        }

        if (!window.IsEmpty && (options.WindowRows == 0 || window.Rows * 2 >= options.WindowRows))
        {
            reports.Add(window.Close(options.Drift, id => feedback.GetValueOrDefault(id)));
        }

        return reports;
    }

    private void StartTimer()
    {
        if (_options.WindowDuration is { } duration)
        {
            _timer = _time.CreateTimer(_ => _queue.EnqueueControl(TimerTick.Instance), null, duration, duration);
        }
    }

    /// <summary>One queued item, on the monitor's thread.</summary>
    private void Process(object item)
    {
        try
        {
            switch (item)
            {
                case InferenceRecord record:
                    _window.Add(record);
                    if (_options.WindowRows > 0 && _window.Rows >= _options.WindowRows)
                    {
                        Close();
                    }

                    break;
                case InferenceFeedback feedback:
                    Remember(feedback);
                    break;
                case TimerTick:
                    if (!_window.IsEmpty)
                    {
                        Close();
                    }

                    break;
                case TaskCompletionSource<DriftReport?> close:
                    close.TrySetResult(_window.IsEmpty ? null : Close());
                    break;
            }
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or ArithmeticException)
        {
            // A window the detector cannot test (a method that does not fit a column): said, and the next one goes on.
            Log.WindowFailed(_logger, _index, ex);
            _window.Open(++_index, _time.GetUtcNow());
            (item as TaskCompletionSource<DriftReport?>)?.TrySetResult(null);
        }
    }

    private DriftReport Close()
    {
        var report = _window.Close(_drift, id => _feedback.GetValueOrDefault(id));
        _window.Open(++_index, _time.GetUtcNow());
        lock (_reportsLock)
        {
            _reports.Add(report);
            if (_reports.Count > 1000)
            {
                _reports.RemoveAt(0);
            }
        }

        _metrics.Record(report);
        Log.Window(_logger, report.Window, report.Rows, report.Features.Count(f => f.Drifted), report.Features.Count(f => f.Tested),
            string.Join(", ", report.Features.Where(f => f.Drifted).Select(f => f.Name)), report.DatasetDrift);
        Raise(WindowCompleted, report);
        if (report.DatasetDrift)
        {
            Raise(DriftDetected, report);
        }

        return report;
    }

    private void Raise(EventHandler<DriftWindowEventArgs>? handler, DriftReport report)
    {
        if (handler is null)
        {
            return;
        }

        foreach (var single in handler.GetInvocationList().Cast<EventHandler<DriftWindowEventArgs>>())
        {
            try
            {
                single(this, new DriftWindowEventArgs(report));
            }
#pragma warning disable CA1031 // a host's handler must not stop the monitor
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Log.HandlerFailed(_logger, report.Window, ex);
            }
        }
    }

    private void Remember(InferenceFeedback feedback)
    {
        if (_options.MaxPendingFeedback == 0)
        {
            return;
        }

        if (_feedback.TryAdd(feedback.RequestId, feedback.Targets))
        {
            _feedbackOrder.Enqueue(feedback.RequestId);
            while (_feedbackOrder.Count > _options.MaxPendingFeedback)
            {
                _feedback.Remove(_feedbackOrder.Dequeue());
            }
        }
        else
        {
            _feedback[feedback.RequestId] = feedback.Targets;
        }
    }

    private sealed class TimerTick
    {
        public static readonly TimerTick Instance = new();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6101, Level = LogLevel.Information, Message = "Drift window {Window}: {Rows} rows, {Drifted}/{Tested} features drifted ({Features}); dataset drift: {DatasetDrift}")]
        public static partial void Window(ILogger logger, long window, long rows, int drifted, int tested, string features, bool datasetDrift);

        [LoggerMessage(EventId = 6102, Level = LogLevel.Warning, Message = "Drift monitor: {Capacity} records wait to be tested; new ones are skipped until it catches up (counted in DriftMonitor.Skipped; said once).")]
        public static partial void QueueFull(ILogger logger, int capacity);

        [LoggerMessage(EventId = 6103, Level = LogLevel.Warning, Message = "Drift window {Window} could not be tested")]
        public static partial void WindowFailed(ILogger logger, long window, Exception exception);

        [LoggerMessage(EventId = 6104, Level = LogLevel.Warning, Message = "A handler of drift window {Window} threw")]
        public static partial void HandlerFailed(ILogger logger, long window, Exception exception);
    }
}
