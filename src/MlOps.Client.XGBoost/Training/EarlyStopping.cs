using System.Globalization;

namespace MlOps.Client.XGBoost;

/// <summary>
/// Stops training when the watched metric has not improved for <see cref="Rounds"/> iterations (Python's
/// <c>xgboost.callback.EarlyStopping</c>). Records <c>best_iteration</c> and <c>best_score</c> as booster attributes.
/// </summary>
public sealed class EarlyStopping : TrainingCallback
{
    private static readonly string[] MaximizedPrefixes = ["auc", "aucpr", "map", "ndcg", "auc@", "aucpr@", "map@", "ndcg@"];
    private double? _best;
    private int _sinceBest;
    private int _startingRound;
    private bool? _maximize;

    /// <summary>Creates the callback.</summary>
    /// <param name="rounds">Iterations without improvement before stopping (at least 1).</param>
    /// <param name="metricName">The metric watched; the last one of the data set when <see langword="null"/>.</param>
    /// <param name="dataName">The evaluation set watched; the last one when <see langword="null"/>.</param>
    /// <param name="maximize">Whether larger is better; guessed from the metric name (auc, map, ndcg) when <see langword="null"/>.</param>
    /// <param name="saveBest">Return only the trees up to the best iteration.</param>
    /// <param name="minDelta">The smallest change that counts as an improvement.</param>
    public EarlyStopping(int rounds, string? metricName = null, string? dataName = null, bool? maximize = null, bool saveBest = false, double minDelta = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rounds);
        ArgumentOutOfRangeException.ThrowIfNegative(minDelta);
        Rounds = rounds;
        MetricName = metricName;
        DataName = dataName;
        _maximize = maximize;
        SaveBest = saveBest;
        MinDelta = minDelta;
    }

    /// <summary>Iterations without improvement before stopping.</summary>
    public int Rounds { get; }

    /// <summary>The metric watched, or <see langword="null"/> for the last one.</summary>
    public string? MetricName { get; }

    /// <summary>The evaluation set watched, or <see langword="null"/> for the last one.</summary>
    public string? DataName { get; }

    /// <summary>Whether only the trees up to the best iteration are kept.</summary>
    public bool SaveBest { get; }

    /// <summary>The smallest change that counts as an improvement.</summary>
    public double MinDelta { get; }

    /// <summary>The best iteration so far (absolute, counting rounds from before a continued training).</summary>
    public int? BestIteration { get; private set; }

    /// <summary>The best score so far.</summary>
    public double? BestScore => _best;

    /// <inheritdoc/>
    public override void BeforeTraining(Booster model)
    {
        ArgumentNullException.ThrowIfNull(model);
        _startingRound = model.BoostedRounds;
    }

    /// <inheritdoc/>
    public override bool AfterIteration(Booster model, int iteration, EvaluationLog log)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(log);
        if (log.DataNames.Count == 0)
        {
            throw new InvalidOperationException("Early stopping needs at least one evaluation set (evals).");
        }

        var data = DataName ?? log.DataNames[^1];
        if (!log.DataNames.Contains(data, StringComparer.Ordinal))
        {
            throw new ArgumentException($"Early stopping watches the evaluation set '{data}', which is not among: {string.Join(", ", log.DataNames)}.");
        }

        var metric = MetricName ?? log.Metrics(data)[^1];
        var score = log[data, metric][^1];
        _maximize ??= metric != "mape" && MaximizedPrefixes.Any(p => metric.StartsWith(p, StringComparison.Ordinal));
        var epoch = iteration + _startingRound;
        var improved = _best is not { } best || (_maximize.Value ? score - MinDelta > best : best - MinDelta > score);
        if (improved)
        {
            _best = score;
            BestIteration = epoch;
            _sinceBest = 0;
            model.SetAttribute("best_score", score.ToString("R", CultureInfo.InvariantCulture));
            model.SetAttribute("best_iteration", epoch.ToString(CultureInfo.InvariantCulture));
        }
        else
        {
            _sinceBest++;
        }

        return _sinceBest >= Rounds;
    }

    /// <summary>With <see cref="SaveBest"/>, the booster is cut to the best iteration by <see cref="XGBoost.Train"/>.</summary>
    /// <param name="model">The trained booster.</param>
    public override void AfterTraining(Booster model)
    {
    }
}

/// <summary>Prints the evaluation results every <see cref="Period"/> iterations, as Python's <c>verbose_eval</c> does.</summary>
/// <param name="writer">Where to print.</param>
/// <param name="period">Print every <paramref name="period"/> iterations (and the last one).</param>
public sealed class EvaluationMonitor(TextWriter writer, int period = 1) : TrainingCallback
{
    private string? _pending;

    /// <summary>How often results are printed.</summary>
    public int Period { get; } = period > 0 ? period : throw new ArgumentOutOfRangeException(nameof(period), period, "period must be at least 1.");

    /// <inheritdoc/>
    public override bool AfterIteration(Booster model, int iteration, EvaluationLog log)
    {
        ArgumentNullException.ThrowIfNull(log);
        if (log.Latest.Count == 0)
        {
            return false;
        }

        var line = string.Create(CultureInfo.InvariantCulture, $"[{iteration}]") +
            string.Concat(log.Latest.Select(r => string.Create(CultureInfo.InvariantCulture, $"\t{r.Key}:{r.Value:F5}")));
        if (iteration % Period == 0 || Period == 1)
        {
            writer.WriteLine(line);
            _pending = null;
        }
        else
        {
            _pending = line;
        }

        return false;
    }

    /// <inheritdoc/>
    public override void AfterTraining(Booster model)
    {
        if (_pending is not null)
        {
            writer.WriteLine(_pending);
        }
    }
}
