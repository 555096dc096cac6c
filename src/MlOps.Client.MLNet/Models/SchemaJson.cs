using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlOps.Client.Models;

namespace MlOps.Client.MLNet.Models;

/// <summary>ML.NET schemas as JSON and as MLflow column-based signatures.</summary>
internal static class SchemaJson
{
    private static readonly JsonSerializerOptions Json = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The visible columns: name, ML.NET type, vector size, key-ness.</summary>
    public static string Describe(DataViewSchema schema) => Columns(schema).ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    public static JsonArray Columns(DataViewSchema schema) =>
        new([.. schema.Where(c => !c.IsHidden).Select(c => (JsonNode)new JsonObject
        {
            ["name"] = c.Name,
            ["type"] = ItemType(c.Type).ToString(),
            ["vector_size"] = c.Type is VectorDataViewType v ? v.Size : null,
            ["is_key"] = ItemType(c.Type) is KeyDataViewType,
        })]);

    /// <summary>
    /// An MLflow column-based signature: inputs are the visible input columns; outputs the visible columns the model adds.
    /// Scalars map to MLflow types (float, double, integer, long, string, boolean); vectors to <c>array</c> of the item type.
    /// The label (<c>Label</c>, and the column <c>MapValueToKey</c> turns into it) is an input of the saved model but not
    /// needed to predict: it is optional (<c>"required": false</c>), so a scoring request need not carry it.
    /// </summary>
    public static ModelSignature Signature(DataViewSchema input, DataViewSchema output, ITransformer? model = null)
    {
        var labels = LabelSources(model);
        var inputNames = input.Where(c => !c.IsHidden).Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        var outputs = output.Where(c => !c.IsHidden && !inputNames.Contains(c.Name)).ToList();
        return new ModelSignature(Spec(input.Where(c => !c.IsHidden), labels), outputs.Count == 0 ? null : Spec(outputs, []));
    }

    /// <summary>ML.NET's default label column name.</summary>
    public const string LabelColumn = "Label";

    /// <summary><c>Label</c> and the columns a <c>MapValueToKey</c> of the model maps into it.</summary>
    internal static HashSet<string> LabelSources(ITransformer? model)
    {
        var sources = new HashSet<string>(StringComparer.Ordinal) { LabelColumn };
        foreach (var transformer in Flatten(model))
        {
            if (transformer is Microsoft.ML.Transforms.ValueToKeyMappingTransformer)
            {
                // OneToOneTransformerBase keeps its (output, input) pairs in a non-public member.
                var member = transformer.GetType().BaseType?.GetField("ColumnPairs", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public);
                if (member?.GetValue(transformer) is (string Output, string Input)[] pairs)
                {
                    sources.UnionWith(pairs.Where(p => p.Output == LabelColumn).Select(p => p.Input));
                }
            }
        }

        return sources;
    }

    private static IEnumerable<ITransformer> Flatten(ITransformer? model) =>
        model is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : model is null ? [] : [model];

    private static string Spec(IEnumerable<DataViewSchema.Column> columns, HashSet<string> optional) =>
        new JsonArray([.. columns.Select(c =>
        {
            var item = MlflowType(ItemType(c.Type));
            JsonObject spec = c.Type is VectorDataViewType
                ? new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["type"] = item }, ["name"] = c.Name, ["required"] = !optional.Contains(c.Name) }
                : new JsonObject { ["type"] = item, ["name"] = c.Name, ["required"] = !optional.Contains(c.Name) };
            return (JsonNode)spec;
        })]).ToJsonString(Json);

    private static DataViewType ItemType(DataViewType type) => type is VectorDataViewType v ? v.ItemType : type;

    private static string MlflowType(DataViewType type) => type.RawType switch
    {
        var t when t == typeof(float) => "float",
        var t when t == typeof(double) => "double",
        var t when t == typeof(int) || t == typeof(short) || t == typeof(sbyte) || t == typeof(byte) || t == typeof(ushort) => "integer",
        var t when t == typeof(long) || t == typeof(uint) || t == typeof(ulong) => "long",
        var t when t == typeof(bool) => "boolean",
        var t when t == typeof(ReadOnlyMemory<char>) || t == typeof(string) => "string",
        var t when t == typeof(DateTime) || t == typeof(DateTimeOffset) => "datetime",
        _ => "string",
    };
}
