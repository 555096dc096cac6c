using System.Text.Json.Nodes;
using MlOps.Client.Models;
using MlOps.Client.XGBoost;
using MlOps.Client.XGBoost.Models;
using MlOps.Client.XGBoost.Tests;
using XGBoostIris;

namespace MlOps.Client.Serving.Tests;

/// <summary>
/// The iris XGBoost model with a column-based signature (what Python infers from a pandas DataFrame: named
/// <c>double</c> columns), and without any signature: columns by name, Python's casts, optional columns as missing.
/// </summary>
public sealed class ColumnSignatureTests : IDisposable
{
    private static readonly string[] Names = ["sepal_length", "sepal_width", "petal_length", "petal_width"];
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-serving-columns-");

    public void Dispose() => _dir.Delete(recursive: true);

    /// <summary>Trains the seed example's booster and saves it with <paramref name="signatureInputs"/> (none when null); returns the folder and the booster.</summary>
    private async Task<(string Folder, Booster Booster, float[][] XTest)> SaveAsync(string? signatureInputs, bool featureNames = false)
    {
        var (_, _, xTest, _) = Iris.LoadSplit();
        var booster = SeedModel.Load();
        if (featureNames)
        {
            booster.FeatureNames = Names;
        }

        var folder = Directory.CreateDirectory(Path.Combine(_dir.FullName, Guid.NewGuid().ToString("N"))).FullName;
        // JSON keeps the feature names (XGBoost 1.x's legacy binary model.xgb does not).
        var config = await new XGBoostFlavor(XGBoostModelFormat.Json).SaveAsync(booster, folder, default);
        var description = MlflowModel.Create("model", "run");
        description.Flavors["xgboost"] = config.Flavor;
        if (signatureInputs is not null)
        {
            description.Signature = new ModelSignature(signatureInputs, null);
        }

        description.Save(folder);
        return (folder, booster, xTest);
    }

    private static float[] Predict(Booster booster, float[][] rows) => booster.InplacePredict([.. rows.SelectMany(r => r)], rows.Length, 4).Values;

    private static float[] Numbers(JsonNode? answer) => [.. answer!["predictions"]!.AsArray().SelectMany(r => r!.AsArray().Select(v => v!.GetValue<float>()))];

