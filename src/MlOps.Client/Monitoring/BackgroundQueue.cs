using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace MlOps.Client.Monitoring;

/// <summary>
/// A bounded queue with one consumer on its own thread at low CPU priority (nice 10 on Linux, below normal elsewhere):
/// the inference log's writer and the drift monitor work while the host's request threads have the CPU first, so under
/// full load their work waits — and their bounded queues count what they could not take — instead of the requests.
/// Producers only enqueue (lock-free, no system call, no wake-up): the consumer drains the queue every
/// <see cref="PollInterval"/>, and at once for control items (a flush, a window to close, the end).
/// </summary>
// A SemaphoreSlim whose AvailableWaitHandle is never asked for holds no unmanaged resource: nothing to dispose, and
// disposing it would race a late Release.
#pragma warning disable CA1001
internal sealed class BackgroundQueue
#pragma warning restore CA1001
{
    private readonly ConcurrentQueue<object> _items = new();
    /// <summary>How long the consumer sleeps between drains when nothing asks for it sooner.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(5);

    private readonly SemaphoreSlim _signal = new(0);
    private readonly int _capacity;
    private readonly Action<object> _process;
    private readonly Action? _drained;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _pending;
    private volatile bool _completed;

    /// <param name="name">The thread's name.</param>
    /// <param name="capacity">How many items may wait.</param>
    /// <param name="process">Each item, in order, on the consumer's thread.</param>
    /// <param name="drained">After each drain that processed something (the inference log writes its batch there).</param>
    public BackgroundQueue(string name, int capacity, Action<object> process, Action? drained = null)
    {
        _capacity = capacity;
        _process = process;
        _drained = drained;
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    private readonly Thread _thread;

    /// <summary>Completes the queue and waits (a thread join, bounded) for what is queued to be processed: for synchronous disposal.</summary>
    /// <returns>Whether the consumer finished within <paramref name="timeout"/>.</returns>
    public bool CompleteAndJoin(TimeSpan timeout)
    {
        Complete();
        return Thread.CurrentThread == _thread || _thread.Join(timeout);
    }

    /// <summary>Ends when everything queued before <see cref="Complete"/> is processed.</summary>
    public Task Completion => _completion.Task;

    /// <summary>Queues an item unless <c>capacity</c> items wait (or the queue is complete); never waits.</summary>
    public bool TryEnqueue(object item)
    {
        if (_completed || Interlocked.Increment(ref _pending) > _capacity)
        {
            if (!_completed)
            {
                Interlocked.Decrement(ref _pending);
            }

            return false;
        }

        _items.Enqueue(item); // no wake-up: the consumer drains every PollInterval
        return true;
    }

    /// <summary>Queues a control item (a flush, a clock tick) whatever the capacity; false once complete.</summary>
    public bool EnqueueControl(object item)
    {
        if (_completed)
        {
            return false;
        }

        Interlocked.Increment(ref _pending);
        _items.Enqueue(item);
        _signal.Release();
        return true;
    }

    /// <summary>Takes no more items; the thread ends once the queue is empty.</summary>
    public void Complete()
    {
        _completed = true;
        _signal.Release();
    }

    private void Run()
    {
        LowerPriority();
        try
        {
            while (true)
            {
                _signal.Wait(PollInterval);
                var any = false;
                while (_items.TryDequeue(out var item))
                {
                    Interlocked.Decrement(ref _pending);
                    _process(item);
                    any = true;
                }

                if (any)
                {
                    _drained?.Invoke();
                }

                if (_completed && _items.IsEmpty)
                {
                    break;
                }
            }

            _completion.TrySetResult();
        }
#pragma warning disable CA1031 // the consumer's own failures are handled inside _process; anything else ends the queue visibly
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _completion.TrySetException(ex);
        }
    }

    private static void LowerPriority()
    {
        try
        {
            if (OperatingSystem.IsLinux())
            {
                // On Linux a thread is a task: who = 0 means the calling thread. Nice 10 (not SCHED_IDLE: a consumer that
                // starves keeps records queued, they outlive the young generation and make every collection dearer).
                _ = SetPriority(0, 0, 10);
            }
            else
            {
                Thread.CurrentThread.Priority = ThreadPriority.BelowNormal;
            }
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException or PlatformNotSupportedException)
        {
            // Normal priority, then.
        }
    }

    // DllImport, not LibraryImport: the signature is blittable, and the package compiles without unsafe code.
    [DllImport("libc", EntryPoint = "setpriority")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
#pragma warning disable SYSLIB1054
    private static extern int SetPriority(int which, uint who, int priority);
#pragma warning restore SYSLIB1054
}
