using System.Text.Json.Nodes;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlOps.Client.MLNet.Autologging;
using MlOps.Client.MLNet.Evaluation;
using MlOps.Client.Tracking;

namespace MlOps.Client.MLNet.Tests;

[Collection(MLNetCollection.Name)]
public sealed class EvaluationTests : IAsyncLifetime
{
    private readonly MLNetFixture _f = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _f.DisposeAsync();

    private sealed class Scored
    {
        public bool Label { get; set; }

        public float Score { get; set; }

        public float Probability { get; set; }

        public bool PredictedLabel { get; set; }
    }

    private sealed class RegressionRow
    {
        public float Label { get; set; }

        public float Score { get; set; }
    }

    private sealed class AnomalyRow
    {
        public float Label { get; set; }

        public float Score { get; set; }

        public bool PredictedLabel { get; set; }
    }

    private sealed class RankingRow
    {
        public float Label { get; set; }

        public float Score { get; set; }

        [KeyType(10)]
        public uint GroupId { get; set; }
    }

    private IDataView BinaryScored() => _f.Context.Data.LoadFromEnumerable(
        Enumerable.Range(0, 40).Select(i => new Scored { Label = i % 2 == 0, Score = (i % 2 == 0 ? 1 : -1) * (i % 7) * 0.3f, Probability = i % 2 == 0 ? 0.7f + (i % 3 * 0.1f) : 0.2f, PredictedLabel = i % 2 == 0 ? i % 7 != 0 : i % 5 == 0 }));

