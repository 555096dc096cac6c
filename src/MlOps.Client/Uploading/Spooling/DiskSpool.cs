using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;

namespace MlOps.Client.Uploading.Spooling;

/// <summary>
/// The spool's storage engine: append-only segment files of framed records (<c>[length u32][crc32 u32][payload]</c>) in
/// one folder per tracking URI, written on the assumption that the disk fails.
/// <list type="bullet">
/// <item>Writing: each process writes its own segments (named by creation time, process id and sequence, so names sort
/// in write order), one unbuffered write per record. A write or fsync that fails (a full disk, EIO, a folder that went
/// away) loses nothing that was handed over: a half-written record is cut off, records whose fsync failed are cut off
/// too, and all of them are held in memory (up to <see cref="SpoolOptions.MaxMemoryBytes"/>) in order, then written
/// when the disk takes writes again (retried with a backoff up to 30 s). Beyond the memory bound, and beyond
/// <see cref="SpoolOptions.MaxBytes"/>, entities are dropped and counted. Each episode is said once.</item>
/// <item>Reading: a segment is read by whoever can open it exclusively (not while its writer has it open), from its
/// acknowledged offset. Damaged bytes — a torn last record, a flipped bit, garbage — fail the length, checksum or format
/// check; the reader skips to the next valid record header, so damage costs only the records it hit. The damaged bytes
/// are copied to <c>damaged/</c> for inspection, counted and reported once (the copy's existence tells other processes).</item>
/// <item>Acknowledging: only what the server accepted (or refused for good) is acknowledged, in a <c>.ack</c> file per
/// segment (the offset of the first record not yet delivered; damaged bytes right after a delivered record count as
/// covered by it). A replay while the server is down changes no acknowledgement and deletes nothing. An acknowledgement
/// that cannot be written (full disk) is kept in memory, so this process does not send the records again.</item>
/// </list>
/// </summary>
internal sealed class DiskSpool : IDisposable
{
    private const int HeaderBytes = 8;

    /// <summary>The largest record a reader accepts (a log-batch is at most 1,000 entities of MLflow's maximum sizes).</summary>
    private const int MaxRecordBytes = 64 << 20;

    private static readonly TimeSpan MaxWriteRetry = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan FlappingWindow = TimeSpan.FromMinutes(1);

    private readonly SpoolOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SpoolFileSystem _fs;
    private readonly object _writeGate = new();
    private readonly ConcurrentDictionary<string, int> _pendingByRun = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _acks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _ownSegments = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _reportedDamage = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _unreadable = new(StringComparer.Ordinal);
    private readonly List<Held> _memory = [];
    private readonly List<Held> _unsynced = [];
    private readonly string _safeUri;
    private FileStream? _writer;
    private long _writerLength;
    private long _syncedLength;
    private long _lastSync;
    private int _sequence;
    private long _heldSequence;
    private long _memoryBytes;
    private long _capBase;
    private long _damaged;
    private long _damagedBytes;
    private long _dropped;
    private string? _failure;
    private int _failures;
    private long _retryAt;
    private bool _reading;
    private bool _failureSaid;
    private long _recoveredAt;
    private bool _capWarned;
    private bool _memoryWarned;
    private int _ackWarned;

    public DiskSpool(SpoolOptions options, string trackingUri, TimeProvider time, ILogger logger, SpoolFileSystem? fileSystem = null)
    {
        _options = options;
        _time = time;
        _logger = logger;
        _fs = fileSystem ?? options.FileSystem ?? SpoolFileSystem.Real;
        _safeUri = Configuration.UriRedaction.StripUserInfo(trackingUri);
        Folder = Path.Combine(options.ResolveRoot(), Hash(_safeUri));
        _capBase = DiskBytes();
    }

    /// <summary>The folder of this tracking URI's spool.</summary>
    public string Folder { get; }

    /// <summary>Bytes of records not yet delivered: in the folder (any process's segments) and held in memory by this one.</summary>
    public long Bytes => DiskBytes() + Interlocked.Read(ref _memoryBytes);

