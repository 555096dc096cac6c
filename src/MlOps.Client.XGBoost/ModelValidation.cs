using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MlOps.Client.XGBoost;

/// <summary>
/// Checks a model before XGBoost reads it: XGBoost 1.7 trusts a model's node arrays, so an out-of-range child or split
/// index, a node that points back up the tree, a tree given to a missing output group, or arrays of the wrong length
/// crash or hang a prediction. JSON and UBJSON models are parsed here first (UBJSON through a bounded reader) and each
/// such defect is an <see cref="InvalidDataException"/> naming the tree and the node. XGBoost's legacy binary format
/// cannot be checked: it is refused unless the caller trusts the bytes (see docs/xgboost.md).
/// </summary>
internal static class ModelValidation
{
    /// <summary>The formats a model's bytes can be in.</summary>
    internal enum Format
    {
        Json,
        Ubj,
        Legacy,
    }

    /// <summary>Which format <paramref name="model"/> is in, by its first bytes (as XGBoost decides).</summary>
    internal static Format Detect(ReadOnlySpan<byte> model)
    {
        var start = SkipSpace(model, 0);
        if (start >= model.Length || model[start] != (byte)'{')
        {
            return Format.Legacy;
        }

        var next = SkipSpace(model, start + 1);
        return next < model.Length && model[next] is (byte)'"' or (byte)'}' ? Format.Json : Format.Ubj;
    }

    /// <summary>
    /// Validates <paramref name="model"/> (JSON or UBJSON); legacy binary passes only with <paramref name="allowLegacyBinary"/>.
    /// </summary>
    public static void Validate(ReadOnlySpan<byte> model, bool allowLegacyBinary)
    {
        switch (Detect(model))
        {
            case Format.Legacy when allowLegacyBinary && Booster.LibraryVersion >= Native.XGBoostLibrary.LegacyBinaryDropped:
                throw new NotSupportedException(
                    $"The model is in XGBoost's legacy binary format (what XGBoost 1.x writes, e.g. MLflow's model.xgb), which libxgboost {Booster.LibraryVersion} " +
                    $"no longer reads (XGBoost {Native.XGBoostLibrary.LegacyBinaryDropped.ToString(2)} and later read only JSON and UBJSON). Load it once with an XGBoost from 1.7 to 3.0 " +
                    "and save it as .ubj or .json.");
            case Format.Legacy when allowLegacyBinary:
                return;
            case Format.Legacy:
                throw new InvalidDataException(
                    "The model is in XGBoost's legacy binary format (or is not an XGBoost model), which cannot be checked before XGBoost reads it: " +
                    "a corrupt or hostile file can crash the process. Load it with allowLegacyBinary: true only when you trust where it comes from, " +
                    "or convert it to JSON/UBJSON (save it with a .json or .ubj name).");
            case Format.Ubj:
                ValidateJson(UbjsonToJson(model));
                return;
            default:
                ValidateJson(WithoutNonFiniteLiterals(model[SkipSpace(model, 0)..]));
                return;
        }
    }

