using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Microsoft.ML;
using MlOps.Client.Models;

namespace MlOps.Client.MLNet.Models;

/// <summary>A fitted ML.NET model with the schema of the data it takes.</summary>
/// <param name="Transformer">The fitted model.</param>
/// <param name="InputSchema">The input schema saved with it.</param>
public sealed record MLNetModel(ITransformer Transformer, DataViewSchema InputSchema);

/// <summary>
/// A custom MLflow flavor <c>mlnet</c>: the model as ML.NET saves it (<c>model.zip</c>, <c>MLContext.Model.Save</c>), with
/// the ML.NET version and the input schema in <c>MLmodel</c>. Python MLflow lists it but cannot load it (no
/// <c>python_function</c>); C# loads it with <c>store.LoadModelAsync&lt;MLNetModel&gt;(uri)</c>.
/// </summary>
/// <param name="mlContext">The context used to save and load; a new one when <see langword="null"/>.</param>
public sealed class MLNetFlavor(MLContext? mlContext = null) : IModelFlavor<MLNetModel>
{
    /// <summary>The flavor name, <c>mlnet</c>.</summary>
    public const string FlavorName = "mlnet";

    /// <summary>The model file name.</summary>
    public const string ModelFile = "model.zip";

    private readonly MLContext _mlContext = mlContext ?? new MLContext();

    /// <inheritdoc/>
    public string Name => FlavorName;

    /// <summary>The model already saved by ML.NET (written as is instead of saving again).</summary>
    internal byte[]? PreSaved { get; init; }

    /// <summary>The ML.NET version (<c>Microsoft.ML</c>'s informational version, without build metadata).</summary>
    public static string MLNetVersion =>
        (typeof(MLContext).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown").Split('+')[0];

    /// <summary>Saves synchronously (the model may change as soon as this returns) and completes.</summary>
    /// <param name="model">The model.</param>
    /// <param name="directory">The model folder.</param>
    /// <param name="cancellationToken">Not used.</param>
    public Task<FlavorConfiguration> SaveAsync(MLNetModel model, string directory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (PreSaved is { } bytes)
        {
            File.WriteAllBytes(Path.Combine(directory, ModelFile), bytes);
        }
        else
        {
            _mlContext.Model.Save(model.Transformer, model.InputSchema, Path.Combine(directory, ModelFile));
        }
        return Task.FromResult(new FlavorConfiguration(new JsonObject
        {
            ["mlnet_version"] = MLNetVersion,
            ["data"] = ModelFile,
            ["model_class"] = TypeName(model.Transformer.GetType()),
            ["input_schema"] = SchemaJson.Columns(model.InputSchema),
        }));
    }

    /// <summary>
    /// The signature autologging writes for <paramref name="model"/>, for <c>LogModelAsync</c> (Python's
    /// <c>infer_signature</c>): the visible input columns (the label optional: not needed to predict) and the columns the
    /// model adds.
    /// </summary>
    /// <param name="model">The fitted model and its input schema.</param>
    public static ModelSignature InferSignature(MLNetModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return SchemaJson.Signature(model.InputSchema, model.Transformer.GetOutputSchema(model.InputSchema), model.Transformer);
    }

    /// <summary>A readable type name: <c>Microsoft.ML.Data.TransformerChain&lt;KeyToValueMappingTransformer&gt;</c>.</summary>
    internal static string TypeName(Type type)
    {
        if (!type.IsGenericType)
        {
            return type.FullName ?? type.Name;
        }

        var name = type.GetGenericTypeDefinition().FullName ?? type.Name;
        return $"{name[..name.IndexOf('`', StringComparison.Ordinal)]}<{string.Join(", ", type.GetGenericArguments().Select(a => a.IsGenericType ? TypeName(a) : a.Name))}>";
    }

    /// <inheritdoc/>
    public Task<MLNetModel> LoadAsync(string directory, MlflowModel description, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(description);
        if (!description.Flavors.TryGetValue(FlavorName, out var flavor))
        {
            throw new InvalidOperationException($"The model has no '{FlavorName}' flavor (it has: {string.Join(", ", description.Flavors.Keys)}).");
        }

        var file = Path.Combine(directory, flavor["data"]?.GetValue<string>() ?? ModelFile);
        var transformer = _mlContext.Model.Load(file, out var schema);
        return Task.FromResult(new MLNetModel(transformer, schema));
    }
}

internal static class MLNetFlavorRegistration
{
#pragma warning disable CA2255 // The flavor must be registered before an MLNetModel is logged or loaded without an explicit flavor.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register() => ModelFlavors.Register<MLNetModel>(new MLNetFlavor());
}
