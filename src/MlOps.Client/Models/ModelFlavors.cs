using System.Text.Json.Nodes;

namespace MlOps.Client.Models;

/// <summary>
/// A model flavor: how one kind of model is written into an MLflow model folder and read back. The XGBoost and
/// ML.NET packages provide theirs; register them with <see cref="ModelFlavors.Register{TModel}"/>.
/// </summary>
/// <typeparam name="TModel">The in-memory model type.</typeparam>
public interface IModelFlavor<TModel>
{
    /// <summary>The flavor's name in <c>MLmodel</c> (e.g. <c>xgboost</c>, <c>mlnet</c>).</summary>
    string Name { get; }

    /// <summary>Writes the model's files into <paramref name="directory"/> and returns the flavor's <c>MLmodel</c> sections.</summary>
    /// <param name="model">The model.</param>
    /// <param name="directory">An empty folder to write into.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    Task<FlavorConfiguration> SaveAsync(TModel model, string directory, CancellationToken cancellationToken);

    /// <summary>Reads the model back from a downloaded model folder.</summary>
    /// <param name="directory">The model folder (with its <c>MLmodel</c>).</param>
    /// <param name="description">The parsed <c>MLmodel</c>.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    Task<TModel> LoadAsync(string directory, MlflowModel description, CancellationToken cancellationToken);
}

/// <summary>What a flavor adds to <c>MLmodel</c>.</summary>
/// <param name="Flavor">The flavor's own section.</param>
/// <param name="PythonFunction">A <c>python_function</c> section when Python MLflow can load the model generically, else <see langword="null"/>.</param>
public sealed record FlavorConfiguration(JsonObject Flavor, JsonObject? PythonFunction = null);

/// <summary>A process-wide registry of flavors, by model type.</summary>
public static class ModelFlavors
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, object> Registered = new();

    /// <summary>Registers (or replaces) the flavor used for <typeparamref name="TModel"/>.</summary>
    /// <typeparam name="TModel">The model type.</typeparam>
    /// <param name="flavor">The flavor.</param>
    public static void Register<TModel>(IModelFlavor<TModel> flavor)
    {
        ArgumentNullException.ThrowIfNull(flavor);
        Registered[typeof(TModel)] = flavor;
    }

    /// <summary>The flavor registered for <typeparamref name="TModel"/>.</summary>
    /// <typeparam name="TModel">The model type.</typeparam>
    /// <exception cref="InvalidOperationException">None is registered.</exception>
    public static IModelFlavor<TModel> Get<TModel>() =>
        Registered.TryGetValue(typeof(TModel), out var flavor)
            ? (IModelFlavor<TModel>)flavor
            : throw new InvalidOperationException($"No MLflow model flavor is registered for {typeof(TModel).FullName}: call ModelFlavors.Register or pass the flavor explicitly.");
}

/// <summary>A model logged in a run (Python's <c>ModelInfo</c>).</summary>
/// <param name="ModelUri">Its URI: <c>models:/&lt;model id&gt;</c> on MLflow 3, <c>runs:/&lt;run id&gt;/&lt;artifact path&gt;</c> on 2.x.</param>
/// <param name="Description">Its <c>MLmodel</c>.</param>
public sealed record LoggedModelInfo(string ModelUri, MlflowModel Description)
{
    /// <summary>The MLflow 3 logged-model id (<c>m-…</c>) when the server has the logged-model API, else <see langword="null"/>.</summary>
    public string? LoggedModelId { get; init; }

    /// <summary>The registered version made from it, when a registered model name was given, else <see langword="null"/>.</summary>
    public string? RegisteredModelVersion { get; init; }
}
