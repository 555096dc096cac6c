using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace MlOps.Client.XGBoost;

/// <summary>
/// A booster's trees read into managed memory, predicting rows without a call into libxgboost — the same values, bit for
/// bit, as <see cref="Booster.InplacePredict"/> with its defaults (all trees, values, missing = NaN). Made by
/// <see cref="TryCreate"/>, which refuses what it does not reproduce and proves the rest against the booster itself.
/// Immutable: any number of threads may predict at once.
/// </summary>
/// <remarks>
/// For one or a few rows, a native in-place prediction costs more around the trees than in them: XGBoost parses its JSON
/// configuration and enters its OpenMP regions on every call (a 1-row scoring request spends about a seventh of its CPU
/// there, docs/performance.md). This walks the same trees in the same order with the same float arithmetic as XGBoost's
/// CPU predictor: the base margin, each tree's leaf added in tree order to its output group, then the objective's
/// transform (<c>common::Sigmoid</c>, <c>common::Softmax</c>, the arg-max of <c>multi:softmax</c>). A split sends a
/// value to the left child when it is below the split condition, a NaN along the node's default branch. Supported:
/// <c>gbtree</c> boosters with numeric splits and scalar leaves, objectives whose transform is the identity, the logistic,
/// the softmax or <c>expf</c> (<c>count:poisson</c>, <c>reg:gamma</c>, <c>reg:tweedie</c>). Not the others, nor
/// categorical splits, vector leaves or <c>dart</c> (their <see cref="TryCreate"/> gives the reason). The ensemble is a
/// copy: it does not follow later changes to the booster.
/// </remarks>
public sealed class TreeEnsemble
{
    /// <summary>How many rows <see cref="TryCreate"/> predicts both ways before it trusts the copy.</summary>
    internal const int ProbeRows = 256;

    /// <summary>The rows predicted together, tree after tree: XGBoost's <c>kBlockOfRowsSize</c>.</summary>
    private const int BlockRows = 64;

    private static readonly string[] IdentityObjectives = ["reg:squarederror", "reg:squaredlogerror", "reg:pseudohubererror", "binary:logitraw", "multi:softprob", "multi:softmax"];

    private readonly Node[] _nodes;
    private readonly int[] _roots;
    private readonly int[] _groups;
    private readonly float _baseMargin;
    private readonly Transform _transform;

    private TreeEnsemble(Node[] nodes, int[] roots, int[] groups, float baseMargin, int groupCount, int featureCount, string objective, Transform transform)
    {
        _nodes = nodes;
        _roots = roots;
        _groups = groups;
        _baseMargin = baseMargin;
        GroupCount = groupCount;
        FeatureCount = featureCount;
        Objective = objective;
        _transform = transform;
    }

    private enum Transform
    {
        Identity,
        Exp,
        Sigmoid,
        Softmax,
        ArgMax,
    }

    /// <summary>The number of features a row has: the booster's.</summary>
    public int FeatureCount { get; }

    /// <summary>The number of values <see cref="Predict(ReadOnlySpan{float}, int, Span{float})"/> writes per row (the classes' probabilities for <c>multi:softprob</c>, else 1).</summary>
    public int OutputsPerRow => _transform == Transform.ArgMax ? 1 : GroupCount;

    /// <summary>The objective whose transform the predictions get (e.g. <c>multi:softprob</c>).</summary>
    public string Objective { get; }

    /// <summary>The number of trees.</summary>
    public int TreeCount => _roots.Length;

    private int GroupCount { get; }

    /// <summary>
    /// Reads the booster's trees (its JSON model) and predicts <see cref="ProbeRows"/> rows both ways — values on, just below
    /// and between its split conditions, ±infinity and NaN — keeping the copy only when every value is the booster's, bit
    /// for bit.
    /// </summary>
    /// <param name="booster">The booster; not changed, and not needed afterwards.</param>
    /// <param name="reason">Why there is no copy (an unsupported model, or a value that differed), or <see langword="null"/>.</param>
    /// <returns>The copy, or <see langword="null"/> when the model is one this class does not reproduce.</returns>
    public static TreeEnsemble? TryCreate(Booster booster, out string? reason)
    {
        ArgumentNullException.ThrowIfNull(booster);
        TreeEnsemble? ensemble;
        try
        {
            using var model = JsonDocument.Parse(booster.SaveToBuffer(ModelFormat.Json));
            ensemble = Read(model.RootElement, checked((int)booster.FeatureCount), out reason);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or OverflowException or IndexOutOfRangeException or ArgumentException)
        {
            reason = "the booster's JSON model is not one this reader knows: " + ex.Message;
            return null;
        }

        if (ensemble is null)
        {
            return null;
        }

        reason = ensemble.Disagreement(booster);
        return reason is null ? ensemble : null;
    }

