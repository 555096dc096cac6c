using Microsoft.Extensions.Logging;

namespace MlOps.Client.MLNet.Autologging;

/// <summary>What ML.NET autologging logs.</summary>
public sealed class MLNetAutologOptions
{
    /// <summary>Log the fitted model as an MLflow model under <see cref="ModelArtifactPath"/>. Default <see langword="true"/>.</summary>
    public bool LogModels { get; set; } = true;

    /// <summary>
    /// Whether the logged model carries a reference profile of its training data (<c>reference_profile.json</c>: scalar
    /// input columns, the label, the prediction columns), which drift monitoring compares served data with; computed on
    /// the thread pool. Default <see langword="true"/>.
    /// </summary>
    public bool LogReferenceProfile { get; set; } = true;

    /// <summary>The artifact folder of the logged model. Default <c>model</c>.</summary>
    public string ModelArtifactPath { get; set; } = "model";

    /// <summary>Keep the trainers' log (<c>MLContext.Log</c>) as <c>training_log.txt</c>. Default <see langword="false"/>.</summary>
    public bool LogTrainingOutput { get; set; }

    /// <summary>Turn iteration lines of the trainers' log into per-iteration metrics where they parse. Default <see langword="true"/>.</summary>
    public bool LogTrainingProgress { get; set; } = true;

    /// <summary>Log the confusion matrix (JSON and PNG) with classification metrics. Default <see langword="true"/>.</summary>
    public bool LogConfusionMatrix { get; set; } = true;

    /// <summary>Where autologging reports what it could not log (e.g. a model with a transformer ML.NET cannot save); the fit itself never fails for it.</summary>
    public ILogger? Logger { get; set; }

    /// <summary>Tags set on every run autologging logs to.</summary>
    public IDictionary<string, string> ExtraTags { get; } = new Dictionary<string, string>(StringComparer.Ordinal);
}
