using System.Text.Json.Nodes;
using MlOps.Client.Formatting;

namespace MlOps.Client.Models;

/// <summary>
/// An example of a model's input, saved with the model as Python MLflow saves one (<c>input_example=</c>):
/// <c>input_example.json</c>, <c>serving_input_example.json</c> (the body to POST to <c>/invocations</c>) and the
/// MLmodel's <c>saved_input_example_info</c>. The MLflow UI shows it, and <c>mlflow models predict</c> and a Python
/// colleague's <c>mlflow.models.validate_serving_input</c> use it.
/// </summary>
public sealed class ModelInputExample
{
    private ModelInputExample(string type, string? pandasOrient, JsonNode? example, JsonObject serving)
    {
        Type = type;
        PandasOrient = pandasOrient;
        Example = example;
        ServingInput = serving;
    }

    /// <summary>The MLmodel's <c>type</c>: <c>dataframe</c>, <c>ndarray</c> or <c>json_object</c>.</summary>
    public string Type { get; }

    /// <summary><c>split</c> for a data frame, otherwise <see langword="null"/>.</summary>
    internal string? PandasOrient { get; }

    /// <summary>What <c>input_example.json</c> holds.</summary>
    internal JsonNode? Example { get; }

    /// <summary>What <c>serving_input_example.json</c> holds (<c>{"dataframe_split": …}</c> or <c>{"inputs": …}</c>).</summary>
    internal JsonObject ServingInput { get; }

    /// <summary>
    /// A data frame: named columns and a few rows (Python's <c>pandas.DataFrame</c> example), saved in pandas' <c>split</c>
    /// form. Values: numbers, strings, booleans, times, <see langword="null"/>.
    /// </summary>
    /// <param name="columns">The column names, as the model's signature names them.</param>
    /// <param name="rows">The rows; each has one value per column.</param>
    /// <exception cref="ArgumentException">A row has another number of values, or there is no row.</exception>
    public static ModelInputExample FromRows(IReadOnlyList<string> columns, IEnumerable<IReadOnlyList<object?>> rows)
    {
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentNullException.ThrowIfNull(rows);
        var data = new JsonArray();
        var index = 0;
        foreach (var row in rows)
        {
            if (row.Count != columns.Count)
            {
                throw new ArgumentException($"Row {index} of the input example has {row.Count} values for {columns.Count} columns.", nameof(rows));
            }

            data.Add((JsonNode)new JsonArray([.. row.Select(PythonFormat.PandasCell)]));
            index++;
        }

        if (data.Count == 0)
        {
            throw new ArgumentException("An input example has at least one row.", nameof(rows));
        }

        var split = new JsonObject { ["columns"] = new JsonArray([.. columns.Select(c => (JsonNode)c)]), ["data"] = data };
        return new ModelInputExample("dataframe", "split", split, new JsonObject { ["dataframe_split"] = split.DeepClone() });
    }

    /// <summary>A tensor (Python's <c>numpy.ndarray</c> example): its rows as nested lists, served as <c>{"inputs": …}</c>.</summary>
    /// <param name="rows">The rows.</param>
    public static ModelInputExample FromTensor(IEnumerable<IReadOnlyList<float>> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var data = new JsonArray([.. rows.Select(r => (JsonNode)new JsonArray([.. r.Select(v => PythonFormat.PandasCell((double)v))]))]);
        return new ModelInputExample("ndarray", null, data, new JsonObject { ["inputs"] = data.DeepClone() });
    }

    /// <summary>Any JSON (Python's dict, list or scalar example), served as <c>{"inputs": …}</c>.</summary>
    /// <param name="example">The example.</param>
    public static ModelInputExample FromJson(JsonNode example)
    {
        ArgumentNullException.ThrowIfNull(example);
        return new ModelInputExample("json_object", null, example.DeepClone(), new JsonObject { ["inputs"] = example.DeepClone() });
    }

    /// <summary>Writes the two files into the model folder and returns the MLmodel's <c>saved_input_example_info</c> (keys sorted, as Python's YAML).</summary>
    internal JsonObject Save(string modelDirectory)
    {
        File.WriteAllText(Path.Combine(modelDirectory, ExampleFile), PythonFormat.JsonDumps(Example));
        File.WriteAllText(Path.Combine(modelDirectory, ServingFile), PythonFormat.JsonDumps(ServingInput, indent: 2));
        var info = new JsonObject { ["artifact_path"] = ExampleFile };
        if (PandasOrient is { } orient)
        {
            info["pandas_orient"] = orient;
        }

        info["serving_input_path"] = ServingFile;
        info["type"] = Type;
        return info;
    }

    /// <summary><c>input_example.json</c>.</summary>
    internal const string ExampleFile = "input_example.json";

    /// <summary><c>serving_input_example.json</c>.</summary>
    internal const string ServingFile = "serving_input_example.json";
}
