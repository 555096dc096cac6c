namespace MlOps.Client.Sweeps;

/// <summary>A finished trial, as a tuner sees it.</summary>
/// <param name="Number">The trial number (0, 1, 2… in the order trials were asked for).</param>
/// <param name="Parameters">Its parameters.</param>
/// <param name="Value">The objective's value, or <see langword="null"/> when the trial failed.</param>
public sealed record CompletedTrial(int Number, IReadOnlyDictionary<string, object> Parameters, double? Value);

/// <summary>
/// Proposes the parameters of the next trial. Called on one thread at a time, in trial-number order, with the trials
/// finished so far: a smarter search (Bayesian, Hyperband…) plugs in here; grid and random are built in.
/// </summary>
public interface ITuner
{
    /// <summary>The parameters of trial <paramref name="number"/>, or <see langword="null"/> when the search is over.</summary>
    /// <param name="number">The trial number.</param>
    /// <param name="completed">The trials finished so far (in any order).</param>
    IReadOnlyDictionary<string, object>? Next(int number, IReadOnlyList<CompletedTrial> completed);
}

/// <summary>Every combination of the parameters' grid values, in order (the last parameter varies fastest).</summary>
public sealed class GridTuner : ITuner
{
    private readonly List<Dictionary<string, object>> _combinations = [new()];

    /// <summary>Creates the grid.</summary>
    /// <param name="space">Choices and integer ranges only (a continuous range has no grid).</param>
    public GridTuner(SearchSpace space)
    {
        ArgumentNullException.ThrowIfNull(space);
        foreach (var (name, distribution) in space)
        {
            var values = distribution.GridValues
                ?? throw new ArgumentException($"Parameter '{name}' is {distribution}: a grid needs choices or integer ranges; use a RandomTuner for continuous ranges.", nameof(space));
            _combinations = [.. _combinations.SelectMany(c => values.Select(v => new Dictionary<string, object>(c) { [name] = v }))];
        }
    }

    /// <summary>The number of trials of the grid.</summary>
    public int Count => _combinations.Count;

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, object>? Next(int number, IReadOnlyList<CompletedTrial> completed) =>
        number < _combinations.Count ? _combinations[number] : null;
}

/// <summary>Independent draws from each parameter's distribution; the same seed gives the same trials, however many run in parallel.</summary>
/// <param name="space">The parameters.</param>
/// <param name="trials">How many trials.</param>
/// <param name="seed">The seed; a random one when <see langword="null"/>.</param>
public sealed class RandomTuner(SearchSpace space, int trials, int? seed = null) : ITuner
{
    private readonly Random _random = seed is { } s ? new Random(s) : new Random();
    private readonly SearchSpace _space = space ?? throw new ArgumentNullException(nameof(space));

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, object>? Next(int number, IReadOnlyList<CompletedTrial> completed) =>
        number < trials ? _space.ToDictionary(p => p.Key, p => p.Value.Sample(_random), StringComparer.Ordinal) : null;
}
