using System.Globalization;
using System.Text.Json.Nodes;
using MlOps.Client.Models;

namespace MlOps.Client.XGBoost.Models;

/// <summary>
/// MLflow's <c>xgboost</c> model flavor (plus <c>python_function</c>): the booster file as Python's
/// <c>mlflow.xgboost.save_model</c> writes it, with <c>requirements.txt</c>, <c>conda.yaml</c> and <c>python_env.yaml</c>,
/// so that <c>mlflow.xgboost.load_model</c> and <c>mlflow.pyfunc.load_model</c> load it.
/// </summary>
/// <param name="format">The booster file format. Default <see cref="XGBoostModelFormat.Xgb"/>.</param>
public sealed class XGBoostFlavor(XGBoostModelFormat format = XGBoostModelFormat.Xgb) : IModelFlavor<Booster>
{
    /// <summary>The flavor name, <c>xgboost</c>.</summary>
    public const string FlavorName = "xgboost";

    /// <summary>The Python version written to <c>python_env.yaml</c>, <c>conda.yaml</c> and the <c>python_function</c> flavor.</summary>
    public static string PythonVersion { get; set; } = "3.11.2";

    /// <summary>The MLflow version pinned in the environment files.</summary>
    public static string MlflowVersion { get; set; } = "2.22.0";

    /// <summary>The file format.</summary>
    public XGBoostModelFormat Format { get; } = format;

    /// <inheritdoc/>
    public string Name => FlavorName;

    /// <summary>Saves synchronously (the booster may be disposed as soon as this returns) and completes.</summary>
    /// <param name="model">The booster.</param>
    /// <param name="directory">The model folder.</param>
    /// <param name="cancellationToken">Not used.</param>
    public Task<FlavorConfiguration> SaveAsync(Booster model, string directory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        var extension = Format switch
        {
            XGBoostModelFormat.Xgb => "xgb",
            XGBoostModelFormat.Json => "json",
            XGBoostModelFormat.Ubj => "ubj",
            _ => throw new ArgumentOutOfRangeException(nameof(model), Format, "Unknown model format."),
        };
        var file = $"model.{extension}";
        model.Save(Path.Combine(directory, file));
        var xgbVersion = Booster.LibraryVersion.ToString(3);
        WriteEnvironment(directory, xgbVersion);
        var flavor = new JsonObject
        {
            ["xgb_version"] = xgbVersion,
            ["data"] = file,
            ["model_class"] = "xgboost.core.Booster",
            ["model_format"] = extension,
            ["code"] = null,
        };
        var pyfunc = new JsonObject
        {
            ["loader_module"] = "mlflow.xgboost",
            ["python_version"] = PythonVersion,
            ["data"] = file,
            ["env"] = new JsonObject { ["conda"] = "conda.yaml", ["virtualenv"] = "python_env.yaml" },
        };
        return Task.FromResult(new FlavorConfiguration(flavor, pyfunc));
    }

    /// <inheritdoc/>
    public Task<Booster> LoadAsync(string directory, MlflowModel description, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(description);
        if (!description.Flavors.TryGetValue(FlavorName, out var flavor))
        {
            throw new InvalidOperationException($"The model has no '{FlavorName}' flavor (it has: {string.Join(", ", description.Flavors.Keys)}).");
        }

        var data = flavor["data"]?.GetValue<string>() ?? "model.xgb";
        // model.xgb is legacy binary with XGBoost 1.x, the format Python MLflow logs by default: a model logged to your
        // tracking server is trusted like the server. JSON/UBJSON models are checked all the same.
        return Task.FromResult(Booster.Load(Path.Combine(directory, data), allowLegacyBinary: true));
    }

    /// <summary>The pip requirements of a logged XGBoost model.</summary>
    /// <param name="xgbVersion">The XGBoost version.</param>
    public static IReadOnlyList<string> Requirements(string xgbVersion) =>
        [$"mlflow=={MlflowVersion}", "numpy", "scipy", $"xgboost=={xgbVersion}"];

    private static void WriteEnvironment(string directory, string xgbVersion)
    {
        var requirements = Requirements(xgbVersion);
        File.WriteAllText(Path.Combine(directory, "requirements.txt"), string.Join('\n', requirements) + "\n");
        var pipVersion = "23.0.1";
        File.WriteAllText(Path.Combine(directory, "conda.yaml"), string.Create(CultureInfo.InvariantCulture,
            $"channels:\n- conda-forge\ndependencies:\n- python={PythonVersion}\n- pip<={pipVersion}\n- pip:\n{string.Concat(requirements.Select(r => $"  - {r}\n"))}name: mlflow-env\n"));
        File.WriteAllText(Path.Combine(directory, "python_env.yaml"),
            $"python: {PythonVersion}\nbuild_dependencies:\n- pip=={pipVersion}\n- setuptools==66.1.1\n- wheel==0.38.4\ndependencies:\n- -r requirements.txt\n");
    }
}

/// <summary>The booster file formats MLflow's xgboost flavor knows (<c>model_format</c>).</summary>
public enum XGBoostModelFormat
{
    /// <summary><c>model.xgb</c>: XGBoost's default for that extension (legacy binary in 1.x, UBJSON in 2.x); what MLflow 2.22 logs.</summary>
    Xgb,

    /// <summary><c>model.json</c>.</summary>
    Json,

    /// <summary><c>model.ubj</c> (Universal Binary JSON); the default of newer MLflow versions.</summary>
    Ubj,
}