    /// <summary>Bytes held in memory because the disk did not take them.</summary>
    public long MemoryBytes => Interlocked.Read(ref _memoryBytes);

    /// <summary>Damaged records (regions of damaged bytes) skipped and reported by this process.</summary>
    public long DamagedRecords => Interlocked.Read(ref _damaged);

    /// <summary>Bytes in the damaged regions.</summary>
    public long DamagedBytes => Interlocked.Read(ref _damagedBytes);

    /// <summary>Entities dropped: the size cap, the memory bound while the disk failed, or held entities lost at disposal.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Whether any segment (of any process), or this process's memory, holds records not yet delivered.</summary>
    public bool HasPending
    {
        get
        {
            lock (_writeGate)
            {
                if (_memory.Count > 0)
                {
                    return true;
                }
            }

            foreach (var segment in Segments())
            {
                if (LengthOf(segment) > AckOf(segment))
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>Whether this process spooled entities of <paramref name="runId"/> that are not delivered yet.</summary>
    public bool HasPendingEntities(string runId) => _pendingByRun.TryGetValue(runId, out var n) && n > 0;

    /// <summary>
    /// Takes a record: written to the disk, or held in memory while the disk fails. <see langword="false"/> when it is
    /// dropped and counted (the size cap, or the memory bound while the disk fails). Never throws for a disk fault.
    /// </summary>
    public bool Append(SpoolRecord record)
    {
        var payload = record.Serialize();
        var entities = Math.Max(1, record.EntityCount);
        var runEnd = record.Kind == SpoolRecordKind.RunEnd; // a few bytes, and the run's last word: never dropped
        lock (_writeGate)
        {
            if (!runEnd && _capBase + Interlocked.Read(ref _memoryBytes) + payload.Length + HeaderBytes > _options.MaxBytes)
            {
                _capBase = DiskBytes(); // acknowledgements may have made room since the last look
                if (_capBase + Interlocked.Read(ref _memoryBytes) + payload.Length + HeaderBytes > _options.MaxBytes)
                {
                    Interlocked.Add(ref _dropped, entities);
                    if (!_capWarned)
                    {
                        _capWarned = true;
                        SpoolLog.Full(_logger, _options.MaxBytes, Folder);
                    }

                    return false;
                }
            }

            if (_capWarned && _capBase < _options.MaxBytes / 2)
            {
                _capWarned = false; // drained: a new episode is said again
            }

            var held = new Held(++_heldSequence, record, payload);
            TryWriteHeld();
            if (_memory.Count == 0 && WriteAllowed() && TryWrite(held))
            {
                Count(record);
                return true;
            }

            if (!runEnd && Interlocked.Read(ref _memoryBytes) + payload.Length > _options.MaxMemoryBytes)
            {
                Interlocked.Add(ref _dropped, entities);
                if (!_memoryWarned)
                {
                    _memoryWarned = true;
                    SpoolLog.MemoryFull(_logger, _options.MaxMemoryBytes, Folder);
                }

                return false;
            }

            Hold(held);
            Count(record);
            return true;
        }
    }

    /// <summary>
    /// Forces written records to the disk when due (<paramref name="force"/>: now), and retries writing what is held in
    /// memory. Called by the uploader at shutdown, before a replay and on its interval. Never throws for a disk fault.
    /// </summary>
    public void Sync(bool force)
    {
        lock (_writeGate)
        {
            TryWriteHeld();
            if (_writer is null)
            {
                return;
            }

            var due = _options.FlushPolicy == SpoolFlushPolicy.Interval && _time.GetElapsedTime(_lastSync) >= _options.FlushInterval;
            if (force || due)
            {
                SyncWriter();
            }
        }
    }

    /// <summary>
    /// The records not yet delivered, oldest first: the segments on disk (this process's open one is closed first so that
    /// it can be replayed; segments another live process is writing are skipped), then what this process holds in memory.
    /// Reading changes nothing on disk but damage: damaged bytes are reported, counted and copied to <c>damaged/</c>
    /// (not with <paramref name="inspectOnly"/>), and a fully acknowledged segment is deleted.
    /// </summary>
    public IEnumerable<SpoolEntry> ReadPending(bool inspectOnly = false)
    {
        int segmentsBefore;
        lock (_writeGate)
        {
            if (_writer is not null && _options.FlushPolicy != SpoolFlushPolicy.Never)
            {
                SyncWriter();
            }

            CloseWriter();
            segmentsBefore = _sequence;
        }

        try
        {
            if (!inspectOnly)
            {
                SweepOrphans();
            }

            foreach (var segment in Segments())
            {
                foreach (var entry in ReadSegment(segment, inspectOnly))
                {
                    yield return entry;
                }
            }

            List<Held> held;
            lock (_writeGate)
            {
                if (_sequence != segmentsBefore)
                {
                    // This process opened a segment during the pass (not read by it): what memory holds is newer, and
                    // goes in the next pass, behind that segment, so that the order holds.
                    yield break;
                }

                // From here until the pass ends, what memory holds is not written to the disk: the records handed out
                // are acknowledged by their place in memory.
                _reading = true;
                held = [.. _memory];
            }

            for (var i = 0; i < held.Count; i++)
            {
                yield return new SpoolEntry(held[i].Record, null, 0, i == held.Count - 1) { MemorySequence = held[i].Sequence };
            }
        }
        finally
        {
            lock (_writeGate)
            {
                _reading = false;
            }
        }
    }

    /// <summary>Records that <paramref name="entry"/> was delivered (or refused for good): it will not be read again.</summary>
    /// <param name="entry">The last record delivered; every earlier one of its segment (or of memory) is covered too.</param>
    /// <param name="batchRecords">How many batch records of <paramref name="entry"/>'s run this covers.</param>
    public void Acknowledge(SpoolEntry entry, int batchRecords = 1)
    {
        if (entry.Segment is null)
        {
            lock (_writeGate)
            {
                var n = 0;
                while (n < _memory.Count && _memory[n].Sequence <= entry.MemorySequence)
                {
                    Interlocked.Add(ref _memoryBytes, -_memory[n].Payload.Length);
                    n++;
                }

                _memory.RemoveRange(0, n);
            }
        }
        else
        {
            _acks.AddOrUpdate(entry.Segment, entry.NextOffset, (_, old) => Math.Max(old, entry.NextOffset));
            WriteAck(entry.Segment, entry.NextOffset);
        }

        if (batchRecords > 0 && _pendingByRun.ContainsKey(entry.Record.RunId))
        {
            _pendingByRun.AddOrUpdate(entry.Record.RunId, 0, (_, n) => Math.Max(0, n - batchRecords));
        }
    }

    /// <summary>Whether <paramref name="entry"/> was written by another process (an earlier one, or one still running).</summary>
    public bool IsForeign(SpoolEntry entry) => entry.Segment is not null && !_ownSegments.ContainsKey(entry.Segment);

    public void Dispose()
    {
        lock (_writeGate)
        {
            if (_writer is not null && _options.FlushPolicy != SpoolFlushPolicy.Never)
            {
                SyncWriter();
            }

            _retryAt = 0; // one last try for what is held in memory
            TryWriteHeld();
            if (_writer is not null)
            {
                SyncWriter();
            }

            CloseWriter();
            if (_memory.Count > 0)
            {
                long entities = 0;
                foreach (var h in _memory)
                {
                    entities += Math.Max(1, h.Record.EntityCount);
                }

                Interlocked.Add(ref _dropped, entities);
                SpoolLog.HeldLost(_logger, entities, _failure ?? "the disk did not take them", Folder);
                Interlocked.Exchange(ref _memoryBytes, 0);
                _memory.Clear();
            }
        }
    }

    // ---- writing (under _writeGate) ----

    private bool WriteAllowed() => _failure is null || _time.GetTimestamp() >= _retryAt;

    /// <summary>Writes one record; <see langword="false"/> (the failure begun) when the disk refused it before it was written.</summary>
    private bool TryWrite(Held held)
    {
        var frameLength = HeaderBytes + held.Payload.Length;
        var frame = ArrayPool<byte>.Shared.Rent(frameLength);
        try
        {
            if (_writer is not null && _writerLength >= _options.SegmentBytes && _options.FlushPolicy != SpoolFlushPolicy.Never)
            {
                // A full segment is synced before it is closed: its records' fate is settled with it (a failed fsync
                // cut them off and holds them in memory, and this record goes behind them).
                SyncWriter();
                if (_writer is null)
                {
                    return false;
                }
            }

            if (_writer is null || _writerLength >= _options.SegmentBytes)
            {
                OpenNewSegment();
            }

            BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)held.Payload.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(4), Crc32.Compute(held.Payload));
            held.Payload.CopyTo(frame.AsSpan(HeaderBytes));
            try
            {
                _fs.Append(_writer!, frame.AsSpan(0, frameLength));
            }
            catch (Exception ex) when (IsDiskFault(ex))
            {
                // A record may be half on the disk: cut it off, so that nothing half-written is left behind it.
                try
                {
                    _fs.Truncate(_writer!, _writerLength);
                }
                catch (Exception cut) when (IsDiskFault(cut))
                {
                    // the reader skips a torn tail
                }

                throw;
            }
        }
        catch (Exception ex) when (IsDiskFault(ex))
        {
            if (_writer is not null && _unsynced.Count > 0)
            {
                // The records written since the last fsync are settled before the segment is closed: synced, or (the
                // fsync failed too) cut off and held in memory in front of this one.
                SyncWriter();
            }

            CloseWriter();
            BeginFailure(ex);
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }

        _writerLength += frameLength;
        _capBase += frameLength;
        if (_options.FlushPolicy != SpoolFlushPolicy.Never)
        {
            _unsynced.Add(held);
        }

        EndFailure();
        if (_options.FlushPolicy == SpoolFlushPolicy.EveryRecord
            || (_options.FlushPolicy == SpoolFlushPolicy.Interval && _time.GetElapsedTime(_lastSync) >= _options.FlushInterval))
        {
            SyncWriter(); // on failure the record is held in memory: taken all the same
        }

        return true;
    }

    /// <summary>Writes what is held in memory, in order, when the disk may take writes again (not while a reader walks the memory).</summary>
    private void TryWriteHeld()
    {
        if (_memory.Count == 0 || _reading || !WriteAllowed())
        {
            return;
        }

        // Taken out of memory at once (not one RemoveAt(0) per record); what the disk does not take goes back, in order,
        // behind anything a failed fsync put back in front of it.
        var pending = _memory.ToArray();
        _memory.Clear();
        foreach (var h in pending)
        {
            Interlocked.Add(ref _memoryBytes, -h.Payload.Length);
        }

        var written = 0;
        while (written < pending.Length && (written == 0 || _failure is null))
        {
            if (!TryWrite(pending[written]))
            {
                break;
            }

            written++;
        }

        for (var i = written; i < pending.Length; i++)
        {
            Hold(pending[i]);
        }

        if (written < pending.Length)
        {
            return;
        }

        if (_writer is not null && _options.FlushPolicy != SpoolFlushPolicy.Never)
        {
            SyncWriter();
        }

        if (_memory.Count == 0)
        {
            _memoryWarned = false;
            if (_failureSaid)
            {
                SpoolLog.HeldWritten(_logger, written, Folder);
            }
        }
    }

    /// <summary>fsync; when it fails, what was written since the last good fsync may not be on the disk: it is cut off and held in memory.</summary>
    private void SyncWriter()
    {
        try
        {
            _fs.Sync(_writer!);
            _syncedLength = _writerLength;
            _unsynced.Clear();
            _lastSync = _time.GetTimestamp();
        }
        catch (Exception ex) when (IsDiskFault(ex))
        {
            try
            {
                _fs.Truncate(_writer!, _syncedLength);
                _capBase -= _writerLength - _syncedLength;
            }
            catch (Exception cut) when (IsDiskFault(cut))
            {
                // left on the disk as well: a metric sent twice is stored once (MLflow keys metrics by their values)
            }

            foreach (var held in _unsynced)
            {
                Interlocked.Add(ref _memoryBytes, held.Payload.Length);
            }

            _memory.InsertRange(0, _unsynced);
            CloseWriter(); // forgets _unsynced: held now
            BeginFailure(ex);
        }
    }

    private void Hold(Held held)
    {
        _memory.Add(held);
        Interlocked.Add(ref _memoryBytes, held.Payload.Length);
    }

    private void Count(SpoolRecord record)
    {
        if (record.Kind == SpoolRecordKind.Batch)
        {
            _pendingByRun.AddOrUpdate(record.RunId, 1, static (_, n) => n + 1);
        }
    }

    private void BeginFailure(Exception ex)
    {
        _failures = Math.Min(_failures + 1, 16);
        var wait = Backoff.Exponential(TimeSpan.FromSeconds(1), _failures, MaxWriteRetry);
        _retryAt = _time.GetTimestamp() + (long)(wait.TotalSeconds * _time.TimestampFrequency);
        if (_failure is null)
        {
            _failure = ex.Message;
            // Said once per episode; a disk that fails again within a minute of recovering (flapping) is not said again.
            _failureSaid = _recoveredAt == 0 || _time.GetElapsedTime(_recoveredAt) >= FlappingWindow;
            if (_failureSaid)
            {
                SpoolLog.WriteFailed(_logger, Folder, ex.Message, _options.MaxMemoryBytes);
            }
        }
    }

    private void EndFailure()
    {
        if (_failure is not null)
        {
            _failure = null;
            _failures = 0;
            _recoveredAt = _time.GetTimestamp();
            if (_failureSaid)
            {
                SpoolLog.WriteRecovered(_logger, Folder);
            }
        }
    }

    private void OpenNewSegment()
    {
        CloseWriter();
        if (!Directory.Exists(Folder))
        {
            Directory.CreateDirectory(Folder); // only when something must be spooled
            _fs.WriteSmallFile(Path.Combine(Folder, "spool.txt"), Encoding.UTF8.GetBytes($"MlOps.Client spool for {_safeUri}\n"));
        }

        var name = string.Create(CultureInfo.InvariantCulture,
            $"{_time.GetUtcNow():yyyyMMddHHmmssfff}-{Environment.ProcessId:D7}-{Interlocked.Increment(ref _sequence):D5}.seg");
        var path = Path.Combine(Folder, name);
        _writer = _fs.CreateSegment(path);
        _ownSegments[path] = 0;
        _writerLength = 0;
        _syncedLength = 0;
        _lastSync = _time.GetTimestamp();
        _capBase = DiskBytes();
    }

    /// <summary>Closes the open segment; never throws (a close of an unbuffered file flushes nothing). Callers sync first where the policy asks for it.</summary>
    private void CloseWriter()
    {
        var writer = _writer;
        _writer = null;
        _unsynced.Clear(); // a closed segment's records were synced, held in memory, or (never flushed by policy) left as they are
        try
        {
            writer?.Dispose();
        }
        catch (Exception ex) when (IsDiskFault(ex))
        {
        }
    }

    private static bool IsDiskFault(Exception ex) => ex is IOException or UnauthorizedAccessException;

    // ---- reading ----

    private IEnumerable<SpoolEntry> ReadSegment(string segment, bool inspectOnly)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(segment, FileMode.Open, FileAccess.Read, FileShare.None);
        }
        catch (Exception ex) when (IsDiskFault(ex))
        {
            yield break; // another process is writing or replaying it, or it was just deleted
        }

