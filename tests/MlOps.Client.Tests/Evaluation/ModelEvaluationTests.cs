using MlOps.Client.Evaluation;
using MlOps.Client.Stores;
using MlOps.Client.Tracking;

namespace MlOps.Client.Tests.Evaluation;

/// <summary>
/// The metrics of mlflow.evaluate's default evaluator, checked against scikit-learn 1.2.1 (Debian 12's python3-sklearn)
/// on the same fixed predictions; the Python lines that produced each figure are quoted.
/// </summary>
public sealed class ModelEvaluationTests
{
    // yb = [0,0,1,1,0,1,1,0,1,0]; pb = [0.1,0.4,0.35,0.8,0.4,0.9,0.65,0.2,0.4,0.55]; P = stack([1-pb, pb]); yp = P.argmax(1)
    private static readonly int[] BinaryLabels = [0, 0, 1, 1, 0, 1, 1, 0, 1, 0];
    private static readonly double[] BinaryScores = [0.1, 0.4, 0.35, 0.8, 0.4, 0.9, 0.65, 0.2, 0.4, 0.55];

    private static void Near(double expected, double? actual) => Assert.Equal(expected, actual!.Value, 1e-12);

    [Fact]
    public void A_binary_classifier_gets_the_default_evaluators_metrics_with_scikit_learns_values()
    {
        var result = ModelEvaluation.EvaluateClassifier(BinaryLabels, [.. BinaryScores.Select(p => new[] { 1 - p, p })]);
        Assert.Equal(["true_negatives", "false_positives", "false_negatives", "true_positives", "example_count", "accuracy_score", "recall_score",
            "precision_score", "f1_score", "log_loss", "roc_auc", "precision_recall_auc"], result.Metrics.Select(m => m.Key));
        Assert.Equal([4.0, 1, 2, 3, 10], result.Metrics.Take(5).Select(m => m.Value)); // confusion_matrix(yb, yp).ravel()
        Near(0.7, result["accuracy_score"]);                // accuracy_score(yb, yp)
        Near(0.6, result["recall_score"]);                  // recall_score(yb, yp)
        Near(0.75, result["precision_score"]);              // precision_score(yb, yp)
        Near(0.6666666666666665, result["f1_score"]);       // f1_score(yb, yp)
        Near(0.4874062850159113, result["log_loss"]);       // log_loss(yb, P)
        Near(0.8, result["roc_auc"]);                       // roc_auc_score(yb, pb) — ties at 0.4 count half
        Near(0.8392857142857143, result["precision_recall_auc"]); // average_precision_score(yb, pb), what MLflow logs under this name
        Assert.Equal(0, result.RocCurves[0].X[0]);
        Assert.Equal(1, result.RocCurves[0].X[^1]);
        Assert.Empty(result.PerClassMetrics);
    }

    // ym = [0,1,2,2,1,0,2,1,0,2,1,1]; Pm below; ypm = Pm.argmax(1); average="weighted"; roc_auc_score(..., multi_class="ovr")
    private static readonly int[] MultiLabels = [0, 1, 2, 2, 1, 0, 2, 1, 0, 2, 1, 1];
    private static readonly double[][] MultiProbabilities =
    [
        [.7, .2, .1], [.2, .5, .3], [.1, .3, .6], [.3, .4, .3], [.25, .5, .25], [.5, .4, .1],
        [.2, .2, .6], [.6, .3, .1], [.4, .35, .25], [.1, .1, .8], [.3, .3, .4], [.2, .7, .1],
    ];

