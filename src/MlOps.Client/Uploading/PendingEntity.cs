namespace MlOps.Client.Uploading;

/// <summary>The kind of a queued entity.</summary>
internal enum EntityKind : byte
{
    Metric,
    Param,
    Tag,

    /// <summary>The end of a run: <see cref="PendingEntity.Step"/> holds the status, <see cref="PendingEntity.Timestamp"/> the end time.</summary>
    RunEnd,
}

/// <summary>
/// One metric, param or tag waiting to be sent. A struct stored in a preallocated ring: queuing one costs no
/// allocation (the strings are the caller's).
/// </summary>
internal struct PendingEntity
{
    public string RunId;
    public string Key;
    public double Value;
    public long Timestamp;
    public long Step;
    public EntityKind Kind;

    /// <summary>
    /// A param's or tag's value, or a metric's link: one field for both (an entity has one or the other), so that an
    /// entity and its ring sequence fill one 64-byte cache line.
    /// </summary>
    private object? _extra;

    /// <summary>A param's or tag's value.</summary>
    public string? Text
    {
        readonly get => _extra as string;
        set => _extra = value;
    }

    /// <summary>The logged model and dataset a metric is linked to (MLflow 3), or <see langword="null"/>.</summary>
    public MetricLink? Link
    {
        readonly get => _extra as MetricLink;
        set => _extra = value;
    }

    /// <summary>
    /// Copies this entity into <paramref name="destination"/> field by field: a struct assignment of this shape compiles
    /// to a <c>rep movsq</c> for the plain fields, whose start-up costs more than the whole copy (issue V: about a third
    /// of a <c>LogMetric</c> call).
    /// </summary>
    public readonly void CopyTo(ref PendingEntity destination)
    {
        destination.RunId = RunId;
        destination.Key = Key;
        destination._extra = _extra;
        destination.Value = Value;
        destination.Timestamp = Timestamp;
        destination.Step = Step;
        destination.Kind = Kind;
    }

    public static PendingEntity ForMetric(string runId, string key, double value, long timestamp, long step) =>
        new() { RunId = runId, Key = key, Value = value, Timestamp = timestamp, Step = step, Kind = EntityKind.Metric };

    public static PendingEntity ForMetric(string runId, string key, double value, long timestamp, long step, MetricLink? link) =>
        new() { RunId = runId, Key = key, Value = value, Timestamp = timestamp, Step = step, Kind = EntityKind.Metric, Link = link };

    public static PendingEntity ForParam(string runId, string key, string value) =>
        new() { RunId = runId, Key = key, Text = value, Kind = EntityKind.Param };

    public static PendingEntity ForTag(string runId, string key, string value) =>
        new() { RunId = runId, Key = key, Text = value, Kind = EntityKind.Tag };

    public static PendingEntity ForRunEnd(string runId, RunStatus status, long endTimeMs) =>
        new() { RunId = runId, Key = "", Step = (int)status, Timestamp = endTimeMs, Kind = EntityKind.RunEnd };

    public readonly override string ToString() => Kind switch
    {
        EntityKind.RunEnd => $"end of run {RunId} ({(RunStatus)(int)Step})",
        EntityKind.Metric => $"metric '{Key}'={Value} step {Step} of run {RunId}",
        EntityKind.Param => $"param '{Key}' of run {RunId}",
        _ => $"tag '{Key}' of run {RunId}",
    };
}