    [Fact]
    public void Every_task_type_flattens_to_the_documented_names()
    {
        var ctx = _f.Context;
        var calibrated = ctx.BinaryClassification.Evaluate(BinaryScored());
        Assert.Equal(["accuracy", "auc", "auprc", "entropy", "f1_score", "log_loss", "log_loss_reduction", "negative_precision", "negative_recall", "positive_precision", "positive_recall"],
            MetricNames.Flatten(calibrated).Keys.Order(StringComparer.Ordinal));
        var plain = ctx.BinaryClassification.EvaluateNonCalibrated(BinaryScored());
        Assert.Equal(8, MetricNames.Flatten(plain).Count);
        Assert.Equal(plain.Accuracy, MetricNames.Flatten(plain)["accuracy"]);

        var regression = ctx.Regression.Evaluate(ctx.Data.LoadFromEnumerable(new[] { new RegressionRow { Label = 1, Score = 1.5f }, new RegressionRow { Label = 2, Score = 2 }, new RegressionRow { Label = 4, Score = 3 } }));
        var r = MetricNames.Flatten(regression);
        Assert.Equal(["loss_function", "mae", "mse", "r_squared", "rmse"], r.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(0.5, r["mae"], 6);
        Assert.Equal(Math.Sqrt(1.25 / 3), r["rmse"], 6);

        var ranking = ctx.Ranking.Evaluate(ctx.Data.LoadFromEnumerable(Enumerable.Range(0, 12).Select(i => new RankingRow { Label = i % 3, Score = i % 4, GroupId = (uint)(i / 4) + 1 })));
        var k = MetricNames.Flatten(ranking);
        Assert.Contains("ndcg_at_1", k.Keys);
        Assert.Contains("dcg_at_3", k.Keys);
        Assert.DoesNotContain(k.Keys, key => key.Contains('@', StringComparison.Ordinal));

        var features = ctx.Transforms.Concatenate("Features", nameof(Flower.PetalLength), nameof(Flower.PetalWidth));
        var kmeans = features.Append(ctx.Clustering.Trainers.KMeans(numberOfClusters: 3)).Fit(_f.Data);
        var clustering = ctx.Clustering.Evaluate(kmeans.Transform(_f.Data), featureColumnName: "Features");
        Assert.Equal(["average_distance", "davies_bouldin_index", "normalized_mutual_information"], MetricNames.Flatten(clustering).Keys.Order(StringComparer.Ordinal));

        var anomaly = ctx.AnomalyDetection.Evaluate(ctx.Data.LoadFromEnumerable(
            Enumerable.Range(0, 40).Select(i => new AnomalyRow { Label = i % 5 == 0 ? 1 : 0, Score = (i % 5 == 0 ? 0.6f : 0.2f) + (i % 3 * 0.1f), PredictedLabel = i % 5 == 0 })), falsePositiveCount: 2);
        Assert.Equal(["auc", "detection_rate_at_false_positive_count"], MetricNames.Flatten(anomaly).Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Multiclass_metrics_and_the_confusion_matrix_are_logged_with_a_prefix()
    {
        var model = _f.SdcaPipeline().Fit(_f.Data);
        string runId;
        MulticlassClassificationMetrics metrics;
        using (var run = _f.Tracker.StartRun())
        {
            runId = run.RunId;
            metrics = _f.Context.MulticlassClassification.Evaluate(model.Transform(_f.Data)).LogTo("test_", labels: MLNetFixture.SpeciesNames);
        }

        var logged = await _f.Store.GetRunAsync(runId, default);
        var keys = logged.Data.Metrics.Select(m => m.Key).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(
            ["test_log_loss", "test_log_loss_reduction", "test_macro_accuracy", "test_micro_accuracy", "test_per_class_log_loss_setosa", "test_per_class_log_loss_versicolor", "test_per_class_log_loss_virginica"],
            keys);
        Assert.Equal(metrics.MicroAccuracy, logged.Data.Metrics.Single(m => m.Key == "test_micro_accuracy").Value, 12);
        var root = _f.ArtifactRoot(logged);
        var matrix = JsonNode.Parse(File.ReadAllText(Path.Combine(root, "test_confusion_matrix.json")))!;
        Assert.Equal(MLNetFixture.SpeciesNames, matrix["labels"]!.AsArray().Select(l => l!.GetValue<string>()));
        Assert.Equal(150, matrix["counts"]!.AsArray().Sum(row => row!.AsArray().Sum(c => c!.GetValue<double>())));
        Assert.Equal(metrics.ConfusionMatrix.Counts[1][1], matrix["counts"]![1]![1]!.GetValue<double>());
        Assert.Equal(0x89, File.ReadAllBytes(Path.Combine(root, "test_confusion_matrix.png"))[0]);
    }

    [Fact]
    public async Task Binary_regression_and_the_no_run_cases()
    {
        Assert.Throws<InvalidOperationException>(() => _f.Context.Regression.Evaluate(_f.Context.Data.LoadFromEnumerable(new[] { new RegressionRow { Label = 1, Score = 1 } })).LogTo());

        using (_f.Context.AutologMlflow(_f.Tracker))
        {
            _f.Context.BinaryClassification.Evaluate(BinaryScored()).LogTo("valid_"); // autolog starts and ends a run for it
        }

        var run = Assert.Single(await _f.RunsAsync());
        Assert.Equal(RunStatus.Finished, run.Info.Status);
        Assert.Contains(run.Data.Metrics, m => m.Key == "valid_log_loss");
        Assert.True(File.Exists(Path.Combine(_f.ArtifactRoot(run), "valid_confusion_matrix.json")));
    }

    [Fact]
    public void Autologging_has_the_same_entry_points_as_XGBoosts_enable_disable_and_scoped()
    {
        Assert.False(MLNetAutolog.IsEnabled);
        var session = MLNetAutolog.Enable(_f.Context, _f.Tracker);
        Assert.True(MLNetAutolog.IsEnabled);
        MLNetAutolog.Disable();
        Assert.False(MLNetAutolog.IsEnabled);
        using (_f.Context.AutologMlflow(_f.Tracker))
        {
            Assert.True(MLNetAutolog.IsEnabled);
        }

        Assert.False(MLNetAutolog.IsEnabled);
        session.Dispose(); // disposing a session that was already disabled is harmless
    }

    [Fact]
    public async Task A_run_started_for_LogTo_ends_FAILED_when_logging_fails_not_FINISHED()
    {
        using (_f.Context.AutologMlflow(_f.Tracker))
        {
            // "bad//prefix" makes every metric key invalid: the logging throws inside the run LogTo started.
            Assert.Throws<MlOps.Client.MlflowValidationException>(() => _f.Context.BinaryClassification.Evaluate(BinaryScored()).LogTo("bad//prefix_"));
        }

        var run = Assert.Single(await _f.RunsAsync());
        Assert.Equal(RunStatus.Failed, run.Info.Status); // before: FINISHED, ended in a finally
    }

    [Fact]
    public async Task Cross_validation_logs_each_fold_as_a_child_run_and_mean_and_std_on_the_parent()
    {
        var folds = _f.Context.MulticlassClassification.CrossValidate(_f.Data, _f.SdcaPipeline(), numberOfFolds: 3, seed: 1);
        string parentId;
        using (var parent = _f.Tracker.StartRun("cv"))
        {
            parentId = parent.RunId;
            folds.LogTo("cv_", labels: MLNetFixture.SpeciesNames);
        }

        var runs = await _f.RunsAsync();
        var children = runs.Where(r => r.Data.GetTag("mlflow.parentRunId") == parentId).OrderBy(r => r.Info.RunName, StringComparer.Ordinal).ToList();
        Assert.Equal(["fold_0", "fold_1", "fold_2"], children.Select(c => c.Info.RunName));
        Assert.All(children, c => Assert.Equal(RunStatus.Finished, c.Info.Status));
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(folds[i].Metrics.MicroAccuracy, children[i].Data.Metrics.Single(m => m.Key == "cv_micro_accuracy").Value, 12);
        }

        var values = folds.Select(f => f.Metrics.MicroAccuracy).ToArray();
        var mean = values.Average();
        var std = Math.Sqrt(values.Average(v => (v - mean) * (v - mean)));
        var parentRun = runs.Single(r => r.Info.RunId == parentId);
        Assert.Equal(mean, parentRun.Data.Metrics.Single(m => m.Key == "cv_micro_accuracy_mean").Value, 12);
        Assert.Equal(std, parentRun.Data.Metrics.Single(m => m.Key == "cv_micro_accuracy_std").Value, 12);
        Assert.Contains(parentRun.Data.Metrics, m => m.Key == "cv_per_class_log_loss_virginica_mean");
        Assert.Equal("3", parentRun.Data.GetParam("cv_folds"));
    }
}
