using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;

namespace MlOps.Client.Uploading.Spooling;

/// <summary>
/// Append-only segment files of framed records (<c>[length u32][crc32 u32][payload]</c>) in one folder per tracking URI.
/// Each process writes its own segments (named by creation time, process id and sequence, so names sort in write
/// order); a segment is replayed by whoever can open it exclusively (not while its writer still has it open), and its
/// progress is kept in a <c>.ack</c> file (the offset of the first record not yet delivered), so a record is sent again
/// only if the process died between sending it and recording that. A torn last record (a crash while writing) fails
/// its length or checksum and is skipped with a warning.
/// </summary>
internal sealed class DiskSpool : IDisposable
{
    private const int HeaderBytes = 8;
    private readonly SpoolOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly object _writeGate = new();
    private readonly ConcurrentDictionary<string, int> _pendingByRun = new(StringComparer.Ordinal);
    private readonly string _safeUri;
    private FileStream? _writer;
    private string? _writerPath;
    private long _lastSync;
    private int _sequence;
    private long _bytes;
    private long _torn;
    private long _dropped;
    private int _fullWarned;

    public DiskSpool(SpoolOptions options, string trackingUri, TimeProvider time, ILogger logger)
    {
        _options = options;
        _time = time;
        _logger = logger;
        _safeUri = Configuration.UriRedaction.StripUserInfo(trackingUri);
        Folder = Path.Combine(options.ResolveRoot(), Hash(_safeUri));
        foreach (var segment in Segments())
        {
            _bytes += Math.Max(0, new FileInfo(segment).Length - ReadAck(segment));
        }
    }

    /// <summary>The folder of this tracking URI's spool.</summary>
    public string Folder { get; }

    /// <summary>Bytes of records not yet delivered.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    public long TornRecords => Interlocked.Read(ref _torn);

    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Whether any segment (of any process) holds records not yet delivered.</summary>
    public bool HasPending => Segments().Any(s => new FileInfo(s).Length > ReadAck(s));

    /// <summary>Whether this process spooled entities of <paramref name="runId"/> that are not delivered yet.</summary>
    public bool HasPendingEntities(string runId) => _pendingByRun.TryGetValue(runId, out var n) && n > 0;

    /// <summary>Appends a record; <see langword="false"/> when the size cap is reached (the record is dropped and counted).</summary>
    public bool Append(SpoolRecord record)
    {
        var payload = record.Serialize();
        lock (_writeGate)
        {
            if (Interlocked.Read(ref _bytes) + payload.Length + HeaderBytes > _options.MaxBytes)
            {
                Interlocked.Add(ref _dropped, Math.Max(1, record.EntityCount));
                if (Interlocked.Exchange(ref _fullWarned, 1) == 0)
                {
                    SpoolLog.Full(_logger, _options.MaxBytes, Folder);
                }

                return false;
            }

            if (_writer is null || _writer.Length >= _options.SegmentBytes)
            {
                OpenNewSegment();
            }

            Span<byte> header = stackalloc byte[HeaderBytes];
            BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)payload.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(header[4..], Crc32.Compute(payload));
            _writer!.Write(header);
            _writer.Write(payload);
            Sync(force: _options.FlushPolicy == SpoolFlushPolicy.EveryRecord);
            Interlocked.Add(ref _bytes, payload.Length + HeaderBytes);
            if (record.Kind == SpoolRecordKind.Batch)
            {
                _pendingByRun.AddOrUpdate(record.RunId, 1, static (_, n) => n + 1);
            }
        }

