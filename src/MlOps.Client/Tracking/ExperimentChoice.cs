using MlOps.Client.Configuration;

namespace MlOps.Client.Tracking;

/// <summary>
/// Which experiment a launcher or exporter writes to, as Python MLflow chooses: the id given, else the name given
/// (created if missing), else <c>MLFLOW_EXPERIMENT_NAME</c> (created if missing), else <c>MLFLOW_EXPERIMENT_ID</c>,
/// else the default experiment 0.
/// </summary>
internal static class ExperimentChoice
{
    /// <param name="id">The id given.</param>
    /// <param name="name">The name given.</param>
    /// <param name="find">Finds an experiment's id by name (<see langword="null"/> when none).</param>
    /// <param name="create">Creates an experiment by name, returning its id.</param>
    /// <param name="created">Told the name of an experiment that was created.</param>
    /// <param name="cancellationToken">Cancels the calls.</param>
    public static async Task<string> ResolveAsync(
        string? id, string? name, Func<string, CancellationToken, Task<string?>> find, Func<string, CancellationToken, Task<string>> create,
        Action<string>? created, CancellationToken cancellationToken)
    {
        if (id is null && name is null)
        {
            name = Environment.GetEnvironmentVariable(MlflowEnvironment.ExperimentName) is { Length: > 0 } n ? n : null;
            id = name is null && Environment.GetEnvironmentVariable(MlflowEnvironment.ExperimentId) is { Length: > 0 } i ? i : null;
        }

        if (id is not null)
        {
            return id;
        }

        if (name is null)
        {
            return "0";
        }

        if (await find(name, cancellationToken).ConfigureAwait(false) is { } found)
        {
            return found;
        }

        created?.Invoke(name);
        return await create(name, cancellationToken).ConfigureAwait(false);
    }
}
