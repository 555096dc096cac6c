using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;

namespace MlOps.Client.XGBoost.Tests;

/// <summary>UBJSON models checked like JSON ones; legacy binary refused unless trusted.</summary>
public sealed class ModelFormatsTests
{
    private static Booster Train(out DMatrix data)
    {
        var (x, y) = TestData.Binary(200, 6, 8);
        data = new DMatrix(x, y);
        return XGBoost.Train(TestData.BinaryParams(), data, numBoostRound: 3);
    }

    [XGBoostFact]
    public void UBJSON_read_here_has_the_trees_of_the_JSON_model()
    {
        using var model = Train(out var data);
        using (data)
        {
            var json = JsonNode.Parse(model.SaveToBuffer(ModelFormat.Json))!;
            var fromUbj = JsonNode.Parse(ModelValidation.UbjsonToJson(model.SaveToBuffer(ModelFormat.Ubj)))!;
            var expected = json["learner"]!["gradient_booster"]!["model"]!["trees"]!;
            var got = fromUbj["learner"]!["gradient_booster"]!["model"]!["trees"]!;
            Assert.Equal(expected.AsArray().Count, got.AsArray().Count);
            foreach (var name in new[] { "left_children", "right_children", "split_indices", "parents" })
            {
                Assert.Equal(expected[0]![name]!.ToJsonString(), got[0]![name]!.ToJsonString());
            }

            Assert.Equal(json["learner"]!["learner_model_param"]!["num_feature"]!.ToString(), fromUbj["learner"]!["learner_model_param"]!["num_feature"]!.ToString());
            using var loaded = Booster.LoadFromBuffer(model.SaveToBuffer(ModelFormat.Ubj));
            Assert.Equal(model.Predict(data), loaded.Predict(data));
        }
    }

    [XGBoostFact]
    public void A_UBJSON_tree_with_an_out_of_range_child_is_refused_before_XGBoost_reads_it()
    {
        using var model = Train(out var data);
        using (data)
        {
            var ubj = model.SaveToBuffer(ModelFormat.Ubj);
            // The key "left_children" (length-prefixed), then '[' '$' 'l' '#' <count> and big-endian int32 values.
            var key = Encoding.ASCII.GetBytes("left_children");
            var at = ubj.AsSpan().IndexOf(key) + key.Length;
            Assert.Equal((byte)'[', ubj[at]);
            Assert.Equal((byte)'$', ubj[at + 1]);
            Assert.Equal((byte)'l', ubj[at + 2]);
            Assert.Equal((byte)'#', ubj[at + 3]);
            var countSize = ubj[at + 4] switch { (byte)'i' or (byte)'U' => 1, (byte)'I' => 2, (byte)'l' => 4, _ => 8 };
            var first = at + 5 + countSize;
            BinaryPrimitives.WriteInt32BigEndian(ubj.AsSpan(first), 100_000);
            var error = Assert.Throws<InvalidDataException>(() => Booster.LoadFromBuffer(ubj));
            Assert.Contains("tree 0, node 0", error.Message, StringComparison.Ordinal);

            var truncated = model.SaveToBuffer(ModelFormat.Ubj)[..^40];
            Assert.Throws<InvalidDataException>(() => Booster.LoadFromBuffer(truncated));
        }
    }

    [XGBoostTheory]
    [InlineData("tree_info", 0, 5L, "output group 5")]
    [InlineData("parents", 1, 2L, "name parents")]
    public void Trees_given_to_a_missing_output_group_or_with_wrong_parents_are_refused(string array, int index, long value, string expected)
    {
        using var model = Train(out var data);
        using (data)
        {
            var root = JsonNode.Parse(model.SaveToBuffer(ModelFormat.Json))!;
            var trees = root["learner"]!["gradient_booster"]!["model"]!;
            var target = array == "tree_info" ? trees["tree_info"]! : trees["trees"]![0]![array]!;
            target[index] = value;
            var error = Assert.Throws<InvalidDataException>(() => Booster.LoadFromBuffer(Encoding.UTF8.GetBytes(root.ToJsonString())));
            Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        }
    }

