using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace MlOps.Client.Models;

/// <summary>
/// An MLflow model's <c>MLmodel</c> file: flavors, <c>run_id</c>, <c>artifact_path</c>, <c>model_uuid</c>,
/// <c>utc_time_created</c>, <c>mlflow_version</c>, the signature and the saved input example. Keys this type does not
/// model (<c>databricks_runtime</c>, <c>metadata</c>, <c>prompts</c>, future ones) are kept and written back. Written as
/// Python's <c>yaml.safe_dump</c> writes it: block style, keys sorted.
/// </summary>
public sealed partial class MlflowModel
{
    /// <summary>The standard file name.</summary>
    public const string FileName = "MLmodel";

    /// <summary>
    /// Where the model folder is: its path inside the run's artifacts (e.g. <c>model</c>) as MLflow 2.x writes it, or the
    /// logged model's artifact URI (<c>mlflow-artifacts:/&lt;exp&gt;/models/&lt;model id&gt;/artifacts</c>) as MLflow 3 writes it.
    /// </summary>
    public string? ArtifactPath { get; set; }

    /// <summary>The run that logged the model.</summary>
    public string? RunId { get; set; }

    /// <summary>A unique id (32 hex characters).</summary>
    public string? ModelUuid { get; set; }

    /// <summary>The MLflow 3 logged model this folder belongs to (<c>model_id</c>), or <see langword="null"/> (MLflow 2.x).</summary>
    public string? ModelId { get; set; }

    /// <summary>Creation time as MLflow writes it (<c>yyyy-MM-dd HH:mm:ss.ffffff</c>, UTC).</summary>
    public string? UtcTimeCreated { get; set; }

    /// <summary>The MLflow version the model was written for.</summary>
    public string? MlflowVersion { get; set; }

    /// <summary>The size of the model files in bytes.</summary>
    public long? ModelSizeBytes { get; set; }

    /// <summary>Flavor name → its configuration (e.g. <c>xgboost</c> → <c>{data, model_format, xgb_version…}</c>).</summary>
    public IDictionary<string, JsonObject> Flavors { get; } = new SortedDictionary<string, JsonObject>(StringComparer.Ordinal);

    /// <summary>The signature, when known.</summary>
    public ModelSignature? Signature { get; set; }

    /// <summary>The <c>saved_input_example_info</c> section (artifact path, type, format…), when an example was saved.</summary>
    public JsonObject? SavedInputExampleInfo { get; set; }

    /// <summary>Keys of the file this type does not model, kept as they were.</summary>
    public IDictionary<string, JsonNode?> Extra { get; } = new SortedDictionary<string, JsonNode?>(StringComparer.Ordinal);