    /// <summary>Predicts <paramref name="rows"/> rows of <see cref="FeatureCount"/> features each (NaN = missing).</summary>
    /// <param name="data">The features, row after row.</param>
    /// <param name="rows">The number of rows.</param>
    /// <returns><paramref name="rows"/> × <see cref="OutputsPerRow"/> values, row after row.</returns>
    public float[] Predict(ReadOnlySpan<float> data, int rows)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        var result = new float[checked(rows * OutputsPerRow)];
        Predict(data, rows, result);
        return result;
    }

    /// <summary>Predicts <paramref name="rows"/> rows of <see cref="FeatureCount"/> features each (NaN = missing) into <paramref name="destination"/>.</summary>
    /// <param name="data">The features, row after row.</param>
    /// <param name="rows">The number of rows.</param>
    /// <param name="destination">At least <paramref name="rows"/> × <see cref="OutputsPerRow"/> values.</param>
    public void Predict(ReadOnlySpan<float> data, int rows, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        if ((long)rows * FeatureCount != data.Length)
        {
            throw new ArgumentException($"data has {data.Length} values but rows × features = {rows} × {FeatureCount} = {(long)rows * FeatureCount}.", nameof(data));
        }

        if (destination.Length < (long)rows * OutputsPerRow)
        {
            throw new ArgumentException($"destination has room for {destination.Length} values; {rows} rows need {(long)rows * OutputsPerRow}.", nameof(destination));
        }

        // Blocks of 64 rows, tree after tree within a block, as XGBoost's CPU predictor (kBlockOfRowsSize): a tree's nodes
        // stay in cache for the block's rows. Each row's sum runs in tree order all the same.
        var size = Math.Min(rows, BlockRows) * GroupCount;
        float[]? rented = null;
        var margins = size <= 1024 ? stackalloc float[size] : (rented = ArrayPool<float>.Shared.Rent(size));
        try
        {
            for (var first = 0; first < rows; first += BlockRows)
            {
                var count = Math.Min(BlockRows, rows - first);
                var block = margins[..(count * GroupCount)];
                block.Fill(_baseMargin);
                Accumulate(data.Slice(first * FeatureCount, count * FeatureCount), count, block);
                for (var r = 0; r < count; r++)
                {
                    Finish(block.Slice(r * GroupCount, GroupCount), destination.Slice((first + r) * OutputsPerRow, OutputsPerRow));
                }
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<float>.Shared.Return(rented);
            }
        }
    }

    /// <summary>The objective's transform of one row's margins (XGBoost's <c>PredTransform</c>).</summary>
    private void Finish(Span<float> margins, Span<float> output)
    {
        switch (_transform)
        {
            case Transform.Identity:
                margins.CopyTo(output);
                break;
            case Transform.Sigmoid:
                for (var g = 0; g < margins.Length; g++)
                {
                    output[g] = Sigmoid(margins[g]);
                }

                break;
            case Transform.Exp:
                for (var g = 0; g < margins.Length; g++)
                {
                    output[g] = MathF.Exp(margins[g]); // expf: count:poisson, reg:gamma, reg:tweedie
                }

                break;
            case Transform.Softmax:
                margins.CopyTo(output);
                Softmax(output);
                break;
            default:
                output[0] = ArgMax(margins);
                break;
        }
    }

    /// <summary>Every tree's leaf for each row of the block, added in tree order to its group (XGBoost's <c>PredictByAllTrees</c>).</summary>
    private void Accumulate(ReadOnlySpan<float> rows, int count, Span<float> margins)
    {
        var nodes = _nodes;
        var roots = _roots;
        var features = FeatureCount;
        var groups = GroupCount;
        for (var t = 0; t < roots.Length; t++)
        {
            var root = roots[t];
            var group = _groups[t];
            for (var r = 0; r < count; r++)
            {
                var row = rows.Slice(r * features, features);
                var n = root;
                while (true)
                {
                    ref readonly var node = ref nodes[n];
                    if (node.Left < 0)
                    {
                        margins[(r * groups) + group] += node.Value;
                        break;
                    }

                    // The right child is the left one's neighbour (XGBoost allocates children in pairs; checked when read).
                    var value = row[node.Feature];
                    n = float.IsNaN(value) ? node.Default : node.Left + (value < node.Value ? 0 : 1);
                }
            }
        }
    }

    /// <summary>XGBoost's <c>common::Sigmoid</c> (1.7 and later): <c>1 / (expf(min(-x, 88.7)) + 1 + 1e-16)</c> in float.</summary>
    private static float Sigmoid(float x)
    {
        var t = -x;
        if (88.7f < t)
        {
            t = 88.7f;
        }

        var denominator = MathF.Exp(t) + 1.0f + 1e-16f;
        return 1.0f / denominator;
    }

    /// <summary>XGBoost's <c>common::Softmax</c>: the maximum by <c>fmaxf</c>, <c>expf</c> of each difference summed in double, each divided by the sum as a float.</summary>
    private static void Softmax(Span<float> values)
    {
        var max = values[0];
        for (var i = 1; i < values.Length; i++)
        {
            max = float.MaxNumber(values[i], max); // fmaxf
        }

        var sum = 0.0;
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = MathF.Exp(values[i] - max);
            sum += values[i];
        }

        var divisor = (float)sum;
        for (var i = 0; i < values.Length; i++)
        {
            values[i] /= divisor;
        }
    }

    /// <summary>XGBoost's <c>common::FindMaxIndex</c>: the first of the largest margins.</summary>
    private static float ArgMax(ReadOnlySpan<float> margins)
    {
        var best = 0;
        for (var i = 1; i < margins.Length; i++)
        {
            if (margins[i] > margins[best])
            {
                best = i;
            }
        }

        return best;
    }

    private static TreeEnsemble? Read(JsonElement root, int featureCount, out string? reason)
    {
        var learner = root.GetProperty("learner");
        var objective = learner.GetProperty("objective").GetProperty("name").GetString() ?? "";
        var booster = learner.GetProperty("gradient_booster");
        var boosterName = booster.GetProperty("name").GetString();
        if (boosterName != "gbtree")
        {
            reason = $"booster '{boosterName}': only gbtree is read";
            return null;
        }

        var parameters = learner.GetProperty("learner_model_param");
        if (!float.TryParse(parameters.GetProperty("base_score").GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var baseScore))
        {
            reason = $"base_score '{parameters.GetProperty("base_score").GetString()}' is not one number";
            return null;
        }

        var classes = int.Parse(parameters.GetProperty("num_class").GetString()!, CultureInfo.InvariantCulture);
        var targets = parameters.TryGetProperty("num_target", out var t) ? int.Parse(t.GetString()!, CultureInfo.InvariantCulture) : 1;
        var groups = Math.Max(Math.Max(classes, targets), 1);
        Transform transform;
        float baseMargin;
        if (objective is "binary:logistic" or "reg:logistic")
        {
            transform = Transform.Sigmoid;
            baseMargin = -MathF.Log((1.0f / baseScore) - 1.0f); // LogisticRegression::ProbToMargin
        }
        else if (objective is "count:poisson" or "reg:gamma" or "reg:tweedie")
        {
            transform = Transform.Exp;
            baseMargin = MathF.Log(baseScore); // their ProbToMargin: std::log of the float
        }
        else if (Array.IndexOf(IdentityObjectives, objective) >= 0)
        {
            transform = objective switch { "multi:softprob" => Transform.Softmax, "multi:softmax" => Transform.ArgMax, _ => Transform.Identity };
            baseMargin = baseScore;
        }
        else
        {
            reason = $"objective '{objective}': its transform is not reproduced here";
            return null;
        }

        var model = booster.GetProperty("model");
        var trees = model.GetProperty("trees");
        var info = model.GetProperty("tree_info");
        if (info.GetArrayLength() != trees.GetArrayLength())
        {
            reason = $"tree_info has {info.GetArrayLength()} entries for {trees.GetArrayLength()} trees";
            return null;
        }

        var nodes = new List<Node>();
        var roots = new int[trees.GetArrayLength()];
        var treeGroups = new int[roots.Length];
        var index = 0;
        foreach (var tree in trees.EnumerateArray())
        {
            treeGroups[index] = info[index].GetInt32();
            if (treeGroups[index] < 0 || treeGroups[index] >= groups)
            {
                reason = $"tree {index} adds to output group {treeGroups[index]}; the model has {groups}";
                return null;
            }

            if (tree.GetProperty("tree_param").TryGetProperty("size_leaf_vector", out var leafVector) && leafVector.GetString() is not (null or "0" or "1"))
            {
                reason = $"tree {index} has vector leaves (size_leaf_vector {leafVector.GetString()})";
                return null;
            }

            if (tree.TryGetProperty("split_type", out var splitTypes) && splitTypes.EnumerateArray().Any(s => s.GetInt32() != 0))
            {
                reason = $"tree {index} has categorical splits";
                return null;
            }

            roots[index] = nodes.Count;
            if (ReadTree(tree, nodes, featureCount) is { } problem)
            {
                reason = $"tree {index}: {problem}";
                return null;
            }

            index++;
        }

        reason = null;
        return new TreeEnsemble([.. nodes], roots, treeGroups, baseMargin, groups, featureCount, objective, transform);
    }

    private static string? ReadTree(JsonElement tree, List<Node> nodes, int featureCount)
    {
        var left = tree.GetProperty("left_children");
        var right = tree.GetProperty("right_children");
        var features = tree.GetProperty("split_indices");
        var conditions = tree.GetProperty("split_conditions");
        var defaults = tree.GetProperty("default_left");
        var count = left.GetArrayLength();
        if (count == 0 || right.GetArrayLength() != count || features.GetArrayLength() != count || conditions.GetArrayLength() != count || defaults.GetArrayLength() != count)
        {
            return "its node arrays differ in length";
        }

        var offset = nodes.Count;
        for (var i = 0; i < count; i++)
        {
            var l = left[i].GetInt32();
            var r = right[i].GetInt32();
            var value = conditions[i].GetSingle(); // parsed from XGBoost's shortest round-trip text: the stored float
            if (l == -1)
            {
                nodes.Add(new Node(-1, -1, 0, value));
                continue;
            }

            var feature = features[i].GetInt32();
            // Model validation refuses these at load, but a trusted legacy binary model is not validated.
            if (l < 0 || l >= count || r != l + 1 || r >= count || feature < 0 || feature >= featureCount)
            {
                return $"node {i} has children {l} and {r} and feature {feature} of {featureCount}: not a pair of neighbours inside the tree";
            }

            var defaultLeft = defaults[i].ValueKind == JsonValueKind.True || (defaults[i].ValueKind == JsonValueKind.Number && defaults[i].GetInt32() != 0);
            nodes.Add(new Node(offset + l, defaultLeft ? offset + l : offset + r, feature, value));
        }

        return null;
    }

    /// <summary>Predicts probe rows both ways; the first difference, or <see langword="null"/> when every value is the booster's.</summary>
    internal string? Disagreement(Booster booster)
    {
        var probes = ProbeData(ProbeRows);
        var native = booster.InplacePredict(probes, ProbeRows, FeatureCount);
        var managed = Predict(probes, ProbeRows);
        if (native.Values.Length != managed.Length)
        {
            return $"the booster gives {native.Values.Length / ProbeRows} values per row, this copy {OutputsPerRow}";
        }

        for (var i = 0; i < managed.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(managed[i]) != BitConverter.SingleToInt32Bits(native.Values[i]))
            {
                return string.Create(CultureInfo.InvariantCulture, $"probe row {i / OutputsPerRow}, output {i % OutputsPerRow}: the booster gives {native.Values[i]:R}, this copy {managed[i]:R}");
            }
        }

        return null;
    }

    /// <summary>
    /// Rows that reach every kind of branch: each feature exactly on one of its split conditions, one float below it, between
    /// the conditions, beyond them, ±infinity or NaN (seeded, so a refusal is reproducible); the first row all NaN.
    /// </summary>
    internal float[] ProbeData(int rows)
    {
        var thresholds = new List<float>[FeatureCount];
        for (var f = 0; f < FeatureCount; f++)
        {
            thresholds[f] = [];
        }

        foreach (var node in _nodes)
        {
            if (node.Left >= 0)
            {
                thresholds[node.Feature].Add(node.Value);
            }
        }

        var random = new Random(20261206);
        var data = new float[rows * FeatureCount];
        for (var r = 0; r < rows; r++)
        {
            for (var f = 0; f < FeatureCount; f++)
            {
                var cuts = thresholds[f];
                var pick = random.Next(8);
                data[(r * FeatureCount) + f] = r == 0 || pick == 0 ? float.NaN
                    : cuts.Count == 0 ? (float)(random.NextDouble() * 10)
                    : pick <= 3 ? cuts[random.Next(cuts.Count)]
                    : pick <= 5 ? MathF.BitDecrement(cuts[random.Next(cuts.Count)])
                    : pick == 6 ? (cuts[random.Next(cuts.Count)] + cuts[random.Next(cuts.Count)]) / 2
                    : random.Next(4) == 0 ? (random.Next(2) == 0 ? float.PositiveInfinity : float.NegativeInfinity)
                    : cuts[random.Next(cuts.Count)] + (float)((random.NextDouble() - 0.5) * 4);
            }
        }

        return data;
    }

    /// <summary>
    /// A node, 16 bytes: its left child as an index into the ensemble's one array (-1 for a leaf; the right child is the
    /// next one, checked when read), the child a missing value goes to, the split feature, the condition or leaf value.
    /// </summary>
    private readonly record struct Node(int Left, int Default, int Feature, float Value);
}