    [XGBoostFact]
    public void Categorical_splits_and_vector_leaf_trees_pass_the_checks_and_predict_the_same_after_a_round_trip()
    {
        // Column 0 is a category (0…4) the label depends on by set, not by order: partition splits, not one-hot.
        var random = new Random(7);
        const int rows = 400;
        var x = new float[rows * 3];
        var y = new float[rows];
        var y2 = new float[rows * 2];
        for (var r = 0; r < rows; r++)
        {
            var category = random.Next(5);
            x[r * 3] = category;
            x[(r * 3) + 1] = (float)random.NextDouble();
            x[(r * 3) + 2] = (float)random.NextDouble();
            y[r] = (category is 1 or 3 ? 2 : -1) + x[(r * 3) + 1];
            y2[r * 2] = y[r];
            y2[(r * 2) + 1] = x[(r * 3) + 2] - (category == 4 ? 1 : 0);
        }

        using var categorical = new DMatrix(x, rows, 3, y) { FeatureTypes = ["c", "q", "q"] };
        using var byCategory = XGBoost.Train(
            new Dictionary<string, object?> { ["tree_method"] = "hist", ["max_cat_to_onehot"] = 1, ["max_depth"] = 3, ["seed"] = 1 }, categorical, numBoostRound: 5);
        var text = System.Text.Encoding.UTF8.GetString(byCategory.SaveToBuffer(ModelFormat.Json));
        if (Booster.LibraryVersion < new Version(2, 0))
        {
            Assert.Contains("\"split_conditions\":[NaN", text, StringComparison.Ordinal); // what XGBoost 1.x writes for a categorical split: not JSON
        }

        var json = System.Text.Json.Nodes.JsonNode.Parse(ModelValidation.WithoutNonFiniteLiterals(System.Text.Encoding.UTF8.GetBytes(text)))!;
        var tree = json["learner"]!["gradient_booster"]!["model"]!["trees"]![0]!;
        Assert.NotEmpty(tree["categories_nodes"]!.AsArray()); // the trees really split on categories
        RoundTrips(byCategory, categorical);

        // Two targets; XGBoost 2.0+ grows one tree with a leaf vector for both (multi_strategy), 1.7 a tree per target.
        using var twoTargets = new DMatrix(x, rows, 3);
        twoTargets.SetLabels(y2, 2);
        var parameters = new Dictionary<string, object?> { ["tree_method"] = "hist", ["max_depth"] = 3, ["seed"] = 1 };
        if (Booster.LibraryVersion >= new Version(2, 0))
        {
            parameters["multi_strategy"] = "multi_output_tree";
        }

        using var vector = XGBoost.Train(parameters, twoTargets, numBoostRound: 5);
        if (Booster.LibraryVersion >= new Version(2, 0))
        {
            var model = System.Text.Json.Nodes.JsonNode.Parse(ModelValidation.WithoutNonFiniteLiterals(vector.SaveToBuffer(ModelFormat.Json)))!["learner"]!["gradient_booster"]!["model"]!;
            Assert.Equal("2", model["trees"]![0]!["tree_param"]!["size_leaf_vector"]!.GetValue<string>());
        }

        RoundTrips(vector, twoTargets);

        static void RoundTrips(Booster booster, DMatrix data)
        {
            var expected = booster.Predict(data);
            foreach (var format in new[] { ModelFormat.Json, ModelFormat.Ubj })
            {
                using var loaded = Booster.LoadFromBuffer(booster.SaveToBuffer(format));
                Assert.Equal(expected, loaded.Predict(data));
            }
        }
    }

    [XGBoostFact]
    public void Legacy_binary_models_are_refused_unless_the_caller_trusts_them()
    {
        using var model = Train(out var data);
        using (data)
        {
            if (!TestData.LegacyBinary)
            {
                // XGBoost 3.1+: neither written nor read, and both say so instead of XGBoost's "Unknown model format".
                var write = Assert.Throws<NotSupportedException>(() => model.SaveToBuffer(ModelFormat.Legacy));
                Assert.Contains("ModelFormat.Ubj", write.Message, StringComparison.Ordinal);
                Assert.Throws<InvalidDataException>(() => Booster.LoadFromBuffer("binf legacy"u8));
                var read = Assert.Throws<NotSupportedException>(() => Booster.LoadFromBuffer("binf legacy"u8, allowLegacyBinary: true));
                Assert.Contains("from 1.7 to 3.0", read.Message, StringComparison.Ordinal);
                return;
            }

            var legacy = model.SaveToBuffer(ModelFormat.Legacy);
            var error = Assert.Throws<InvalidDataException>(() => Booster.LoadFromBuffer(legacy));
            Assert.Contains("allowLegacyBinary", error.Message, StringComparison.Ordinal);
            using var trusted = Booster.LoadFromBuffer(legacy, allowLegacyBinary: true);
            Assert.Equal(model.Predict(data), trusted.Predict(data));

            var path = Path.Combine(Path.GetTempPath(), $"mlops-legacy-{Guid.NewGuid():N}.xgb");
            try
            {
                model.Save(path);
                if (File.ReadAllBytes(path)[0] == (byte)'{')
                {
                    // XGBoost 2.1+ writes UBJSON for a name other than .json/.ubj (MLflow's model.xgb): checked, no trust needed.
                    using var ubjson = Booster.Load(path);
                    Assert.Equal(3, ubjson.BoostedRounds);
                    return;
                }

                Assert.Throws<InvalidDataException>(() => Booster.Load(path));
                using var fromFile = Booster.Load(path, allowLegacyBinary: true);
                Assert.Equal(3, fromFile.BoostedRounds);
            }
            finally
            {
                File.Delete(path);
            }
        }
    }

