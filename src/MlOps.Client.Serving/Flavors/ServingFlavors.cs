using MlOps.Client.Models;
using MlOps.Client.MLNet.Models;
using MlOps.Client.XGBoost.Models;

namespace MlOps.Client.Serving.Flavors;

/// <summary>
/// The flavors this server serves, each registered once — its <c>MLmodel</c> name and how to load it — in the order
/// they are tried. <see cref="ServedModel"/> asks here and names none of them: serving a new flavor is one class in this
/// folder and one line below.
/// </summary>
internal static class ServingFlavors
{
    /// <summary>Loads a model of one flavor from its local folder.</summary>
    public delegate Task<IServingFlavor> Loader(string directory, MlflowModel description, CancellationToken cancellationToken);

    private static readonly (string Name, Loader Load)[] Registered =
    [
        (XGBoostFlavor.FlavorName, static async (directory, description, ct) => await XGBoostServing.LoadAsync(directory, description, ct).ConfigureAwait(false)),
        (MLNetFlavor.FlavorName, static async (directory, description, ct) => await MLNetServing.LoadAsync(directory, description, null, ct).ConfigureAwait(false)),
    ];

    /// <summary>The registered flavor names, in the order they are tried.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Registered.Select(r => r.Name)];

    /// <summary>Loads the model with the first registered flavor its <c>MLmodel</c> has, or returns <see langword="null"/> when it has none of them.</summary>
    public static Task<IServingFlavor>? TryLoad(string directory, MlflowModel description, CancellationToken cancellationToken)
    {
        foreach (var (name, load) in Registered)
        {
            if (description.Flavors.ContainsKey(name))
            {
                return load(directory, description, cancellationToken);
            }
        }

        return null;
    }
}
