namespace MlOps.Client.Uploading;

/// <summary>What logging does when the upload buffer is full.</summary>
public enum BufferFullPolicy
{
    /// <summary>The logging call waits until the uploader makes room (backpressure). The default: nothing is lost.</summary>
    Wait,

    /// <summary>The new entity is dropped, counted in <see cref="UploaderCounters.Dropped"/>, and a warning is logged.</summary>
    DropNewest,

    /// <summary>The logging call throws <see cref="InvalidOperationException"/>.</summary>
    Throw,

    /// <summary>
    /// The new entity is written to the on-disk spool (<see cref="UploaderOptions.Spool"/>, which must be enabled) and
    /// replayed when the uploader catches up; until the spool drains, later entities go there too, in order.
    /// </summary>
    Spill,
}

/// <summary>An entity the server refused permanently (after isolating it from the valid ones around it).</summary>
/// <param name="RunId">The run.</param>
/// <param name="Kind"><c>metric</c>, <c>param</c> or <c>tag</c>.</param>
/// <param name="Key">The key.</param>
/// <param name="Error">The server's (or validation's) error.</param>
public sealed record RejectedEntity(string RunId, string Kind, string Key, MlflowException Error)
{
    /// <inheritdoc />
    public override string ToString() => $"{Kind} '{Key}' of run {RunId}: {Error.Message}";
}

/// <summary>A snapshot of the uploader's counters (also published on the <c>MlOps.Client</c> meter).</summary>
public readonly record struct UploaderCounters
{
    /// <summary>Entities logged and accepted for upload: into the buffer, or straight to the spool when the buffer was full (not those dropped under <see cref="BufferFullPolicy.DropNewest"/>, counted in <see cref="Dropped"/>).</summary>
    public long Queued { get; init; }

    /// <summary>Entities logged through this tracker that the server accepted (directly or by replay).</summary>
    public long Sent { get; init; }

    /// <summary>Entities kept in memory for a re-send after the server did not answer (spool off).</summary>
    public long Retried { get; init; }

    /// <summary>Entities the server refused permanently.</summary>
    public long Rejected { get; init; }

    /// <summary>Entities dropped because the buffer was full under <see cref="BufferFullPolicy.DropNewest"/>.</summary>
    public long Dropped { get; init; }

    /// <summary>Logging calls that had to wait for room in the buffer (counted when the wait starts).</summary>
    public long BackpressureWaits { get; init; }

    /// <summary>Entities in the buffer now.</summary>
    public long Buffered { get; init; }

    /// <summary>log-batch requests sent (successful or not).</summary>
    public long Requests { get; init; }

    /// <summary>Entities written to the on-disk spool because the server was unreachable (or the buffer full with <see cref="BufferFullPolicy.Spill"/>).</summary>
    public long Spooled { get; init; }

    /// <summary>Entities this tracker spooled and then delivered to the server by replay (part of <see cref="Sent"/>).</summary>
    public long Replayed { get; init; }

    /// <summary>
    /// Entities that another process spooled (one killed or stopped during an outage) and this tracker delivered by
    /// replay: not part of <see cref="Queued"/> or <see cref="Sent"/>, so that this tracker's own counters add up.
    /// </summary>
    public long ReplayedFromOtherProcesses { get; init; }

    /// <summary>
    /// Entities the spool dropped: at <see cref="SpoolOptions.MaxBytes"/>, beyond <see cref="SpoolOptions.MaxMemoryBytes"/>
    /// while its disk took no writes, or held in memory when the tracker stopped with the disk still failing.
    /// </summary>
    public long SpoolDropped { get; init; }

    /// <summary>Bytes of spooled records not yet delivered: in the spool folder (any process's) and held in memory by this tracker.</summary>
    public long SpoolBytes { get; init; }

    /// <summary>Bytes the spool holds in memory because its disk takes no writes now (full, failing, read-only).</summary>
    public long SpoolMemoryBytes { get; init; }

    /// <summary>
    /// Damaged records in the spool (a torn write, a changed byte) that this tracker skipped, counted and copied to the
    /// spool's <c>damaged/</c> folder; the records around them are delivered.
    /// </summary>
    public long SpoolDamaged { get; init; }

    /// <summary>Entities dropped because their run can no longer be logged to (deleted, not active or unknown on the server).</summary>
    public long Abandoned { get; init; }
}

/// <summary>Raised when entities logged in a run could not be delivered: some were refused by the server.</summary>
public sealed class MlflowUploadException : MlflowException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="rejected">The refused entities.</param>
    public MlflowUploadException(string message, IReadOnlyList<RejectedEntity> rejected)
        : this(message, rejected, rejected.Count)
    {
    }

    /// <summary>Creates the exception for <paramref name="total"/> refused entities, of which the first are kept.</summary>
    /// <param name="message">The message.</param>
    /// <param name="rejected">The first refused entities (at most 100 per run are kept).</param>
    /// <param name="total">How many were refused in all.</param>
    public MlflowUploadException(string message, IReadOnlyList<RejectedEntity> rejected, long total)
        : base(message, rejected.Count > 0 ? rejected[0].Error : null)
    {
        Rejected = rejected;
        TotalRejected = total;
    }

    /// <summary>The first refused entities (at most 100 per run are kept).</summary>
    public IReadOnlyList<RejectedEntity> Rejected { get; }

    /// <summary>How many entities were refused in all.</summary>
    public long TotalRejected { get; }
}
