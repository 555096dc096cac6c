using System.Buffers;
using System.Collections;

namespace MlOps.Client.Uploading;

/// <summary>
/// The metrics of one <see cref="Batch"/>: rows in an array taken from a pool and given back once the batch is delivered
/// (<see cref="Release"/>), so that the uploader's steady state allocates nothing per value. A batch that is spooled,
/// kept for a re-send or refused keeps its array until the garbage collector takes it: only a batch settled for good
/// gives it back, so no array is ever shared by two batches. The first few rows sit in a small array of their own: a
/// batch of one value (an entity spilled to the spool by a full buffer, on the training thread) takes no pooled array.
/// </summary>
internal sealed class PooledMetricRows : IEnumerable<MetricRow>
{
    /// <summary>Rows kept in a small array of their own before the batch takes a pooled one.</summary>
    private const int SmallRows = 4;

    private MetricRow[] _rows = [];
    private bool _pooled;

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
        var (rows, pooled, count) = (_rows, _pooled, Count);
        (_rows, _pooled, Count) = ([], false, 0);
        if (pooled)
        {
            Array.Clear(rows, 0, count);
            ArrayPool<MetricRow>.Shared.Return(rows);
        }
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
        if (_rows.Length == 0)
        {
            _rows = new MetricRow[SmallRows];
            return;
        }

        // A batch holds at most MLflow's 1000 metrics: one array of that size, reused from the pool.
        var grown = ArrayPool<MetricRow>.Shared.Rent(Math.Max(Validation.MlflowLimits.MaxMetricsPerBatch, Count * 2));
        Span.CopyTo(grown);
        var (old, pooled) = (_rows, _pooled);
        (_rows, _pooled) = (grown, true);
        if (pooled)
        {
            Array.Clear(old, 0, Count);
            ArrayPool<MetricRow>.Shared.Return(old);
        }
    }
}