        long length;
        using (stream)
        {
            var start = AckOf(segment);
            List<(SpoolRecord Record, long Next)> records = [];
            if (!TryRead(stream, segment, start, out var buffer, out length))
            {
                yield break; // skipped this pass (said once); read again by the next
            }

            if (buffer.Length > 0)
            {
                records = Parse(segment, buffer, start, inspectOnly);
                if (records.Count == 0 && !inspectOnly)
                {
                    Acknowledge(segment, length); // only damaged bytes (copied to damaged/): nothing to deliver
                }
            }

            // Yielded while the segment is still open exclusively: no other process reads it until this pass moves on.
            for (var i = 0; i < records.Count; i++)
            {
                yield return new SpoolEntry(records[i].Record, segment, records[i].Next, records[i].Next >= length);
            }
        }

        if (!inspectOnly && AckOf(segment) >= length)
        {
            SpoolFileSystem.TryDelete(segment);
            SpoolFileSystem.TryDelete(segment + ".ack");
            SpoolFileSystem.TryDelete(segment + ".ack.tmp");
            _acks.TryRemove(segment, out _);
        }
    }

    /// <summary>Reads a segment from <paramref name="start"/>; a disk that fails the read (EIO) costs this segment this pass, said once per segment.</summary>
    private bool TryRead(FileStream stream, string segment, long start, out byte[] buffer, out long length)
    {
        buffer = [];
        length = 0;
        try
        {
            length = stream.Length;
            if (start < length)
            {
                buffer = new byte[length - start];
                stream.Position = start;
                _fs.Read(stream, buffer);
            }

            return true;
        }
        catch (Exception ex) when (IsDiskFault(ex) || ex is EndOfStreamException)
        {
            if (_unreadable.TryAdd(segment, 0))
            {
                SpoolLog.ReadFailed(_logger, Path.GetFileName(segment), ex.Message);
            }

            return false;
        }
    }

    /// <summary>The valid records of <paramref name="buffer"/> (the segment from <paramref name="origin"/>), each with the offset after it and any damage that follows it.</summary>
    private List<(SpoolRecord Record, long Next)> Parse(string segment, byte[] buffer, long origin, bool inspectOnly)
    {
        var records = new List<(SpoolRecord, long)>();
        var pos = 0;
        while (pos < buffer.Length)
        {
            if (TryReadRecord(buffer, pos, out var record, out var next))
            {
                records.Add((record, origin + next));
                pos = next;
                continue;
            }

            var resume = pos + 1;
            while (resume < buffer.Length && !TryReadRecord(buffer, resume, out _, out _))
            {
                resume++;
            }

            if (!inspectOnly)
            {
                ReportDamage(segment, origin + pos, buffer.AsSpan(pos, resume - pos), atEnd: resume >= buffer.Length);
            }

            if (records.Count > 0)
            {
                records[^1] = (records[^1].Item1, origin + resume); // covered by the record before it
            }

            pos = resume;
        }

        return records;
    }

    private static bool TryReadRecord(byte[] buffer, int pos, out SpoolRecord record, out int next)
    {
        record = null!;
        next = 0;
        if (buffer.Length - pos < HeaderBytes + 2)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(pos));
        if (length < 2 || length > MaxRecordBytes || length > buffer.Length - pos - HeaderBytes)
        {
            return false;
        }

        var payload = buffer.AsSpan(pos + HeaderBytes, (int)length);
        if (!SpoolRecord.LooksLikeRecord(payload) || Crc32.Compute(payload) != BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(pos + 4)))
        {
            return false;
        }

        try
        {
            record = SpoolRecord.Deserialize(payload);
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or IOException or ArgumentException or OverflowException or OutOfMemoryException)
        {
            return false;
        }

        next = pos + HeaderBytes + (int)length;
        return true;
    }

    private void ReportDamage(string segment, long offset, ReadOnlySpan<byte> bytes, bool atEnd)
    {
        var name = string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileNameWithoutExtension(segment)}.at-{offset}.damaged");
        if (!_reportedDamage.TryAdd(name, 0))
        {
            return; // this process said it already
        }

        var quarantine = Path.Combine(Folder, "damaged", name);
        try
        {
            if (!_fs.CreateNew(quarantine, bytes))
            {
                return; // another process found, counted and reported it
            }
        }
        catch (Exception ex) when (IsDiskFault(ex))
        {
            quarantine = $"nowhere ({ex.Message})";
        }

        Interlocked.Increment(ref _damaged);
        Interlocked.Add(ref _damagedBytes, bytes.Length);
        if (atEnd)
        {
            SpoolLog.TornRecord(_logger, Path.GetFileName(segment), offset, bytes.Length, quarantine);
        }
        else
        {
            SpoolLog.DamagedRecord(_logger, Path.GetFileName(segment), offset, bytes.Length, quarantine);
        }
    }

    // ---- acknowledgements and the folder ----

    private void Acknowledge(string segment, long offset)
    {
        _acks.AddOrUpdate(segment, offset, (_, old) => Math.Max(old, offset));
        WriteAck(segment, offset);
    }

    private void WriteAck(string segment, long offset)
    {
        if (!File.Exists(segment))
        {
            return; // deleted by another process's replay: no orphan .ack
        }

        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, offset);
        try
        {
            _fs.WriteSmallFile(segment + ".ack", bytes);
        }
        catch (Exception ex) when (IsDiskFault(ex))
        {
            // Kept in memory (_acks): this process does not send the records again.
            if (Interlocked.Exchange(ref _ackWarned, 1) == 0)
            {
                SpoolLog.AckNotPersisted(_logger, Folder, ex.Message);
            }
        }
    }

    private long AckOf(string segment)
    {
        var ack = _acks.TryGetValue(segment, out var kept) ? kept : 0;
        try
        {
            var bytes = File.ReadAllBytes(segment + ".ack");
            if (bytes.Length == 8)
            {
                ack = Math.Max(ack, BinaryPrimitives.ReadInt64LittleEndian(bytes));
            }
        }
        catch (Exception ex) when (IsDiskFault(ex))
        {
            // none yet, or gone with its segment
        }

        return ack;
    }

    private static long LengthOf(string segment)
    {
        try
        {
            return new FileInfo(segment).Length;
        }
        catch (Exception ex) when (IsDiskFault(ex))
        {
            return 0; // deleted by another process meanwhile
        }
    }

    private long DiskBytes()
    {
        long bytes = 0;
        foreach (var segment in Segments())
        {
            bytes += Math.Max(0, LengthOf(segment) - AckOf(segment));
        }

        return bytes;
    }

    /// <summary>Acknowledgement files whose segment is gone (another process deleted it between the two deletions).</summary>
    private void SweepOrphans()
    {
        try
        {
            foreach (var ack in Directory.EnumerateFiles(Folder, "*.seg.ack*"))
            {
                var segment = ack.EndsWith(".tmp", StringComparison.Ordinal) ? ack[..^".ack.tmp".Length] : ack[..^".ack".Length];
                if (!File.Exists(segment))
                {
                    SpoolFileSystem.TryDelete(ack);
                }
            }
        }
        catch (Exception ex) when (IsDiskFault(ex))
        {
        }
    }

    private List<string> Segments()
    {
        try
        {
            return Directory.Exists(Folder) ? Directory.EnumerateFiles(Folder, "*.seg").Order(StringComparer.Ordinal).ToList() : [];
        }
        catch (Exception ex) when (IsDiskFault(ex))
        {
            return [];
        }
    }

    private static string Hash(string uri) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(uri)))[..16].ToLowerInvariant();

    /// <summary>A record taken by the spool: its order, the record, its serialized bytes.</summary>
    private sealed record Held(long Sequence, SpoolRecord Record, byte[] Payload);
}

