using System.Text.Json.Nodes;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlOps.Client.MLNet.Models;
using MlOps.Client.Models;
using MlOps.Client.MLNet.Tests;

namespace MlOps.Client.Serving.Tests;

/// <summary>ML.NET models (the <c>mlnet</c> flavor) served from .NET: their prediction columns, as ML.NET predicts them.</summary>
public sealed class MLNetServingTests : IAsyncLifetime
{
    private readonly MLNetFixture _iris = new();
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-serving-mlnet-");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _iris.DisposeAsync();
        _dir.Delete(recursive: true);
    }

    private sealed class Prediction
    {
        public string PredictedLabel { get; set; } = "";

        public float[] Score { get; set; } = [];
    }

    /// <summary>Saves a fitted model as the flavor does, with the signature autologging writes (or none), in a folder of its own.</summary>
    private async Task<string> SaveAsync(MLContext context, ITransformer model, IDataView data, string name, bool signature = true)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_dir.FullName, name)).FullName;
        var mlnet = new MLNetModel(model, data.Schema);
        var config = await new MLNetFlavor(context).SaveAsync(mlnet, folder, default);
        var description = MlflowModel.Create("model", "run");
        description.Flavors[MLNetFlavor.FlavorName] = config.Flavor;
        if (signature)
        {
            description.Signature = MLNetFlavor.InferSignature(mlnet);
        }

        description.Save(folder);
        return folder;
    }

    /// <summary>The ML.NET sample's iris pipeline (the fixture's), fitted and saved.</summary>
    private async Task<(string Folder, ITransformer Model)> SaveIrisAsync(bool signature)
    {
        var model = _iris.SdcaPipeline().Fit(_iris.Data);
        return (await SaveAsync(_iris.Context, model, _iris.Data, signature ? "signed" : "unsigned", signature), model);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_prediction_columns_equal_MLNETs_own_predictions_as_records(bool signature)
    {
        var (folder, model) = await SaveIrisAsync(signature);
        await using var host = await ServingHost.StartAsync(folder);
        Assert.Equal("mlnet", host.Model.Flavor);

        var flowers = _iris.Flowers.Where((_, i) => i % 10 == 0).ToList();
        var expected = _iris.Context.Data.CreateEnumerable<Prediction>(model.Transform(_iris.Context.Data.LoadFromEnumerable(flowers)), reuseRowObject: false).ToList();

        // The label column (Species) is not sent: its signature column is optional ("required": false).
        var rows = string.Join(", ", flowers.Select(f => FormattableString.Invariant($"[{f.SepalLength:R}, {f.SepalWidth:R}, {f.PetalLength:R}, {f.PetalWidth:R}]")));
        var (status, answer) = await host.InvokeAsync("""{"dataframe_split": {"columns": ["SepalLength", "SepalWidth", "PetalLength", "PetalWidth"], "data": [""" + rows + "]}}");
        Assert.Equal(200, status);
        var predictions = answer!["predictions"]!.AsArray();
        Assert.Equal(flowers.Count, predictions.Count);
        for (var i = 0; i < flowers.Count; i++)
        {
            Assert.Equal(["PredictedLabel", "Score"], predictions[i]!.AsObject().Select(p => p.Key));
            Assert.Equal(expected[i].PredictedLabel, predictions[i]!["PredictedLabel"]!.GetValue<string>());
            Assert.Equal(expected[i].Score, predictions[i]!["Score"]!.AsArray().Select(v => v!.GetValue<float>()));
        }

        Assert.True(predictions.Count(p => p!["PredictedLabel"]!.GetValue<string>() == flowers[predictions.IndexOf(p)].Species) >= 13); // 15 rows, a fitted classifier
    }

    [Fact]
    public async Task Concurrent_requests_share_the_transformer_and_each_gets_its_own_rows_predictions()
    {
        var (folder, model) = await SaveIrisAsync(signature: true);
        await using var host = await ServingHost.StartAsync(folder);
        var expected = _iris.Context.Data.CreateEnumerable<Prediction>(model.Transform(_iris.Data), reuseRowObject: false).Select(p => p.PredictedLabel).ToList();
        var answers = await Task.WhenAll(_iris.Flowers.Select(f => host.InvokeAsync(FormattableString.Invariant(
            $$$"""{"dataframe_records": [{"SepalLength": {{{f.SepalLength:R}}}, "SepalWidth": {{{f.SepalWidth:R}}}, "PetalLength": {{{f.PetalLength:R}}}, "PetalWidth": {{{f.PetalWidth:R}}}}]}"""))));
        Assert.All(answers, a => Assert.Equal(200, a.Status));
        Assert.Equal(expected, answers.Select(a => a.Json!["predictions"]![0]!["PredictedLabel"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Without_a_signature_a_request_with_none_of_the_models_columns_is_refused()
    {
        var (folder, _) = await SaveIrisAsync(signature: false);
        await using var host = await ServingHost.StartAsync(folder);
        var (status, answer) = await host.InvokeAsync("""{"dataframe_records": [{"sepal_length": 5.1, "sepal_width": 3.5}]}""");
        Assert.Equal(400, status);
        Assert.Equal("INVALID_PARAMETER_VALUE", answer!["error_code"]!.GetValue<string>());
        Assert.Contains("the input has none of the model's columns (it has ['sepal_length', 'sepal_width'])", answer["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_signature_is_enforced_and_the_label_column_is_optional()
    {
        var (folder, _) = await SaveIrisAsync(signature: true);
        var description = MlflowModel.Load(folder);
        Assert.Contains("""{"type":"string","name":"Species","required":false}""", description.Signature!.Inputs, StringComparison.Ordinal);
        Assert.Contains("""{"type":"float","name":"SepalLength","required":true}""", description.Signature.Inputs, StringComparison.Ordinal);

        await using var host = await ServingHost.StartAsync(folder);
        var (status, answer) = await host.InvokeAsync("""{"dataframe_records": [{"SepalLength": 5.1, "SepalWidth": 3.5, "PetalLength": 1.4}]}""");
        Assert.Equal(400, status);
        Assert.Equal("INVALID_PARAMETER_VALUE", answer!["error_code"]!.GetValue<string>());
        Assert.Contains("Model is missing inputs ['PetalWidth'].", answer["message"]!.GetValue<string>(), StringComparison.Ordinal);

        (status, answer) = await host.InvokeAsync("""{"dataframe_records": [{"SepalLength": "x", "SepalWidth": 3.5, "PetalLength": 1.4, "PetalWidth": 0.2}]}""");
        Assert.Equal(400, status);
        Assert.Equal("BAD_REQUEST", answer!["error_code"]!.GetValue<string>());

        // CSV and an int where a float is declared.
        (status, answer) = await host.InvokeAsync("SepalLength,SepalWidth,PetalLength,PetalWidth,Species\n5,3.5,1.4,0.2,\n", "text/csv");
        Assert.Equal(200, status);
        Assert.Equal("setosa", answer!["predictions"]![0]!["PredictedLabel"]!.GetValue<string>());
    }

    public sealed class VectorFlower
    {
        [VectorType(4)]
        public float[] Features { get; set; } = [];

        public string Label { get; set; } = "";
    }

    [Fact]
    public async Task A_vector_input_column_takes_lists_of_its_size_and_refuses_others()
    {
        var context = new MLContext(seed: 1);
        var data = context.Data.LoadFromEnumerable(_iris.Flowers.Select(f => new VectorFlower { Features = [f.SepalLength, f.SepalWidth, f.PetalLength, f.PetalWidth], Label = f.Species }));
        var model = context.Transforms.Conversion.MapValueToKey("Label")
            .Append(context.MulticlassClassification.Trainers.SdcaMaximumEntropy(new Microsoft.ML.Trainers.SdcaMaximumEntropyMulticlassTrainer.Options { MaximumNumberOfIterations = 50, NumberOfThreads = 1 }))
            .Append(context.Transforms.Conversion.MapKeyToValue("PredictedLabel"))
            .Fit(data);
        var folder = await SaveAsync(context, model, data, "vector");
        var description = MlflowModel.Load(folder);
        Assert.Contains("""{"type":"array","items":{"type":"float"},"name":"Features","required":true}""", description.Signature!.Inputs, StringComparison.Ordinal);

        await using var host = await ServingHost.StartAsync(folder);
        var (status, answer) = await host.InvokeAsync("""{"dataframe_records": [{"Features": [5.1, 3.5, 1.4, 0.2]}, {"Features": [6.3, 2.5, 4.9, 1.5]}]}""");
        Assert.Equal(200, status);
        var expected = context.Data.CreateEnumerable<Prediction>(model.Transform(context.Data.LoadFromEnumerable(new[]
        {
            new VectorFlower { Features = [5.1f, 3.5f, 1.4f, 0.2f] }, new VectorFlower { Features = [6.3f, 2.5f, 4.9f, 1.5f] },
        })), reuseRowObject: false).ToList();
        Assert.Equal(expected.Select(p => p.PredictedLabel), answer!["predictions"]!.AsArray().Select(p => p!["PredictedLabel"]!.GetValue<string>()));
        Assert.Equal(expected[1].Score, answer["predictions"]![1]!["Score"]!.AsArray().Select(v => v!.GetValue<float>()));

        (status, answer) = await host.InvokeAsync("""{"dataframe_records": [{"Features": [5.1, 3.5, 1.4]}]}""");
        Assert.Equal(400, status);
        Assert.Contains("Column 'Features' holds vectors of 4 values; row 0 has 3.", answer!["message"]!.GetValue<string>(), StringComparison.Ordinal);

        (status, answer) = await host.InvokeAsync("""{"dataframe_records": [{"Features": 5.1}]}""");
        Assert.Equal(400, status);
        Assert.Equal("BAD_REQUEST", answer!["error_code"]!.GetValue<string>());
    }

    public sealed class BinaryFlower
    {
        public float PetalLength { get; set; }

        public float PetalWidth { get; set; }

        public bool Label { get; set; }
    }

    [Fact]
    public async Task A_regressor_answers_a_list_of_scores_and_a_binary_classifier_booleans_and_probabilities()
    {
        var context = new MLContext(seed: 1);
        var flowers = _iris.Flowers;
        var regressionData = context.Data.LoadFromEnumerable(flowers);
        var regressor = context.Transforms.Concatenate("Features", nameof(Flower.SepalLength), nameof(Flower.SepalWidth), nameof(Flower.PetalLength))
            .Append(context.Regression.Trainers.Sdca(labelColumnName: nameof(Flower.PetalWidth), maximumNumberOfIterations: 50))
            .Fit(regressionData);
        await using (var host = await ServingHost.StartAsync(await SaveAsync(context, regressor, regressionData, "regressor")))
        {
            // PetalWidth is the regressor's label, but not ML.NET's default one: the request must carry it (its signature requires it).
            var (status, answer) = await host.InvokeAsync("""{"dataframe_split": {"columns": ["SepalLength", "SepalWidth", "PetalLength", "PetalWidth", "Species"], "data": [[5.1, 3.5, 1.4, 0, ""], [6.3, 2.5, 4.9, 0, ""]]}}""");
            Assert.Equal(200, status);
            var expected = regressor.Transform(context.Data.LoadFromEnumerable(new[]
            {
                new Flower { SepalLength = 5.1f, SepalWidth = 3.5f, PetalLength = 1.4f }, new Flower { SepalLength = 6.3f, SepalWidth = 2.5f, PetalLength = 4.9f },
            })).GetColumn<float>("Score").ToArray();
            Assert.Equal(expected, answer!["predictions"]!.AsArray().Select(v => v!.GetValue<float>()));
        }

        var binaryData = context.Data.LoadFromEnumerable(flowers.Select(f => new BinaryFlower { PetalLength = f.PetalLength, PetalWidth = f.PetalWidth, Label = f.Species == "setosa" }));
        var binary = context.Transforms.Concatenate("Features", nameof(BinaryFlower.PetalLength), nameof(BinaryFlower.PetalWidth))
            .Append(context.BinaryClassification.Trainers.SdcaLogisticRegression(maximumNumberOfIterations: 50))
            .Fit(binaryData);
        await using (var host = await ServingHost.StartAsync(await SaveAsync(context, binary, binaryData, "binary")))
        {
            var (status, answer) = await host.InvokeAsync("""{"dataframe_records": [{"PetalLength": 1.4, "PetalWidth": 0.2}, {"PetalLength": 4.9, "PetalWidth": 1.5}]}""");
            Assert.Equal(200, status);
            var predictions = answer!["predictions"]!.AsArray();
            Assert.Equal(["PredictedLabel", "Score", "Probability"], predictions[0]!.AsObject().Select(p => p.Key));
            Assert.True(predictions[0]!["PredictedLabel"]!.GetValue<bool>());
            Assert.False(predictions[1]!["PredictedLabel"]!.GetValue<bool>());
            Assert.InRange(predictions[0]!["Probability"]!.GetValue<double>(), 0.5, 1.0);
        }
    }
}