    private static int SkipSpace(ReadOnlySpan<byte> model, int i)
    {
        while (i < model.Length && model[i] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
        {
            i++;
        }

        return i;
    }

    /// <summary>
    /// XGBoost writes non-finite floats as bare <c>NaN</c>, <c>Infinity</c> and <c>-Infinity</c> (a categorical split's
    /// condition is NaN), which JSON — and System.Text.Json — does not allow: outside strings they become <c>null</c>,
    /// as the UBJSON reader writes them (irrelevant to the checks). Anything else is left for the parser to judge.
    /// </summary>
    internal static byte[] WithoutNonFiniteLiterals(ReadOnlySpan<byte> json)
    {
        // "NaN" → "null" is one byte longer: room for every NaN (an upper bound: some may sit in strings).
        var extra = 0;
        for (var rest = json; rest.IndexOf("NaN"u8) is var at and >= 0; rest = rest[(at + 3)..])
        {
            extra++;
        }

        if (extra == 0 && json.IndexOf("Infinity"u8) < 0)
        {
            return json.ToArray(); // the usual model: one copy, as before
        }

        var output = new byte[json.Length + extra];
        var length = 0;
        var inString = false;
        for (var i = 0; i < json.Length; i++)
        {
            var b = json[i];
            if (inString)
            {
                output[length++] = b;
                if (b == (byte)'\\' && i + 1 < json.Length)
                {
                    output[length++] = json[++i];
                }
                else if (b == (byte)'"')
                {
                    inString = false;
                }

                continue;
            }

            var literal = b switch
            {
                (byte)'N' when json[i..].StartsWith("NaN"u8) => 3,
                (byte)'I' when json[i..].StartsWith("Infinity"u8) => 8,
                (byte)'-' when json[i..].StartsWith("-Infinity"u8) => 9,
                _ => 0,
            };
            if (literal > 0)
            {
                "null"u8.CopyTo(output.AsSpan(length));
                length += 4;
                i += literal - 1;
                continue;
            }

            inString = b == (byte)'"';
            output[length++] = b;
        }

        return output.AsSpan(0, length).ToArray();
    }

    private static void ValidateJson(byte[] json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException("The XGBoost model is not valid JSON: " + ex.Message, ex);
        }

        using (document)
        {
            var learner = Property(document.RootElement, "learner");
            var modelParam = Property(learner, "learner_model_param");
            var features = Number(Property(modelParam, "num_feature"), "num_feature");
            var groups = Math.Max(1, Math.Max(
                modelParam.TryGetProperty("num_class", out var c) ? Number(c, "num_class") : 0,
                modelParam.TryGetProperty("num_target", out var t) ? Number(t, "num_target") : 0));
            var booster = Property(learner, "gradient_booster");
            if (booster.TryGetProperty("gbtree", out var inner))
            {
                booster = inner; // dart wraps a gbtree
            }

            if (!booster.TryGetProperty("model", out var model2) || !model2.TryGetProperty("trees", out var trees))
            {
                return; // gblinear: no trees
            }

            var count = trees.GetArrayLength();
            if (model2.TryGetProperty("tree_info", out _))
            {
                var groupOf = Ints(model2, "tree_info", -1);
                if (groupOf.Length != count)
                {
                    throw new InvalidDataException($"XGBoost model: tree_info has {groupOf.Length} entries for {count} trees.");
                }

                var bad = Array.FindIndex(groupOf, g => g < 0 || g >= groups);
                if (bad >= 0)
                {
                    throw new InvalidDataException($"XGBoost model tree {bad} belongs to output group {groupOf[bad]}; the model has {groups}.");
                }
            }

            var index = 0;
            foreach (var tree in trees.EnumerateArray())
            {
                ValidateTree(tree, index++, features);
            }
        }
    }

