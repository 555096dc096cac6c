using System.Globalization;

namespace MlOps.Client.XGBoost;

/// <summary>
/// The scikit-learn-style estimator base (shaped like XGBoostSharp's and Python's <c>XGBModel</c>): set hyperparameters,
/// <c>Fit</c> on rows and labels, predict. Training goes through <see cref="XGBoost.Train"/>, so autologging applies.
/// </summary>
public abstract class XGBModel : IDisposable
{
    private Booster? _booster;

    /// <summary>Creates the estimator.</summary>
    /// <param name="nEstimators">Boosting rounds (<c>n_estimators</c>).</param>
    /// <param name="maxDepth">Maximum tree depth.</param>
    /// <param name="learningRate">Step size shrinkage (<c>eta</c>).</param>
    /// <param name="objective">The learning objective.</param>
    /// <param name="seed">Random seed.</param>
    protected XGBModel(int nEstimators, int maxDepth, double learningRate, string objective, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(nEstimators);
        NEstimators = nEstimators;
        Parameters["max_depth"] = maxDepth;
        Parameters["learning_rate"] = learningRate;
        Parameters["objective"] = objective;
        Parameters["seed"] = seed;
    }

    /// <summary>The number of boosting rounds.</summary>
    public int NEstimators { get; set; }

    /// <summary>Booster parameters (any of XGBoost's, e.g. <c>subsample</c>, <c>tree_method</c>, <c>eval_metric</c>).</summary>
    public IDictionary<string, object?> Parameters { get; } = new Dictionary<string, object?>(StringComparer.Ordinal);

    /// <summary>Early-stopping rounds applied to the last evaluation set of <c>Fit</c>, or <see langword="null"/>.</summary>
    public int? EarlyStoppingRounds { get; set; }

    /// <summary>The evaluation history of the last <c>Fit</c> (sets named <c>validation_0</c>, <c>validation_1</c>, … as in Python).</summary>
    public EvaluationLog? EvalsResult { get; private set; }

    /// <summary>The trained booster.</summary>
    /// <exception cref="InvalidOperationException">Before <c>Fit</c>.</exception>
    public Booster Booster => _booster ?? throw new InvalidOperationException($"This {GetType().Name} is not fitted yet: call Fit first.");

    /// <summary>The best iteration with early stopping, or <see langword="null"/>.</summary>
    public int? BestIteration => _booster is null ? null : _bestIteration;

    private int? _bestIteration;

    /// <summary>Fits on <paramref name="data"/> and <paramref name="labels"/>.</summary>
    /// <param name="data">Feature rows.</param>
    /// <param name="labels">One label per row.</param>
    /// <param name="evalSet">Evaluation sets (rows, labels), named <c>validation_0</c>, … .</param>
    /// <param name="sampleWeight">Per-row weights, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops training between iterations.</param>
    public void Fit(float[][] data, float[] labels, IReadOnlyList<(float[][] Data, float[] Labels)>? evalSet = null, float[]? sampleWeight = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(labels);
        var parameters = new Dictionary<string, object?>(Parameters, StringComparer.Ordinal);
        var trainLabels = PrepareLabels(labels, parameters);
        using var dtrain = new DMatrix(data, trainLabels);
        if (sampleWeight is not null)
        {
            dtrain.Weights = sampleWeight;
        }

        var evals = new List<(DMatrix Data, string Name)>();
        try
        {
            for (var i = 0; i < (evalSet?.Count ?? 0); i++)
            {
                evals.Add((new DMatrix(evalSet![i].Data, TransformLabels(evalSet[i].Labels)), string.Create(CultureInfo.InvariantCulture, $"validation_{i}")));
            }

            EvalsResult = new EvaluationLog();
            var booster = XGBoost.Train(parameters, dtrain, NEstimators, evals, earlyStoppingRounds: EarlyStoppingRounds, evalsResult: EvalsResult, cancellationToken: cancellationToken);
            _booster?.Dispose();
            _booster = booster;
            _bestIteration = booster.BestIteration;
        }
        finally
        {
            foreach (var (d, _) in evals)
            {
                d.Dispose();
            }
        }
    }

    /// <summary>Loads a booster saved with <see cref="SaveModel"/> (or by any XGBoost binding) into this estimator.</summary>
    /// <param name="path">The model file.</param>
    /// <param name="allowLegacyBinary">Load XGBoost's legacy binary format, which cannot be checked first: only for files you trust (see <see cref="Booster.Load(string, bool)"/>).</param>
    public void LoadModel(string path, bool allowLegacyBinary = false)
    {
        var booster = Booster.Load(path, allowLegacyBinary);
        _booster?.Dispose();
        _booster = booster;
        _bestIteration = booster.BestIteration;
        OnLoaded(booster);
    }

    /// <summary>Saves the booster (format by extension: <c>.json</c>, <c>.ubj</c>, else legacy binary in XGBoost 1.x).</summary>
    /// <param name="path">The file.</param>
    public void SaveModel(string path) => Booster.Save(path);

