using System.Text.Json.Nodes;
using MlOps.Client.Artifacts;
using MlOps.Client.Models;
using MlOps.Client.Stores;
using MlOps.Client.Tracking;
using MlOps.Client.XGBoost;
using MlOps.Client.XGBoost.Models;

namespace MlOps.Client.Serving;

/// <summary>
/// A model ready to serve: loaded once, shared by all requests (the XGBoost binding predicts concurrently), with the
/// input width its <c>MLmodel</c> signature (or the booster) gives.
/// </summary>
public sealed class ServedModel : IDisposable
{
    private readonly Booster _booster;

    private ServedModel(string uri, MlflowModel description, Booster booster, IReadOnlyList<string>? inputNames, int columns)
    {
        ModelUri = uri;
        Description = description;
        _booster = booster;
        InputNames = inputNames;
        Columns = columns;
    }

    /// <summary>Where the model came from.</summary>
    public string ModelUri { get; }

    /// <summary>Its <c>MLmodel</c>.</summary>
    public MlflowModel Description { get; }

    /// <summary>The flavor served: <c>xgboost</c>.</summary>
    public string Flavor { get; } = "xgboost";

    /// <summary>The input column names of a column-based signature, or <see langword="null"/> (a tensor signature, or none).</summary>
    public IReadOnlyList<string>? InputNames { get; }

    /// <summary>The number of input features.</summary>
    public int Columns { get; }

    /// <summary>Downloads (through <paramref name="store"/>) and loads a model: <c>models:/…</c>, <c>runs:/…</c> or a local folder.</summary>
    /// <param name="store">The tracking store that resolves the URI.</param>
    /// <param name="modelUri">The model URI.</param>
    /// <param name="cancellationToken">Cancels the load.</param>
    /// <exception cref="NotSupportedException">The model has no flavor this server can serve (names the flavors it has).</exception>
    public static async Task<ServedModel> LoadAsync(ITrackingStore store, string modelUri, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(modelUri);
        var directory = Directory.Exists(modelUri) ? modelUri : null;
        DirectoryInfo? temporary = null;
        try
        {
            if (directory is null)
            {
                var (root, path) = await ModelLogging.ResolveAsync(store, modelUri, cancellationToken).ConfigureAwait(false);
                temporary = Directory.CreateTempSubdirectory("mlops-serve-");
                directory = await store.ArtifactsFor(root).DownloadAsync(path, temporary.FullName, 4, null, cancellationToken).ConfigureAwait(false);
            }

            var description = MlflowModel.Load(directory);
            if (!description.Flavors.ContainsKey("xgboost"))
            {
                throw new NotSupportedException(
                    $"'{modelUri}' has the flavors {string.Join(", ", description.Flavors.Keys)}; this server serves the xgboost flavor.");
            }

            var booster = await new XGBoostFlavor().LoadAsync(directory, description, cancellationToken).ConfigureAwait(false);
            var (names, columns) = Inputs(description.Signature, booster);
            return new ServedModel(modelUri, description, booster, names, columns);
        }
        finally
        {
            temporary?.Delete(recursive: true);
        }
    }

    /// <summary>Predicts for a row-major float32 matrix; returns one row of outputs per input row.</summary>
    /// <param name="data">The rows.</param>
    /// <param name="rows">The number of rows.</param>
    internal (float[] Values, int Outputs) Predict(float[] data, int rows)
    {
        var prediction = _booster.InplacePredict(data, rows, Columns);
        var outputs = rows == 0 ? 0 : prediction.Values.Length / rows;
        return (prediction.Values, outputs);
    }

    /// <summary>Width and names of the input, from the signature (tensor shape or columns), else from the booster.</summary>
    private static (IReadOnlyList<string>? Names, int Columns) Inputs(ModelSignature? signature, Booster booster)
    {
        if (signature?.Inputs is { } json && JsonNode.Parse(json) is JsonArray inputs && inputs.Count > 0)
        {
            if (inputs[0]?["type"]?.GetValue<string>() == "tensor" && inputs[0]!["tensor-spec"]?["shape"] is JsonArray shape && shape.Count == 2)
            {
                return (null, shape[1]!.GetValue<int>());
            }

            var names = inputs.Select(i => i?["name"]?.GetValue<string>()).OfType<string>().ToList();
            if (names.Count == inputs.Count)
            {
                return (names, names.Count);
            }
        }

        return (booster.FeatureNames is { Count: > 0 } features ? features : null, (int)booster.FeatureCount);
    }

    /// <inheritdoc/>
    public void Dispose() => _booster.Dispose();
}
