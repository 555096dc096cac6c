using MlOps.Client.Uploading.Spooling;

namespace MlOps.Client.Uploading;

/// <summary>Settings of the batched uploader (part of the tracker's options). The defaults lose nothing.</summary>
public sealed class UploaderOptions
{
    /// <summary>
    /// Entities the buffer holds before <see cref="BufferFullPolicy"/> applies, rounded up to a power of two (the ring's
    /// size): the default 100,000 makes a ring of 131,072 (about 8 MB).
    /// </summary>
    public int MaxBufferedEntities { get; set; } = 100_000;

    /// <summary>
    /// What logging does when the buffer is full. Default <see cref="BufferFullPolicy.Wait"/>: the logging call waits for
    /// room (a warning is logged within a second). While the spool holds records (the server is away), a full buffer
    /// spills to the spool instead, so an outage never blocks the training thread.
    /// </summary>
    public BufferFullPolicy BufferFullPolicy { get; set; } = BufferFullPolicy.Wait;

    /// <summary>The longest an entity waits in the buffer before it is sent. Default 500 ms.</summary>
    public TimeSpan MaxBatchDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>log-batch requests in flight at once. Default 4.</summary>
    public int MaxConcurrentRequests { get; set; } = 4;

    /// <summary>
    /// How long one upload request may take before the uploader counts the server as away. Default 10 s. The uploader
    /// sends each request once per attempt (the client's <see cref="MlflowRetryOptions"/> apply to direct client calls
    /// only) and owns re-sends, outage detection and the spool.
    /// </summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The longest wait between two attempts while the server is away (jittered exponential backoff from 0.5 s, never
    /// shorter than the server's <c>Retry-After</c>). Default 10 s: the replay starts at most about 10 s after the server
    /// answers again, with one probe request per interval meanwhile.
    /// </summary>
    public TimeSpan MaxRetryBackoff { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The on-disk spool for outages. On by default for a tracking server (<see cref="SpoolOptions.Enabled"/> left
    /// <see langword="null"/>), off for the embedded store; it is created only when the server is first unreachable.
    /// </summary>
    public SpoolOptions Spool { get; set; } = new();

    /// <summary>How long ending a run waits for its entities and its end to be delivered or spooled. Default 2 minutes.</summary>
    public TimeSpan FlushTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long disposal, host shutdown and process exit wait for delivery, in all (ending the open runs, delivering, stopping the uploader). Default 30 seconds.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A copy, spool options included.</summary>
    internal UploaderOptions Copy()
    {
        var copy = (UploaderOptions)MemberwiseClone();
        copy.Spool = Spool.Copy();
        return copy;
    }
}