    private static long Number(JsonElement value, string name) => value.ValueKind switch
    {
        JsonValueKind.String when long.TryParse(value.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0 => n,
        JsonValueKind.Number when value.TryGetInt64(out var n) && n >= 0 => n,
        _ => throw new InvalidDataException($"The XGBoost model's {name} is not a count: {value}."),
    };

    /// <summary>
    /// Converts UBJSON as XGBoost writes it (objects with length-prefixed keys, typed and counted arrays, big-endian
    /// numbers) to JSON, checking every length against the bytes left: malformed input is an exception, never a large
    /// allocation or a loop.
    /// </summary>
    internal static byte[] UbjsonToJson(ReadOnlySpan<byte> ubj)
    {
        var output = new ArrayBufferWriter<byte>(Math.Max(256, ubj.Length * 2));
        using (var writer = new Utf8JsonWriter(output, new JsonWriterOptions { SkipValidation = false }))
        {
            var reader = new UbjReader(ubj);
            reader.Value(writer, reader.Marker(), 0);
            if (reader.Position != ubj.Length)
            {
                throw new InvalidDataException($"The UBJSON model has {ubj.Length - reader.Position} bytes after its end.");
            }
        }

        return output.WrittenSpan.ToArray();
    }

    private ref struct UbjReader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;

        public int Position { get; private set; }

        public byte Marker()
        {
            Need(1);
            return _data[Position++];
        }

        public void Value(Utf8JsonWriter writer, byte marker, int depth)
        {
            if (depth > 64)
            {
                throw Bad("nests deeper than 64 levels");
            }

            switch (marker)
            {
                case (byte)'{':
                    writer.WriteStartObject();
                    while (true)
                    {
                        var keyMarker = Marker();
                        if (keyMarker == (byte)'}')
                        {
                            break;
                        }

                        var length = Length(keyMarker);
                        writer.WritePropertyName(Text(length));
                        Value(writer, Marker(), depth + 1);
                    }

                    writer.WriteEndObject();
                    break;
                case (byte)'[':
                    Array(writer, depth);
                    break;
                case (byte)'S':
                case (byte)'H':
                    writer.WriteStringValue(Text(Length(Marker())));
                    break;
                case (byte)'Z':
                    writer.WriteNullValue();
                    break;
                case (byte)'T':
                    writer.WriteBooleanValue(true);
                    break;
                case (byte)'F':
                    writer.WriteBooleanValue(false);
                    break;
                case (byte)'C':
                    writer.WriteStringValue(((char)Marker()).ToString());
                    break;
                case (byte)'d':
                case (byte)'D':
                    var real = Real(marker);
                    if (double.IsFinite(real))
                    {
                        writer.WriteNumberValue(real);
                    }
                    else
                    {
                        writer.WriteNullValue(); // NaN/inf split conditions: irrelevant to the checks
                    }

                    break;
                default:
                    writer.WriteNumberValue(Integer(marker));
                    break;
            }
        }

        private void Array(Utf8JsonWriter writer, int depth)
        {
            byte type = 0;
            long count = -1;
            if (Peek() == (byte)'$')
            {
                Position++;
                type = Marker();
                if (Peek() != (byte)'#')
                {
                    throw Bad("has a typed array without a count");
                }
            }

            if (Peek() == (byte)'#')
            {
                Position++;
                count = Integer(Marker());
                var minimum = type switch { (byte)'I' => 2, (byte)'l' or (byte)'d' => 4, (byte)'L' or (byte)'D' => 8, _ => 1 };
                if (count < 0 || count * minimum > _data.Length - Position)
                {
                    throw Bad($"declares an array of {count} values with {_data.Length - Position} bytes left");
                }
            }

            writer.WriteStartArray();
            if (count >= 0)
            {
                for (long i = 0; i < count; i++)
                {
                    Value(writer, type != 0 ? type : Marker(), depth + 1);
                }
            }
            else
            {
                while (Peek() != (byte)']')
                {
                    Value(writer, Marker(), depth + 1);
                }

                Position++;
            }

            writer.WriteEndArray();
        }

        private byte Peek()
        {
            Need(1);
            return _data[Position];
        }

        private long Length(byte marker)
        {
            var length = Integer(marker);
            if (length < 0 || length > _data.Length - Position)
            {
                throw Bad($"declares a {length}-byte string with {_data.Length - Position} bytes left");
            }

            return length;
        }

        private string Text(long length)
        {
            var text = Encoding.UTF8.GetString(_data.Slice(Position, (int)length));
            Position += (int)length;
            return text;
        }

        private long Integer(byte marker)
        {
            switch (marker)
            {
                case (byte)'i':
                    Need(1);
                    return (sbyte)_data[Position++];
                case (byte)'U':
                    Need(1);
                    return _data[Position++];
                case (byte)'I':
                    Need(2);
                    var i16 = BinaryPrimitives.ReadInt16BigEndian(_data[Position..]);
                    Position += 2;
                    return i16;
                case (byte)'l':
                    Need(4);
                    var i32 = BinaryPrimitives.ReadInt32BigEndian(_data[Position..]);
                    Position += 4;
                    return i32;
                case (byte)'L':
                    Need(8);
                    var i64 = BinaryPrimitives.ReadInt64BigEndian(_data[Position..]);
                    Position += 8;
                    return i64;
                default:
                    throw Bad($"has an unknown type marker 0x{marker:x2} at byte {Position - 1}");
            }
        }

        private double Real(byte marker)
        {
            if (marker == (byte)'d')
            {
                Need(4);
                var f = BinaryPrimitives.ReadSingleBigEndian(_data[Position..]);
                Position += 4;
                return f;
            }

            Need(8);
            var d = BinaryPrimitives.ReadDoubleBigEndian(_data[Position..]);
            Position += 8;
            return d;
        }

        private readonly void Need(int bytes)
        {
            if (Position > _data.Length - bytes)
            {
                throw Bad("ends too early");
            }
        }

        private static InvalidDataException Bad(string what) => new($"The XGBoost UBJSON model {what}.");
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

        // Every per-node array XGBoost reads must have one entry per node: it indexes them without checking.
        foreach (var name in (string[])["parents", "split_conditions", "default_left", "loss_changes", "sum_hessian", "split_type"])
        {
            if (tree.TryGetProperty(name, out var array) && array.ValueKind == JsonValueKind.Array && array.GetArrayLength() != n)
            {
                throw new InvalidDataException($"XGBoost model tree {index}: '{name}' has {array.GetArrayLength()} entries for {n} nodes.");
            }
        }

        var hasParam = tree.TryGetProperty("tree_param", out var treeParam);
        if (hasParam && treeParam.TryGetProperty("num_nodes", out var declared) && Number(declared, "num_nodes") != n)
        {
            throw new InvalidDataException($"XGBoost model tree {index}: tree_param.num_nodes is {declared} but the tree has {n} nodes.");
        }

        // A tree with a leaf vector (XGBoost 2.0+, multi_strategy=multi_output_tree) keeps up to that many weights per
        // node, and (3.x) the leaves' vectors in leaf_weights, one per leaf in order.
        var vector = hasParam && treeParam.TryGetProperty("size_leaf_vector", out var size) ? Math.Max(1, Number(size, "size_leaf_vector")) : 1;
        if (vector > 1024)
        {
            throw new InvalidDataException($"XGBoost model tree {index}: tree_param.size_leaf_vector is {vector}; at most 1024 targets are accepted.");
        }

        if (tree.TryGetProperty("base_weights", out var weights) && weights.ValueKind == JsonValueKind.Array)
        {
            var count = weights.GetArrayLength();
            if (count % n != 0 || count / n < 1 || count / n > vector)
            {
                throw new InvalidDataException(
                    $"XGBoost model tree {index}: 'base_weights' has {count} entries for {n} nodes" + (vector > 1 ? $" of up to {vector} weights each." : "."));
            }
        }

        var leafCount = -1; // no leaf_weights: leaves are -1/-1 pairs
        if (tree.TryGetProperty("leaf_weights", out var leafWeights) && leafWeights.ValueKind == JsonValueKind.Array)
        {
            var leaves = leafCount = left.Count(l => l == -1);
            if (leafWeights.GetArrayLength() != (long)leaves * vector)
            {
                throw new InvalidDataException($"XGBoost model tree {index}: 'leaf_weights' has {leafWeights.GetArrayLength()} entries for {leaves} leaves of {vector} targets.");
            }
        }

        var parents = tree.TryGetProperty("parents", out _) ? Ints(tree, "parents", index) : null;
        ValidateCategories(tree, index, n);

        for (var node = 0; node < n; node++)
        {
            var (l, r) = (left[node], right[node]);
            if (l == -1 && r == -1 && leafCount < 0)
            {
                continue; // a leaf
            }

            if (l == -1 && leafCount >= 0)
            {
                // XGBoost 3.x leaf-vector trees: a leaf's right child is its row in leaf_weights, read without a check.
                if (r < 0 || r >= leafCount)
                {
                    throw new InvalidDataException($"XGBoost model tree {index}, leaf {node}: its weights are row {r} of leaf_weights, which has {leafCount} leaves.");
                }

                continue;
            }

            // XGBoost numbers a node's children after it, so "child > node" also rules out cycles.
            if (l <= node || r <= node || l >= n || r >= n)
            {
                throw new InvalidDataException($"XGBoost model tree {index}, node {node}: children {l} and {r} must both be -1 (a leaf) or both in ({node}, {n}).");
            }

            // XGBoost's predictor takes the right branch as the left child + 1 (predict_fn.h, 1.7 to 3.x; it makes children in
            // pairs): a right child elsewhere is predicted from the wrong node, or from outside the tree when the left one is last.
            if (r != l + 1)
            {
                throw new InvalidDataException($"XGBoost model tree {index}, node {node}: children {l} and {r}; XGBoost predicts the right branch from node {l} + 1, so the right child must follow the left one.");
            }

            if (splits[node] < 0 || (features > 0 && splits[node] >= features))
            {
                throw new InvalidDataException($"XGBoost model tree {index}, node {node}: split index {splits[node]} is not one of the model's {features} features.");
            }

            if (parents is not null && (parents[l] != node || parents[r] != node))
            {
                throw new InvalidDataException($"XGBoost model tree {index}, node {node}: its children {l} and {r} name parents {parents[l]} and {parents[r]}.");
            }
        }
    }

