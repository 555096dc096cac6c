using System.Text.Json.Nodes;
using MlOps.Client.Tests.Fixtures;
using MlOps.Client.Tracking;
using MlOps.Client.Uploading.Spooling;

namespace MlOps.Client.Tests.Tracking;

/// <summary>MLflow 3 metrics linked to a logged model and a dataset (Python's <c>log_metric(..., model_id=, dataset=)</c>).</summary>
public sealed class LinkedMetricTests
{
    private const string ModelId = "m-4354cf06f15548849112e7b7a3ab9856";

    [Fact]
    public async Task A_run_metric_with_a_model_and_a_dataset_reaches_log_batch_with_the_fields_MLflow_3_records()
    {
        using var server = new RecordedServer();
        server.ServeV3("012-runs-create");
        server.ServeV3("061-runs-log-batch-model-id");
        server.ServeV3("100-runs-update-finished");
        using var client = server.CreateClient();
        await using (var tracker = new Tracker(client, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false }))
        {
            using var run = await tracker.StartRunAsync("m", new StartRunOptions { ExperimentId = "1" });
            run.LogMetric("accuracy", 0.93, 2, ModelId, new Dataset { Name = "iris-test", Digest = "b90c1eab" });
            run.LogMetric("loss", 0.2, 2); // no link: no link fields
        }

        var metrics = server.Requests.Where(r => r.Path == "/api/2.0/mlflow/runs/log-batch")
            .SelectMany(r => RecordedServer.BodyOf(r)!["metrics"]!.AsArray()).Select(m => m!.AsObject()).ToList();
        var linked = metrics.Single(m => m["key"]!.GetValue<string>() == "accuracy");
        Assert.Equal((ModelId, "iris-test", "b90c1eab"), (linked["model_id"]!.GetValue<string>(), linked["dataset_name"]!.GetValue<string>(), linked["dataset_digest"]!.GetValue<string>()));
        Assert.Equal(2, linked["step"]!.GetValue<long>());
        var plain = metrics.Single(m => m["key"]!.GetValue<string>() == "loss");
        Assert.Equal(["key", "value", "timestamp", "step"], plain.Select(p => p.Key));

        // The recorded 3.6 request that the server accepted carried the same field names.
        var recorded = RecordedExchange.LoadV3("061-runs-log-batch-model-id").RequestJson!["metrics"]!.AsArray()[1]!.AsObject();
        Assert.Superset(linked.Select(p => p.Key).ToHashSet(), recorded.Select(p => p.Key).Where(k => k != "run_id").ToHashSet());
    }

    [Fact]
    public async Task The_client_logs_one_linked_metric_as_the_recorded_request()
    {
        using var server = new RecordedServer();
        var recorded = server.ServeV3("060-runs-log-metric-model-id");
        using var client = server.CreateClient();
        var body = recorded.RequestJson!;
        var metric = new Metric(body["key"]!.GetValue<string>(), body["value"]!.GetValue<double>(), body["timestamp"]!.GetValue<long>(), body["step"]!.GetValue<long>())
        {
            ModelId = body["model_id"]?.GetValue<string>(),
            DatasetName = body["dataset_name"]?.GetValue<string>(),
            DatasetDigest = body["dataset_digest"]?.GetValue<string>(),
        };
        await client.LogMetricAsync(body["run_id"]!.GetValue<string>(), metric);
        var sent = RecordedServer.BodyOf(server.SingleRequest())!.AsObject();
        foreach (var (key, value) in body.AsObject().Where(p => p.Key != "run_uuid"))
        {
            Assert.True(JsonNode.DeepEquals(value, sent[key]), key);
        }
    }

    [Fact]
    public void Spooled_links_survive_the_disk_and_records_written_before_links_still_read()
    {
        var linked = new Metric("accuracy", 0.5, 1000, 3) { ModelId = ModelId, DatasetName = "iris", DatasetDigest = null };
        var record = new SpoolRecord { Kind = SpoolRecordKind.Batch, RunId = "r", Metrics = [linked, new Metric("loss", 1, 1000, 3)] };
        var back = SpoolRecord.Deserialize(record.Serialize());
        Assert.Equal([linked, new Metric("loss", 1, 1000, 3)], back.Metrics);

        // Version 1 (before links): version, kind, run id, metrics (key, value, timestamp, step), params, tags.
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            w.Write((byte)1);
            w.Write((byte)SpoolRecordKind.Batch);
            w.Write("r");
            w.Write(1);
            w.Write("loss");
            w.Write(1.0);
            w.Write(1000L);
            w.Write(3L);
            w.Write(0);
            w.Write(0);
        }

        Assert.Equal([new Metric("loss", 1, 1000, 3)], SpoolRecord.Deserialize(ms.ToArray()).Metrics);
    }
}
