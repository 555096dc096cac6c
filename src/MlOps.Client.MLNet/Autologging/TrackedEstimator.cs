using MlOps.Client.Monitoring;
using System.Diagnostics;
using Microsoft.ML;
using MlOps.Client.MLNet.Models;
using MlOps.Client.Tracking;

namespace MlOps.Client.MLNet.Autologging;

internal interface ITrackedEstimator
{
    object Inner { get; }
}

/// <summary>
/// An estimator whose <see cref="Fit"/> is logged to MLflow while autologging is enabled (<see cref="MLNetAutolog.Enable"/>):
/// pipeline shape, trainer hyperparameters, training rows, input schema, duration, training progress and the model.
/// Without an enabled session it fits exactly like the wrapped estimator.
/// </summary>
/// <typeparam name="TTransformer">The transformer the estimator produces.</typeparam>
public sealed class TrackedEstimator<TTransformer> : IEstimator<TTransformer>, ITrackedEstimator
    where TTransformer : class, ITransformer
{
    internal TrackedEstimator(IEstimator<TTransformer> inner, string? runName)
    {
        Inner = inner ?? throw new ArgumentNullException(nameof(inner));
        RunName = runName;
    }

    /// <summary>The wrapped estimator.</summary>
    public IEstimator<TTransformer> Inner { get; }

    /// <summary>The name of the run started when no run is active.</summary>
    public string? RunName { get; }

    object ITrackedEstimator.Inner => Inner;

    /// <summary>Fits the wrapped estimator and logs the fit.</summary>
    /// <param name="input">The training data.</param>
    public TTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (MLNetAutolog.Current is not { } session)
        {
            return Inner.Fit(input);
        }

        return session.InRun(RunName, run => FitLogged(session, run, input));
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) => Inner.GetOutputSchema(inputSchema);

    private TTransformer FitLogged(MLNetAutologSession session, RunScope run, IDataView input)
    {
        var options = session.Options;
        var description = PipelineDescription.Describe(Inner);
        run.LogParam("pipeline", Truncate(description.Shape));
        run.LogParams(description.Hyperparameters.Select(h => KeyValuePair.Create(h.Key, (object?)Truncate(h.Value))));
        if (input.GetRowCount() is { } rows)
        {
            run.LogParam("training_rows", rows);
        }

        _ = run.LogTextAsync(description.ToJson(), "pipeline.json");
        _ = run.LogTextAsync(SchemaJson.Describe(input.Schema), "input_schema.json");

        session.BeginCapture();
        var watch = Stopwatch.StartNew();
        TTransformer model;
        IReadOnlyList<string> log;
        try
        {
            model = Inner.Fit(input);
        }
        finally
        {
            log = session.EndCapture();
        }

        run.LogMetric("training_duration_seconds", watch.Elapsed.TotalSeconds);
        if (options.LogTrainingProgress)
        {
            foreach (var (key, step, value) in TrainingLogParser.Parse(log))
            {
                run.LogMetric(key, value, step);
            }
        }

        foreach (var (name, value) in TrainingLogParser.AutoTuned(log))
        {
            run.LogParam("autotuned." + string.Concat(name.Select(c => char.IsLetterOrDigit(c) || c is '_' or '.' ? c : '_')), value.TrimEnd('.'));
        }

        if (options.LogTrainingOutput)
        {
            _ = run.LogTextAsync(string.Join('\n', log) + "\n", "training_log.txt");
        }

        if (options.LogModels)
        {
            // Saved here, synchronously, so that a model ML.NET cannot save (e.g. an unregistered custom mapping) is
            // reported and skipped instead of failing the run's end.
            byte[]? saved = null;
            try
            {
                using var buffer = new MemoryStream();
                session.MLContext.Model.Save(model, input.Schema, buffer);
                saved = buffer.ToArray();
            }
            catch (Exception ex) when (ex is InvalidOperationException or NotSupportedException or ArgumentException or IOException)
            {
                if (options.Logger is { } logger)
                {
                    AutologLog.ModelNotSaved(logger, run.RunId, ex);
                }
            }

            if (saved is not null)
            {
                var logged = new MLNetModel(model, input.Schema);
                // The training data's profile (drift monitoring's reference), read and computed on the thread pool; a
                // failure costs the profile only.
                var profile = !options.LogReferenceProfile ? null : Task.Run(() =>
                {
                    try
                    {
                        return (ReferenceProfile?)TrainingProfile.Build(input, model);
                    }
                    catch (Exception ex) when (ex is not OutOfMemoryException)
                    {
                        if (options.Logger is { } logger)
                        {
                            AutologLog.ProfileNotBuilt(logger, run.RunId, ex);
                        }

                        return null;
                    }
                });
                _ = run.LogModelAsync(logged, new LogModelOptions
                {
                    Name = options.ModelArtifactPath,
                    Signature = MLNetFlavor.InferSignature(logged),
                    PendingReferenceProfile = profile,
                }, new MLNetFlavor(session.MLContext) { PreSaved = saved });
            }
        }

        return model;
    }

    private static string Truncate(string value) => value.Length <= 6000 ? value : value[..5997] + "...";
}

/// <summary><c>estimator.WithTracking()</c>.</summary>
public static class EstimatorTrackingExtensions
{
    /// <summary>Wraps <paramref name="estimator"/> so that its <c>Fit</c> is logged while autologging is enabled.</summary>
    /// <typeparam name="TTransformer">The transformer type.</typeparam>
    /// <param name="estimator">The estimator or pipeline.</param>
    /// <param name="runName">The name of the run started when no run is active.</param>
    public static TrackedEstimator<TTransformer> WithTracking<TTransformer>(this IEstimator<TTransformer> estimator, string? runName = null)
        where TTransformer : class, ITransformer => new(estimator, runName);
}

internal static partial class AutologLog
{
    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 4201, Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "ML.NET autologging could not save the model of run {RunId}; the fit is logged without it.")]
    public static partial void ModelNotSaved(Microsoft.Extensions.Logging.ILogger logger, string runId, Exception exception);

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 4202, Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "ML.NET autologging: an artifact of run {RunId} could not be uploaded; the run ended anyway.")]
    public static partial void UploadFailed(Microsoft.Extensions.Logging.ILogger logger, string runId, Exception exception);

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 4203, Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "ML.NET autologging could not profile the training data of run {RunId}; the model is logged without a reference profile.")]
    public static partial void ProfileNotBuilt(Microsoft.Extensions.Logging.ILogger logger, string runId, Exception exception);
}