    [XGBoostFact]
    public async Task Columns_come_by_name_in_any_order_with_ints_text_numbers_and_extra_columns()
    {
        var signature = "[" + string.Join(", ", Names.Select(n => $$"""{"type": "double", "name": "{{n}}", "required": true}""")) + "]";
        var (folder, booster, xTest) = await SaveAsync(signature);
        using (booster)
        {
            await using var host = await ServingHost.StartAsync(folder);
            Assert.Equal(Names, host.Model.InputNames);

            // Reversed columns, an extra one, the first value an int and the second a numeric string: pandas' astype accepts both.
            var rows = xTest.Take(5).ToArray();
            var data = rows.Select((r, i) => $"[\"id{i}\", {(i == 0 ? "5" : r[3].ToString("R", System.Globalization.CultureInfo.InvariantCulture))}, " +
                $"{r[2].ToString("R", System.Globalization.CultureInfo.InvariantCulture)}, \"{r[1].ToString("R", System.Globalization.CultureInfo.InvariantCulture)}\", {r[0].ToString("R", System.Globalization.CultureInfo.InvariantCulture)}]");
            var (status, answer) = await host.InvokeAsync("""{"dataframe_split": {"columns": ["id", "petal_width", "petal_length", "sepal_width", "sepal_length"], "data": [""" + string.Join(", ", data) + "]}}");
            Assert.Equal(200, status);
            rows[0] = [rows[0][0], rows[0][1], rows[0][2], 5f];
            Assert.Equal(Predict(booster, rows), Numbers(answer));

            // The same rows as CSV with a header, in yet another order.
            var csv = "petal_length,sepal_length,petal_width,sepal_width\n" + string.Join("\n", rows.Select(r => string.Join(",", new[] { r[2], r[0], r[3], r[1] }.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))));
            (status, answer) = await host.InvokeAsync(csv, "text/csv");
            Assert.Equal(200, status);
            Assert.Equal(Predict(booster, rows), Numbers(answer));
        }
    }

    [XGBoostFact]
    public async Task A_missing_required_column_is_refused_and_a_missing_optional_one_is_XGBoosts_missing_value()
    {
        var signature = "[" + string.Join(", ", Names.Select(n => $$"""{"type": "double", "name": "{{n}}", "required": {{(n == "petal_width" ? "false" : "true")}}}""")) + "]";
        var (folder, booster, xTest) = await SaveAsync(signature);
        using (booster)
        {
            await using var host = await ServingHost.StartAsync(folder);
            var (status, answer) = await host.InvokeAsync("""{"dataframe_records": [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_width": 0.2}]}""");
            Assert.Equal(400, status);
            Assert.Equal("INVALID_PARAMETER_VALUE", answer!["error_code"]!.GetValue<string>());
            Assert.Contains("Model is missing inputs ['petal_length'].", answer["message"]!.GetValue<string>(), StringComparison.Ordinal);

            (status, answer) = await host.InvokeAsync("""{"dataframe_records": [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4}]}""");
            Assert.Equal(200, status);
            Assert.Equal(Predict(booster, [[5.1f, 3.5f, 1.4f, float.NaN]]), Numbers(answer));

            (status, answer) = await host.InvokeAsync("""{"dataframe_records": [{"sepal_length": "abc", "sepal_width": 3.5, "petal_length": 1.4}]}""");
            Assert.Equal(400, status);
            Assert.Equal("BAD_REQUEST", answer!["error_code"]!.GetValue<string>());
            Assert.Equal(
                "Invalid input. Data is not compatible with model signature. Failed to convert column sepal_length to type 'float64'. Error: 'ValueError(\"could not convert string to float: 'abc'\")'",
                answer["message"]!.GetValue<string>());
        }
    }

    [XGBoostFact]
    public async Task Without_a_signature_the_boosters_feature_names_are_the_columns()
    {
        var (folder, booster, xTest) = await SaveAsync(null, featureNames: true);
        using (booster)
        {
            await using var host = await ServingHost.StartAsync(folder);
            Assert.Equal(Names, host.Model.InputNames);
            var r = xTest[0];
            var (status, answer) = await host.InvokeAsync(FormattableString.Invariant($"{{\"dataframe_records\": [{{\"petal_width\": {r[3]:R}, \"petal_length\": {r[2]:R}, \"sepal_width\": {r[1]:R}, \"sepal_length\": {r[0]:R}}}]}}"));
            Assert.Equal(200, status);
            Assert.Equal(Predict(booster, [r]), Numbers(answer));
        }
    }

    private static JsonObject RecordedColumns(string name) =>
        JsonNode.Parse(File.ReadAllText(Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Recorded", "scoring-columns"), name + "-*.json").Single()))!.AsObject();

    /// <summary>The signature of the model Python's server answered for (Recorded/scoring-columns/README.md).</summary>
    private const string RecordedSignature =
        """[{"type": "double", "name": "sepal_length", "required": true}, {"type": "float", "name": "sepal_width", "required": true}, {"type": "long", "name": "petal_length", "required": true}, {"type": "double", "name": "petal_width", "required": false}]""";

    [XGBoostTheory]
    [InlineData("001")]
    [InlineData("002")]
    [InlineData("003")]
    [InlineData("004")]
    [InlineData("005")]
    [InlineData("006")]
    [InlineData("007")]
    [InlineData("008")]
    [InlineData("010")]
    [InlineData("011")]
    [InlineData("012")]
    [InlineData("013")]
    [InlineData("014")]
    [InlineData("015")]
    [InlineData("016")]
    [InlineData("017")]
    [InlineData("018")]
    public async Task Every_recorded_answer_of_Pythons_server_for_a_column_signature_is_ours(string exchange)
    {
        var (folder, booster, _) = await SaveAsync(RecordedSignature);
        using (booster)
        {
            await using var host = await ServingHost.StartAsync(folder);
            var recorded = RecordedColumns(exchange);
            var request = recorded["request"]!;
            var (status, answer) = await host.InvokeAsync(request["body"]!.GetValue<string>(), request["headers"]!["Content-Type"]!.GetValue<string>());
            var expected = recorded["response"]!;
            Assert.Equal(expected["status"]!.GetValue<int>(), status);
            if (status == 200)
            {
                Assert.True(JsonNode.DeepEquals(expected["json"], answer), answer!.ToJsonString());
                return;
            }

            Assert.Equal(expected["json"]!["error_code"]!.GetValue<string>(), answer!["error_code"]!.GetValue<string>());
            var theirs = expected["json"]!["message"]!.GetValue<string>();
            var ours = answer["message"]!.GetValue<string>();
            if (theirs.StartsWith("Invalid input.", StringComparison.Ordinal) || theirs.StartsWith("Failed to parse input as a Pandas DataFrame.", StringComparison.Ordinal))
            {
                Assert.Equal(theirs, ours); // the cast's (or read_csv's) message, word for word
            }
            else
            {
                // Python's also repeats the request's data twice; ours names the schema and the reason the same way.
                var reason = theirs[theirs.IndexOf(" with schema '", StringComparison.Ordinal)..];
                Assert.EndsWith(reason, ours, StringComparison.Ordinal);
            }
        }
    }

    [XGBoostFact]
    public async Task A_missing_optional_column_is_scored_where_Pythons_server_failed()
    {
        var recorded = RecordedColumns("009");
        Assert.Equal(400, recorded["response"]!["status"]!.GetValue<int>()); // XGBoost got 3 features for 4 in Python
        var (folder, booster, _) = await SaveAsync(RecordedSignature);
        using (booster)
        {
            await using var host = await ServingHost.StartAsync(folder);
            var (status, answer) = await host.InvokeAsync(recorded["request"]!["body"]!.GetValue<string>());
            Assert.Equal(200, status);
            Assert.Equal(Predict(booster, [[5.1f, 3.5f, 1f, float.NaN]]), Numbers(answer));
        }
    }

    [XGBoostFact]
    public async Task A_model_logged_from_an_XGBClassifier_answers_class_labels_as_Pythons_pyfunc_does()
    {
        var (folder, booster, xTest) = await SaveAsync(null);
        using (booster)
        {
            var description = MlflowModel.Load(folder);
            description.Flavors["xgboost"]!["model_class"] = "xgboost.sklearn.XGBClassifier";
            description.Save(folder);
            await using var host = await ServingHost.StartAsync(folder);
            var (status, answer) = await host.InvokeAsync(new JsonObject { ["instances"] = new JsonArray([.. xTest.Select(r => (JsonNode)new JsonArray([.. r.Select(v => (JsonNode)v)]))]) }.ToJsonString());
            Assert.Equal(200, status);
            var probabilities = Predict(booster, xTest);
            var expected = Enumerable.Range(0, xTest.Length).Select(r => probabilities.AsSpan(r * 3, 3).IndexOf(probabilities.AsSpan(r * 3, 3).ToArray().Max())).ToList();
            Assert.Equal(expected, answer!["predictions"]!.AsArray().Select(v => v!.GetValue<int>()));
            Assert.Equal(3, expected.Distinct().Count());
        }
    }

    [XGBoostFact]
    public async Task A_signature_of_another_width_than_the_booster_fails_at_load()
    {
        var (folder, booster, _) = await SaveAsync("""[{"type": "double", "name": "a"}, {"type": "double", "name": "b"}]""");
        using (booster)
        {
            var error = await Assert.ThrowsAsync<NotSupportedException>(() => ServingHost.StartAsync(folder));
            Assert.Equal("The model's signature has 2 input columns; its booster takes 4 features.", error.Message);
        }
    }
}
