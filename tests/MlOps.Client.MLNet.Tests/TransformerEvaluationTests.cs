using Microsoft.ML;
using MlOps.Client.Evaluation;
using MlOps.Client.MLNet.Evaluation;

namespace MlOps.Client.MLNet.Tests;

/// <summary>ML.NET models evaluated like mlflow.evaluate: the metrics agree with ML.NET's own evaluation of the same predictions.</summary>
public sealed class TransformerEvaluationTests : IAsyncLifetime
{
    private readonly MLNetFixture _f = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public void A_multiclass_pipeline_gets_the_default_evaluators_metrics_consistent_with_MLNet()
    {
        var model = _f.SdcaPipeline().Fit(_f.Data);
        var result = model.EvaluateMulticlass(_f.Data);
        var mlnet = _f.Context.MulticlassClassification.Evaluate(model.Transform(_f.Data));
        Assert.Equal(mlnet.MicroAccuracy, result["accuracy_score"]!.Value, 1e-9);   // the same predictions
        Assert.Equal(mlnet.LogLoss, result["log_loss"]!.Value, 1e-4);               // ML.NET clips at 1e-15 in double; Python at float32 eps
        Assert.Equal(_f.Data.GetRowCount(), (long)result["example_count"]!.Value);
        Assert.Equal(3, result.Labels.Count);
        Assert.Equal(3, result.PerClassMetrics.Count);
        var matrix = result.ConfusionMatrix!;
        for (var r = 0; r < 3; r++)
        {
            for (var c = 0; c < 3; c++)
            {
                Assert.Equal(mlnet.ConfusionMatrix.Counts[r][c], matrix[r, c]); // rows = truth, columns = prediction, as ML.NET
            }
        }
    }
}