    /// <summary>Frees the booster.</summary>
    public void Dispose()
    {
        _booster?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Raw predictions (probabilities or values) for <paramref name="data"/>, using the trees up to the best iteration when early stopping found one.</summary>
    /// <param name="data">Feature rows.</param>
    protected Prediction PredictRaw(float[][] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var booster = Booster;
        var flat = DMatrix.Flatten(data, out var columns);

        // As Python's XGBModel.predict: inplace prediction (no DMatrix, no digest), trees up to the best iteration.
        var end = _bestIteration is { } best ? best + 1 : 0;
        return booster.InplacePredict(flat, data.Length, columns, new PredictionOptions { IterationEnd = end });
    }

    /// <summary>Checks and transforms the labels, adding objective-specific parameters.</summary>
    /// <param name="labels">The labels.</param>
    /// <param name="parameters">The parameters of this fit.</param>
    protected virtual float[] PrepareLabels(float[] labels, IDictionary<string, object?> parameters) => labels;

    /// <summary>Transforms evaluation labels like the training ones.</summary>
    /// <param name="labels">The labels.</param>
    protected virtual float[] TransformLabels(float[] labels) => labels;

    /// <summary>Called after <see cref="LoadModel"/>.</summary>
    /// <param name="booster">The loaded booster.</param>
    protected virtual void OnLoaded(Booster booster)
    {
    }
}

/// <summary>A gradient-boosted classifier (Python's <c>XGBClassifier</c>): labels 0 … K−1.</summary>
public sealed class XGBClassifier : XGBModel
{
    /// <summary>Creates the classifier.</summary>
    /// <param name="nEstimators">Boosting rounds.</param>
    /// <param name="maxDepth">Maximum tree depth.</param>
    /// <param name="learningRate">Step size shrinkage.</param>
    /// <param name="seed">Random seed.</param>
    public XGBClassifier(int nEstimators = 100, int maxDepth = 6, double learningRate = 0.3, int seed = 0)
        : base(nEstimators, maxDepth, learningRate, "binary:logistic", seed)
    {
    }

    /// <summary>The number of classes seen by <c>Fit</c>.</summary>
    public int NumClasses { get; private set; }

    /// <summary>The most probable class of each row.</summary>
    /// <param name="data">Feature rows.</param>
    public float[] Predict(float[][] data)
    {
        var raw = PredictRaw(data);
        var rows = (int)raw.Shape[0];
        var classes = new float[rows];
        for (var i = 0; i < rows; i++)
        {
            var row = raw.Row(i);
            // As Python's XGBClassifier.predict: the best column of probabilities; a probability of class 1 above 0.5
            // for binary problems; the model's own output when it already is a class (multi:softmax, binary:hinge).
            classes[i] = row.Length > 1 ? row.IndexOf(MaxOf(row))
                : IsClassOutput ? row[0]
                : row[0] > 0.5f ? 1 : 0;
        }

        return classes;
    }

    /// <summary>Class probabilities for each row (two columns for binary problems).</summary>
    /// <param name="data">Feature rows.</param>
    /// <exception cref="InvalidOperationException">The objective gives classes, not probabilities (<c>multi:softmax</c>, <c>binary:hinge</c>), as in Python.</exception>
    public float[][] PredictProbability(float[][] data)
    {
        if (IsClassOutput)
        {
            throw new InvalidOperationException(
                $"The objective '{Parameters["objective"]}' predicts classes, not probabilities: PredictProbability needs multi:softprob or binary:logistic (Python's XGBClassifier refuses this too).");
        }

        var raw = PredictRaw(data);
        var rows = (int)raw.Shape[0];
        var result = new float[rows][];
        for (var i = 0; i < rows; i++)
        {
            var row = raw.Row(i);
            result[i] = row.Length == 1 ? [1 - row[0], row[0]] : row.ToArray();
        }

        return result;
    }

    private bool IsClassOutput => Parameters.TryGetValue("objective", out var o) && o is "multi:softmax" or "binary:hinge";

    private static float MaxOf(ReadOnlySpan<float> row)
    {
        var max = row[0];
        foreach (var v in row)
        {
            max = Math.Max(max, v);
        }

        return max;
    }

    /// <inheritdoc/>
    protected override float[] PrepareLabels(float[] labels, IDictionary<string, object?> parameters)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(parameters);
        var bad = Array.FindIndex(labels, l => !float.IsFinite(l) || l < 0 || l != MathF.Floor(l));
        if (bad >= 0)
        {
            throw new ArgumentException($"labels[{bad}] is {labels[bad]}; XGBClassifier needs class labels 0, 1, …, K−1.", nameof(labels));
        }

        NumClasses = labels.Length == 0 ? 0 : (int)labels.Max() + 1;
        if (NumClasses > 2)
        {
            parameters["objective"] = parameters["objective"] is "binary:logistic" ? "multi:softprob" : parameters["objective"];
            parameters["num_class"] = NumClasses;
        }

        return labels;
    }

    /// <inheritdoc/>
    protected override void OnLoaded(Booster booster)
    {
        ArgumentNullException.ThrowIfNull(booster);
        var config = System.Text.Json.Nodes.JsonNode.Parse(booster.SaveConfig())!;
        var numClass = int.Parse(config["learner"]?["learner_model_param"]?["num_class"]?.GetValue<string>() ?? "0", CultureInfo.InvariantCulture);
        NumClasses = Math.Max(2, numClass);
    }
}

/// <summary>A gradient-boosted regressor (Python's <c>XGBRegressor</c>), squared error by default.</summary>
public sealed class XGBRegressor : XGBModel
{
    /// <summary>Creates the regressor.</summary>
    /// <param name="nEstimators">Boosting rounds.</param>
    /// <param name="maxDepth">Maximum tree depth.</param>
    /// <param name="learningRate">Step size shrinkage.</param>
    /// <param name="seed">Random seed.</param>
    public XGBRegressor(int nEstimators = 100, int maxDepth = 6, double learningRate = 0.3, int seed = 0)
        : base(nEstimators, maxDepth, learningRate, "reg:squarederror", seed)
    {
    }

    /// <summary>The predicted value of each row.</summary>
    /// <param name="data">Feature rows.</param>
    public float[] Predict(float[][] data) => PredictRaw(data).Values;
}
