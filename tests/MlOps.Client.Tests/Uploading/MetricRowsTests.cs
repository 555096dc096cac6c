using Microsoft.Extensions.Logging.Abstractions;
using MlOps.Client.Stores;
using MlOps.Client.Tests.Fixtures;
using MlOps.Client.Tracking;
using MlOps.Client.Uploading;

namespace MlOps.Client.Tests.Uploading;

/// <summary>
/// Issue V: the uploader carries metrics as rows in a pooled array, not as a <see cref="Metric"/> object per value
/// (those objects were its garbage collections, which stop the training thread too). The built-in stores take the rows;
/// any other store still gets <see cref="Metric"/> objects, the same as before.
/// </summary>
public sealed class MetricRowsTests
{
    private const string ModelId = "m-4354cf06f15548849112e7b7a3ab9856";

    [Fact]
    public async Task A_store_that_takes_rows_gets_the_rows_and_no_Metric_list()
    {
        var store = new RowsStore(new FakeTrackingStore());
        await using (var tracker = new Tracker(store, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false }))
        {
            using var run = await tracker.StartRunAsync("rows");
            for (var i = 0; i < 2500; i++)
            {
                run.LogMetric("loss", 1.0 / (i + 1), i);
            }

            run.LogMetric("accuracy", 0.93, 2, ModelId, new Dataset { Name = "iris-test", Digest = "b90c1eab" });
            run.LogParam("max_depth", 6);
        }

