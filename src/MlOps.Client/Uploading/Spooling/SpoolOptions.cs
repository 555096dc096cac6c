namespace MlOps.Client.Uploading;

/// <summary>
/// The on-disk spool: where entities go when the tracking server stays unreachable past the client's retries (or the
/// buffer is full and <see cref="BufferFullPolicy.Spill"/> is set), to be replayed in order when it answers again or by
/// the next process that uses the same tracking URI.
/// </summary>
public sealed class SpoolOptions
{
    /// <summary>
    /// Whether the spool is used. <see langword="null"/> (the default): for stores that talk to a tracking server (not
    /// for the embedded SQLite store, which writes locally); <see langword="true"/>: for any store; <see langword="false"/>:
    /// never. <c>MLOPS_SPOOL=true|false</c> sets it for <c>Tracker.FromEnvironment</c>. Nothing is written to disk
    /// until an outage (or <see cref="BufferFullPolicy.Spill"/>) needs it.
    /// </summary>
    public bool? Enabled { get; set; }

    /// <summary>The spool root; one folder per tracking URI is made inside. Default: <c>MlOps.Client/spool</c> under the user's local application data (<c>MLOPS_SPOOL_DIR</c>).</summary>
    public string? Directory { get; set; }

    /// <summary>When spooled records are forced to the disk. Default <see cref="SpoolFlushPolicy.Interval"/>.</summary>
    public SpoolFlushPolicy FlushPolicy { get; set; } = SpoolFlushPolicy.Interval;

    /// <summary>With <see cref="SpoolFlushPolicy.Interval"/>, the longest time a written record may stay unsynced. Default 1 s.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The most the spool holds on disk; beyond it new entities are dropped and counted in <see cref="UploaderCounters.SpoolDropped"/>. Default 1 GiB.</summary>
    public long MaxBytes { get; set; } = 1L << 30;

    /// <summary>
    /// The most the spool holds in memory while its disk takes no writes (full, failing, read-only): records are kept
    /// in order and written when the disk takes writes again; beyond this bound new entities are dropped and counted in
    /// <see cref="UploaderCounters.SpoolDropped"/>. Default 64 MiB (about two million metrics).
    /// </summary>
    public long MaxMemoryBytes { get; set; } = 64L << 20;

    /// <summary>The size at which a new segment file is started. Default 16 MiB.</summary>
    public long SegmentBytes { get; set; } = 16L << 20;

    /// <summary>Replay what earlier processes left in the spool as soon as the tracker starts. Default <see langword="true"/>.</summary>
    public bool ReplayOnStart { get; set; } = true;

    /// <summary>The file system calls that can fail (replaced by the fault-injection tests).</summary>
    internal Spooling.SpoolFileSystem? FileSystem { get; set; }

    internal string ResolveRoot() =>
        Directory ?? Environment.GetEnvironmentVariable(Configuration.MlflowEnvironment.SpoolDirectory)
        ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify), "MlOps.Client", "spool");

    /// <summary>A copy.</summary>
    internal SpoolOptions Copy() => (SpoolOptions)MemberwiseClone();
}

/// <summary>When the spool forces its writes to the disk (fsync).</summary>
public enum SpoolFlushPolicy
{
    /// <summary>After every record: nothing written is lost even if the machine loses power; the slowest.</summary>
    EveryRecord,

    /// <summary>At most every <see cref="SpoolOptions.FlushInterval"/>: a process crash loses nothing written (the OS has it), a power loss at most that interval.</summary>
    Interval,

    /// <summary>Left to the operating system.</summary>
    Never,
}