    [Fact]
    public void A_multiclass_classifier_gets_weighted_averages_one_vs_rest_auc_and_per_class_rows()
    {
        var result = ModelEvaluation.EvaluateClassifier(MultiLabels, MultiProbabilities, ["setosa", "versicolor", "virginica"]);
        Assert.Equal(["example_count", "accuracy_score", "recall_score", "precision_score", "f1_score", "log_loss", "roc_auc"], result.Metrics.Select(m => m.Key));
        Near(0.75, result["accuracy_score"]);
        Near(0.75, result["recall_score"]);
        Near(0.75, result["precision_score"]);
        Near(0.742063492063492, result["f1_score"]);
        Near(0.7138162811046213, result["log_loss"]);
        Near(0.882523148148148, result["roc_auc"]);
        Assert.Equal(new long[,] { { 3, 0, 0 }, { 1, 3, 1 }, { 0, 1, 3 } }, result.ConfusionMatrix); // confusion_matrix(ym, ypm)

        // per_class_metrics: roc_auc_score / average_precision_score / f1_score of (ym == c) against Pm[:, c] and (ypm == c)
        var expected = new[] { (0.9259259259259259, 0.8055555555555556, 0.8571428571428571), (0.7999999999999999, 0.8222222222222222, 0.6666666666666665), (0.953125, 0.9166666666666666, 0.75) };
        for (var c = 0; c < 3; c++)
        {
            var row = result.PerClassMetrics[c].ToDictionary(p => p.Key, p => p.Value);
            Assert.Equal(result.Labels[c], row["positive_class"]);
            Near(expected[c].Item1, double.Parse(row["roc_auc"], System.Globalization.CultureInfo.InvariantCulture));
            Near(expected[c].Item2, double.Parse(row["precision_recall_auc"], System.Globalization.CultureInfo.InvariantCulture));
            Near(expected[c].Item3, double.Parse(row["f1_score"], System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public void A_regressor_gets_the_regressor_evaluators_metrics()
    {
        // y = [3.0,-0.5,2.0,7.0,0.0]; yh = [2.5,0.0,2.0,8.0,0.3]
        var result = ModelEvaluation.EvaluateRegressor([3.0, -0.5, 2.0, 7.0, 0.0], [2.5, 0.0, 2.0, 8.0, 0.3]);
        Assert.Equal(["example_count", "mean_absolute_error", "mean_squared_error", "root_mean_squared_error", "sum_on_target", "mean_on_target",
            "r2_score", "max_error", "mean_absolute_percentage_error"], result.Metrics.Select(m => m.Key));
        Near(0.45999999999999996, result["mean_absolute_error"]);  // mean_absolute_error(y, yh)
        Near(0.318, result["mean_squared_error"]);                 // mean_squared_error(y, yh)
        Near(Math.Sqrt(0.318), result["root_mean_squared_error"]);
        Near(0.955586592178771, result["r2_score"]);               // r2_score(y, yh)
        Near(1.0, result["max_error"]);                            // max_error(y, yh)
        Assert.Equal(270215977642230.0, result["mean_absolute_percentage_error"]!.Value, 1); // a zero target: divided by float64 eps, as scikit-learn
        Near(11.5, result["sum_on_target"]);
        Near(2.3, result["mean_on_target"]);
    }

    [Fact]
    public void Bad_input_is_refused_with_the_field_and_the_rule()
    {
        Assert.Contains("2 classes", Assert.Throws<ArgumentException>(() => ModelEvaluation.EvaluateClassifier([0, 1], new float[] { 1, 1 })).Message, StringComparison.Ordinal);
        Assert.Contains("[0, 1]", Assert.Throws<ArgumentOutOfRangeException>(() => ModelEvaluation.EvaluateClassifier([0, 2], new float[] { .5f, .5f, .5f, .5f })).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => ModelEvaluation.EvaluateRegressor([1.0], [1.0, 2.0]));
        Assert.Throws<ArgumentException>(() => ModelEvaluation.EvaluateClassifier([0, 1], new float[] { .5f, .5f, .5f, .5f }, ["a"]));
    }

    [Fact]
    public async Task Logged_into_a_run_the_metrics_and_the_per_class_table_are_there()
    {
        var dir = Directory.CreateTempSubdirectory("mlops-eval-");
        try
        {
            await using var store = SqliteTrackingStore.Open("sqlite:///" + Path.Combine(dir.FullName, "mlflow.db"));
            await using var tracker = new Tracker(store, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false, ExperimentId = "0" });
            string runId;
            using (var run = await tracker.StartRunAsync("eval"))
            {
                runId = run.RunId;
                await run.LogEvaluationAsync(ModelEvaluation.EvaluateClassifier(MultiLabels, MultiProbabilities), "test_");
            }

            var logged = (await store.GetRunAsync(runId, default)).Data.Metrics.ToDictionary(m => m.Key, m => m.Value);
            Near(0.75, logged["test_accuracy_score"]);
            Assert.Equal(12, logged["test_example_count"]);
            var artifacts = new Uri((await store.GetRunAsync(runId, default)).Info.ArtifactUri!).LocalPath;
            var lines = await File.ReadAllLinesAsync(Path.Combine(artifacts, "test_per_class_metrics.csv"));
            Assert.Equal("positive_class,true_negatives,false_positives,false_negatives,true_positives,example_count,accuracy_score,recall_score,precision_score,f1_score,roc_auc,precision_recall_auc", lines[0]);
            Assert.Equal(4, lines.Length);
            Assert.StartsWith("0,8,1,0,3,12,", lines[1], StringComparison.Ordinal);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            dir.Delete(recursive: true);
        }
    }
}

/// <summary>The evaluation plots (package MlOps.Client.Figures) are logged under MLflow's artifact names and are real images.</summary>
public sealed class EvaluationPlotsTests
{
    [Fact]
    public async Task Confusion_matrix_ROC_and_precision_recall_plots_are_logged_and_decode()
    {
        var dir = Directory.CreateTempSubdirectory("mlops-evalplots-");
        try
        {
            await using var store = SqliteTrackingStore.Open("sqlite:///" + Path.Combine(dir.FullName, "mlflow.db"));
            await using var tracker = new Tracker(store, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false, ExperimentId = "0" });
            var result = ModelEvaluation.EvaluateClassifier(
                [0, 1, 2, 2, 1, 0, 2, 1, 0, 2, 1, 1],
                [[.7, .2, .1], [.2, .5, .3], [.1, .3, .6], [.3, .4, .3], [.25, .5, .25], [.5, .4, .1], [.2, .2, .6], [.6, .3, .1], [.4, .35, .25], [.1, .1, .8], [.3, .3, .4], [.2, .7, .1]],
                ["setosa", "versicolor", "virginica"]);
            string artifacts;
            using (var run = await tracker.StartRunAsync("eval"))
            {
                artifacts = new Uri(run.ArtifactUri!).LocalPath;
                await run.LogEvaluationAsync(result);
                await run.LogEvaluationPlotsAsync(result);
            }

            foreach (var name in new[] { "confusion_matrix.png", "roc_curve_plot.png", "precision_recall_curve_plot.png", "per_class_metrics.csv" })
            {
                Assert.True(File.Exists(Path.Combine(artifacts, name)), name);
            }

            foreach (var png in Directory.GetFiles(artifacts, "*.png"))
            {
                using var bitmap = SkiaSharp.SKBitmap.Decode(png);
                Assert.True(bitmap is { Width: 1050, Height: 700 }, png);
                var colors = new HashSet<SkiaSharp.SKColor>();
                for (var y = 0; y < bitmap.Height; y += 5)
                {
                    for (var x = 0; x < bitmap.Width; x += 5)
                    {
                        colors.Add(bitmap.GetPixel(x, y));
                    }
                }

                Assert.True(colors.Count > 20, png + " looks blank");
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            dir.Delete(recursive: true);
        }
    }
}

/// <summary>The confusion matrix reads right: each cell drawn where its two labels say, its number in it, darker for more (white at 0, as MLflow's).</summary>
public sealed class ConfusionMatrixPlotTests
{
    [Fact]
    public void Each_cell_is_drawn_at_its_labels_with_its_share_and_darker_for_a_larger_share()
    {
        long[,] counts = { { 8, 2, 0 }, { 0, 10, 0 }, { 5, 0, 5 } }; // rows: true class; normalized .8 .2 0 / 0 1 0 / .5 0 .5
        string[] labels = ["setosa", "versicolor", "virginica"];
        var plot = EvaluationPlots.ConfusionMatrix(counts, labels);
        var png = plot.GetImageBytes(1050, 700, ScottPlot.ImageFormat.Png);
        using var bitmap = SkiaSharp.SKBitmap.Decode(png);
        var rendered = plot.RenderManager.LastRender.DataRect;
        var left = plot.Axes.Left.TickGenerator.Ticks.Where(t => t.IsMajor).ToDictionary(t => t.Label, t => t.Position);
        var bottom = plot.Axes.Bottom.TickGenerator.Ticks.Where(t => t.IsMajor).ToDictionary(t => t.Label, t => t.Position);
        var texts = plot.GetPlottables<ScottPlot.Plottables.Text>().ToList();

        double Luminance(double x, double y)
        {
            var px = plot.GetPixel(new ScottPlot.Coordinates(x, y));
            Assert.True(rendered.Contains(px), $"({x}, {y}) is outside the data area");
            var c = bitmap.GetPixel((int)px.X, (int)px.Y);
            return (0.299 * c.Red) + (0.587 * c.Green) + (0.114 * c.Blue);
        }

        var shades = new List<(double Share, double Luminance)>();
        for (var r = 0; r < 3; r++)
        {
            double total = Enumerable.Range(0, 3).Sum(c => counts[r, c]);
            for (var c = 0; c < 3; c++)
            {
                var share = counts[r, c] / total;
                var (x, y) = (bottom[labels[c]], left[labels[r]]);
                var text = Assert.Single(texts, t => Math.Abs(t.Location.X - x) < 1e-9 && Math.Abs(t.Location.Y - y) < 1e-9);
                Assert.Equal(share.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture), text.LabelText);
                shades.Add((share, Luminance(x + 0.35, y + 0.35))); // a corner of the cell, away from its number
            }
        }

        foreach (var a in shades)
        {
            foreach (var b in shades.Where(b => b.Share > a.Share + 0.1))
            {
                Assert.True(b.Luminance < a.Luminance, $"share {b.Share} (luminance {b.Luminance:0}) is not darker than share {a.Share} ({a.Luminance:0})");
            }
        }

        Assert.True(shades.Where(s => s.Share == 0).All(s => s.Luminance > 235), "a share of 0 is drawn (near) white");
    }
}
