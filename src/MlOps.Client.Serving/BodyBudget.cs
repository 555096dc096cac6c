namespace MlOps.Client.Serving;

/// <summary>
/// The bytes of request bodies a served model holds at once (<see cref="ScoringOptions.MaxInFlightBodyBytes"/>): a body
/// is read only once its size is reserved, so concurrent large requests wait their turn (first come, first served)
/// instead of each taking its memory; a request that cannot get its share within
/// <see cref="ScoringOptions.InFlightBodyWait"/> is answered 503 with <c>Retry-After</c>. After a burst of large bodies,
/// once none is in flight, the memory they used is handed back to the operating system (one compacting collection,
/// at most every few seconds), so that the process shrinks back after the burst.
/// </summary>
internal sealed class BodyBudget(long capacity, TimeProvider time)
{
    /// <summary>A body at least this large counts as large: after the last of a burst, memory is returned.</summary>
    public const long LargeBody = 4L << 20;

    private static readonly TimeSpan CompactionInterval = TimeSpan.FromSeconds(2);

    private readonly object _gate = new();
    private readonly LinkedList<Waiter> _waiters = new();
    private readonly LinkedList<Waiter> _growers = new();
    private readonly LinkedList<Lease> _holders = new();
    private long _used;
    private long _lastCompaction;
    private int _compactionScheduled;

    /// <summary>The most bytes held at once (the oldest body that grows may go past it by its own growth, see <see cref="Lease.GrowAsync"/>).</summary>
    public long Capacity => capacity;

    /// <summary>Bytes reserved now.</summary>
    public long Used
    {
        get
        {
            lock (_gate)
            {
                return _used;
            }
        }
    }

    /// <summary>
    /// Reserves <paramref name="bytes"/> (at most the capacity), waiting in line up to <paramref name="wait"/>
    /// (<see cref="Timeout.InfiniteTimeSpan"/>: no limit); <see langword="null"/> when the time ran out. Disposing the
    /// lease gives back all it holds.
    /// </summary>
    public async ValueTask<Lease?> ReserveAsync(long bytes, TimeSpan wait, CancellationToken cancellationToken)
    {
        bytes = Math.Clamp(bytes, 0, capacity);
        CheckWait(wait); // before anything is queued: an invalid wait throws with nothing to undo
        Waiter waiter;
        lock (_gate)
        {
            if (_waiters.Count == 0 && _growers.Count == 0 && _used + bytes <= capacity)
            {
                return Grant(new Lease(this), bytes);
            }

            waiter = new Waiter(bytes, new Lease(this));
            waiter.Node = _waiters.AddLast(waiter);
        }

        using var timeout = NewTimeout(wait); // only for a body that waits: no timer per request
        return await WaitAsync(waiter, _waiters, timeout, cancellationToken).ConfigureAwait(false) ? waiter.Lease : null;
    }

    /// <summary>Gives back what <paramref name="lease"/> holds (once).</summary>
    private void Release(Lease lease)
    {
        long bytes;
        bool compact;
        lock (_gate)
        {
            if (lease.Node is null)
            {
                return;
            }

            _holders.Remove(lease.Node);
            lease.Node = null;
            bytes = lease.Bytes;
            lease.Bytes = 0;
            _used -= bytes;
            GrantWaiters();
            compact = bytes >= LargeBody && !LargeBodyMayBeInFlight;
        }

        if (compact)
        {
            ScheduleCompaction();
        }
    }

    private static void CheckWait(TimeSpan wait)
    {
        if (wait != Timeout.InfiniteTimeSpan && (wait < TimeSpan.Zero || wait.TotalMilliseconds > int.MaxValue))
        {
            throw new ArgumentOutOfRangeException(nameof(wait), wait, "The wait for room in the body budget is between 0 and 24 days, or infinite.");
        }
    }

    private CancellationTokenSource? NewTimeout(TimeSpan wait) => wait == Timeout.InfiniteTimeSpan ? null : new CancellationTokenSource(wait, time);

    private async ValueTask<bool> WaitAsync(Waiter waiter, LinkedList<Waiter> line, CancellationTokenSource? timeoutSource, CancellationToken cancellationToken)
    {
        using var linked = timeoutSource is null
            ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken)
            : CancellationTokenSource.CreateLinkedTokenSource(timeoutSource.Token, cancellationToken);
        try
        {
            await waiter.Granted.Task.WaitAsync(linked.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            lock (_gate)
            {
                if (waiter.Granted.Task.IsCompletedSuccessfully)
                {
                    // Granted just as the wait ended: a new body gives all back, a growing one only the growth.
                    if (line == _waiters)
                    {
                        Release(waiter.Lease); // the lock is re-entrant
                    }
                    else
                    {
                        waiter.Lease.Bytes -= waiter.Bytes;
                        _used -= waiter.Bytes;
                        GrantWaiters();
                    }
                }
                else
                {
                    line.Remove(waiter.Node!);
                    GrantWaiters(); // the line moves on
                }
            }

            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            return false;
        }
    }

    private Lease Grant(Lease lease, long bytes)
    {
        _used += bytes;
        lease.Bytes += bytes;
        lease.Node ??= _holders.AddLast(lease);
        return lease;
    }

    /// <summary>Whether a large body may still be held: with less than <see cref="LargeBody"/> reserved in all, none is.</summary>
    private bool LargeBodyMayBeInFlight => _used >= LargeBody;

