using System.Text.Json.Nodes;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlOps.Client.MLNet.Autologging;
using MlOps.Client.MLNet.Models;
using MlOps.Client.Models;
using MlOps.Client.Tracking;

namespace MlOps.Client.MLNet.Tests;

[Collection(MLNetCollection.Name)]
public sealed class AutologTests : IAsyncLifetime
{
    private readonly MLNetFixture _f = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public async Task A_tracked_fit_logs_the_pipeline_the_trainer_options_the_schema_the_duration_and_the_model()
    {
        using var autolog = _f.Context.AutologMlflow(_f.Tracker);
        string runId;
        ITransformer model;
        using (var run = _f.Tracker.StartRun("fit"))
        {
            runId = run.RunId;
            model = _f.SdcaPipeline().WithTracking().Fit(_f.Data);
        }

        var logged = await _f.Store.GetRunAsync(runId, default);
        Assert.Equal(RunStatus.Finished, logged.Info.Status);
        Assert.Equal("ValueToKeyMapping -> ColumnConcatenating -> SdcaMaximumEntropy -> KeyToValueMapping", logged.Data.GetParam("pipeline"));
        Assert.Equal("0.01", logged.Data.GetParam("SdcaMaximumEntropy.L2Regularization"));
        Assert.Equal("50", logged.Data.GetParam("SdcaMaximumEntropy.MaximumNumberOfIterations"));
        Assert.Equal("1", logged.Data.GetParam("SdcaMaximumEntropy.NumberOfThreads"));
        Assert.Equal("Label", logged.Data.GetParam("SdcaMaximumEntropy.LabelColumnName"));
        Assert.Equal("None", logged.Data.GetParam("SdcaMaximumEntropy.L1Regularization"));
        Assert.Null(logged.Data.GetParam("SdcaMaximumEntropy.TrainingData"));
        if (_f.Data.GetRowCount() is { } rows)
        {
            Assert.Equal(rows.ToString(System.Globalization.CultureInfo.InvariantCulture), logged.Data.GetParam("training_rows"));
        }

        Assert.True(logged.Data.Metrics.Single(m => m.Key == "training_duration_seconds").Value > 0);

        var root = _f.ArtifactRoot(logged);
        var pipeline = JsonNode.Parse(File.ReadAllText(Path.Combine(root, "pipeline.json")))!;
        Assert.Equal(4, pipeline["steps"]!.AsArray().Count);
        Assert.True(pipeline["steps"]![2]!["is_trainer"]!.GetValue<bool>());
        Assert.Equal("0.01", pipeline["steps"]![2]!["options"]!["SdcaMaximumEntropy.L2Regularization"]!.GetValue<string>());
        var schema = JsonNode.Parse(File.ReadAllText(Path.Combine(root, "input_schema.json")))!.AsArray();
        Assert.Equal(["SepalLength", "SepalWidth", "PetalLength", "PetalWidth", "Species"], schema.Select(c => c!["name"]!.GetValue<string>()));
        Assert.Equal("String", schema[4]!["type"]!.GetValue<string>());

        var mlmodel = MlflowModel.Load(Path.Combine(root, "model"));
        var flavor = mlmodel.Flavors["mlnet"];
        Assert.Equal("model.zip", flavor["data"]!.GetValue<string>());
        Assert.Equal(MLNetFlavor.MLNetVersion, flavor["mlnet_version"]!.GetValue<string>());
        Assert.StartsWith("5.", MLNetFlavor.MLNetVersion, StringComparison.Ordinal);
        Assert.Equal("Microsoft.ML.Data.TransformerChain<KeyToValueMappingTransformer>", flavor["model_class"]!.GetValue<string>());
        Assert.Equal(5, flavor["input_schema"]!.AsArray().Count);
        Assert.False(mlmodel.Flavors.ContainsKey("python_function"));
        Assert.Equal(
            "[{\"type\":\"float\",\"name\":\"SepalLength\",\"required\":true},{\"type\":\"float\",\"name\":\"SepalWidth\",\"required\":true},{\"type\":\"float\",\"name\":\"PetalLength\",\"required\":true},{\"type\":\"float\",\"name\":\"PetalWidth\",\"required\":true},{\"type\":\"string\",\"name\":\"Species\",\"required\":false}]",
            mlmodel.Signature!.Inputs);
        Assert.Contains("{\"type\":\"array\",\"items\":{\"type\":\"float\"},\"name\":\"Score\",\"required\":true}", mlmodel.Signature.Outputs, StringComparison.Ordinal);
        Assert.Contains("{\"type\":\"string\",\"name\":\"PredictedLabel\",\"required\":true}", mlmodel.Signature.Outputs, StringComparison.Ordinal);

        // The training data's profile beside the model (drift monitoring's reference): scalar columns, predicted classes.
        var profile = MlOps.Client.Monitoring.ReferenceProfile.Load(Path.Combine(root, "model"));
        var rowCount = _f.Data.GetColumn<float>("PetalLength").Count();
        Assert.Equal(["SepalLength", "SepalWidth", "PetalLength", "PetalWidth", "Species"], profile.Features.Select(f => f.Name));
        Assert.Equal(rowCount, profile.Feature("PetalLength")!.Count);
        Assert.Equal(_f.Data.GetColumn<float>("PetalLength").Min(), profile.Feature("PetalLength")!.Min!.Value, 5);
        Assert.Equal(MlOps.Client.Monitoring.FeatureKind.Categorical, profile.Feature("Species")!.Kind);
        var predicted = profile.Predictions.Single(p => p.Name == "PredictedLabel");
        Assert.Equal(MlOps.Client.Monitoring.FeatureKind.Categorical, predicted.Kind);
        Assert.Equal(rowCount, predicted.Categories.Values.Sum());

        // Load round trip: identical predictions.
        var loaded = await _f.Store.LoadModelAsync<MLNetModel>($"runs:/{runId}/model");
        Assert.Equal(["SepalLength", "SepalWidth", "PetalLength", "PetalWidth", "Species"], loaded.InputSchema.Select(c => c.Name));
        var expected = model.Transform(_f.Data).GetColumn<float[]>("Score").ToList();
        var actual = loaded.Transformer.Transform(_f.Data).GetColumn<float[]>("Score").ToList();
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i], actual[i]);
        }
    }

    [Fact]
    public async Task Without_an_active_run_fit_starts_one_and_ends_it_and_without_autolog_it_logs_nothing()
    {
        var plain = _f.SdcaPipeline().WithTracking().Fit(_f.Data); // autologging off: a plain fit
        Assert.NotNull(plain);
        Assert.Empty(await _f.RunsAsync());

        using (_f.Context.AutologMlflow(_f.Tracker, new MLNetAutologOptions { LogModels = false, ExtraTags = { ["team"] = "ml" } }))
        {
            _f.SdcaPipeline().WithTracking("sdca").Fit(_f.Data);
            Assert.Null(Tracker.ActiveRun);
        }

        var run = Assert.Single(await _f.RunsAsync());
        Assert.Equal(RunStatus.Finished, run.Info.Status);
        Assert.Equal("sdca", run.Info.RunName);
        Assert.Equal("ml", run.Data.GetTag("team"));
        Assert.False(Directory.Exists(Path.Combine(_f.ArtifactRoot(run), "model")));
        Assert.Null(MLNetAutolog.Current);
    }

    [Fact]
    public async Task A_fit_that_throws_fails_the_run_it_started()
    {
        using var autolog = _f.Context.AutologMlflow(_f.Tracker);
        var broken = _f.Context.Transforms.Concatenate("Features", "NoSuchColumn")
            .Append(_f.Context.Regression.Trainers.Sdca());
        Assert.ThrowsAny<Exception>(() => broken.WithTracking().Fit(_f.Data));
        Assert.Equal(RunStatus.Failed, Assert.Single(await _f.RunsAsync()).Info.Status);
    }

    [Fact]
    public async Task A_pipeline_with_a_custom_transformer_still_logs_and_skips_only_the_model_ML_NET_cannot_save()
    {
        using var autolog = _f.Context.AutologMlflow(_f.Tracker);
        var pipeline = _f.Context.Transforms.CustomMapping<Flower, AreaRow>((input, output) => output.PetalArea = input.PetalLength * input.PetalWidth, contractName: null)
            .Append(_f.Context.Transforms.Concatenate("Features", nameof(Flower.SepalLength), nameof(AreaRow.PetalArea)))
            .Append(_f.Context.Transforms.Conversion.MapValueToKey("Label", nameof(Flower.Species)))
            .Append(_f.Context.MulticlassClassification.Trainers.SdcaMaximumEntropy(maximumNumberOfIterations: 20));
        string runId;
        using (var run = _f.Tracker.StartRun())
        {
            runId = run.RunId;
            pipeline.WithTracking().Fit(_f.Data);
        }

        var logged = await _f.Store.GetRunAsync(runId, default);
        Assert.Equal(RunStatus.Finished, logged.Info.Status);
        Assert.Equal("CustomMapping -> ColumnConcatenating -> ValueToKeyMapping -> SdcaMaximumEntropy", logged.Data.GetParam("pipeline"));
        Assert.Equal("20", logged.Data.GetParam("SdcaMaximumEntropy.MaximumNumberOfIterations"));
        Assert.True(File.Exists(Path.Combine(_f.ArtifactRoot(logged), "pipeline.json")));
        Assert.False(Directory.Exists(Path.Combine(_f.ArtifactRoot(logged), "model")));
    }

    [Fact]
    public void Options_are_written_as_python_writes_params_floats_with_a_point_lists_as_python_lists()
    {
        var flat = PipelineDescription.FlattenOptions(new OptionsLike()).ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("1.0", flat["Rate"]);       // str(1.0); "1" before, unlike Python
        Assert.Equal("1.0", flat["Single"]);
        Assert.Equal("1e-05", flat["Tiny"]);
        Assert.Equal("3", flat["Count"]);
        Assert.Equal("True", flat["Shuffle"]);
        Assert.Equal("['a', 'b']", flat["Columns"]);  // str(['a', 'b'])
        Assert.Equal("None", flat["Missing"]);
    }

    private sealed class OptionsLike
    {
        public double Rate = 1.0;
        public float Single = 1f;
        public double Tiny = 0.00001;
        public int Count = 3;
        public bool Shuffle = true;
        public string[] Columns = ["a", "b"];
        public double? Missing { get; set; }
    }

    [Fact]
    public void Nested_trainers_are_prefixed_and_options_flattened_with_stable_names()
    {
        var ova = _f.Context.Transforms.Conversion.MapValueToKey("Label", nameof(Flower.Species))
            .Append(_f.Context.MulticlassClassification.Trainers.OneVersusAll(_f.Context.BinaryClassification.Trainers.FastTree(numberOfTrees: 7, numberOfLeaves: 5)));
        var description = PipelineDescription.Describe(ova.WithTracking());
        Assert.Equal("ValueToKeyMapping -> OneVersusAll", description.Shape);
        var hyper = description.Hyperparameters.ToDictionary(h => h.Key, h => h.Value);
        Assert.Equal("7", hyper["OneVersusAll.FastTree.NumberOfTrees"]);
        Assert.Equal("5", hyper["OneVersusAll.FastTree.NumberOfLeaves"]);
        Assert.Equal(hyper.Keys.Order(StringComparer.Ordinal), hyper.Keys.Where(k => k.StartsWith("OneVersusAll.FastTree.", StringComparison.Ordinal)).Order(StringComparer.Ordinal).Concat(hyper.Keys.Where(k => !k.StartsWith("OneVersusAll.FastTree.", StringComparison.Ordinal))).Order(StringComparer.Ordinal));
        Assert.Equal("FastTree", PipelineDescription.ShortName(typeof(Microsoft.ML.Trainers.FastTree.FastTreeBinaryTrainer)));
        Assert.Equal("SdcaMaximumEntropy", PipelineDescription.ShortName(typeof(Microsoft.ML.Trainers.SdcaMaximumEntropyMulticlassTrainer)));
    }

    [Fact]
    public void Training_log_lines_become_metrics_where_they_parse()
    {
        string[] lines =
        [
            "[Source=LightGBM; Training, Kind=Info] [3]: training's multi_logloss: 0.52 valid's multi_error: 0.1",
            "Iteration 7: loss = 0.25, gradient norm=1e-3",
            "Using best model from iteration 9998.",
            "[Source=SdcaTrainerBase; Training, Kind=Info] Auto-tuning parameters: L2 = 2.6672002E-05.",
            "nothing to see",
        ];
        var metrics = TrainingLogParser.Parse(lines).ToList();
        Assert.Contains(("training_multi_logloss", 3L, 0.52), metrics);
        Assert.Contains(("valid_multi_error", 3L, 0.1), metrics);
        Assert.Contains(("loss", 7L, 0.25), metrics);
        Assert.Contains(("gradient_norm", 7L, 1e-3), metrics);
        Assert.Equal(4, metrics.Count);
        Assert.Equal([("L2", "2.6672002E-05.")], TrainingLogParser.AutoTuned(lines));
    }

    [Fact]
    public async Task Sdca_auto_tuned_values_and_the_raw_log_are_kept()
    {
        using var autolog = _f.Context.AutologMlflow(_f.Tracker, new MLNetAutologOptions { LogTrainingOutput = true, LogModels = false });
        var pipeline = _f.Context.Transforms.Conversion.MapValueToKey("Label", nameof(Flower.Species))
            .Append(_f.Context.Transforms.Concatenate("Features", nameof(Flower.PetalLength), nameof(Flower.PetalWidth)))
            .Append(_f.Context.MulticlassClassification.Trainers.SdcaMaximumEntropy());
        string runId;
        using (var run = _f.Tracker.StartRun())
        {
            runId = run.RunId;
            pipeline.WithTracking().Fit(_f.Data);
        }

        var logged = await _f.Store.GetRunAsync(runId, default);
        Assert.NotNull(logged.Data.GetParam("autotuned.L2"));
        Assert.Equal("9999", logged.Data.GetParam("autotuned.maxIterations"));
        var log = File.ReadAllText(Path.Combine(_f.ArtifactRoot(logged), "training_log.txt"));
        Assert.Contains("Auto-tuning parameters", log, StringComparison.Ordinal);
    }

    private sealed class AreaRow
    {
        public float PetalArea { get; set; }
    }
}
