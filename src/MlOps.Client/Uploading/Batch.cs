namespace MlOps.Client.Uploading;

/// <summary>
/// One request of the uploader for one run: a <c>log-batch</c> (metrics, params, tags within MLflow's limits), or the
/// run's end (<c>runs/update</c> with the final status and the end time taken when the run ended), which is sent after
/// every batch of the run queued before it.
/// </summary>
internal sealed class Batch(string runId)
{
    private HashSet<string>? _paramKeys;
    private Dictionary<string, int>? _tagIndex;

    public string RunId { get; } = runId;

    /// <summary>The metrics, as rows in a pooled array (no <see cref="Metric"/> object per value).</summary>
    public PooledMetricRows Metrics { get; } = new();

    public List<Param> Params { get; } = [];

    public List<RunTag> Tags { get; } = [];

    /// <summary>The run's final status and end time when this is a run end; <see langword="null"/> for a log-batch.</summary>
    public RunEnd? End { get; init; }

    /// <summary>Whether this batch was replayed from records another process spooled (counted apart, so that each process's counters add up).</summary>
    public bool Foreign { get; init; }

    /// <summary>Whether this is the run's end rather than a log-batch.</summary>
    public bool IsRunEnd => End is not null;

    /// <summary>Metrics, params and tags in the batch (0 for a run end).</summary>
    public int Count => Metrics.Count + Params.Count + Tags.Count;

    public static Batch ForRunEnd(string runId, RunStatus status, long endTimeMs) => new(runId) { End = new RunEnd(status, endTimeMs) };

    /// <summary>Whether one more entity of <paramref name="kind"/> fits MLflow's log-batch limits.</summary>
    public bool CanAdd(EntityKind kind) =>
        kind switch
        {
            EntityKind.Metric => CanTake(1, 0, 0),
            EntityKind.Param => CanTake(0, 1, 0),
            _ => CanTake(0, 0, 1),
        };

    /// <summary>
    /// The one batch-fit rule (live packing and spool replay): whether this many more metrics, params and tags stay within
    /// MLflow's log-batch limits (1000 entities, 1000 metrics, 100 params, 1000 tags).
    /// </summary>
    public bool CanTake(int metrics, int @params, int tags) =>
        Count + metrics + @params + tags <= Validation.MlflowLimits.MaxEntitiesPerBatch
        && Metrics.Count + metrics <= Validation.MlflowLimits.MaxMetricsPerBatch
        && Params.Count + @params <= Validation.MlflowLimits.MaxParamsPerBatch
        && Tags.Count + tags <= Validation.MlflowLimits.MaxTagsPerBatch;

    public void Add(in PendingEntity e)
    {
        switch (e.Kind)
        {
            case EntityKind.Metric:
                Metrics.Add(new MetricRow(e.Key, e.Value, e.Timestamp, e.Step, e.Link));
                break;
            case EntityKind.Param:
                // One value per key in a batch (the server refuses duplicates); the run scope already refused conflicts.
                if ((_paramKeys ??= new HashSet<string>(StringComparer.Ordinal)).Add(e.Key))
                {
                    Params.Add(new Param(e.Key, e.Text!));
                }

                break;
            default:
                // The last value of a tag wins, as it would on the server.
                _tagIndex ??= new Dictionary<string, int>(StringComparer.Ordinal);
                if (_tagIndex.TryGetValue(e.Key, out var i))
                {
                    Tags[i] = new RunTag(e.Key, e.Text!);
                }
                else
                {
                    _tagIndex[e.Key] = Tags.Count;
                    Tags.Add(new RunTag(e.Key, e.Text!));
                }

                break;
        }
    }

    /// <summary>Halves the batch (poison isolation): every entity lands in exactly one half.</summary>
    public (Batch Left, Batch Right) Split()
    {
        var left = new Batch(RunId) { Foreign = Foreign }; // another process's entities stay counted as its
        var right = new Batch(RunId) { Foreign = Foreign };
        var half = Count / 2;
        var i = 0;
        foreach (ref readonly var m in Metrics.Span)
        {
            (i++ < half ? left : right).Metrics.Add(in m);
        }

        foreach (var p in Params)
        {
            (i++ < half ? left : right).Params.Add(p);
        }

        foreach (var t in Tags)
        {
            (i++ < half ? left : right).Tags.Add(t);
        }

        return (left, right);
    }

    public IEnumerable<RejectedEntity> Describe(MlflowException error)
    {
        if (End is { } end)
        {
            yield return new RejectedEntity(RunId, "run end", end.Status.ToString().ToUpperInvariant(), error);
        }

        for (var i = 0; i < Metrics.Count; i++)
        {
            yield return new RejectedEntity(RunId, "metric", Metrics.Span[i].Key, error);
        }

        foreach (var p in Params)
        {
            yield return new RejectedEntity(RunId, "param", p.Key, error);
        }

        foreach (var t in Tags)
        {
            yield return new RejectedEntity(RunId, "tag", t.Key, error);
        }
    }

    /// <summary>Gives the metrics' pooled array back once the batch is settled for good (delivered, or a spilled value the spool has recorded); nothing reads it after.</summary>
    public void Release() => Metrics.Release();

    public override string ToString() => End is { } e ? $"end of run {RunId} ({e.Status})" : $"log-batch of {Count} entities for run {RunId}";
}

/// <summary>The end of a run as the uploader carries it: the final status and the end time taken when the run ended.</summary>
internal sealed record RunEnd(RunStatus Status, long EndTimeMs);