    /// <summary>
    /// Growing bodies first (the oldest body always: whoever else waits, it can finish and give everything back), then
    /// new bodies in order, and none while a growing body waits (it would never get its room).
    /// </summary>
    private void GrantWaiters()
    {
        for (var node = _growers.First; node is not null;)
        {
            var next = node.Next;
            var grower = node.Value;
            if (_used + grower.Bytes <= capacity || grower.Lease.Node == _holders.First)
            {
                _growers.Remove(node);
                Grant(grower.Lease, grower.Bytes);
                grower.Granted.TrySetResult();
            }

            node = next;
        }

        while (_growers.Count == 0 && _waiters.First is { } first && _used + first.Value.Bytes <= capacity)
        {
            _waiters.RemoveFirst();
            Grant(first.Value.Lease, first.Value.Bytes);
            first.Value.Granted.TrySetResult();
        }
    }

    /// <summary>
    /// What one request body holds of the budget. A body of unknown length (chunked) starts with a guess and grows as
    /// it is read: its growth goes before new bodies, and the oldest body in the budget always gets its growth at once
    /// (past the capacity by at most that body's size), so that two growing bodies never wait for each other.
    /// </summary>
    public sealed class Lease(BodyBudget budget) : IDisposable
    {
        /// <summary>Bytes held.</summary>
        public long Bytes { get; internal set; }

        internal LinkedListNode<Lease>? Node { get; set; }

        /// <summary>Reserves <paramref name="more"/> bytes for this body; <see langword="false"/> when the wait ran out (what it held stays held until disposed).</summary>
        public async ValueTask<bool> GrowAsync(long more, TimeSpan wait, CancellationToken cancellationToken)
        {
            more = Math.Max(0, more);
            CheckWait(wait);
            Waiter waiter;
            lock (budget._gate)
            {
                ObjectDisposedException.ThrowIf(Node is null, this);

                if ((budget._growers.Count == 0 && budget._used + more <= budget.Capacity) || Node == budget._holders.First)
                {
                    budget.Grant(this, more);
                    return true;
                }

                waiter = new Waiter(more, this);
                waiter.Node = budget._growers.AddLast(waiter);
            }

            using var timeout = budget.NewTimeout(wait);
            return await budget.WaitAsync(waiter, budget._growers, timeout, cancellationToken).ConfigureAwait(false);
        }

        /// <summary>Gives back all this body holds.</summary>
        public void Dispose() => budget.Release(this);
    }

    /// <summary>
    /// After the last large body of a burst: one compacting, decommitting collection (at most every 2 s), then one more
    /// when the shared array pool lets go of the parse buffers it keeps for a minute (JSON parsing rents them).
    /// </summary>
    private void ScheduleCompaction()
    {
        if (Interlocked.Exchange(ref _compactionScheduled, 1) != 0)
        {
            return;
        }

        var since = time.GetElapsedTime(Interlocked.Read(ref _lastCompaction));
        var delay = _lastCompaction == 0 || since >= CompactionInterval ? TimeSpan.Zero : CompactionInterval - since;
        _ = Task.Run(async () =>
        {
            try
            {
                foreach (var wait in new[] { delay, PoolTrimAge })
                {
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait, time).ConfigureAwait(false);
                    }

                    lock (_gate)
                    {
                        if (LargeBodyMayBeInFlight)
                        {
                            return; // the next burst started: its end compacts
                        }
                    }

                    // A full collection lets the array pool's trim run (from a finalizer); the second frees what it let go of
                    // and hands the memory back to the operating system.
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                    NativeMemory.Trim(); // what the model's native library freed (XGBoost's matrices) goes back too
                    Interlocked.Exchange(ref _lastCompaction, time.GetTimestamp());
                }
            }
            finally
            {
                Interlocked.Exchange(ref _compactionScheduled, 0);
            }
        });
    }

    /// <summary>Runs the parse and prediction of a large body on the one thread kept for them: the shared array pool keeps its per-thread buffers on that thread only.</summary>
    public static Task<T> RunLarge<T>(Func<T> work) => LargeBodyThread.Instance.Run(work);

    /// <summary>The pool's per-thread arrays are trimmed once unused for a minute; a collection a little later returns them.</summary>
    private static readonly TimeSpan PoolTrimAge = TimeSpan.FromSeconds(65);

    /// <summary>One background thread for large bodies (they take turns anyway under the budget).</summary>
    private sealed class LargeBodyThread
    {
        public static readonly LargeBodyThread Instance = new();

        private readonly System.Collections.Concurrent.BlockingCollection<Action> _work = [];

        private LargeBodyThread()
        {
            var thread = new Thread(() =>
            {
                foreach (var item in _work.GetConsumingEnumerable())
                {
                    item();
                }
            })
            { IsBackground = true, Name = "MlOps.Client.Serving large bodies" };
            thread.Start();
        }

        public Task<T> Run<T>(Func<T> work)
        {
            var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
            _work.Add(() =>
            {
                try
                {
                    done.SetResult(work());
                }
#pragma warning disable CA1031 // handed to the request, which answers for it
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    done.SetException(ex);
                }
            });
            return done.Task;
        }
    }

    private sealed class Waiter(long bytes, Lease lease)
    {
        public long Bytes { get; } = bytes;

        public Lease Lease { get; } = lease;

        public TaskCompletionSource Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<Waiter>? Node { get; set; }
    }
}

/// <summary>Hands memory the C heap keeps after native code freed it back to the operating system (glibc's <c>malloc_trim</c>).</summary>
internal static partial class NativeMemory
{
    private static bool s_unavailable = !OperatingSystem.IsLinux();

    public static void Trim()
    {
        if (s_unavailable)
        {
            return;
        }

        try
        {
            _ = MallocTrim(0);
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            s_unavailable = true; // not glibc (musl, another libc): nothing to trim this way
        }
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
