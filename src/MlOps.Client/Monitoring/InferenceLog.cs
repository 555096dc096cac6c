using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MlOps.Client.Monitoring;

/// <summary>
/// The serving host's inference log: each logged request (its rows, predictions, model, request id, time and latency)
/// and each ground-truth answer as one JSON line, in rolling files under <see cref="InferenceLogOptions.Directory"/>
/// (<c>inference-*.jsonl</c>, <c>feedback-*.jsonl</c>).
/// <para>
/// <b>JSON Lines, not Parquet</b>: a line is whole or torn, so a crash mid-write costs at most the line being written and
/// every file stays readable (a Parquet file is unreadable until its footer is written at close); lines are appended
/// without holding rows in memory; any tool reads them (pandas <c>read_json(lines=True)</c>, DuckDB, <c>jq</c>). The cost
/// is size: about 3 times a Parquet file's for numeric rows, which <see cref="InferenceLogOptions.MaxBytes"/> bounds.
/// </para>
/// <para>
/// A request never waits for the log: <see cref="TryLog(InferenceRecord)"/> queues the record (or counts it dropped when
/// <see cref="InferenceLogOptions.QueueCapacity"/> records wait) and one thread of its own writes, at low CPU priority
/// (nice 10 on Linux), so that under full load the requests have the CPU first. The disk is bounded:
/// the oldest files are deleted before the log would pass <see cref="InferenceLogOptions.MaxBytes"/>. Disk failures (a
/// full disk, a file deleted underneath) cost the rows they touch, are counted in <see cref="Statistics"/> and logged
/// once, and the log goes on in a new file.
/// </para>
/// </summary>
public sealed partial class InferenceLog : IAsyncDisposable, IDisposable
{
    /// <summary>The prefix of request files.</summary>
    public const string RecordPrefix = "inference-";

    /// <summary>The prefix of ground-truth files.</summary>
    public const string FeedbackPrefix = "feedback-";

    /// <summary>The files' extension.</summary>
    public const string Extension = ".jsonl";

    private readonly InferenceLogOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly BackgroundQueue _queue;
    private readonly long _maxFileBytes;
    private readonly SortedDictionary<string, FileEntry> _files = new(StringComparer.Ordinal);
    private readonly ArrayBufferWriter<byte> _buffer = new(4096);
    private Utf8JsonWriter? _json;
    private readonly Segment _records = new(RecordPrefix);
    private readonly Segment _feedback = new(FeedbackPrefix);
    private long _totalBytes;
    private long _sequence;
    private long _logged, _sampledOut, _dropped, _evicted, _failed, _feedbackLogged;
    private int _dropWarned;
    private bool _failing;
    private long _failedSinceWarning;

    /// <summary>Opens (or continues) the log in <see cref="InferenceLogOptions.Directory"/>.</summary>
    /// <param name="options">Where and how much.</param>
    /// <param name="logger">Where failures are said (once each).</param>
    /// <param name="timeProvider">The clock (file ages and names).</param>
    /// <exception cref="ArgumentException">An option out of range.</exception>
    public InferenceLog(InferenceLogOptions options, ILogger? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = new InferenceLogOptions
        {
            Directory = options.Directory,
            SampleRate = options.SampleRate,
            MaxBytes = options.MaxBytes,
            MaxFileBytes = options.MaxFileBytes,
            MaxFileAge = options.MaxFileAge,
            QueueCapacity = options.QueueCapacity,
        };
        _logger = logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _maxFileBytes = Math.Min(_options.MaxFileBytes, _options.MaxBytes / 4);
        System.IO.Directory.CreateDirectory(_options.Directory);
        foreach (var file in System.IO.Directory.EnumerateFiles(_options.Directory, "*" + Extension))
        {
            var name = Path.GetFileName(file);
            if (name.StartsWith(RecordPrefix, StringComparison.Ordinal) || name.StartsWith(FeedbackPrefix, StringComparison.Ordinal))
            {
                var length = new FileInfo(file).Length;
                _files[name] = new FileEntry(file, length, Rows: -1);
                _totalBytes += length;
                if (long.TryParse(name[(name.LastIndexOf('-') + 1)..^Extension.Length], NumberStyles.None, CultureInfo.InvariantCulture, out var sequence))
                {
                    _sequence = Math.Max(_sequence, sequence); // a continued log never appends to a file it did not start
                }
            }
        }

        _queue = new BackgroundQueue("MlOps inference log", _options.QueueCapacity, Process, WritePending);
    }

