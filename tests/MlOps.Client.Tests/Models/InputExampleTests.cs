using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using MlOps.Client.Models;
using MlOps.Client.Stores;
using MlOps.Client.Tests.Fixtures;
using MlOps.Client.Tracking;

namespace MlOps.Client.Tests.Models;

public sealed class InputExampleTests : IDisposable
{
    private static readonly string Recorded = Path.Combine(RecordedExchange.ProtocolDirectory, "models", "xgboost-input-example");
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-example-");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    [Fact]
    public async Task A_data_frame_example_is_saved_byte_for_byte_as_Python_saves_it()
    {
        await using var store = SqliteTrackingStore.Open("sqlite:///" + Path.Combine(_dir.FullName, "mlflow.db"));
        await using var tracker = new Tracker(store, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false });
        string[] columns = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"];
        var example = ModelInputExample.FromRows(columns, [[5.1, 3.5, 1.4, 0.2], [4.9, 3.0, 1.4, 0.2]]);
        LoggedModelInfo info;
        RunScope run;
        using (run = tracker.StartRun("with-example"))
        {
            info = await run.LogModelAsync("weights", new LogModelOptions { InputExample = example }, new TextFlavor());
        }

        var folder = Path.Combine(new Uri(run.ArtifactUri!).LocalPath, "model");
        foreach (var file in new[] { "input_example.json", "serving_input_example.json" })
        {
            Assert.Equal(await File.ReadAllTextAsync(Path.Combine(Recorded, file)), await File.ReadAllTextAsync(Path.Combine(folder, file)));
        }

        // The MLmodel section, keys and order as Python's YAML.
        var python = MlflowModel.Load(Recorded).SavedInputExampleInfo!;
        var ours = MlflowModel.Load(folder).SavedInputExampleInfo!;
        Assert.Equal(python.ToJsonString(), ours.ToJsonString());
        Assert.Equal(python.ToJsonString(), info.Description.SavedInputExampleInfo!.ToJsonString());
        var yaml = await File.ReadAllTextAsync(Path.Combine(folder, "MLmodel"));
        Assert.Contains("saved_input_example_info:\n  artifact_path: input_example.json\n  pandas_orient: split\n  serving_input_path: serving_input_example.json\n  type: dataframe\n", yaml, StringComparison.Ordinal);
        // model_size_bytes counts the example files, as Python's.
        Assert.Equal(new DirectoryInfo(folder).EnumerateFiles().Where(f => f.Name != "MLmodel").Sum(f => f.Length), info.Description.ModelSizeBytes);
    }

    [Fact]
    public void Tensors_and_JSON_are_served_as_inputs()
    {
        var tensor = ModelInputExample.FromTensor([[1f, 2.5f], [0.1f, float.NaN]]);
        var dir = _dir.CreateSubdirectory("tensor").FullName;
        var info = tensor.Save(dir);
        Assert.Equal("""{"artifact_path":"input_example.json","serving_input_path":"serving_input_example.json","type":"ndarray"}""", info.ToJsonString());
        Assert.Equal("[[1.0, 2.5], [0.10000000149011612, null]]", File.ReadAllText(Path.Combine(dir, "input_example.json")));
        Assert.StartsWith("{\n  \"inputs\": [\n    [\n      1.0,\n      2.5\n    ],", File.ReadAllText(Path.Combine(dir, "serving_input_example.json")), StringComparison.Ordinal);

        var json = ModelInputExample.FromJson(new JsonObject { ["question"] = "What is MLflow?", ["k"] = 3 });
        dir = _dir.CreateSubdirectory("json").FullName;
        Assert.Equal("json_object", json.Save(dir)["type"]!.GetValue<string>());
        Assert.Equal("""{"question": "What is MLflow?", "k": 3}""", File.ReadAllText(Path.Combine(dir, "input_example.json")));
        Assert.Equal("{\n  \"inputs\": {\n    \"question\": \"What is MLflow?\",\n    \"k\": 3\n  }\n}", File.ReadAllText(Path.Combine(dir, "serving_input_example.json")));
    }

    [Fact]
    public void A_ragged_or_empty_example_is_refused_naming_the_row()
    {
        var ragged = Assert.Throws<ArgumentException>("rows", () => ModelInputExample.FromRows(["a", "b"], [[1.0, 2.0], [3.0]]));
        Assert.Contains("Row 1 of the input example has 1 values for 2 columns", ragged.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>("rows", () => ModelInputExample.FromRows(["a"], []));
    }
}
