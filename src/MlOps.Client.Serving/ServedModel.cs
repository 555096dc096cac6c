using MlOps.Client.Models;
using MlOps.Client.Serving.Flavors;
using MlOps.Client.Serving.Input;
using MlOps.Client.Serving.Output;
using MlOps.Client.Stores;
using MlOps.Client.Tracking;

namespace MlOps.Client.Serving;

/// <summary>
/// A model ready to serve: loaded once and shared by all requests (the XGBoost binding and ML.NET's transformers
/// predict concurrently), with the input its <c>MLmodel</c> signature declares (else the one the model itself takes).
/// Flavors: <c>xgboost</c> (the booster's predictions, one probability per class for <c>multi:softprob</c>) and
/// <c>mlnet</c> (the transformer's prediction columns).
/// </summary>
public sealed class ServedModel : IDisposable
{
    /// <summary>The flavors this server serves, in the order they are tried.</summary>
    public static readonly IReadOnlyList<string> ServableFlavors = ServingFlavors.Names;

    private readonly IServingFlavor _flavor;

    private ServedModel(string uri, MlflowModel description, IServingFlavor flavor, InputSchema input)
    {
        ModelUri = uri;
        Description = description;
        _flavor = flavor;
        Input = input;
    }

    /// <summary>Where the model came from.</summary>
    public string ModelUri { get; }

    /// <summary>Its <c>MLmodel</c>.</summary>
    public MlflowModel Description { get; }

    /// <summary>The flavor served: <c>xgboost</c> or <c>mlnet</c>.</summary>
    public string Flavor => _flavor.Name;

    /// <summary>The input column names of a column-based input, or <see langword="null"/> (a tensor signature).</summary>
    public IReadOnlyList<string>? InputNames => Input.IsNamed ? [.. Input.Columns.Select(c => c.Name!)] : null;

    /// <summary>The number of input columns.</summary>
    public int Columns => Input.Columns.Count;

    /// <summary>The input enforced on requests.</summary>
    internal InputSchema Input { get; }

    /// <summary>Downloads (through <paramref name="store"/>) and loads a model: <c>models:/…</c>, <c>runs:/…</c> or a local folder.</summary>
    /// <param name="store">The tracking store that resolves the URI.</param>
    /// <param name="modelUri">The model URI.</param>
    /// <param name="cancellationToken">Cancels the load.</param>
    /// <exception cref="NotSupportedException">
    /// The model has no flavor this server can serve (names the flavors it has), input columns of a type it cannot read,
    /// or a signature it cannot enforce or that does not fit the model.
    /// </exception>
    public static async Task<ServedModel> LoadAsync(ITrackingStore store, string modelUri, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(modelUri);
        return await ModelLogging.WithLocalCopyAsync(store, modelUri, async directory =>
        {
            var description = MlflowModel.Load(directory);
            var signature = InputSchema.FromSignature(description.Signature?.Inputs);
            var flavor = await (ServingFlavors.TryLoad(directory, description, cancellationToken) ?? throw new NotSupportedException(
                $"'{modelUri}' has the flavors {string.Join(", ", description.Flavors.Keys)}; this server serves {string.Join(" and ", ServableFlavors)}.")).ConfigureAwait(false);
            try
            {
                var input = signature ?? flavor.NativeSchema;
                flavor.Check(input);
                return new ServedModel(modelUri, description, flavor, input);
            }
            catch
            {
                flavor.Dispose();
                throw;
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Enforces the input and predicts; <see langword="null"/> with the error when the input is refused.</summary>
    internal Predictions? Predict(InputFrame frame, out ScoringError? error)
    {
        var input = Input.Enforce(frame, out error);
        return input is null ? null : _flavor.Predict(input);
    }

    /// <inheritdoc/>
    public void Dispose() => _flavor.Dispose();
}