    /// <summary>The log's folder.</summary>
    public string Directory => _options.Directory;

    /// <summary>What the log has done so far.</summary>
    public InferenceLogStatistics Statistics => new(
        Interlocked.Read(ref _logged), Interlocked.Read(ref _sampledOut), Interlocked.Read(ref _dropped), Interlocked.Read(ref _evicted),
        Interlocked.Read(ref _failed), Interlocked.Read(ref _feedbackLogged), Interlocked.Read(ref _totalBytes));

    /// <summary>
    /// Whether the next request is to be logged (the sampling draw; false also counts it as sampled out). Call it before
    /// building an <see cref="InferenceRecord"/>, so that unsampled requests cost nothing.
    /// </summary>
    public bool ShouldLog()
    {
        if (_options.SampleRate >= 1 || (_options.SampleRate > 0 && Random.Shared.NextDouble() < _options.SampleRate))
        {
            return true;
        }

        Interlocked.Increment(ref _sampledOut);
        return false;
    }

    /// <summary>Queues a request's record without waiting; <see langword="false"/> (counted as dropped) when the queue is full or the log closed.</summary>
    /// <param name="record">The record.</param>
    public bool TryLog(InferenceRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return Enqueue(record, record.Rows);
    }

    /// <summary>Queues ground truth for a logged request without waiting.</summary>
    /// <param name="feedback">The targets.</param>
    public bool TryLog(InferenceFeedback feedback)
    {
        ArgumentNullException.ThrowIfNull(feedback);
        return Enqueue(feedback, feedback.Targets.Count);
    }