        Assert.Equal(0, store.MetricListCalls);
        Assert.Equal(2501, store.Rows.Count);
        // Batches go out concurrently (their order between them is not kept); every value arrives once and intact.
        var loss = store.Rows.Where(r => r.Key == "loss").OrderBy(r => r.Step).ToList();
        Assert.Equal(Enumerable.Range(0, 2500).Select(i => (long)i), loss.Select(r => r.Step));
        Assert.All(loss, r => Assert.Equal(1.0 / (r.Step + 1), r.Value));
        var linked = Assert.Single(store.Rows, r => r.Key == "accuracy");
        Assert.Equal(new MetricLink(ModelId, "iris-test", "b90c1eab"), linked.Link);
        Assert.All(store.Rows.Where(r => r.Key == "loss"), r => Assert.Null(r.Link));
    }

    [Fact]
    public async Task Any_other_store_gets_Metric_objects_with_their_links_as_before()
    {
        var inner = new FakeTrackingStore();
        string runId;
        await using (var tracker = new Tracker(inner, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false }))
        {
            using var run = await tracker.StartRunAsync("metrics");
            runId = run.RunId;
            run.LogMetric("loss", 0.5, 1);
            run.LogMetric("accuracy", 0.93, 2, ModelId, new Dataset { Name = "iris-test", Digest = "b90c1eab" });
        }

        var metrics = inner.Metrics(runId);
        Assert.Equal(["loss", "accuracy"], metrics.Select(m => m.Key));
        Assert.Equal((ModelId, "iris-test", "b90c1eab"), (metrics[1].ModelId, metrics[1].DatasetName, metrics[1].DatasetDigest));
        Assert.Null(metrics[0].ModelId);
    }

    [Fact]
    public async Task A_delivered_batch_gives_its_rows_back_and_a_batch_the_server_could_not_take_keeps_them()
    {
        var store = new RowsStore(new FakeTrackingStore());
        var delivery = new Delivery(store, new UploaderOptions(), TimeProvider.System, NullLogger.Instance, spool: null);
        var delivered = NewBatch("r", 3);
        await delivery.DeliverAsync(delivered, default);
        Assert.Equal(3, delivery.Sent);
        Assert.Equal(0, delivered.Metrics.Count); // released: its array is back in the pool, cleared

        store.Fault = new TimeoutException("no answer"); // unavailable, and no quick re-send (no real wait in the test)
        var kept = NewBatch("r", 3);
        await delivery.DeliverAsync(kept, default);
        Assert.Equal(3, kept.Metrics.Count); // kept for a re-send with its rows
        Assert.Equal(1, delivery.PendingRetries);
        Assert.Equal(["m0", "m1", "m2"], kept.Metrics.Select(r => r.Key));
        Assert.Equal(3, delivery.Sent);
    }

    [Fact]
    public void Released_rows_are_cleared_so_that_the_pool_holds_no_caller_strings()
    {
        var rowsField = typeof(PooledMetricRows).GetField("_rows", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;
        var rows = new PooledMetricRows();
        rows.Add(new MetricRow("lone", 1, 2, 3));
        for (var i = 0; i < 9; i++)
        {
            rows.Add(new MetricRow(new string('k', 3), 1, 2, i, new MetricLink("m", null, null)));
        }

        var array = (MetricRow[])rowsField.GetValue(rows)!;
        Assert.True(array.Length >= 1000, "a batch past a few values takes an array for MLflow's 1000 metrics from the pool");
        Assert.Equal(10, rows.Count);
        Assert.Equal(["lone", .. Enumerable.Repeat("kkk", 9)], rows.Select(r => r.Key));
        rows.Release();
        Assert.Equal(0, rows.Count);
        Assert.All(array.Take(10), r => Assert.Equal(default, r)); // the array given back to the pool keeps nothing alive
        rows.Release(); // twice is harmless
        rows.Add(new MetricRow("again", 1, 2, 3)); // and the rows can be filled again
        Assert.Equal("again", Assert.Single(rows).Key);
        rows.Release();
    }

    [Fact]
    public void A_batch_split_or_spooled_keeps_every_row_and_link()
    {
        var batch = NewBatch("r", 5);
        batch.Metrics.Add(new Metric("linked", 1, 2, 3) { ModelId = ModelId, DatasetName = "d" });
        var (left, right) = batch.Split();
        Assert.Equal(batch.Metrics.Select(r => r), left.Metrics.Concat(right.Metrics));
        var record = SpoolQueue.ToRecord(batch);
        Assert.Equal(batch.Metrics.Select(r => r.ToMetric()), record.Metrics);
        Assert.Equal(batch.Metrics.Select(r => r), SpoolQueue.ToBatch(record).Metrics);
    }

    private static Batch NewBatch(string runId, int metrics)
    {
        var batch = new Batch(runId);
        for (var i = 0; i < metrics; i++)
        {
            var entity = PendingEntity.ForMetric(runId, "m" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), i, 1000, i);
            batch.Add(in entity);
        }

        return batch;
    }

    /// <summary>A store taking rows as the built-in stores do; it records them and hands the inner store Metric objects.</summary>
    private sealed class RowsStore(FakeTrackingStore inner) : MlOps.Client.Testing.DelegatingTrackingStore(inner), IMetricRowsStore
    {
        private readonly List<MetricRow> _rows = [];

        public List<MetricRow> Rows
        {
            get
            {
                lock (_rows)
                {
                    return [.. _rows];
                }
            }
        }

        public int MetricListCalls { get; private set; }

        public Exception? Fault { get; set; }

        public override Task LogBatchAsync(string runId, IReadOnlyList<Metric> metrics, IReadOnlyList<Param> parameters, IReadOnlyList<RunTag> tags, CancellationToken cancellationToken)
        {
            MetricListCalls++;
            return base.LogBatchAsync(runId, metrics, parameters, tags, cancellationToken);
        }

        public Task LogBatchAsync(string runId, ReadOnlyMemory<MetricRow> metrics, IReadOnlyList<Param> parameters, IReadOnlyList<RunTag> tags, CancellationToken cancellationToken)
        {
            if (Fault is { } fault)
            {
                return Task.FromException(fault);
            }

            lock (_rows)
            {
                _rows.AddRange(metrics.Span);
            }

            return runId == "r" ? Task.CompletedTask : Inner.LogBatchAsync(runId, [.. metrics.ToArray().Select(m => m.ToMetric())], parameters, tags, cancellationToken);
        }
    }
}
