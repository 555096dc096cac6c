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
                var experiment = await Store.GetExperimentAsync(byId, cancellationToken).ConfigureAwait(false);
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
