using System.Text.Json.Nodes;
using MlOps.Client.XGBoost.Native;

namespace MlOps.Client.XGBoost.Tests;

[Collection(XGBoostCollection.Name)]
public sealed class BindingTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-xgb-");

    public void Dispose() => _dir.Delete(recursive: true);

    [XGBoostFact]
    public void The_library_loads_and_reports_its_version()
    {
        Assert.True(Booster.LibraryVersion >= new Version(1, 7), $"libxgboost {Booster.LibraryVersion}");
    }

    [Fact]
    public void An_explicit_XGBOOST_LIBRARY_PATH_is_the_only_place_and_a_wrong_one_says_so()
    {
        var missing = Path.Combine(_dir.FullName, "nope", "libxgboost.so");
        var ex = Assert.Throws<XGBoostLibraryNotFoundException>(() => XGBoostLibrary.Load(missing));
        Assert.Contains("XGBOOST_LIBRARY_PATH is '" + missing + "'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("nothing else is searched", ex.Message, StringComparison.Ordinal);
        Assert.Contains("apt-get install libxgboost0", ex.Message, StringComparison.Ordinal);
        Assert.Contains("pip install xgboost", ex.Message, StringComparison.Ordinal);
        Assert.Equal([missing], ex.Tried);

        // A folder: every file name of this OS in it, and nothing beyond it (not the system's libxgboost).
        var empty = Assert.Throws<XGBoostLibraryNotFoundException>(() => XGBoostLibrary.Load(_dir.FullName));
        Assert.Equal(LibrarySearch.Current.FileNames.Select(n => Path.Combine(_dir.FullName, n)), empty.Tried);
    }

    [XGBoostFact]
    public void DMatrix_from_rectangular_jagged_and_span_data_agree()
    {
        float[,] rect = { { 1, 2, 3 }, { 4, 5, 6 } };
        float[][] jagged = [[1, 2, 3], [4, 5, 6]];
        float[] flat = [1, 2, 3, 4, 5, 6];
        using var a = new DMatrix(rect, [0, 1]);
        using var b = new DMatrix(jagged, [0, 1]);
        using var c = new DMatrix(flat, 2, 3, [0, 1]);
        foreach (var m in new[] { a, b, c })
        {
            Assert.Equal(2, m.RowCount);
            Assert.Equal(3, m.ColumnCount);
            Assert.Equal([0f, 1f], m.Labels);
        }

        Assert.Equal(a.Digest, b.Digest);
        Assert.Equal(a.Digest, c.Digest);
        Assert.Matches("^[0-9a-f]{8}$", a.Digest);
    }

    [XGBoostFact]
    public void DMatrix_info_fields_round_trip()
    {
        using var m = new DMatrix(new float[] { 1, 2, 3, 4, 5, 6 }, 3, 2);
        Assert.Empty(m.Labels);
        m.Labels = [1, 0, 1];
        m.Weights = [0.5f, 1, 2];
        m.BaseMargin = [0.1f, 0.2f, 0.3f];
        m.FeatureNames = ["a", "b"];
        m.FeatureTypes = ["q", "q"];
        Assert.Equal([1f, 0f, 1f], m.Labels);
        Assert.Equal([0.5f, 1f, 2f], m.Weights);
        Assert.Equal([0.1f, 0.2f, 0.3f], m.BaseMargin);
        Assert.Equal(["a", "b"], m.FeatureNames);
        Assert.Equal(["q", "q"], m.FeatureTypes);
    }

    [XGBoostFact]
    public void Wrong_shapes_and_bad_labels_are_rejected_naming_the_field()
    {
        var shape = Assert.Throws<ArgumentException>(() => new DMatrix(new float[] { 1, 2, 3 }, 2, 2));
        Assert.Equal("data", shape.ParamName);
        Assert.Contains("2 × 2", shape.Message, StringComparison.Ordinal);

        var ragged = Assert.Throws<ArgumentException>(() => new DMatrix(new float[][] { [1, 2], [3] }));
        Assert.Contains("rows[1]", ragged.Message, StringComparison.Ordinal);

        var count = Assert.Throws<ArgumentException>(() => new DMatrix(new float[][] { [1, 2], [3, 4] }, [1]));
        Assert.Equal("labels", count.ParamName);

        var nan = Assert.Throws<ArgumentException>(() => new DMatrix(new float[][] { [1, 2], [3, 4] }, [1, float.NaN]));
        Assert.Contains("labels[1]", nan.Message, StringComparison.Ordinal);

        using var m = new DMatrix(new float[][] { [1, 2], [3, 4] });
        Assert.Throws<ArgumentException>(() => m.Weights = [1, -1]);
        Assert.Throws<ArgumentException>(() => m.FeatureNames = ["a"]);
        Assert.Throws<ArgumentException>(() => m.FeatureNames = ["a", "a"]);
        Assert.Throws<ArgumentException>(() => m.BaseMargin = [1, 2, 3]);
        Assert.Throws<ArgumentException>(() => m.SetGroups([1]));
    }

    [XGBoostFact]
    public void Disposed_handles_throw_ObjectDisposedException_instead_of_touching_freed_memory()
    {
        var (x, y) = TestData.Binary(50, 4, 1);
        var m = new DMatrix(x, y);
        var booster = XGBoost.Train(TestData.BinaryParams(), m, 2);
        m.Dispose();
        m.Dispose(); // twice is fine
        Assert.True(m.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => m.Labels);
        Assert.Throws<ObjectDisposedException>(() => booster.Predict(m));
        Assert.Throws<ObjectDisposedException>(() => XGBoost.Train(TestData.BinaryParams(), m, 1));

        booster.Dispose();
        using var other = new DMatrix(x, y);
        Assert.Throws<ObjectDisposedException>(() => booster.Predict(other));
        Assert.Throws<ObjectDisposedException>(() => booster.Update(other, 0));
        Assert.Throws<ObjectDisposedException>(() => booster.SaveConfig());
        Assert.Equal("Booster (disposed)", booster.ToString());
    }

    [XGBoostFact]
    public void Invalid_parameters_surface_XGBoosts_own_error()
    {
        var (x, y) = TestData.Binary(30, 3, 2);
        using var m = new DMatrix(x, y);
        var ex = Assert.Throws<XGBoostException>(() => XGBoost.Train(new Dictionary<string, object?> { ["objective"] = "no:such" }, m, 1));
        Assert.NotNull(ex.NativeMessage);
        Assert.Contains("no:such", ex.Message, StringComparison.Ordinal);

        var depth = Assert.Throws<XGBoostException>(() => XGBoost.Train(new Dictionary<string, object?> { ["max_depth"] = "deep" }, m, 1));
        Assert.Contains("max_depth", depth.Message, StringComparison.Ordinal);
    }

    [XGBoostFact]
    public void Training_with_a_seed_is_deterministic()
    {
        var (x, y) = TestData.Binary(400, 6, 3);
        using var m = new DMatrix(x, y);
        var p = TestData.BinaryParams();
        p["subsample"] = 0.7;
        p["colsample_bytree"] = 0.8;
        using var a = XGBoost.Train(p, m, 15);
        using var b = XGBoost.Train(p, m, 15);
        Assert.Equal(a.Predict(m), b.Predict(m));
        Assert.Equal(15, a.BoostedRounds);
        Assert.Equal(6, a.FeatureCount);
    }

    [XGBoostTheory]
    [InlineData("model.json")]
    [InlineData("model.ubj")]
    [InlineData("model.xgb")]
    public void Save_and_load_through_a_file_give_identical_predictions(string file)
    {
        var (x, y) = TestData.Binary(300, 5, 4);
        using var m = new DMatrix(x, y);
        using var booster = XGBoost.Train(TestData.BinaryParams(), m, 12);
        var path = Path.Combine(_dir.FullName, file);
        booster.Save(path);
        using var loaded = Booster.Load(path, allowLegacyBinary: file.EndsWith(".xgb", StringComparison.Ordinal)); // .xgb is legacy binary in 1.x
        Assert.Equal(booster.Predict(m), loaded.Predict(m));
        Assert.Equal(12, loaded.BoostedRounds);
    }

    [XGBoostTheory]
    [InlineData(ModelFormat.Json)]
    [InlineData(ModelFormat.Ubj)]
    [InlineData(ModelFormat.Legacy)]
    public void Save_and_load_through_a_buffer_give_identical_predictions(ModelFormat format)
    {
        var (x, y) = TestData.Multiclass(300, 5, 5);
        using var m = new DMatrix(x, y);
        using var booster = XGBoost.Train(new Dictionary<string, object?> { ["objective"] = "multi:softprob", ["num_class"] = 3, ["seed"] = 1 }, m, 8);
        if (format == ModelFormat.Legacy && !TestData.LegacyBinary)
        {
            Assert.Throws<NotSupportedException>(() => booster.SaveToBuffer(format)); // XGBoost 3.1+ writes JSON and UBJSON only
            return;
        }

        var bytes = booster.SaveToBuffer(format);
        if (format == ModelFormat.Json)
        {
            Assert.Equal("multi:softprob", JsonNode.Parse(bytes)!["learner"]!["objective"]!["name"]!.GetValue<string>());
        }

        using var loaded = Booster.LoadFromBuffer(bytes, allowLegacyBinary: format == ModelFormat.Legacy);
        Assert.Equal(booster.Predict(m), loaded.Predict(m));
        Assert.Throws<ArgumentException>(() => Booster.LoadFromBuffer([]));
        Assert.Throws<InvalidDataException>(() => Booster.LoadFromBuffer("not a model"u8)); // would be read as legacy binary
        if (TestData.LegacyBinary)
        {
            Assert.Throws<XGBoostException>(() => Booster.LoadFromBuffer("not a model"u8, allowLegacyBinary: true));
        }
        else
        {
            Assert.Throws<NotSupportedException>(() => Booster.LoadFromBuffer("not a model"u8, allowLegacyBinary: true));
        }

        Assert.Throws<FileNotFoundException>(() => Booster.Load(Path.Combine(_dir.FullName, "absent.json")));
    }

    [XGBoostFact]
    public void The_json_config_holds_every_effective_parameter()
    {
        var (x, y) = TestData.Binary(100, 3, 6);
        using var m = new DMatrix(x, y);
        var p = TestData.BinaryParams();
        p["max_depth"] = 4;
        using var booster = XGBoost.Train(p, m, 2);
        var config = JsonNode.Parse(booster.SaveConfig())!;
        Assert.Equal("4", FindValue(config["learner"]!["gradient_booster"]!, "max_depth")); // the updaters' layout differs between 1.7 and 3.x
        Assert.Equal("binary:logistic", config["learner"]!["objective"]!["name"]!.GetValue<string>());
        Assert.NotNull(FindValue(config, "min_child_weight")); // defaults are there too

        booster.LoadConfig(config.ToJsonString());
        Assert.Throws<XGBoostException>(() => booster.LoadConfig("{not json"));
    }

    private static string? FindValue(JsonNode node, string key) => node switch
    {
        JsonObject o => o.TryGetPropertyValue(key, out var v) && v is JsonValue ? v.GetValue<string>() : o.Select(p => p.Value is null ? null : FindValue(p.Value, key)).FirstOrDefault(s => s is not null),
        JsonArray a => a.Select(n => n is null ? null : FindValue(n, key)).FirstOrDefault(s => s is not null),
        _ => null,
    };

    [XGBoostFact]
    public void Feature_scores_of_every_type_and_dump()
    {
        var (x, y) = TestData.Binary(300, 4, 7);
        using var m = new DMatrix(x, y) { FeatureNames = ["alpha", "beta", "gamma", "delta"] };
        using var booster = XGBoost.Train(TestData.BinaryParams(), m, 5);
        Assert.Equal(["alpha", "beta", "gamma", "delta"], booster.FeatureNames);
        var weight = booster.GetScores(ImportanceType.Weight);
        Assert.All(weight.Scores.Values, v => Assert.Equal(Math.Round(v[0]), v[0]));
        foreach (var type in Enum.GetValues<ImportanceType>())
        {
            var scores = booster.GetScores(type);
            Assert.NotEmpty(scores.Features);
            Assert.All(scores.Features, f => Assert.Contains(f, (string[])["alpha", "beta", "gamma", "delta"]));
            Assert.All(scores.Scores.Values, v => Assert.True(v[0] > 0));
        }

        var gain = booster.GetScores(ImportanceType.Gain).ToDictionary();
        var totalGain = booster.GetScores(ImportanceType.TotalGain).ToDictionary();
        var weights = weight.ToDictionary();
        foreach (var f in gain.Keys)
        {
            Assert.Equal(totalGain[f] / weights[f], gain[f], 3);
        }

        var dump = booster.Dump();
        Assert.Equal(5, dump.Count);
        Assert.Contains("alpha", string.Concat(dump), StringComparison.Ordinal);
        Assert.StartsWith("{", booster.Dump("json", withStats: true)[0].TrimStart(), StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => booster.Dump("xml"));
    }

    [XGBoostFact]
    public void Python_formatting_of_the_importance_json()
    {
        var scores = new FeatureScores(ImportanceType.Weight, ["f0", "f1"], new Dictionary<string, double[]> { ["f0"] = [10], ["f1"] = [0.25] });
        Assert.Equal("{\"f0\": 10.0, \"f1\": 0.25}", scores.ToJson());
        Assert.Equal("1e-05", FeatureScores.PythonFloat(1e-5));
        Assert.Equal("1.5e+20", FeatureScores.PythonFloat(1.5e20));
    }

    [XGBoostFact]
    public void Predictions_margins_and_iteration_ranges()
    {
        var (x, y) = TestData.Binary(200, 4, 8);
        using var m = new DMatrix(x, y);
        using var booster = XGBoost.Train(TestData.BinaryParams(), m, 10);
        var values = booster.Predict(m);
        var margins = booster.Predict(m, new PredictionOptions { Type = PredictionType.Margin });
        for (var i = 0; i < values.Length; i++)
        {
            Assert.Equal(values[i], 1 / (1 + MathF.Exp(-margins[i])), 5);
        }

        var firstThree = booster.Predict(m, new PredictionOptions { IterationEnd = 3 });
        using var sliced = booster.Slice(0, 3);
        Assert.Equal(sliced.Predict(m), firstThree);
        Assert.NotEqual(values, firstThree);

        var contributions = booster.PredictWithShape(m, new PredictionOptions { Type = PredictionType.Contributions });
        Assert.Equal([200L, 5L], contributions.Shape);
        Assert.Equal(margins[0], contributions.Row(0).ToArray().Sum(), 4);
        var leaves = booster.PredictWithShape(m, new PredictionOptions { Type = PredictionType.LeafIndex });
        Assert.Equal([200L, 10L], leaves.Shape);
        Assert.Throws<ArgumentOutOfRangeException>(() => booster.Predict(m, new PredictionOptions { IterationBegin = 5, IterationEnd = 2 }));
    }

    [XGBoostFact]
    public void Concurrent_predictions_on_one_booster_agree()
    {
        var (x, y) = TestData.Multiclass(500, 6, 9);
        using var m = new DMatrix(x, y);
        using var booster = XGBoost.Train(new Dictionary<string, object?> { ["objective"] = "multi:softprob", ["num_class"] = 3, ["seed"] = 3 }, m, 20);
        var expected = booster.Predict(m);
        var results = new float[8][][];
        Parallel.For(0, 8, t =>
        {
            using var local = new DMatrix(x);
            results[t] = [.. Enumerable.Range(0, 10).Select(_ => booster.Predict(local))];
        });
        Assert.All(results.SelectMany(r => r), r => Assert.Equal(expected, r));
    }

    [XGBoostFact]
    public void Attributes_round_trip_and_survive_saving()
    {
        var (x, y) = TestData.Binary(60, 3, 10);
        using var m = new DMatrix(x, y);
        using var booster = XGBoost.Train(TestData.BinaryParams(), m, 2);
        Assert.Null(booster.GetAttribute("owner"));
        booster.SetAttribute("owner", "team-a");
        using var loaded = Booster.LoadFromBuffer(booster.SaveToBuffer());
        Assert.Equal("team-a", loaded.GetAttribute("owner"));
        loaded.SetAttribute("owner", null);
        Assert.Null(loaded.GetAttribute("owner"));
    }

    [XGBoostFact]
    public void Evaluation_text_is_parsed_with_names_that_contain_dashes()
    {
        var results = EvalSetMetric.Parse("[3]\tmy-train-logloss:0.5\tvalid-auc:0.75\tvalid-ndcg@5-:0.1", ["my-train", "valid"]);
        Assert.Equal(new EvalSetMetric("my-train", "logloss", 0.5), results[0]);
        Assert.Equal(new EvalSetMetric("valid", "auc", 0.75), results[1]);
        Assert.Equal("ndcg@5-", results[2].MetricName);
        Assert.Equal("valid-auc", results[1].Key);
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class XGBoostCollection
{
    public const string Name = "xgboost";
}
