using Microsoft.Extensions.Logging;
using MlOps.Client.Configuration;
using MlOps.Client.Stores;

namespace MlOps.Client.Tracking;

/// <summary>Which experiment new runs go to: options, then <c>MLFLOW_EXPERIMENT_ID</c>/<c>MLFLOW_EXPERIMENT_NAME</c>, created when missing.</summary>
public sealed partial class Tracker
{
    /// <summary>The experiment new runs go to (resolved, and created if missing, on first use).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<string> GetExperimentIdAsync(CancellationToken cancellationToken = default)
    {
        if (_experimentId is { } id)
        {
            return id;
        }

        await _experimentGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_experimentId is { } again)
            {
                return again;
            }

            var byId = Options.ExperimentId ?? (Options.ExperimentName is null ? Environment.GetEnvironmentVariable(MlflowEnvironment.ExperimentId) : null);
            var byName = Options.ExperimentName ?? (byId is null ? Environment.GetEnvironmentVariable(MlflowEnvironment.ExperimentName) : null);
            if (!string.IsNullOrEmpty(byId))
            {
                var experiment = await GetExperimentByIdAsync(Store, byId, Options.ExperimentId is null ? MlflowEnvironment.ExperimentId : "TrackerOptions.ExperimentId", cancellationToken).ConfigureAwait(false);
                ThrowIfDeleted(experiment);
                _experimentId = experiment.ExperimentId;
            }
            else if (!string.IsNullOrEmpty(byName))
            {
                var experiment = await Store.FindExperimentByNameAsync(byName, cancellationToken).ConfigureAwait(false);
                if (experiment is null)
                {
                    try
                    {
                        _experimentId = await Store.CreateExperimentAsync(byName, null, null, cancellationToken).ConfigureAwait(false);
                    }
                    catch (MlflowException ex) when (ex.ErrorCode == MlflowErrorCodes.ResourceAlreadyExists)
                    {
                        // Another process created it meanwhile.
                        _experimentId = (await Store.FindExperimentByNameAsync(byName, cancellationToken).ConfigureAwait(false))!.ExperimentId;
                    }
                }
                else
                {
                    ThrowIfDeleted(experiment);
                    _experimentId = experiment.ExperimentId;
                }
            }
            else
            {
                _experimentId = "0"; // MLflow's default experiment
            }

            return _experimentId;
        }
        finally
        {
            _experimentGate.Release();
        }
    }

    /// <summary>
    /// The experiment of an id, checked before any run goes there (a missing id is a 404 at once; some servers answer a
    /// name given as an id with a 500, retried for minutes, when a run is created in it). A name given where the id goes
    /// is said as such, with the id to use.
    /// </summary>
    /// <param name="store">The store.</param>
    /// <param name="id">The id as given.</param>
    /// <param name="source">Where it came from (an option or a variable), for the message.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    internal static async Task<Experiment> GetExperimentByIdAsync(ITrackingStore store, string id, string source, CancellationToken cancellationToken)
    {
        try
        {
            return await store.GetExperimentAsync(id, cancellationToken).ConfigureAwait(false);
        }
        catch (MlflowException ex) when (ex.Status is 400 or 404 or 500 && !id.All(char.IsAsciiDigit))
        {
            var named = await store.FindExperimentByNameAsync(id, cancellationToken).ConfigureAwait(false);
            throw named is null
                ? new MlflowException(ex.Status == 500 ? 404 : ex.Status, MlflowErrorCodes.ResourceDoesNotExist, $"No experiment with id '{id}' ({source}), and none is named so either.", ex)
                : new MlflowException(400, MlflowErrorCodes.InvalidParameterValue,
                    $"'{id}' ({source}) is an experiment's name, not its id: give the id {named.ExperimentId}, or the name as the experiment name ({MlflowEnvironment.ExperimentName}, TrackerOptions.ExperimentName, mlops --experiment).", ex);
        }
    }

    /// <summary>
    /// As Python's <c>mlflow.set_experiment(name)</c>: new runs go to the experiment named <paramref name="name"/>,
    /// created when missing; a deleted one is refused.
    /// </summary>
    /// <param name="name">The experiment's name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The experiment.</returns>
    public async Task<Experiment> SetExperimentAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        await _experimentGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var experiment = await Store.FindExperimentByNameAsync(name, cancellationToken).ConfigureAwait(false);
            if (experiment is null)
            {
                try
                {
                    await Store.CreateExperimentAsync(name, null, null, cancellationToken).ConfigureAwait(false);
                }
                catch (MlflowException ex) when (ex.ErrorCode == MlflowErrorCodes.ResourceAlreadyExists)
                {
                    // Another process created it meanwhile.
                }

                experiment = (await Store.FindExperimentByNameAsync(name, cancellationToken).ConfigureAwait(false))!;
            }

            ThrowIfDeleted(experiment);
            _experimentId = experiment.ExperimentId;
            return experiment;
        }
        finally
        {
            _experimentGate.Release();
        }
    }

    /// <summary>As Python's <c>mlflow.set_experiment</c>: a deleted experiment is refused by name and id, with what to do.</summary>
    private static void ThrowIfDeleted(Experiment experiment)
    {
        if (string.Equals(experiment.LifecycleStage, "deleted", StringComparison.OrdinalIgnoreCase))
        {
            throw new MlflowException(400, MlflowErrorCodes.InvalidParameterValue,
                $"Cannot set a deleted experiment '{experiment.Name}' (id {experiment.ExperimentId}) as the active experiment. " +
                "You can restore the experiment (MlflowClient.RestoreExperimentAsync, or the MLflow UI), or permanently delete it to create a new one.");
        }
    }
}