    /// <summary>Waits until everything queued so far is written and handed to the operating system.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (_queue.EnqueueControl(done))
        {
            await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Writes what is queued (waiting up to 10 seconds for the writer's thread) and closes the files.</summary>
    public void Dispose()
    {
        if (_queue.CompleteAndJoin(TimeSpan.FromSeconds(10)))
        {
            _records.Close();
            _feedback.Close();
            _json?.Dispose();
        }
    }

    /// <summary>Writes what is queued and closes the files.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Complete();
        await _queue.Completion.ConfigureAwait(false);
        _records.Close(); // the writer's thread has ended: nothing else touches the files
        _feedback.Close();
        _json?.Dispose();
    }

    private bool Enqueue(object item, long rows)
    {
        if (_queue.TryEnqueue(item))
        {
            return true;
        }

        Interlocked.Add(ref _dropped, rows);
        if (Interlocked.Exchange(ref _dropWarned, 1) == 0)
        {
            Log.QueueFull(_logger, _options.QueueCapacity);
        }

        return false;
    }

    /// <summary>One queued item, on the writer's thread.</summary>
    private void Process(object item)
    {
        switch (item)
        {
            case InferenceRecord record:
                Append(_records, Serialize(record), record.Rows);
                break;
            case InferenceFeedback feedback:
                Append(_feedback, Serialize(feedback), feedback.Targets.Count);
                break;
            case TaskCompletionSource flush:
                WritePending();
                flush.TrySetResult(); // every line before it is with the operating system
                break;
        }
    }

    /// <summary>After each drain of the queue: the lines gathered go to their files, one write per file.</summary>
    private void WritePending()
    {
        WritePending(_records);
        WritePending(_feedback);
    }

    /// <summary>
    /// Adds a line to its segment's batch. A batch is written in one system call at the end of each drain (or at 64 KB):
    /// whole lines only, so a crash of this process loses nothing written and a failed write costs that batch's rows.
    /// </summary>
    private void Append(Segment segment, ReadOnlySpan<byte> line, long rows)
    {
        if (line.Length > _maxFileBytes)
        {
            // One request larger than a file may be: not logged rather than passing the limit.
            Interlocked.Add(ref _dropped, rows);
            Log.TooLarge(_logger, line.Length, _maxFileBytes);
            return;
        }

        if (segment.Stream is null || segment.Length + segment.Pending.WrittenCount + line.Length > _maxFileBytes || _time.GetUtcNow() - segment.Opened >= _options.MaxFileAge)
        {
            WritePending(segment);
            try
            {
                Roll(segment);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Failed(segment, rows, ex);
                return;
            }
        }

        segment.Pending.Write(line);
        segment.PendingRows += rows;
        if (segment.Pending.WrittenCount >= 64 * 1024)
        {
            WritePending(segment);
        }
    }

    private void WritePending(Segment segment)
    {
        if (segment.Pending.WrittenCount == 0)
        {
            return;
        }

        var batch = segment.Pending.WrittenSpan;
        var rows = segment.PendingRows;
        try
        {
            CheckDeleted(segment);
            if (segment.Stream is null)
            {
                Roll(segment);
            }

            MakeRoom(batch.Length);
            segment.Stream!.Write(batch);
            segment.Length += batch.Length;
            segment.Rows += rows;
            Interlocked.Add(ref _totalBytes, batch.Length);
            Interlocked.Add(ref segment == _records ? ref _logged : ref _feedbackLogged, rows);
            if (_failing)
            {
                _failing = false;
                Log.Recovered(_logger, _failedSinceWarning);
                _failedSinceWarning = 0;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Failed(segment, rows, ex);
        }
        finally
        {
            segment.Pending.ResetWrittenCount();
            segment.PendingRows = 0;
        }
    }

    /// <summary>
    /// A full disk, a folder gone: these rows are lost (counted, said once); the next line starts a new file so that it
    /// is not glued to a torn one.
    /// </summary>
    private void Failed(Segment segment, long rows, Exception ex)
    {
        Interlocked.Add(ref _failed, rows);
        _failedSinceWarning += rows;
        Seal(segment);
        if (!_failing)
        {
            _failing = true;
            Log.WriteFailed(_logger, _options.Directory, ex.Message);
        }
    }

    /// <summary>A file another process deleted: its rows are lost (counted, said once) and writing goes on in a new file.</summary>
    private void CheckDeleted(Segment segment)
    {
        if (segment.Stream is null || _time.GetUtcNow() - segment.Checked < TimeSpan.FromSeconds(1))
        {
            return;
        }

        segment.Checked = _time.GetUtcNow();
        if (File.Exists(segment.Path))
        {
            return;
        }

        Interlocked.Add(ref _failed, segment.Rows);
        Interlocked.Add(ref _totalBytes, -segment.Length);
        _files.Remove(segment.Name!);
        Log.FileDeleted(_logger, segment.Path!, segment.Rows);
        segment.Close();
    }

    /// <summary>Closes a segment's file and records its final size and rows (eviction reads them; the open file is never evicted).</summary>
    private void Seal(Segment segment)
    {
        if (segment.Name is { } name && _files.ContainsKey(name))
        {
            _files[name] = new FileEntry(segment.Path!, segment.Length, segment.Rows);
        }

        segment.Close();
    }

    private void Roll(Segment segment)
    {
        Seal(segment);
        var now = _time.GetUtcNow();
        string name, path;
        do
        {
            name = string.Create(CultureInfo.InvariantCulture, $"{segment.Prefix}{now:yyyyMMdd'T'HHmmss'Z'}-{Interlocked.Increment(ref _sequence):D6}{Extension}");
            path = Path.Combine(_options.Directory, name);
        }
        while (File.Exists(path));

        System.IO.Directory.CreateDirectory(_options.Directory);
        // Unbuffered: each batch of whole lines goes to the operating system in one write, so a crash of this process loses nothing
        // written, and a failed write costs that batch alone.
        segment.Stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        segment.Name = name;
        segment.Path = path;
        segment.Length = segment.Stream.Length;
        segment.Rows = 0;
        segment.Opened = now;
        segment.Checked = now;
        _files[name] = new FileEntry(path, segment.Length, 0);
    }

    /// <summary>Deletes the oldest closed files until <paramref name="bytes"/> more fit under the limit; their rows are counted as evicted.</summary>
    private void MakeRoom(long bytes)
    {
        while (Interlocked.Read(ref _totalBytes) + bytes > _options.MaxBytes)
        {
            var oldest = _files.Where(f => f.Key != _records.Name && f.Key != _feedback.Name).Select(f => (KeyValuePair<string, FileEntry>?)f)
                .OrderBy(f => f!.Value.Key[(f.Value.Key.IndexOf('-', StringComparison.Ordinal) + 1)..], StringComparer.Ordinal).FirstOrDefault();
            if (oldest is not { } victim)
            {
                throw new IOException($"The inference log cannot fit {bytes} bytes under InferenceLogOptions.MaxBytes ({_options.MaxBytes}).");
            }

            var rows = victim.Value.Rows >= 0 ? victim.Value.Rows : CountLines(victim.Value.Path);
            File.Delete(victim.Value.Path);
            _files.Remove(victim.Key);
            Interlocked.Add(ref _totalBytes, -victim.Value.Length);
            if (victim.Key.StartsWith(RecordPrefix, StringComparison.Ordinal))
            {
                Interlocked.Add(ref _evicted, rows);
            }
        }
    }

    private static long CountLines(string path)
    {
        try
        {
            return InferenceLogReader.ReadFile(path).Records.Sum(r => (long)r.Rows);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>The writer's one JSON writer, reset per line (no allocation per record).</summary>
    private Utf8JsonWriter Json()
    {
        _buffer.ResetWrittenCount();
        if (_json is null)
        {
            _json = new Utf8JsonWriter(_buffer, new JsonWriterOptions { SkipValidation = true }); // the log writes its own structure
        }
        else
        {
            _json.Reset(_buffer);
        }

        return _json;
    }

    private ReadOnlySpan<byte> Serialize(InferenceRecord record)
    {
        {
            var json = Json();
            json.WriteStartObject();
            json.WriteString("request_id", record.RequestId);
            WriteTimestamp(json, record.Timestamp);
            if (record.ModelUri is not null)
            {
                json.WriteString("model_uri", record.ModelUri);
            }

            json.WriteNumber("latency_ms", Math.Round(record.LatencyMilliseconds, 3));
            json.WriteNumber("rows", record.Rows);
            WriteColumns(json, "inputs", record.Inputs);
            WriteColumns(json, "predictions", record.Predictions);
            json.WriteEndObject();
            json.Flush();
        }

        _buffer.Write("\n"u8);
        return _buffer.WrittenSpan;
    }

    private ReadOnlySpan<byte> Serialize(InferenceFeedback feedback)
    {
        {
            var json = Json();
            json.WriteStartObject();
            json.WriteString("request_id", feedback.RequestId);
            WriteTimestamp(json, feedback.Timestamp);
            json.WriteStartArray("targets");
            foreach (var v in feedback.Targets)
            {
                WriteValue(json, v);
            }

            json.WriteEndArray();
            json.WriteEndObject();
            json.Flush();
        }

        _buffer.Write("\n"u8);
        return _buffer.WrittenSpan;
    }

    private static void WriteTimestamp(Utf8JsonWriter json, DateTimeOffset timestamp)
    {
        Span<char> text = stackalloc char[32];
        timestamp.UtcDateTime.TryFormat(text, out var length, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        json.WriteString("timestamp", text[..length]);
    }

    private static void WriteColumns(Utf8JsonWriter json, string name, IReadOnlyList<InferenceColumn> columns)
    {
        json.WriteStartObject(name);
        foreach (var column in columns)
        {
            json.WriteStartArray(column.Name);
            switch (column.Values)
            {
                case NumberValues numbers:
                    foreach (var d in numbers.Values)
                    {
                        LogNumbers.Write(json, d);
                    }

                    break;
                case VectorValues vectors:
                    for (var r = 0; r < vectors.Count; r++)
                    {
                        json.WriteStartArray();
                        for (var i = 0; i < vectors.Width; i++)
                        {
                            LogNumbers.Write(json, vectors.Values[(r * vectors.Width) + i]);
                        }

                        json.WriteEndArray();
                    }

                    break;
                default:
                    foreach (var v in column.Values)
                    {
                        WriteValue(json, v);
                    }

                    break;
            }

            json.WriteEndArray();
        }

        json.WriteEndObject();
    }

    private static void WriteValue(Utf8JsonWriter json, object? value)
    {
        switch (value)
        {
            case null:
                json.WriteNullValue();
                break;
            case double d:
                LogNumbers.Write(json, d);
                break;
            case float f:
                LogNumbers.Write(json, f);
                break;
            case long l:
                json.WriteNumberValue(l);
                break;
            case int i:
                json.WriteNumberValue(i);
                break;
            case bool b:
                json.WriteBooleanValue(b);
                break;
            case string s:
                json.WriteStringValue(s);
                break;
            case double[] vector:
                json.WriteStartArray();
                foreach (var d in vector)
                {
                    LogNumbers.Write(json, d);
                }

                json.WriteEndArray();
                break;
            case float[] vector:
                json.WriteStartArray();
                foreach (var f in vector)
                {
                    LogNumbers.Write(json, f);
                }

                json.WriteEndArray();
                break;
            case object?[] items:
                json.WriteStartArray();
                foreach (var item in items)
                {
                    WriteValue(json, item);
                }

                json.WriteEndArray();
                break;
            default:
                json.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }

    private sealed record FileEntry(string Path, long Length, long Rows);

    /// <summary>The file one kind of line is being written to.</summary>
    private sealed class Segment(string prefix)
    {
        public string Prefix { get; } = prefix;

        public FileStream? Stream { get; set; }

        public string? Name { get; set; }

        public string? Path { get; set; }

        public long Length { get; set; }

        public long Rows { get; set; }

        public DateTimeOffset Opened { get; set; }

        public DateTimeOffset Checked { get; set; }

        /// <summary>Lines gathered since the last write (whole lines only).</summary>
        public ArrayBufferWriter<byte> Pending { get; } = new(64 * 1024 + 4096);

        public long PendingRows { get; set; }

        public void Close()
        {
            try
            {
                Stream?.Dispose();
            }
            catch (IOException)
            {
                // What could not be flushed is counted by the caller.
            }

            Stream = null;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6001, Level = LogLevel.Warning, Message = "Inference log: {Capacity} records wait to be written; requests are served without being logged until the writer catches up (counted in InferenceLog.Statistics.Dropped; said once).")]
        public static partial void QueueFull(ILogger logger, int capacity);

        [LoggerMessage(EventId = 6002, Level = LogLevel.Warning, Message = "Inference log: a request of {Bytes} bytes is larger than a log file may be ({Limit} bytes); not logged (counted as dropped).")]
        public static partial void TooLarge(ILogger logger, long bytes, long limit);

        [LoggerMessage(EventId = 6003, Level = LogLevel.Warning, Message = "Inference log: writing to {Directory} failed ({Reason}); the rows of failed writes are counted in Statistics.Failed until writing works again (said once).")]
        public static partial void WriteFailed(ILogger logger, string directory, string reason);

        [LoggerMessage(EventId = 6004, Level = LogLevel.Information, Message = "Inference log: writing works again; {Rows} rows were lost while it failed.")]
        public static partial void Recovered(ILogger logger, long rows);

        [LoggerMessage(EventId = 6005, Level = LogLevel.Warning, Message = "Inference log: {Path} was deleted while being written; its {Rows} rows are lost (counted in Statistics.Failed); writing goes on in a new file.")]
        public static partial void FileDeleted(ILogger logger, string path, long rows);
    }
}

/// <summary>What an <see cref="InferenceLog"/> has done.</summary>
/// <param name="Logged">Rows written.</param>
/// <param name="SampledOut">Requests not logged by the sampling rate.</param>
/// <param name="Dropped">Rows not logged because the queue was full (or a request was larger than a file may be).</param>
/// <param name="Evicted">Rows deleted with the oldest files to stay under the disk limit.</param>
/// <param name="Failed">Rows lost to disk failures (a full disk, a file deleted underneath).</param>
/// <param name="FeedbackLogged">Targets written.</param>
/// <param name="Bytes">Bytes the log's files take.</param>
public sealed record InferenceLogStatistics(long Logged, long SampledOut, long Dropped, long Evicted, long Failed, long FeedbackLogged, long Bytes);
