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
    /// </summary>
    public static ModelSignature Signature(DataViewSchema input, DataViewSchema output)
    {
        var inputNames = input.Where(c => !c.IsHidden).Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        var outputs = output.Where(c => !c.IsHidden && !inputNames.Contains(c.Name)).ToList();
        return new ModelSignature(Spec(input.Where(c => !c.IsHidden)), outputs.Count == 0 ? null : Spec(outputs));
    }

    private static string Spec(IEnumerable<DataViewSchema.Column> columns) =>
        new JsonArray([.. columns.Select(c =>
        {
            var item = MlflowType(ItemType(c.Type));
            JsonObject spec = c.Type is VectorDataViewType
                ? new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["type"] = item }, ["name"] = c.Name, ["required"] = true }
                : new JsonObject { ["type"] = item, ["name"] = c.Name, ["required"] = true };
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
