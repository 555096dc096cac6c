using Microsoft.Extensions.Logging;
using MlOps.Client.XGBoost.Autologging;

namespace MlOps.Client.XGBoost;

/// <summary>Training entry points (Python's <c>xgboost.train</c>).</summary>
public static class XGBoost
{
    /// <summary>
    /// Where libxgboost's own messages go (process-wide, like XGBoost's log callback): warnings — an unknown parameter
    /// such as <c>max_dpeth</c>, AUC on a single class — as <see cref="LogLevel.Warning"/>, the rest as information.
    /// <see langword="null"/> (the default) leaves them on standard error.
    /// </summary>
    public static ILogger? Logger
    {
        get => Native.XGBoostLog.Logger;
        set => Native.XGBoostLog.Logger = value;
    }

    /// <summary>
    /// Trains a booster for <paramref name="numBoostRound"/> iterations, evaluating <paramref name="evals"/> after each
    /// one, as Python's <c>xgboost.train</c> does. When autologging is enabled (<see cref="XGBoostAutolog.Enable"/>),
    /// the training is logged to MLflow.
    /// </summary>
    /// <param name="parameters">Booster parameters, set in order (values formatted with the invariant culture).</param>
    /// <param name="dtrain">The training data with labels.</param>
    /// <param name="numBoostRound">The number of boosting iterations. Default 10.</param>
    /// <param name="evals">Evaluation sets and their names (e.g. <c>(dtrain, "train")</c>); the last one drives early stopping.</param>
    /// <param name="callbacks">Callbacks, called in order before the built-in monitor and early stopping.</param>
    /// <param name="earlyStoppingRounds">Stop after this many iterations without improvement of the last metric on the last evaluation set.</param>
    /// <param name="maximize">Whether the early-stopping metric is maximised; guessed from its name when <see langword="null"/>.</param>
    /// <param name="verboseEval">Print the evaluation every <paramref name="verboseEval"/> iterations to <paramref name="log"/> (0 = never; Python's default is 1).</param>
    /// <param name="evalsResult">Receives the evaluation history, if given.</param>
    /// <param name="xgbModel">A booster to continue training from (its trees are kept; it is not modified).</param>
    /// <param name="log">Where <paramref name="verboseEval"/> prints; the console when <see langword="null"/>.</param>
    /// <param name="objective">
    /// A custom objective (Python's <c>obj</c>): called each iteration with the training margins (<c>output_margin=True,
    /// training=True</c>) and returns the gradient and hessian that <see cref="Booster.Boost"/> applies.
    /// </param>
    /// <param name="customMetric">
    /// A custom metric (Python's <c>custom_metric</c>): called after each iteration for each evaluation set with its
    /// predictions (margins when <paramref name="objective"/> is given, as in Python) and appended to the evaluation as
    /// <c>{set}-{name}</c>, formatted like Python's <c>%f</c>.
    /// </param>
    /// <param name="cancellationToken">Stops training between iterations.</param>
    /// <returns>The trained booster (owned by the caller).</returns>
    public static Booster Train(
        IEnumerable<KeyValuePair<string, object?>> parameters,
        DMatrix dtrain,
        int numBoostRound = 10,
        IReadOnlyList<(DMatrix Data, string Name)>? evals = null,
        IEnumerable<TrainingCallback>? callbacks = null,
        int? earlyStoppingRounds = null,
        bool? maximize = null,
        int verboseEval = 0,
        EvaluationLog? evalsResult = null,
        Booster? xgbModel = null,
        TextWriter? log = null,
        CustomObjective? objective = null,
        CustomMetric? customMetric = null,
        CancellationToken cancellationToken = default)
    {
        var request = new TrainRequest(
            [.. parameters ?? throw new ArgumentNullException(nameof(parameters))],
            dtrain ?? throw new ArgumentNullException(nameof(dtrain)),
            numBoostRound, evals ?? [], [.. callbacks ?? []], earlyStoppingRounds, maximize, verboseEval, evalsResult, xgbModel, log)
        {
            Objective = objective,
            CustomMetric = customMetric,
        };
        request.Validate();
        return TrainInterception.Current is { } interceptor && !TrainInterception.Suppressed
            ? interceptor.Train(request, cancellationToken)
            : TrainCore(request, cancellationToken);
    }

