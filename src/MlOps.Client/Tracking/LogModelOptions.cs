using MlOps.Client.Monitoring;
using MlOps.Client.Models;

namespace MlOps.Client.Tracking;

/// <summary>How <see cref="ModelLogging.LogModelAsync{TModel}(RunScope, TModel, LogModelOptions, IModelFlavor{TModel}?, CancellationToken)"/> logs a model (Python's <c>log_model</c> arguments).</summary>
public sealed class LogModelOptions
{
    /// <summary>The model's name (Python's <c>name</c>; on MLflow 2.x the folder inside the run's artifacts). Default <c>model</c>.</summary>
    public string Name { get; set; } = "model";

    /// <summary>The signature, if known.</summary>
    public ModelSignature? Signature { get; set; }

    /// <summary>
    /// An example input saved with the model (Python's <c>input_example</c>): <c>input_example.json</c>,
    /// <c>serving_input_example.json</c> and the MLmodel's <c>saved_input_example_info</c>. None by default.
    /// </summary>
    public ModelInputExample? InputExample { get; set; }

    /// <summary>When set, the model is registered under this name (created if missing), as Python's <c>registered_model_name</c>.</summary>
    public string? RegisteredModelName { get; set; }

    /// <summary>How long to wait for the new version to be <c>READY</c>. Default 5 minutes (Python's <c>await_registration_for</c>, 300 s).</summary>
    public TimeSpan AwaitRegistrationFor { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>MLflow 3: params of the logged model, besides the run's (a run param of the same key wins, as in Python).</summary>
    public IDictionary<string, string> Params { get; private set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>MLflow 3: tags of the logged model, besides the source tags (<c>mlflow.user</c>, <c>mlflow.source.*</c>).</summary>
    public IDictionary<string, string> Tags { get; private set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>MLflow 3: the model's type, e.g. <c>Classifier</c> (Python's <c>model_type</c>). Default none.</summary>
    public string? ModelType { get; set; }

    /// <summary>MLflow 3: the step the model was produced at; the run's metrics of this step are linked to it. Default 0.</summary>
    public long Step { get; set; }

    /// <summary>
    /// A profile of the training data (<see cref="ReferenceProfileBuilder"/>), written beside the model as
    /// <c>reference_profile.json</c>: the serving host and <c>mlops monitor</c> test served data against it for drift.
    /// Autologging sets it (computed on the thread pool). Default none.
    /// </summary>
    public ReferenceProfile? ReferenceProfile { get; set; }

    /// <summary>A profile still being computed (autologging builds it on the thread pool): awaited once the model's files are written.</summary>
    internal Task<ReferenceProfile?>? PendingReferenceProfile { get; set; }

    /// <summary>A copy (logging keeps its own, so that changing the options afterwards changes nothing).</summary>
    internal LogModelOptions Copy()
    {
        var copy = (LogModelOptions)MemberwiseClone();
        copy.Params = new Dictionary<string, string>(Params, StringComparer.Ordinal);
        copy.Tags = new Dictionary<string, string>(Tags, StringComparer.Ordinal);
        return copy;
    }
}
