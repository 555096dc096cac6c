using System.Text.Json;
using System.Text.Json.Nodes;
using MlOps.Client.Models;
using MlOps.Client.Tests.Fixtures;

namespace MlOps.Client.Tests.Models;

public class MlflowModelTests
{
    private static string PythonMlModel => File.ReadAllText(Path.Combine(RecordedExchange.ProtocolDirectory, "models", "xgboost", "MLmodel"));

    [Fact]
    public void The_MLmodel_written_by_Python_MLflow_is_read()
    {
        var model = MlflowModel.Parse(PythonMlModel);
        Assert.Equal("model", model.ArtifactPath);
        Assert.Equal("802053e354c1477e95236c71f79f7604", model.RunId);
        Assert.Equal("9dffc62c7281450b93c5218f3cfed993", model.ModelUuid);
        Assert.Equal("2026-11-22 21:21:09.002853", model.UtcTimeCreated);
        Assert.Equal("2.22.1.dev0", model.MlflowVersion);
        Assert.Equal(10320, model.ModelSizeBytes);
        Assert.Equal(["python_function", "xgboost"], model.Flavors.Keys);
        Assert.Equal("1.7.4", model.Flavors["xgboost"]["xgb_version"]!.GetValue<string>());
        Assert.Null(model.Flavors["xgboost"]["code"]);
        Assert.Equal("conda.yaml", model.Flavors["python_function"]["env"]!["conda"]!.GetValue<string>());
        Assert.True(model.Extra.ContainsKey("prompts"));
    }

    [Fact]
    public void Writing_it_back_gives_the_same_file_byte_for_byte()
    {
        Assert.Equal(PythonMlModel, MlflowModel.Parse(PythonMlModel).ToYaml());
    }

    [Fact]
    public void Signatures_column_and_tensor_based_round_trip()
    {
        var model = MlflowModel.Create("model", "r1");
        model.Flavors["mlnet"] = new JsonObject { ["model_file"] = "model.zip", ["mlnet_version"] = "5.0.1" };
        model.Signature = ModelSignature.FromColumns([("sepal length (cm)", "float"), ("label", "long")], [("score", "double")]);
        model.SavedInputExampleInfo = new JsonObject { ["artifact_path"] = "input_example.json", ["type"] = "dataframe", ["pandas_orient"] = "split" };
        var back = MlflowModel.Parse(model.ToYaml());
        Assert.Equal(model.Signature, back.Signature);
        Assert.Equal([("sepal length (cm)", "float"), ("label", "long")], back.Signature!.InputColumns());
        Assert.Equal("split", back.SavedInputExampleInfo!["pandas_orient"]!.GetValue<string>());
        Assert.Matches(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$", back.UtcTimeCreated!);
        Assert.Contains("utc_time_created: '", model.ToYaml(), StringComparison.Ordinal); // quoted like PyYAML: it looks like a timestamp

        var tensor = ModelSignature.FromTensors("float32", [-1, 4], "float32", [-1, 3]);
        var t = MlflowModel.Create("model", "r2");
        t.Signature = tensor;
        var parsed = JsonNode.Parse(MlflowModel.Parse(t.ToYaml()).Signature!.Inputs!)!;
        Assert.Equal("float32", parsed[0]!["tensor-spec"]!["dtype"]!.GetValue<string>());
        Assert.Equal(-1, parsed[0]!["tensor-spec"]!["shape"]![0]!.GetValue<long>());
    }

    [Fact]
    public void The_log_model_json_has_what_the_server_records()
    {
        var model = MlflowModel.Parse(PythonMlModel);
        var json = JsonNode.Parse(model.ToJson())!;
        Assert.Equal("model", json["artifact_path"]!.GetValue<string>());
        Assert.Equal("mlflow.xgboost", json["flavors"]!["python_function"]!["loader_module"]!.GetValue<string>());
        Assert.Equal("802053e354c1477e95236c71f79f7604", json["run_id"]!.GetValue<string>());
    }

    [Fact]
    public void Plain_scalars_are_typed_as_PyYAML_types_them_and_strings_that_would_not_read_back_are_quoted()
    {
        var model = MlflowModel.Parse("flavors:\n  f:\n    a: yes\n    b: 'yes'\n    c: 3\n    d: 1.5e3\n    e: ~\n    g: off\n    h: mlflow.xgboost\n");
        var f = model.Flavors["f"];
        Assert.Equal(JsonValueKind.True, f["a"]!.GetValueKind());       // yaml.safe_load("a: yes") == {'a': True}
        Assert.Equal("yes", f["b"]!.GetValue<string>());                // quoted: the string
        Assert.Equal(3L, f["c"]!.GetValue<long>());
        Assert.Equal(1500.0, f["d"]!.GetValue<double>());
        Assert.Null(f["e"]);
        Assert.Equal(JsonValueKind.False, f["g"]!.GetValueKind());
        Assert.Equal("mlflow.xgboost", f["h"]!.GetValue<string>());

        var written = MlflowModel.Parse(model.ToYaml()).Flavors["f"];   // what is written reads back as it was
        Assert.Equal(JsonValueKind.True, written["a"]!.GetValueKind());
        Assert.Equal("yes", written["b"]!.GetValue<string>());
        Assert.Contains("b: 'yes'", model.ToYaml(), StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_yaml_is_a_FormatException()
    {
        Assert.Throws<FormatException>(() => MlflowModel.Parse("- a\n- b\n"));
        Assert.Throws<FormatException>(() => MlflowModel.Parse("a: [unclosed"));
    }
}