    internal static Booster TrainCore(TrainRequest request, CancellationToken cancellationToken)
    {
        var callbacks = new List<TrainingCallback>(request.Callbacks);
        if (request.VerboseEval > 0)
        {
            callbacks.Add(new EvaluationMonitor(request.Log ?? Console.Out, request.VerboseEval));
        }

        if (request.EarlyStoppingRounds is > 0)
        {
            callbacks.Add(new EarlyStopping(request.EarlyStoppingRounds.Value, maximize: request.Maximize));
        }

        var cache = new DMatrix[1 + request.Evals.Count];
        cache[0] = request.DTrain;
        for (var i = 0; i < request.Evals.Count; i++)
        {
            cache[i + 1] = request.Evals[i].Data;
        }

        var parameters = new List<KeyValuePair<string, object?>>(request.Parameters) { new("validate_parameters", true) };
        var booster = new Booster(parameters, cache);
        try
        {
            if (request.XgbModel is { } start)
            {
                booster.LoadModel(start.SaveToBuffer(ModelFormat.Ubj));
                booster.SetParameters(parameters);
            }

            var history = request.EvalsResult ?? new EvaluationLog();
            foreach (var cb in callbacks)
            {
                cb.BeforeTraining(booster);
            }

            var names = request.Evals.Select(e => e.Name).ToArray();
            for (var i = 0; i < request.NumBoostRound; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (Any(callbacks, cb => cb.BeforeIteration(booster, i, history)))
                {
                    break;
                }

                if (request.Objective is { } objective)
                {
                    // As Python's Booster.update(dtrain, i, fobj): margins with training=True, then boost.
                    var margins = booster.Predict(request.DTrain, new PredictionOptions { Type = PredictionType.Margin, Training = true });
                    var (gradient, hessian) = objective(margins, request.DTrain);
                    booster.Boost(request.DTrain, gradient, hessian);
                }
                else
                {
                    booster.Update(request.DTrain, i);
                }

                if (request.Evals.Count > 0)
                {
                    history.Add(EvalSetMetric.Parse(EvaluateWithCustomMetric(booster, i, request), names));
                }

                if (Any(callbacks, cb => cb.AfterIteration(booster, i, history)))
                {
                    break;
                }
            }

            foreach (var cb in callbacks)
            {
                cb.AfterTraining(booster);
            }

            if (callbacks.OfType<EarlyStopping>().LastOrDefault(e => e.SaveBest) is { BestIteration: { } best })
            {
                var sliced = booster.Slice(0, best + 1);
                foreach (var key in (string[])["best_iteration", "best_score"])
                {
                    if (booster.GetAttribute(key) is { } value && sliced.GetAttribute(key) is null)
                    {
                        sliced.SetAttribute(key, value); // kept as Python's save_best keeps them
                    }
                }

                booster.Dispose();
                booster = sliced;
            }

            booster.ReportModelSize();
            return booster;
        }
        catch
        {
            booster.Dispose();
            throw;
        }
    }