    [Theory]
    [InlineData("[NaN,1,Infinity,-Infinity]", "[null,1,null,null]")]
    [InlineData("{\"name\":\"NaN\",\"v\":NaN}", "{\"name\":\"NaN\",\"v\":null}")]
    [InlineData("{\"a\":\"x\\\" NaN\",\"b\":[-1.5,NaN]}", "{\"a\":\"x\\\" NaN\",\"b\":[-1.5,null]}")]
    [InlineData("{\"a\":-2}", "{\"a\":-2}")]
    public void XGBoosts_non_finite_literals_become_null_outside_strings_only(string written, string read)
    {
        Assert.Equal(read, System.Text.Encoding.UTF8.GetString(ModelValidation.WithoutNonFiniteLiterals(System.Text.Encoding.UTF8.GetBytes(written))));
    }

    /// <summary>
    /// A two-target model of libxgboost 3.4.1 (multi_strategy=multi_output_tree, built from its release sources: the
    /// library Python's 3.4.1 wheel wraps): its trees keep a weight vector per node and the leaves' vectors in
    /// leaf_weights, where a leaf's right child is its row — read by XGBoost without a bound check.
    /// </summary>
    private static System.Text.Json.Nodes.JsonNode VectorLeafModel() =>
        System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Models", "vector-leaf-xgboost-3.4.1.json")))!;

    private static System.Text.Json.Nodes.JsonNode FirstTree(System.Text.Json.Nodes.JsonNode model) => model["learner"]!["gradient_booster"]!["model"]!["trees"]![0]!;

    [Fact]
    public void A_vector_leaf_model_of_XGBoost_3_passes_the_checks_and_its_corruptions_do_not()
    {
        var model = VectorLeafModel();
        ModelValidation.Validate(System.Text.Encoding.UTF8.GetBytes(model.ToJsonString()), allowLegacyBinary: false);

        string Refused(Action<System.Text.Json.Nodes.JsonNode> corrupt)
        {
            var copy = VectorLeafModel();
            corrupt(FirstTree(copy));
            return Assert.Throws<InvalidDataException>(() => ModelValidation.Validate(System.Text.Encoding.UTF8.GetBytes(copy.ToJsonString()), allowLegacyBinary: false)).Message;
        }

        var leaf = FirstTree(model)["left_children"]!.AsArray().Select((l, i) => (l!.GetValue<int>(), i)).First(p => p.Item1 == -1).i;
        Assert.Contains($"leaf {leaf}: its weights are row 99", Refused(t => t["right_children"]![leaf] = 99), StringComparison.Ordinal);
        Assert.Contains($"leaf {leaf}: its weights are row -2", Refused(t => t["right_children"]![leaf] = -2), StringComparison.Ordinal);
        Assert.Contains("'leaf_weights' has", Refused(t => t["leaf_weights"]!.AsArray().RemoveAt(0)), StringComparison.Ordinal);
        Assert.Contains("'base_weights' has", Refused(t => t["base_weights"]!.AsArray().RemoveAt(0)), StringComparison.Ordinal);
        Assert.Contains("size_leaf_vector", Refused(t => t["tree_param"]!["size_leaf_vector"] = "100000"), StringComparison.Ordinal);
        Assert.Contains("'base_weights' has", Refused(t => t["tree_param"]!["size_leaf_vector"] = "1"), StringComparison.Ordinal); // two weights a node, one declared
    }
}