    private static void ValidateCategories(JsonElement tree, int index, int n)
    {
        if (!tree.TryGetProperty("categories_nodes", out _))
        {
            return;
        }

        var nodes = Ints(tree, "categories_nodes", index);
        var segments = Ints(tree, "categories_segments", index);
        var sizes = Ints(tree, "categories_sizes", index);
        var categories = Ints(tree, "categories", index);
        if (segments.Length != nodes.Length || sizes.Length != nodes.Length)
        {
            throw new InvalidDataException($"XGBoost model tree {index}: {nodes.Length} categorical nodes but {segments.Length} segments and {sizes.Length} sizes.");
        }

        for (var i = 0; i < nodes.Length; i++)
        {
            if (nodes[i] < 0 || nodes[i] >= n || segments[i] < 0 || sizes[i] < 0 || segments[i] + sizes[i] > categories.Length)
            {
                throw new InvalidDataException($"XGBoost model tree {index}: categorical split {i} (node {nodes[i]}, categories [{segments[i]}, {segments[i] + sizes[i]})) is outside the tree's {n} nodes or {categories.Length} categories.");
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
            values[i++] = v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n
                : throw new InvalidDataException($"XGBoost model tree {index}: '{name}' holds {v}, not an integer.");
        }

        return values;
    }

    private static JsonElement Property(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value)
            ? value
            : throw new InvalidDataException($"The XGBoost JSON model has no '{name}'.");
}
