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
}
