namespace MlOps.Client.Uploading;

/// <summary>
/// A bounded FIFO ring of <see cref="PendingEntity"/> shared by every logging thread (many writers, one reader).
/// Adding copies a struct into a preallocated slot under a short lock: no allocation, no task. When the ring is
/// full, <see cref="Add"/> applies the <see cref="BufferFullPolicy"/>: by default the writer waits until the
/// uploader makes room (backpressure); nothing is dropped silently.
/// </summary>
internal sealed class EntityBuffer
{
    private readonly PendingEntity[] _items;
    private readonly object _gate = new();
    private readonly int _signalThreshold;
    private readonly Action _signal;
    private int _head;
    private int _count;
    private long _enqueued;
    private int _waitingWriters;
    private bool _signalled;

    public EntityBuffer(int capacity, int signalThreshold, Action signal)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _items = new PendingEntity[capacity];
        _signalThreshold = Math.Clamp(signalThreshold, 1, capacity);
        _signal = signal;
    }

    public int Capacity => _items.Length;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _count;
            }
        }
    }

    /// <summary>Entities ever accepted; the sequence number the next one gets.</summary>
    public long EnqueuedCount => Volatile.Read(ref _enqueued);

    /// <summary>Adds an entity, applying <paramref name="policy"/> when the ring is full.</summary>
    /// <param name="entity">The entity; its <see cref="PendingEntity.Sequence"/> is assigned here.</param>
    /// <param name="policy">What to do when full.</param>
    /// <returns>Whether it was added at once, after waiting for room, or dropped.</returns>
    public AddResult Add(ref PendingEntity entity, BufferFullPolicy policy)
    {
        var result = AddResult.Added;
        lock (_gate)
        {
            while (_count == _items.Length)
            {
                switch (policy)
                {
                    case BufferFullPolicy.DropNewest:
                        return AddResult.Dropped;
                    case BufferFullPolicy.Throw:
                        throw new InvalidOperationException(
                            $"The upload buffer is full ({_items.Length} entities) and TrackerOptions.BufferFullPolicy is Throw: the tracking server is not keeping up or is unreachable.");
                }

                result = AddResult.AddedAfterWait;
                if (!_signalled)
                {
                    _signalled = true;
                    _signal(); // completes asynchronously: safe under the lock
                }

                _waitingWriters++;
                Monitor.Wait(_gate, 100);
                _waitingWriters--;
            }

            entity.Sequence = _enqueued++;
            _items[(_head + _count) % _items.Length] = entity;
            _count++;
            if (_count >= _signalThreshold && !_signalled)
            {
                _signalled = true;
                _signal();
            }
        }

        return result;
    }

    /// <summary>Moves up to <paramref name="destination"/>.Length entities out, oldest first.</summary>
    public int Drain(PendingEntity[] destination)
    {
        lock (_gate)
        {
            var n = Math.Min(_count, destination.Length);
            for (var i = 0; i < n; i++)
            {
                ref var slot = ref _items[(_head + i) % _items.Length];
                destination[i] = slot;
                slot = default; // release string references
            }

            _head = (_head + n) % _items.Length;
            _count -= n;
            _signalled = false;
            if (_waitingWriters > 0 && n > 0)
            {
                Monitor.PulseAll(_gate);
            }

            return n;
        }
    }
}

/// <summary>The outcome of <see cref="EntityBuffer.Add"/>.</summary>
internal enum AddResult
{
    Added,
    AddedAfterWait,
    Dropped,
}