        return true;
    }

    /// <summary>Forces written records to the disk (called by the uploader at shutdown and on its interval).</summary>
    public void Sync(bool force)
    {
        lock (_writeGate)
        {
            if (_writer is null)
            {
                return;
            }

            var now = _time.GetTimestamp();
            var due = _options.FlushPolicy == SpoolFlushPolicy.Interval && _time.GetElapsedTime(_lastSync, now) >= _options.FlushInterval;
            if (force || due)
            {
                _writer.Flush(flushToDisk: _options.FlushPolicy != SpoolFlushPolicy.Never || force);
                _lastSync = now;
            }
            else
            {
                _writer.Flush(flushToDisk: false);
            }
        }
    }

    /// <summary>
    /// The records not yet delivered, oldest segment first. This process's open segment is closed first so that it can
    /// be replayed; segments another live process is writing are skipped.
    /// </summary>
    public IEnumerable<SpoolEntry> ReadPending()
    {
        lock (_writeGate)
        {
            CloseWriter();
        }

        foreach (var segment in Segments())
        {
            FileStream stream;
            try
            {
                stream = new FileStream(segment, FileMode.Open, FileAccess.Read, FileShare.None);
            }
            catch (IOException)
            {
                continue; // another process is writing or replaying it
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }

            using (stream)
            {
                var offset = ReadAck(segment);
                stream.Position = offset;
                var header = new byte[HeaderBytes];
                while (offset < stream.Length)
                {
                    if (stream.Length - offset < HeaderBytes || stream.ReadAtLeast(header, HeaderBytes, throwOnEndOfStream: false) < HeaderBytes)
                    {
                        Torn(segment, offset, stream.Length);
                        break;
                    }

                    var length = BinaryPrimitives.ReadUInt32LittleEndian(header);
                    var crc = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4));
                    if (length > stream.Length - offset - HeaderBytes)
                    {
                        Torn(segment, offset, stream.Length);
                        break;
                    }

                    var payload = new byte[length];
                    stream.ReadExactly(payload);
                    if (Crc32.Compute(payload) != crc)
                    {
                        Torn(segment, offset, stream.Length);
                        break;
                    }

                    SpoolRecord record;
                    try
                    {
                        record = SpoolRecord.Deserialize(payload);
                    }
                    catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException)
                    {
                        Torn(segment, offset, stream.Length);
                        break;
                    }

                    var next = offset + HeaderBytes + length;
                    yield return new SpoolEntry(record, segment, next, next >= stream.Length);
                    offset = next;
                }
            }

            if (new FileInfo(segment).Length <= ReadAck(segment))
            {
                Delete(segment);
            }
        }
    }

    /// <summary>Records that <paramref name="entry"/> was delivered (or refused for good): it will not be read again.</summary>
    /// <param name="entry">The last record delivered; every earlier one of its segment is covered too.</param>
    /// <param name="batchRecords">How many batch records of <paramref name="entry"/>'s run this covers.</param>
    public void Acknowledge(SpoolEntry entry, int batchRecords = 1)
    {
        var previous = ReadAck(entry.Segment);
        WriteAck(entry.Segment, entry.NextOffset);
        Interlocked.Add(ref _bytes, -(entry.NextOffset - previous));
        if (batchRecords > 0 && _pendingByRun.TryGetValue(entry.Record.RunId, out _))
        {
            _pendingByRun.AddOrUpdate(entry.Record.RunId, 0, (_, n) => Math.Max(0, n - batchRecords));
        }
    }

    public void Dispose()
    {
        lock (_writeGate)
        {
            if (_writer is not null)
            {
                _writer.Flush(flushToDisk: _options.FlushPolicy != SpoolFlushPolicy.Never);
                CloseWriter();
            }
        }
    }

    private void OpenNewSegment()
    {
        CloseWriter();
        if (!Directory.Exists(Folder))
        {
            Directory.CreateDirectory(Folder); // only when something must be spooled
            File.WriteAllText(Path.Combine(Folder, "spool.txt"), $"MlOps.Client spool for {_safeUri}\n");
        }

        var name = string.Create(CultureInfo.InvariantCulture,
            $"{_time.GetUtcNow():yyyyMMddHHmmssfff}-{Environment.ProcessId:D7}-{Interlocked.Increment(ref _sequence):D5}.seg");
        _writerPath = Path.Combine(Folder, name);
        _writer = new FileStream(_writerPath, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 64 * 1024);
        _lastSync = _time.GetTimestamp();
    }

    private void CloseWriter()
    {
        _writer?.Dispose();
        _writer = null;
        _writerPath = null;
    }

    private List<string> Segments() =>
        Directory.Exists(Folder) ? Directory.EnumerateFiles(Folder, "*.seg").Order(StringComparer.Ordinal).ToList() : [];

    private void Torn(string segment, long offset, long length)
    {
        Interlocked.Increment(ref _torn);
        SpoolLog.TornRecord(_logger, Path.GetFileName(segment), offset, length - offset);
        Interlocked.Add(ref _bytes, -(length - offset));
        WriteAck(segment, length);
    }

    private static void Delete(string segment)
    {
        try
        {
            File.Delete(segment);
            File.Delete(segment + ".ack");
        }
        catch (IOException)
        {
            // deleted on a later replay
        }
    }

    private static long ReadAck(string segment)
    {
        try
        {
            var bytes = File.ReadAllBytes(segment + ".ack");
            return bytes.Length == 8 ? BinaryPrimitives.ReadInt64LittleEndian(bytes) : 0;
        }
        catch (FileNotFoundException)
        {
            return 0;
        }
    }

    private static void WriteAck(string segment, long offset)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, offset);
        var temp = segment + ".ack.tmp";
        using (var f = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            f.Write(bytes);
            f.Flush(flushToDisk: true);
        }

        File.Move(temp, segment + ".ack", overwrite: true);
    }

    private static string Hash(string uri) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(uri)))[..16].ToLowerInvariant();
}

/// <summary>A spooled record and where the next one starts.</summary>
internal sealed record SpoolEntry(SpoolRecord Record, string Segment, long NextOffset, bool LastInSegment);

internal static partial class SpoolLog
{
    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "A torn record at offset {Offset} of spool segment {Segment} ({Bytes} bytes, written when a process stopped mid-write) was skipped.")]
    public static partial void TornRecord(ILogger logger, string segment, long offset, long bytes);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Error, Message = "The spool reached its size cap ({MaxBytes} bytes) in {Folder}: new entities are dropped and counted until it drains.")]
    public static partial void Full(ILogger logger, long maxBytes, string folder);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Warning, Message = "The tracking server is unreachable ({Reason}): {Count} entities of run {RunId} went to the spool and will be replayed.")]
    public static partial void Spooled(ILogger logger, int count, string runId, string reason);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Information, Message = "Replayed {Records} spooled records to the tracking server.")]
    public static partial void Replayed(ILogger logger, long records);
}