/// <summary>A spooled record and where the next one starts (<paramref name="Segment"/> is <see langword="null"/> for a record held in memory).</summary>
internal sealed record SpoolEntry(SpoolRecord Record, string? Segment, long NextOffset, bool LastInSegment)
{
    /// <summary>For a record held in memory: its place in the order.</summary>
    public long MemorySequence { get; init; }
}

internal static partial class SpoolLog
{
    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "A torn record at the end of spool segment {Segment} ({Bytes} bytes at offset {Offset}: a process stopped while writing it) was skipped, counted and kept in {Quarantine}.")]
    public static partial void TornRecord(ILogger logger, string segment, long offset, long bytes, string quarantine);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Error, Message = "The spool reached its size cap ({MaxBytes} bytes) in {Folder}: new entities are dropped and counted (Counters.SpoolDropped) until it drains.")]
    public static partial void Full(ILogger logger, long maxBytes, string folder);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Warning, Message = "The tracking server is unreachable ({Reason}): {Count} entities of run {RunId} went to the spool, and what follows goes there too until the server answers; they will be replayed. (Said once per outage.)")]
    public static partial void Spooled(ILogger logger, int count, string runId, string reason);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Information, Message = "Replayed {Records} spooled records to the tracking server.")]
    public static partial void Replayed(ILogger logger, long records);

    [LoggerMessage(EventId = 2105, Level = LogLevel.Error, Message = "The spool cannot write to {Folder} ({Reason}): what it is handed is held in memory (up to {MaxMemoryBytes} bytes), in order, and written when the disk takes writes again; beyond that, entities are dropped and counted (Counters.SpoolDropped).")]
    public static partial void WriteFailed(ILogger logger, string folder, string reason, long maxMemoryBytes);

    [LoggerMessage(EventId = 2106, Level = LogLevel.Information, Message = "The spool writes to {Folder} again.")]
    public static partial void WriteRecovered(ILogger logger, string folder);

    [LoggerMessage(EventId = 2107, Level = LogLevel.Error, Message = "The spool holds {MaxMemoryBytes} bytes in memory, its bound, while the disk of {Folder} takes no writes: new entities are dropped and counted (Counters.SpoolDropped) until it does.")]
    public static partial void MemoryFull(ILogger logger, long maxMemoryBytes, string folder);

    [LoggerMessage(EventId = 2108, Level = LogLevel.Warning, Message = "Delivery progress could not be written in {Folder} ({Reason}): this process keeps it in memory and sends nothing twice; a later process may send some delivered records again (MLflow stores a repeated metric once).")]
    public static partial void AckNotPersisted(ILogger logger, string folder, string reason);

    [LoggerMessage(EventId = 2109, Level = LogLevel.Error, Message = "{Entities} entities held in memory could not be written to the spool in {Folder} before the tracker stopped ({Reason}): they are lost, counted in Counters.SpoolDropped.")]
    public static partial void HeldLost(ILogger logger, long entities, string reason, string folder);

    [LoggerMessage(EventId = 2110, Level = LogLevel.Warning, Message = "Damaged bytes in spool segment {Segment} ({Bytes} bytes at offset {Offset} failed the length, checksum or format check: the disk or another program changed them) were skipped, counted and kept in {Quarantine}; the records after them are read.")]
    public static partial void DamagedRecord(ILogger logger, string segment, long offset, long bytes, string quarantine);

    [LoggerMessage(EventId = 2112, Level = LogLevel.Warning, Message = "The tracking server is still unreachable ({Reason}): the spooled records stay on disk and are replayed when it answers; further probes of this outage are not logged.")]
    public static partial void StillUnreachable(ILogger logger, string reason);

    [LoggerMessage(EventId = 2113, Level = LogLevel.Warning, Message = "Spool segment {Segment} could not be read ({Reason}): its records stay on disk and are tried again by the next replay. (Said once per segment.)")]
    public static partial void ReadFailed(ILogger logger, string segment, string reason);

    [LoggerMessage(EventId = 2111, Level = LogLevel.Information, Message = "{Records} records held in memory while the disk failed were written to the spool in {Folder}.")]
    public static partial void HeldWritten(ILogger logger, int records, string folder);
}
