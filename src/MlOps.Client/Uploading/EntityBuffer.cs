using System.Runtime.InteropServices;

namespace MlOps.Client.Uploading;

/// <summary>
/// A bounded lock-free ring of <see cref="PendingEntity"/> (many writers, one reader), after Dmitry Vyukov's
/// bounded queue: a writer reserves a slot with one compare-and-swap, copies the struct in and publishes it with a
/// sequence number — no lock, no allocation, no task. The reader never blocks writers. When the ring is full,
/// <see cref="Add"/> applies the <see cref="BufferFullPolicy"/>: by default the writer waits until the uploader
/// makes room (backpressure); nothing is dropped silently.
/// </summary>
internal sealed class EntityBuffer : IDisposable
{
    private readonly Cell[] _cells;
    private readonly long _mask;
    private readonly int _signalThreshold;
    private readonly Action _signal;
    private readonly Action _waitStarted;
    private readonly SemaphoreSlim _space = new(0, int.MaxValue);
    private PaddedLong _enqueuePos;
    private PaddedLong _dequeuePos;
    private int _signalled;
    private int _waitingWriters;

    public EntityBuffer(int capacity, int signalThreshold, Action signal, Action? waitStarted = null)
    {
        _waitStarted = waitStarted ?? (static () => { });
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 2);
        var size = 1;
        while (size < capacity)
        {
            size <<= 1;
        }

        _cells = new Cell[size];
        for (var i = 0; i < size; i++)
        {
            _cells[i].Sequence = i;
        }

        _mask = size - 1;
        _signalThreshold = Math.Clamp(signalThreshold, 1, size);
        _signal = signal;
    }

    /// <summary>The number of slots (the requested capacity rounded up to a power of two).</summary>
    public int Capacity => _cells.Length;

    /// <summary>Entities in the ring now (reserved or published, not yet drained).</summary>
    public int Count => (int)Math.Max(0, Volatile.Read(ref _enqueuePos.Value) - Volatile.Read(ref _dequeuePos.Value));

    /// <summary>Entities ever accepted; the sequence number the next one gets.</summary>
    public long EnqueuedCount => Volatile.Read(ref _enqueuePos.Value);

    /// <summary>Adds an entity, applying <paramref name="policy"/> when the ring is full.</summary>
    /// <param name="entity">The entity.</param>
    /// <param name="policy">What to do when full.</param>
    /// <returns>Whether it was added at once, after waiting for room, or dropped.</returns>
    public AddResult Add(ref PendingEntity entity, BufferFullPolicy policy)
    {
        if (TryAdd(ref entity))
        {
            return AddResult.Added;
        }

        switch (policy)
        {
            case BufferFullPolicy.DropNewest:
                return AddResult.Dropped;
            case BufferFullPolicy.Spill:
                return AddResult.Full;
            case BufferFullPolicy.Throw:
                throw new InvalidOperationException(
                    $"The upload buffer is full ({_cells.Length} entities) and TrackerOptions.BufferFullPolicy is Throw: the tracking server is not keeping up or is unreachable.");
        }

        Interlocked.Increment(ref _waitingWriters);
        _waitStarted();
        try
        {
            var spin = new SpinWait();
            while (!TryAdd(ref entity))
            {
                if (Interlocked.CompareExchange(ref _signalled, 1, 0) == 0)
                {
                    _signal();
                }

                if (spin.Count < 20)
                {
                    spin.SpinOnce(sleep1Threshold: -1);
                }
                else
                {
                    _space.Wait(10);
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waitingWriters);
        }

        return AddResult.AddedAfterWait;
    }

    private bool TryAdd(ref PendingEntity entity)
    {
        var pos = Volatile.Read(ref _enqueuePos.Value);
        while (true)
        {
            ref var cell = ref _cells[pos & _mask];
            var diff = Volatile.Read(ref cell.Sequence) - pos;
            if (diff == 0)
            {
                var seen = Interlocked.CompareExchange(ref _enqueuePos.Value, pos + 1, pos);
                if (seen == pos)
                {
                    entity.CopyTo(ref cell.Item);
                    Volatile.Write(ref cell.Sequence, pos + 1);
                    // Checked every 64 entities only: the reader's position lives on a contended cache line.
                    if ((pos & 63) == 0
                        && pos + 1 - Volatile.Read(ref _dequeuePos.Value) >= _signalThreshold
                        && Volatile.Read(ref _signalled) == 0
                        && Interlocked.CompareExchange(ref _signalled, 1, 0) == 0)
                    {
                        _signal();
                    }

                    return true;
                }

                pos = seen;
            }
            else if (diff < 0)
            {
                return false; // full
            }
            else
            {
                pos = Volatile.Read(ref _enqueuePos.Value);
            }
        }
    }

    /// <summary>Moves up to <paramref name="destination"/>.Length published entities out, oldest first (single reader).</summary>
    public int Drain(PendingEntity[] destination)
    {
        var pos = _dequeuePos.Value;
        var n = 0;
        while (n < destination.Length)
        {
            ref var cell = ref _cells[pos & _mask];
            if (Volatile.Read(ref cell.Sequence) != pos + 1)
            {
                break; // empty, or the next slot is reserved but not yet written
            }

            cell.Item.CopyTo(ref destination[n++]);
            cell.Item = default; // release string references
            Volatile.Write(ref cell.Sequence, pos + _cells.Length);
            pos++;
        }

        Volatile.Write(ref _dequeuePos.Value, pos);
        Volatile.Write(ref _signalled, 0);
        if (n > 0 && Volatile.Read(ref _waitingWriters) > 0)
        {
            _space.Release(Math.Max(1, Volatile.Read(ref _waitingWriters)));
        }

        return n;
    }

    public void Dispose() => _space.Dispose();

    private struct Cell
    {
        public long Sequence;
        public PendingEntity Item;
    }

    /// <summary>A counter alone on its cache line, so writers and the reader do not false-share.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct PaddedLong
    {
        [FieldOffset(64)]
        public long Value;
    }
}

/// <summary>The outcome of <see cref="EntityBuffer.Add"/>.</summary>
internal enum AddResult
{
    Added,
    AddedAfterWait,
    Dropped,
    Full,
}
