using System.Buffers;
using System.Collections;

namespace MlOps.Client.Uploading;

/// <summary>
/// The metrics of one <see cref="Batch"/>: rows in an array taken from a pool and given back once the batch is delivered
/// (<see cref="Release"/>), so that the uploader's steady state allocates nothing per value; a value spilled to the spool
/// by a full buffer gives it back as soon as the spool has its record. Another batch that is spooled, kept for a re-send
/// or refused keeps its array until the garbage collector takes it: only a batch settled for good gives it back, so no
/// array is ever shared by two batches.
/// </summary>
internal sealed class PooledMetricRows : IEnumerable<MetricRow>
{
    private MetricRow[] _rows = [];

    /// <summary>How many rows.</summary>
    public int Count { get; private set; }

    /// <summary>The rows, valid until <see cref="Release"/>.</summary>
    public ReadOnlyMemory<MetricRow> Memory => _rows.AsMemory(0, Count);

    /// <summary>The rows, valid until <see cref="Release"/>.</summary>
    public ReadOnlySpan<MetricRow> Span => _rows.AsSpan(0, Count);

    public void Add(in MetricRow row)
    {
        if (Count == _rows.Length)
        {
            Grow();
        }

        _rows[Count++] = row;
    }

    public void Add(Metric metric) => Add(MetricRow.Of(metric));

    public void AddRange(IEnumerable<Metric> metrics)
    {
        foreach (var m in metrics)
        {
            Add(MetricRow.Of(m));
        }
    }

    /// <summary>The <see cref="Metric"/>s the rows stand for (for a store that takes only those, and for the spool).</summary>
    public List<Metric> ToMetrics()
    {
        var list = new List<Metric>(Count);
        foreach (ref readonly var row in Span)
        {
            list.Add(row.ToMetric());
        }

        return list;
    }

    /// <summary>Gives the array back to the pool, cleared (it holds the callers' strings); the rows are empty after it.</summary>
    public void Release()
    {
        var rows = _rows;
        if (rows.Length == 0)
        {
            return;
        }

        _rows = [];
        Array.Clear(rows, 0, Count);
        Count = 0;
        ArrayPool<MetricRow>.Shared.Return(rows);
    }

    public IEnumerator<MetricRow> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return _rows[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private void Grow()
    {
        // A batch holds at most MLflow's 1000 metrics: one array of that size, reused from the pool.
        var grown = ArrayPool<MetricRow>.Shared.Rent(Math.Max(Validation.MlflowLimits.MaxMetricsPerBatch, Count * 2));
        Span.CopyTo(grown);
        var old = _rows;
        _rows = grown;
        if (old.Length > 0)
        {
            Array.Clear(old, 0, Count);
            ArrayPool<MetricRow>.Shared.Return(old);
        }
    }
}