    /// <summary>Creates a model description with a new <see cref="ModelUuid"/> and the current time.</summary>
    /// <param name="artifactPath">The folder inside the run's artifacts.</param>
    /// <param name="runId">The run.</param>
    /// <param name="time">The clock.</param>
    public static MlflowModel Create(string? artifactPath, string? runId, TimeProvider? time = null) => new()
    {
        ArtifactPath = artifactPath,
        RunId = runId,
        ModelUuid = Guid.NewGuid().ToString("N"),
        UtcTimeCreated = (time ?? TimeProvider.System).GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture),
        MlflowVersion = DefaultMlflowVersion,
    };

    /// <summary>The MLflow version a model is written for when the store does not say which (2.22.0).</summary>
    internal const string DefaultMlflowVersion = "2.22.0";

    /// <summary>
    /// The <c>mlflow==</c> pin for a model logged to an MLflow of <paramref name="serverVersion"/>, by Python's rule: a
    /// release (or release candidate) pins itself; a development build (<c>3.6.1.dev0</c>) pins the release before it (<c>3.6.0</c>); unknown or
    /// unreadable: <see cref="DefaultMlflowVersion"/>.
    /// </summary>
    internal static string PinnedMlflowVersion(string? serverVersion)
    {
        var m = serverVersion is null ? null : System.Text.RegularExpressions.Regex.Match(serverVersion, @"^(\d+)\.(\d+)\.(\d+)(\.?(dev|rc|a|b)\d*)?(\+.*)?$");
        if (m is not { Success: true })
        {
            return DefaultMlflowVersion;
        }

        var micro = int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
        return m.Groups[5].Value != "dev" ? serverVersion!.Split('+')[0]
            : micro > 0 ? $"{m.Groups[1].Value}.{m.Groups[2].Value}.{micro - 1}"
            : DefaultMlflowVersion; // x.y.0.dev0: the release before it is not known

    }

    /// <summary>Sets the <c>mlflow==</c> pin of the environment files a flavor wrote (<c>requirements.txt</c>, <c>conda.yaml</c>) to <paramref name="version"/>.</summary>
    internal static void PinMlflow(string directory, string version)
    {
        foreach (var name in new[] { "requirements.txt", "conda.yaml" })
        {
            var file = Path.Combine(directory, name);
            if (File.Exists(file))
            {
                var text = File.ReadAllText(file);
                var pinned = System.Text.RegularExpressions.Regex.Replace(text, @"(?m)^(\s*-?\s*)mlflow==[^\s]+$", "${1}mlflow==" + version);
                if (text != pinned)
                {
                    File.WriteAllText(file, pinned);
                }
            }
        }
    }

    /// <summary>Reads an <c>MLmodel</c> file.</summary>
    /// <param name="path">The file, or the model folder that contains it.</param>
    public static MlflowModel Load(string path)
    {
        var file = Directory.Exists(path) ? Path.Combine(path, FileName) : path;
        return Parse(File.ReadAllText(file));
    }

    /// <summary>Parses <c>MLmodel</c> YAML.</summary>
    /// <param name="yaml">The YAML text.</param>
    /// <exception cref="FormatException">The text is not a YAML mapping.</exception>
    public static MlflowModel Parse(string yaml)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw new FormatException($"MLmodel is not valid YAML: {ex.Message}", ex);
        }

        if (stream.Documents.Count == 0 || ToJson(stream.Documents[0].RootNode) is not JsonObject root)
        {
            throw new FormatException("MLmodel must be a YAML mapping.");
        }

        var model = new MlflowModel();
        foreach (var (key, value) in root.ToList())
        {
            root.Remove(key);
            switch (key)
            {
                case "artifact_path": model.ArtifactPath = AsString(value); break;
                case "run_id": model.RunId = AsString(value); break;
                case "model_uuid": model.ModelUuid = AsString(value); break;
                case "model_id": model.ModelId = AsString(value); break;
                case "utc_time_created": model.UtcTimeCreated = AsString(value); break;
                case "mlflow_version": model.MlflowVersion = AsString(value); break;
                case "model_size_bytes" when value is JsonValue v && v.TryGetValue<long>(out var size): model.ModelSizeBytes = size; break;
                case "flavors" when value is JsonObject flavors:
                    foreach (var (name, config) in flavors.ToList())
                    {
                        flavors.Remove(name);
                        model.Flavors[name] = config as JsonObject ?? new JsonObject();
                    }

                    break;
                case "signature" when value is JsonObject signature:
                    model.Signature = new ModelSignature(AsString(signature["inputs"]), AsString(signature["outputs"]), AsString(signature["params"]));
                    break;
                case "saved_input_example_info" when value is JsonObject info: model.SavedInputExampleInfo = info; break;
                default: model.Extra[key] = value; break;
            }
        }

        return model;
    }

    /// <summary>Writes the <c>MLmodel</c> YAML (sorted keys, block style).</summary>
    public string ToYaml()
    {
        var root = new SortedDictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var (k, v) in Extra)
        {
            root[k] = v?.DeepClone();
        }

        void Set(string key, string? value)
        {
            if (value is not null)
            {
                root[key] = value;
            }
        }

        Set("artifact_path", ArtifactPath);
        Set("run_id", RunId);
        Set("model_uuid", ModelUuid);
        Set("model_id", ModelId);
        Set("utc_time_created", UtcTimeCreated);
        Set("mlflow_version", MlflowVersion);
        if (ModelSizeBytes is { } size)
        {
            root["model_size_bytes"] = size;
        }

        var flavors = new JsonObject();
        foreach (var (name, config) in Flavors)
        {
            flavors[name] = config.DeepClone();
        }

        root["flavors"] = flavors;
        if (Signature is { } signature)
        {
            root["signature"] = new JsonObject { ["inputs"] = signature.Inputs, ["outputs"] = signature.Outputs, ["params"] = signature.Params };
        }

        if (SavedInputExampleInfo is { } example)
        {
            root["saved_input_example_info"] = example.DeepClone();
        }

        var sb = new StringBuilder();
        YamlText.WriteMapping(sb, root, 0, sortKeys: true);
        return sb.ToString();
    }

    /// <summary>Writes <c>MLmodel</c> into <paramref name="modelDirectory"/>.</summary>
    /// <param name="modelDirectory">The model folder.</param>
    public void Save(string modelDirectory)
    {
        Directory.CreateDirectory(modelDirectory);
        File.WriteAllText(Path.Combine(modelDirectory, FileName), ToYaml(), new UTF8Encoding(false));
    }

    /// <summary>
    /// The JSON that <c>runs/log-model</c> records in the <c>mlflow.log-model.history</c> tag (the MLmodel content as
    /// a dictionary, as Python's <c>Model.to_json()</c>).
    /// </summary>
    public string ToJson()
    {
        var obj = new JsonObject();
        var yamlTree = Parse(ToYaml()); // normalized copy
        if (yamlTree.ArtifactPath is { } ap)
        {
            obj["artifact_path"] = ap;
        }

        if (yamlTree.RunId is { } run)
        {
            obj["run_id"] = run;
        }

        if (yamlTree.UtcTimeCreated is { } t)
        {
            obj["utc_time_created"] = t;
        }

        var flavors = new JsonObject();
        foreach (var (name, config) in yamlTree.Flavors)
        {
            flavors[name] = config.DeepClone();
        }

        obj["flavors"] = flavors;
        if (yamlTree.ModelUuid is { } uuid)
        {
            obj["model_uuid"] = uuid;
        }

        if (yamlTree.MlflowVersion is { } version)
        {
            obj["mlflow_version"] = version;
        }

        if (yamlTree.ModelId is { } modelId)
        {
            obj["model_id"] = modelId;
        }

        if (Signature is { } signature)
        {
            obj["signature"] = new JsonObject { ["inputs"] = signature.Inputs, ["outputs"] = signature.Outputs, ["params"] = signature.Params };
        }

        if (SavedInputExampleInfo is { } example)
        {
            obj["saved_input_example_info"] = example.DeepClone();
        }

        if (ModelSizeBytes is { } size)
        {
            obj["model_size_bytes"] = size;
        }

        return obj.ToJsonString();
    }

    private static string? AsString(JsonNode? node) => node switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => node.ToJsonString(),
    };

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(kv => KeyValuePair.Create(((YamlScalarNode)kv.Key).Value ?? "", ToJson(kv.Value)))),
        YamlSequenceNode seq => new JsonArray([.. seq.Children.Select(ToJson)]),
        YamlScalarNode scalar => Scalar(scalar),
        _ => null,
    };

    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        return scalar.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded
            ? text
            : YamlText.Resolve(text);
    }
}

