using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using MlOps.Client.Models;
using MlOps.Client.Serving.Flavors;
using MlOps.Client.XGBoost;
using MlOps.Client.XGBoost.Models;
using MlOps.Client.XGBoost.Tests;

namespace MlOps.Client.Serving.Tests;

/// <summary>
/// Scoring requests are predicted from the managed copy of the booster's trees, and every size — one row, a block of 64
/// and more than one block — answers XGBoost's own values, missing features included.
/// </summary>
public sealed class ManagedTreesServingTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-serving-trees-");

    public void Dispose() => _dir.Delete(recursive: true);

    [XGBoostFact]
    public async Task Requests_use_the_managed_trees_and_every_size_answers_XGBoosts_values()
    {
        using var booster = SeedModel.Load();
        var (folder, description) = await SeedModel.SaveServableAsync(booster, _dir.FullName);

        using (var flavor = await XGBoostServing.LoadAsync(folder, description, default))
        {
            Assert.True(flavor.UsesManagedTrees, flavor.ManagedTreesReason);
        }

        await using var host = await ServingHost.StartAsync(folder);
        var random = new Random(8);
        foreach (var rows in new[] { 1, 2, 7, 64, 65, 300 })
        {
            var data = new float[rows * 4];
            for (var i = 0; i < data.Length; i++)
            {
                // Around iris' ranges (0.1–7.9 cm), on one-decimal values like the splits', a tenth missing.
                data[i] = random.Next(10) == 0 ? float.NaN : MathF.Round((float)(random.NextDouble() * 8), 1);
            }

            var expected = booster.InplacePredict(data, rows, 4).Values;
            var body = new StringBuilder("{\"inputs\": [");
            for (var r = 0; r < rows; r++)
            {
                body.Append(r == 0 ? "[" : ", [").AppendJoin(", ", data.AsSpan(r * 4, 4).ToArray().Select(v => float.IsNaN(v) ? "NaN" : v.ToString("R", CultureInfo.InvariantCulture))).Append(']');
            }

            using var response = await host.Http.PostAsync("/invocations", new StringContent(body.Append("]}").ToString(), Encoding.UTF8, "application/json"));
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, text);
            var predictions = JsonNode.Parse(text)!["predictions"]!.AsArray();
            Assert.Equal(rows, predictions.Count);
            var actual = predictions.SelectMany(p => p!.AsArray().Select(v => (float)v!.GetValue<double>())).ToArray();
            Assert.Equal(expected, actual);
        }
    }

    [XGBoostFact]
    public async Task A_model_the_copy_does_not_reproduce_is_predicted_by_XGBoost_and_the_log_says_why()
    {
        var random = new Random(3);
        var x = Enumerable.Range(0, 300).Select(_ => Enumerable.Range(0, 4).Select(_ => (float)random.NextDouble()).ToArray()).ToArray();
        var y = x.Select(r => r[0] + r[1] > 1 ? 1f : 0f).ToArray();
        using var train = new DMatrix(x, y);
        using var booster = XGBoost.XGBoost.Train(new Dictionary<string, object?> { ["objective"] = "binary:logistic", ["booster"] = "dart", ["max_depth"] = 2, ["nthread"] = 1, ["seed"] = 1 }, train, numBoostRound: 4);
        var folder = Directory.CreateDirectory(Path.Combine(_dir.FullName, "dart")).FullName;
        var config = await new XGBoostFlavor().SaveAsync(booster, folder, default);
        var description = MlflowModel.Create("model", "run");
        description.Flavors["xgboost"] = config.Flavor;
        description.Save(folder);

        var lines = new List<string>();
        await using var host = await ServingHost.StartAsync(folder, log: lines);
        Assert.Contains("dart", host.Model.NativePredictionReason, StringComparison.Ordinal);
        lock (lines)
        {
            Assert.Single(lines, l => l.StartsWith("The XGBoost model is predicted by libxgboost, not from a managed copy of its trees: booster 'dart'", StringComparison.Ordinal));
        }

        var rows = new float[] { 0.9f, 0.8f, 0.1f, 0.2f, 0.1f, 0.2f, 0.3f, float.NaN };
        using var response = await host.Http.PostAsync("/invocations", new StringContent("{\"inputs\": [[0.9, 0.8, 0.1, 0.2], [0.1, 0.2, 0.3, NaN]]}", Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        var actual = JsonNode.Parse(text)!["predictions"]!.AsArray().Select(v => (float)v!.GetValue<double>()).ToArray();
        Assert.Equal(booster.InplacePredict(rows, 2, 4).Values, actual);
    }
}
