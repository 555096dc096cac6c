using MlOps.Client.Tracking;
using Microsoft.Extensions.Logging;
using MlOps.Client.XGBoost.Models;

namespace MlOps.Client.XGBoost.Autologging;

/// <summary>What <see cref="XGBoostAutolog"/> logs (Python's <c>mlflow.xgboost.autolog(...)</c> arguments).</summary>
public sealed class XGBoostAutologOptions
{
    /// <summary>Log the trained booster as an MLflow model under <c>model</c>. Default <see langword="true"/>.</summary>
    public bool LogModels { get; set; } = true;

    /// <summary>Log the training and evaluation matrices as dataset inputs. Default <see langword="true"/>.</summary>
    public bool LogDatasets { get; set; } = true;

    /// <summary>Give the logged model a signature from the training matrix: named double columns in (feature names, else <c>f0</c>…), the prediction tensor out. Default <see langword="true"/>.</summary>
    public bool LogModelSignatures { get; set; } = true;

    /// <summary>
    /// Whether the logged model carries a reference profile of its training data (<c>reference_profile.json</c>: the
    /// features' distributions, the labels', and the model's predictions on them), which drift monitoring compares
    /// served data with. The training thread copies the matrix out of XGBoost (memory speed); the profile is computed on
    /// the thread pool. Default <see langword="true"/>.
    /// </summary>
    public bool LogReferenceProfile { get; set; } = true;

    /// <summary>
    /// Save the first 5 rows of the training data with the model as its input example (<c>input_example.json</c>,
    /// <c>serving_input_example.json</c>), columns named as in the signature. Default <see langword="false"/>, as Python's
    /// <c>log_input_examples</c>.
    /// </summary>
    public bool LogInputExamples { get; set; }

    /// <summary>Feature importance types logged as <c>feature_importance_{type}.json</c> (and <c>.png</c> with <see cref="FeatureImportancePlot"/>). Default: weight.</summary>
    public IList<ImportanceType> ImportanceTypes { get; } = [ImportanceType.Weight];

    /// <summary>
    /// Draws each importance type's bar chart, logged as <c>feature_importance_{type}.png</c> as Python's autolog does.
    /// None by default, so that XGBoost autologging does not pull a plotting stack (SkiaSharp's natives);
    /// <c>MlOps.Client.Figures</c> provides one: <c>FeatureImportancePlot = FeatureImportancePlots.RenderPng</c>.
    /// </summary>
    public FeatureImportanceRenderer? FeatureImportancePlot { get; set; }

    /// <summary>Log the per-iteration metrics every N iterations (the last iteration is always logged). Default 1.</summary>
    public int LogEveryNIterations { get; set; } = 1;

    /// <summary>The format of the saved booster. Default <see cref="XGBoostModelFormat.Xgb"/> (<c>model.xgb</c>, as MLflow 2.22 writes).</summary>
    public XGBoostModelFormat ModelFormat { get; set; } = XGBoostModelFormat.Xgb;

    /// <summary>Tags set on every run autologging logs to.</summary>
    public IDictionary<string, string> ExtraTags { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Where autologging reports logging failures (which never fail the training). None by default.</summary>
    public ILogger? Logger { get; set; }
}
