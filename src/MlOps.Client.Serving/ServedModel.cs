using Microsoft.Extensions.Logging;
using MlOps.Client.Models;
using MlOps.Client.Monitoring;
using MlOps.Client.Serving.Flavors;
using MlOps.Client.Serving.Input;
using MlOps.Client.Serving.Monitoring;
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
public sealed partial class ServedModel : IDisposable, IAsyncDisposable
{
    /// <summary>The flavors this server serves, in the order they are tried.</summary>
    public static readonly IReadOnlyList<string> ServableFlavors = ServingFlavors.Names;

    private readonly IServingFlavor _flavor;

    private readonly Lock _monitoringLock = new();

    private ServedModel(string uri, MlflowModel description, IServingFlavor flavor, InputSchema input, ReferenceProfile? profile, string? profileError)
    {
        ModelUri = uri;
        Description = description;
        _flavor = flavor;
        Input = input;
        ReferenceProfile = profile;
        _profileError = profileError;
    }

    private readonly string? _profileError;

    /// <summary>The training data's profile logged with the model (<c>reference_profile.json</c>), or <see langword="null"/>.</summary>
    public ReferenceProfile? ReferenceProfile { get; }

    /// <summary>The inference log, when the model is mapped with <see cref="ScoringOptions.InferenceLog"/>.</summary>
    public InferenceLog? InferenceLog => Capture?.Log;

    /// <summary>
    /// The drift monitor, when the model is mapped with <see cref="ScoringOptions.DriftMonitor"/> and has a reference
    /// profile: subscribe to its <see cref="Client.Monitoring.DriftMonitor.DriftDetected"/> to retrain from the host.
    /// </summary>
    public DriftMonitor? DriftMonitor => Capture?.Monitor;

    /// <summary>What the scoring endpoint hands answered requests to, or <see langword="null"/> (neither log nor monitor).</summary>
    internal InferenceCapture? Capture { get; private set; }

    /// <summary>Where the model came from.</summary>
    public string ModelUri { get; }

    /// <summary>Its <c>MLmodel</c>.</summary>
    public MlflowModel Description { get; }

    /// <summary>The flavor served: <c>xgboost</c> or <c>mlnet</c>.</summary>
    public string Flavor => _flavor.Name;

    /// <summary>Why an XGBoost model is predicted by libxgboost rather than from the managed copy of its trees, or <see langword="null"/>.</summary>
    internal string? NativePredictionReason => _flavor is Flavors.XGBoostServing { UsesManagedTrees: false } xgboost ? xgboost.ManagedTreesReason : null;

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
            ReferenceProfile? profile = null;
            string? profileError = null;
            if (File.Exists(Path.Combine(directory, ReferenceProfile.FileName)))
            {
                try
                {
                    profile = ReferenceProfile.Load(directory);
                }
                catch (FormatException ex)
                {
                    profileError = ex.Message; // served all the same; said when monitoring is asked for
                }
            }

            var signature = InputSchema.FromSignature(description.Signature?.Inputs);
            var flavor = await (ServingFlavors.TryLoad(directory, description, cancellationToken) ?? throw new NotSupportedException(
                $"'{modelUri}' has the flavors {string.Join(", ", description.Flavors.Keys)}; this server serves {string.Join(" and ", ServableFlavors)}.")).ConfigureAwait(false);
            try
            {
                var input = signature ?? flavor.NativeSchema;
                flavor.Check(input);
                return new ServedModel(modelUri, description, flavor, input, profile, profileError);
            }
            catch
            {
                flavor.Dispose();
                throw;
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Enforces the input and predicts; <see langword="null"/> with the error when the input is refused.</summary>
    internal Predictions? Predict(InputFrame frame, out ScoringError? error) => Predict(frame, out error, out _);

    /// <summary>Enforces the input and predicts, giving the input as the signature cast it.</summary>
    internal Predictions? Predict(InputFrame frame, out ScoringError? error, out EnforcedInput? input)
    {
        input = Input.Enforce(frame, out error);
        return input is null ? null : _flavor.Predict(input);
    }

    /// <summary>Starts the inference log and the drift monitor the options ask for (once per model; later calls keep the first).</summary>
    internal InferenceCapture? AttachMonitoring(ScoringOptions options, ILogger logger)
    {
        lock (_monitoringLock)
        {
            if (Capture is not null || (options.InferenceLog is null && options.DriftMonitor is null))
            {
                return Capture;
            }

            var log = options.InferenceLog is { } logOptions ? new InferenceLog(logOptions, logger) : null;
            DriftMonitor? monitor = null;
            if (options.DriftMonitor is { } driftOptions)
            {
                if (ReferenceProfile is null)
                {
                    MonitoringLog.NoProfile(logger, ModelUri, _profileError ?? $"the model has no {ReferenceProfile.FileName}: log it with a profile of its training data (docs/monitoring.md)");
                }
                else
                {
                    // The caller's options stay as given: the monitor gets its own, tagged with this model.
                    var own = new DriftMonitorOptions
                    {
                        WindowRows = driftOptions.WindowRows,
                        WindowDuration = driftOptions.WindowDuration,
                        Drift = driftOptions.Drift,
                        QueueCapacity = driftOptions.QueueCapacity,
                        MaxPendingFeedback = driftOptions.MaxPendingFeedback,
                        ModelUri = driftOptions.ModelUri ?? ModelUri,
                    };
                    monitor = new DriftMonitor(ReferenceProfile, own, logger);
                }
            }

            Capture = log is null && monitor is null ? null : new InferenceCapture(ModelUri, log, monitor);
            return Capture;
        }
    }

    private int _disposed;

    /// <inheritdoc/>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // The log's and the monitor's threads finish what is queued (a bounded join each), then the model goes.
        Capture?.Log?.Dispose();
        Capture?.Monitor?.Dispose();
        _flavor.Dispose();
    }

    /// <summary>Writes what the inference log holds, stops the drift monitor and releases the model.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (Capture?.Log is { } log)
        {
            await log.DisposeAsync().ConfigureAwait(false);
        }

        if (Capture?.Monitor is { } monitor)
        {
            await monitor.DisposeAsync().ConfigureAwait(false);
        }

        _flavor.Dispose();
    }

    private static partial class MonitoringLog
    {
        [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "Drift monitoring of {Model} is off: {Reason}.")]
        public static partial void NoProfile(ILogger logger, string model, string reason);
    }
}
