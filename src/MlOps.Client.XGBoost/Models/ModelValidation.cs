using System.Globalization;
using System.Text.Json;

namespace MlOps.Client.XGBoost;

/// <summary>
/// Checks the trees of a JSON model before XGBoost reads it: XGBoost 1.7 trusts a model's node arrays, so an
/// out-of-range child or split index, or a node that points back up the tree, crashes or hangs a prediction. Here
/// each is an <see cref="InvalidDataException"/> naming the tree and the node. UBJSON and legacy binary models are not
/// checked (see docs/xgboost.md: model files are trusted input).
/// </summary>
internal static class ModelValidation
{
    /// <summary>Validates <paramref name="model"/> when it is JSON; other formats pass unchanged.</summary>
    public static void ValidateIfJson(ReadOnlySpan<byte> model)
    {
        var start = 0;
        while (start < model.Length && model[start] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
        {
            start++;
        }

        if (start >= model.Length || model[start] != (byte)'{')
        {
            return; // legacy binary
        }

        var next = start + 1;
        while (next < model.Length && model[next] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
        {
            next++;
        }

        if (next >= model.Length || model[next] is not ((byte)'"' or (byte)'}'))
        {
            return; // UBJSON: '{' then a typed key length ('L', 'i', 'U', …)
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(model[start..].ToArray());
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException("The XGBoost model is not valid JSON: " + ex.Message, ex);
        }

        using (document)
        {
            var learner = Property(document.RootElement, "learner");
            var features = long.Parse(Property(Property(learner, "learner_model_param"), "num_feature").GetString() ?? "0", CultureInfo.InvariantCulture);
            var booster = Property(learner, "gradient_booster");
            if (booster.TryGetProperty("gbtree", out var inner))
            {
                booster = inner; // dart wraps a gbtree
            }

            if (!booster.TryGetProperty("model", out var model2) || !model2.TryGetProperty("trees", out var trees))
            {
                return; // gblinear: no trees
            }

            var t = 0;
            foreach (var tree in trees.EnumerateArray())
            {
                ValidateTree(tree, t++, features);
            }
        }
    }

    private static void ValidateTree(JsonElement tree, int index, long features)
    {
        var left = Ints(tree, "left_children", index);
        var right = Ints(tree, "right_children", index);
        var splits = Ints(tree, "split_indices", index);
        var n = left.Length;
        if (n == 0 || right.Length != n || splits.Length != n)
        {
            throw new InvalidDataException($"XGBoost model tree {index}: {n} left children, {right.Length} right children and {splits.Length} split indices; they must be equal and not empty.");
        }

        for (var node = 0; node < n; node++)
        {
            var (l, r) = (left[node], right[node]);
            if (l == -1 && r == -1)
            {
                continue; // a leaf
            }

            // XGBoost numbers a node's children after it, so "child > node" also rules out cycles.
            if (l <= node || r <= node || l >= n || r >= n)
            {
                throw new InvalidDataException($"XGBoost model tree {index}, node {node}: children {l} and {r} must both be -1 (a leaf) or both in ({node}, {n}).");
            }

            if (splits[node] < 0 || (features > 0 && splits[node] >= features))
            {
                throw new InvalidDataException($"XGBoost model tree {index}, node {node}: split index {splits[node]} is not one of the model's {features} features.");
            }
        }
    }

    private static long[] Ints(JsonElement tree, string name, int index)
    {
        if (!tree.TryGetProperty(name, out var array) || array.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException($"XGBoost model tree {index} has no '{name}' array.");
        }

        var values = new long[array.GetArrayLength()];
        var i = 0;
        foreach (var v in array.EnumerateArray())
        {
            values[i++] = v.GetInt64();
        }

        return values;
    }

    private static JsonElement Property(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value)
            ? value
            : throw new InvalidDataException($"The XGBoost JSON model has no '{name}'.");
}
