using Microsoft.Extensions.Logging;

namespace MlOps.Client.Uploading;

/// <summary>Log events of the uploader.</summary>
internal static partial class UploaderLog
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "The MLflow upload buffer ({Capacity} entities) is full: {What}. The tracking server is slow or unreachable.")]
    public static partial void BufferFull(ILogger logger, int capacity, string what);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "A batch of {Count} entities for run {RunId} failed and will be sent again: {Reason}")]
    public static partial void BatchFailed(ILogger logger, int count, string runId, string reason);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Error, Message = "MLflow refused {Kind} '{Key}' of run {RunId}: {Reason}")]
    public static partial void EntityRejected(ILogger logger, string kind, string key, string runId, string reason);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Error, Message = "Flush did not complete within {TimeoutSeconds} s: {Pending} entities are still waiting for the tracking server.")]
    public static partial void FlushTimedOut(ILogger logger, double timeoutSeconds, long pending);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Error, Message = "The MLflow uploader loop hit an unexpected error; it keeps running.")]
    public static partial void LoopError(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Error, Message = "Run {RunId} can no longer be logged to: {Reason}. Its pending entities are dropped; logging in it throws.")]
    public static partial void RunLost(ILogger logger, string runId, string reason);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Warning, Message = "The tracking server is falling behind: a batch waited {WindowMs} ms for one of the {Slots} request slots ({Backlog} entities waiting in memory). What waits longer goes to the spool and is replayed in order, so a crash costs at most the last {WindowMs} ms of logging and the requests in flight; Counters.SpoolBytes and the mlops.client.uploader.spool.bytes gauge show the backlog. (Said once until the spool drains.)")]
    public static partial void Lagging(ILogger logger, double windowMs, int slots, long backlog);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Error, Message = "MLflow refused more entities of run {RunId}; further refusals of this run are counted, not logged.")]
    public static partial void MoreRejected(ILogger logger, string runId);
}
