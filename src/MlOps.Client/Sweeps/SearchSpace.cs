using System.Collections;
using System.Globalization;

namespace MlOps.Client.Sweeps;

/// <summary>One hyperparameter's range: a list of choices, a (log-)uniform interval or an integer range.</summary>
public abstract class ParameterDistribution
{
    /// <summary>Draws a value.</summary>
    /// <param name="random">The sweep's generator (seeded for a reproducible sweep).</param>
    public abstract object Sample(Random random);

    /// <summary>The values a grid search tries, or <see langword="null"/> when the range is continuous (a grid needs choices or integers).</summary>
    public abstract IReadOnlyList<object>? GridValues { get; }

    /// <summary>One of <paramref name="values"/> (Optuna's <c>suggest_categorical</c>).</summary>
    /// <param name="values">The choices (at least one).</param>
    public static ParameterDistribution Choice(params object[] values) => new ChoiceDistribution(values);

    /// <summary>A float uniform in [<paramref name="low"/>, <paramref name="high"/>) (<c>suggest_float</c>).</summary>
    /// <param name="low">Lower bound.</param>
    /// <param name="high">Upper bound.</param>
    public static ParameterDistribution Uniform(double low, double high) => new UniformDistribution(low, high, log: false);

    /// <summary>A float whose logarithm is uniform in [ln <paramref name="low"/>, ln <paramref name="high"/>) (<c>suggest_float(log=True)</c>), for learning rates.</summary>
    /// <param name="low">Lower bound (&gt; 0).</param>
    /// <param name="high">Upper bound.</param>
    public static ParameterDistribution LogUniform(double low, double high) => new UniformDistribution(low, high, log: true);

    /// <summary>An integer in [<paramref name="low"/>, <paramref name="high"/>], every <paramref name="step"/> (<c>suggest_int</c>).</summary>
    /// <param name="low">Lowest value.</param>
    /// <param name="high">Highest value (included).</param>
    /// <param name="step">Step between values.</param>
    public static ParameterDistribution IntRange(int low, int high, int step = 1) => new IntDistribution(low, high, step);

    private sealed class ChoiceDistribution : ParameterDistribution
    {
        private readonly object[] _values;

        public ChoiceDistribution(object[] values)
        {
            ArgumentNullException.ThrowIfNull(values);
            _values = values.Length > 0 ? [.. values] : throw new ArgumentException("A choice needs at least one value.", nameof(values));
        }

        public override IReadOnlyList<object> GridValues => _values;

        public override object Sample(Random random) => _values[random.Next(_values.Length)];

        public override string ToString() => "choice(" + string.Join(", ", _values.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture))) + ")";
    }

    private sealed class UniformDistribution : ParameterDistribution
    {
        private readonly double _low;
        private readonly double _high;
        private readonly bool _log;

        public UniformDistribution(double low, double high, bool log)
        {
            if (!double.IsFinite(low) || !double.IsFinite(high) || high <= low || (log && low <= 0))
            {
                throw new ArgumentOutOfRangeException(nameof(low), $"A {(log ? "log-" : "")}uniform range needs finite low < high{(log ? " and low > 0" : "")}; got [{low}, {high}).");
            }

            (_low, _high, _log) = (low, high, log);
        }

        public override IReadOnlyList<object>? GridValues => null;

        public override object Sample(Random random) => _log
            ? Math.Exp(Math.Log(_low) + (random.NextDouble() * (Math.Log(_high) - Math.Log(_low))))
            : _low + (random.NextDouble() * (_high - _low));

        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{(_log ? "loguniform" : "uniform")}({_low}, {_high})");
    }

    private sealed class IntDistribution : ParameterDistribution
    {
        private readonly int _low;
        private readonly int _high;
        private readonly int _step;

        public IntDistribution(int low, int high, int step)
        {
            if (high < low || step < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(high), $"An integer range needs low ≤ high and step ≥ 1; got [{low}, {high}] step {step}.");
            }

            (_low, _high, _step) = (low, high, step);
        }

        public override IReadOnlyList<object> GridValues => [.. Enumerable.Range(0, ((_high - _low) / _step) + 1).Select(i => (object)(_low + (i * _step)))];

        public override object Sample(Random random) => _low + (random.Next(((_high - _low) / _step) + 1) * _step);

        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"int({_low}, {_high}, step {_step})");
    }
}

/// <summary>The hyperparameters of a sweep, by name (collection-initializer friendly: <c>new SearchSpace { ["eta"] = ParameterDistribution.LogUniform(0.01, 1) }</c>).</summary>
public sealed class SearchSpace : IEnumerable<KeyValuePair<string, ParameterDistribution>>
{
    private readonly List<KeyValuePair<string, ParameterDistribution>> _parameters = [];

    /// <summary>Adds or replaces a parameter.</summary>
    /// <param name="name">The param name (logged as is).</param>
    public ParameterDistribution this[string name]
    {
        get => _parameters.First(p => p.Key == name).Value;
        set
        {
            ArgumentException.ThrowIfNullOrEmpty(name);
            ArgumentNullException.ThrowIfNull(value);
            _parameters.RemoveAll(p => p.Key == name);
            _parameters.Add(new(name, value));
        }
    }

    /// <summary>The number of parameters.</summary>
    public int Count => _parameters.Count;

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, ParameterDistribution>> GetEnumerator() => _parameters.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
