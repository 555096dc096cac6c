// MLNetAutolog: an ML.NET multiclass pipeline on iris with MLflow autologging.
// One setup line (mlContext.AutologMlflow(tracker)) and one changed call per step:
//   pipeline.WithTracking().Fit(train)       logs the pipeline, the trainer's options, the schema, the duration and the model
//   catalog.Evaluate(...).LogTo("test_")     logs the metrics and the confusion matrix
//   catalog.CrossValidate(...).LogTo("cv_")  logs each fold as a nested run, and mean/std on the parent
// With no MLFLOW_TRACKING_URI it writes to ./mlflow.db; with MLFLOW_TRACKING_URI=http://host:port it logs to that server.
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlOps.Client.MLNet.Autologging;
using MlOps.Client.MLNet.Evaluation;
using MlOps.Client.MLNet.Models;
using MlOps.Client.Tracking;

string[] species = ["setosa", "versicolor", "virginica"];
var mlContext = new MLContext(seed: 0);
var experiment = Environment.GetEnvironmentVariable("MLFLOW_EXPERIMENT_NAME") ?? "mlnet-iris";
await using var tracker = Tracker.FromEnvironment(new TrackerOptions { ExperimentName = experiment });
using var autolog = mlContext.AutologMlflow(tracker);

var data = mlContext.Data.LoadFromTextFile(Path.Combine(AppContext.BaseDirectory, "data", "iris.csv"),
    [
        new TextLoader.Column("sepal_length", DataKind.Single, 0),
        new TextLoader.Column("sepal_width", DataKind.Single, 1),
        new TextLoader.Column("petal_length", DataKind.Single, 2),
        new TextLoader.Column("petal_width", DataKind.Single, 3),
        new TextLoader.Column("species", DataKind.Single, 4),
    ],
    separatorChar: ',', hasHeader: true);
var split = mlContext.Data.TrainTestSplit(data, testFraction: 0.3, seed: 25);

var featurize = mlContext.Transforms.Conversion.MapValueToKey("Label", "species")
    .Append(mlContext.Transforms.Concatenate("Features", "sepal_length", "sepal_width", "petal_length", "petal_width"))
    .Append(mlContext.Transforms.NormalizeMinMax("Features"));
var sdca = featurize
    .Append(mlContext.MulticlassClassification.Trainers.SdcaMaximumEntropy())
    .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
var fastTree = featurize
    .Append(mlContext.MulticlassClassification.Trainers.OneVersusAll(mlContext.BinaryClassification.Trainers.FastTree(numberOfTrees: 20)))
    .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

string sdcaRunId;
using (var run = tracker.StartRun("sdca-maximum-entropy"))
{
    sdcaRunId = run.RunId;
    var model = sdca.WithTracking().Fit(split.TrainSet);
    var test = mlContext.MulticlassClassification.Evaluate(model.Transform(split.TestSet)).LogTo("test_", labels: species);
    var folds = mlContext.MulticlassClassification.CrossValidate(split.TrainSet, sdca, numberOfFolds: 5, seed: 0).LogTo("cv_", labels: species);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"SdcaMaximumEntropy: test micro_accuracy={test.MicroAccuracy:F4} log_loss={test.LogLoss:F4}; 5-fold micro_accuracy={folds.Average(f => f.Metrics.MicroAccuracy):F4}"));
}

using (var run = tracker.StartRun("fast-tree-ova"))
{
    var model = fastTree.WithTracking().Fit(split.TrainSet);
    var test = mlContext.MulticlassClassification.Evaluate(model.Transform(split.TestSet)).LogTo("test_", labels: species);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"FastTree (one-versus-all): test micro_accuracy={test.MicroAccuracy:F4} (run {run.RunId})"));
}

// Load the logged model back and predict one flower.
var loaded = await tracker.Store.LoadModelAsync<MLNetModel>($"runs:/{sdcaRunId}/model");
var engine = mlContext.Model.CreatePredictionEngine<Flower, Prediction>(loaded.Transformer, loaded.InputSchema);
var prediction = engine.Predict(new Flower { SepalLength = 6.1f, SepalWidth = 2.8f, PetalLength = 4.7f, PetalWidth = 1.2f });
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Loaded runs:/{sdcaRunId}/model: (6.1, 2.8, 4.7, 1.2) -> {species[(int)prediction.PredictedLabel]}"));
Console.WriteLine($"RUN_ID={sdcaRunId}");

internal sealed class Flower
{
    [ColumnName("sepal_length")]
    public float SepalLength { get; set; }

    [ColumnName("sepal_width")]
    public float SepalWidth { get; set; }

    [ColumnName("petal_length")]
    public float PetalLength { get; set; }

    [ColumnName("petal_width")]
    public float PetalWidth { get; set; }

    [ColumnName("species")]
    public float Species { get; set; }
}

internal sealed class Prediction
{
    public float PredictedLabel { get; set; }
}
