using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace MlOps.Client.Tracking;

/// <summary>What the process does to open runs: Ctrl+C/SIGTERM, unhandled exceptions, exit; and the first-chance hook that decides FAILED or KILLED.</summary>
public sealed partial class Tracker
{
    /// <summary>Process-wide hooks: Ctrl+C/SIGTERM end open runs KILLED, an unhandled exception FAILED, process exit FINISHED.</summary>
    private sealed class ProcessHooks : IDisposable
    {
        private readonly Tracker _tracker;
        private readonly PosixSignalRegistration? _sigint;
        private readonly PosixSignalRegistration? _sigterm;

        private ProcessHooks(Tracker tracker)
        {
            _tracker = tracker;
            AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
            AppDomain.CurrentDomain.UnhandledException += OnUnhandledException;
            if (!OperatingSystem.IsBrowser() && !OperatingSystem.IsIOS() && !OperatingSystem.IsTvOS())
            {
                _sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
                _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
            }
        }

        public static ProcessHooks Register(Tracker tracker) => new(tracker);

        public void Dispose()
        {
            AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
            AppDomain.CurrentDomain.UnhandledException -= OnUnhandledException;
            _sigint?.Dispose();
            _sigterm?.Dispose();
        }

        // The signal is not cancelled: after the runs are ended, the process stops as it would have.
        private void OnSignal(PosixSignalContext context) => Shutdown(RunStatus.Killed, "signal " + context.Signal);

        private void OnUnhandledException(object? sender, UnhandledExceptionEventArgs e) => Shutdown(RunStatus.Failed, "unhandled exception");

        private void OnProcessExit(object? sender, EventArgs e) => Shutdown(RunStatus.Finished, "process exit");

        private void Shutdown(RunStatus status, string reason)
        {
            var timeout = _tracker.Options.Uploader.ShutdownTimeout;
            var work = Task.Run(async () =>
            {
                await _tracker.EndOpenRunsAsync(status, timeout).ConfigureAwait(false);
                return await _tracker.Uploader.FlushAsync(timeout, CancellationToken.None).ConfigureAwait(false);
            });
            var completed = work.Wait(timeout + TimeSpan.FromSeconds(1)) && work.Result;
            if (!completed)
            {
                TrackerLog.ShutdownIncomplete(_tracker._logger, reason, timeout.TotalSeconds, _tracker.Uploader.Counters.Buffered);
                if (ReferenceEquals(_tracker._logger, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance))
                {
                    // No logger configured: at process exit standard error is the only place left to say it.
                    Console.Error.WriteLine($"MlOps.Client: on {reason}, not everything logged could be delivered within {timeout.TotalSeconds:0.#} s ({_tracker.Uploader.Counters.Buffered} entities still buffered).");
                }
            }
        }
    }

    /// <summary>One first-chance handler for the process: it notes the exception in the run active in the throwing flow.</summary>
    private static class FirstChanceHook
    {
        private static int s_installed;

        public static void Ensure()
        {
            if (Interlocked.Exchange(ref s_installed, 1) == 0)
            {
                AppDomain.CurrentDomain.FirstChanceException += static (_, e) =>
                {
                    if (ActiveRunSlot.Value is { IsEnded: false } run)
                    {
                        run.LastException = e.Exception;
                    }
                };
            }
        }
    }
}