/// <summary>
/// A model signature as MLflow stores it in <c>MLmodel</c>: JSON strings describing the inputs, outputs and params
/// (column-based: <c>[{"type": "double", "name": "x", "required": true}]</c>; tensor-based:
/// <c>[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}}]</c>).
/// </summary>
/// <param name="Inputs">The inputs JSON.</param>
/// <param name="Outputs">The outputs JSON.</param>
/// <param name="Params">The params JSON.</param>
public sealed record ModelSignature(string? Inputs, string? Outputs, string? Params = null)
{
    /// <summary>A column-based signature from (name, MLflow type) pairs: <c>double</c>, <c>float</c>, <c>long</c>, <c>integer</c>, <c>string</c>, <c>boolean</c>….</summary>
    /// <param name="inputs">Input columns.</param>
    /// <param name="outputs">Output columns (optional).</param>
    public static ModelSignature FromColumns(IEnumerable<(string Name, string Type)> inputs, IEnumerable<(string Name, string Type)>? outputs = null) =>
        new(Columns(inputs), outputs is null ? null : Columns(outputs));

    /// <summary>A tensor-based signature.</summary>
    /// <param name="inputDtype">The input dtype, e.g. <c>float32</c>.</param>
    /// <param name="inputShape">The input shape, <c>-1</c> for a variable dimension.</param>
    /// <param name="outputDtype">The output dtype.</param>
    /// <param name="outputShape">The output shape.</param>
    public static ModelSignature FromTensors(string inputDtype, IReadOnlyList<long> inputShape, string? outputDtype = null, IReadOnlyList<long>? outputShape = null) =>
        new(Tensor(inputDtype, inputShape), outputDtype is null || outputShape is null ? null : Tensor(outputDtype, outputShape));

    /// <summary>The input columns (name, type) of a column-based signature.</summary>
    public IReadOnlyList<(string? Name, string Type)> InputColumns() => ParseColumns(Inputs);

    private static string Columns(IEnumerable<(string Name, string Type)> columns) =>
        new JsonArray([.. columns.Select(c => (JsonNode)new JsonObject { ["type"] = c.Type, ["name"] = c.Name, ["required"] = true })]).ToJsonString(JsonOptions);

    private static string Tensor(string dtype, IReadOnlyList<long> shape) =>
        new JsonArray((JsonNode)new JsonObject { ["type"] = "tensor", ["tensor-spec"] = new JsonObject { ["dtype"] = dtype, ["shape"] = new JsonArray([.. shape.Select(s => (JsonNode)s)]) } }).ToJsonString(JsonOptions);

    private static List<(string? Name, string Type)> ParseColumns(string? json) =>
        json is null ? [] : [.. JsonNode.Parse(json)!.AsArray().Select(c => (c!["name"]?.GetValue<string>(), c["type"]!.GetValue<string>()))];

    private static readonly JsonSerializerOptions JsonOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