    /// <summary>XGBoost's evaluation text, then the custom metric of each set as Python's <c>Booster.eval_set</c> appends it.</summary>
    private static string EvaluateWithCustomMetric(Booster booster, int iteration, TrainRequest request)
    {
        var text = booster.EvaluateRaw(iteration, request.Evals);
        if (request.CustomMetric is not { } metric)
        {
            return text;
        }

        var sb = new System.Text.StringBuilder(text);
        var options = new PredictionOptions { Type = request.Objective is null ? PredictionType.Value : PredictionType.Margin };
        foreach (var (data, name) in request.Evals)
        {
            var (metricName, value) = metric(booster.Predict(data, options), data);
            if (string.IsNullOrEmpty(metricName) || metricName.AsSpan().IndexOfAny("\t:") >= 0)
            {
                throw new ArgumentException($"The custom metric's name '{metricName}' must be non-empty, without tab or ':'.", nameof(request));
            }

            sb.Append('\t').Append(name).Append('-').Append(metricName).Append(':')
                .Append(double.IsFinite(value) ? value.ToString("F6", System.Globalization.CultureInfo.InvariantCulture) : value > 0 ? "inf" : value < 0 ? "-inf" : "nan");
        }

        return sb.ToString();
    }

    private static bool Any(List<TrainingCallback> callbacks, Func<TrainingCallback, bool> hook)
    {
        var stop = false;
        foreach (var cb in callbacks)
        {
            stop |= hook(cb); // every callback sees every iteration, as in Python's CallbackContainer
        }

        return stop;
    }
}

/// <summary>The arguments of one <see cref="XGBoost.Train"/> call.</summary>
internal sealed record TrainRequest(
    IReadOnlyList<KeyValuePair<string, object?>> Parameters,
    DMatrix DTrain,
    int NumBoostRound,
    IReadOnlyList<(DMatrix Data, string Name)> Evals,
    IReadOnlyList<TrainingCallback> Callbacks,
    int? EarlyStoppingRounds,
    bool? Maximize,
    int VerboseEval,
    EvaluationLog? EvalsResult,
    Booster? XgbModel,
    TextWriter? Log)
{
    /// <summary>The custom objective, or <see langword="null"/> for the <c>objective</c> parameter's.</summary>
    public CustomObjective? Objective { get; init; }

    /// <summary>The custom metric, or <see langword="null"/>.</summary>
    public CustomMetric? CustomMetric { get; init; }

    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(NumBoostRound, "numBoostRound");
        ArgumentOutOfRangeException.ThrowIfNegative(VerboseEval, "verboseEval");
        if (EarlyStoppingRounds is { } rounds)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rounds, "earlyStoppingRounds");
            if (Evals.Count == 0)
            {
                throw new ArgumentException("earlyStoppingRounds needs at least one evaluation set in evals.", "evals");
            }
        }

        if (DTrain.IsDisposed)
        {
            throw new ObjectDisposedException(nameof(DMatrix), "dtrain has been disposed.");
        }

        foreach (var (data, name) in Evals)
        {
            ArgumentNullException.ThrowIfNull(data, "evals");
            ArgumentException.ThrowIfNullOrEmpty(name, "evals");
            if (data.ColumnCount != DTrain.ColumnCount)
            {
                throw new ArgumentException($"The evaluation set '{name}' has {data.ColumnCount} features; dtrain has {DTrain.ColumnCount}.", "evals");
            }
        }

        if (Evals.Select(e => e.Name).Distinct(StringComparer.Ordinal).Count() != Evals.Count)
        {
            throw new ArgumentException("Evaluation set names must be unique.", "evals");
        }
    }
}

/// <summary>A custom objective for <see cref="XGBoost.Train"/> (Python's <c>obj(predt, dtrain)</c>).</summary>
/// <param name="margins">The current margins of the training rows (one per row and output group).</param>
/// <param name="dtrain">The training matrix (labels, weights).</param>
/// <returns>The gradient and hessian, one value per margin.</returns>
public delegate (float[] Gradient, float[] Hessian) CustomObjective(float[] margins, DMatrix dtrain);

/// <summary>A custom evaluation metric for <see cref="XGBoost.Train"/> (Python's <c>custom_metric(predt, dmatrix)</c>).</summary>
/// <param name="predictions">Predictions on the evaluation set (margins when a custom objective is used).</param>
/// <param name="data">The evaluation matrix.</param>
/// <returns>The metric's name and its value.</returns>
public delegate (string Name, double Value) CustomMetric(float[] predictions, DMatrix data);
