using System.Globalization;

namespace MlOps.Client.Monitoring;

/// <summary>
/// Builds a <see cref="ReferenceProfile"/> from columns of training data, in one pass and bounded memory: each numeric
/// column keeps its count, missing count, min, max, mean and variance (Welford) exactly, its value counts while it has at
/// most <see cref="FeatureProfile.MaxDiscreteValues"/> distinct values, and a uniform sample (reservoir, seeded) of at
/// most <see cref="SampleCapacity"/> values for its quantiles — all of them below that, so small data is profiled
/// exactly; each categorical column counts its values (the first 10 000 distinct ones; later new values go to "other").
/// Not thread-safe: one builder per thread, off the training thread (autologging builds it on the thread pool).
/// </summary>
public sealed class ReferenceProfileBuilder
{
    /// <summary>The default <see cref="SampleCapacity"/>: 100 000 values per column (0.8 MB while building).</summary>
    public const int DefaultSampleCapacity = 100_000;

    private const int MaxTrackedCategories = 10_000;

    private readonly List<(string Name, Sketch Sketch)> _features = [];
    private readonly List<(string Name, Sketch Sketch)> _predictions = [];
    private (string Name, Sketch Sketch)? _target;
    private readonly Random _random;

    /// <summary>Creates a builder.</summary>
    /// <param name="sampleCapacity">The most values per numeric column its quantiles are computed from.</param>
    /// <param name="seed">The sampling seed (the same data and seed give the same profile).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sampleCapacity"/> is below 1 000.</exception>
    public ReferenceProfileBuilder(int sampleCapacity = DefaultSampleCapacity, int seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sampleCapacity, 1000);
        SampleCapacity = sampleCapacity;
        _random = new Random(seed);
    }

    /// <summary>The most values per numeric column its quantiles are computed from.</summary>
    public int SampleCapacity { get; }

    /// <summary>Rows seen (the longest column).</summary>
    public long Rows => _features.Concat(_predictions).Select(f => f.Sketch.Rows).DefaultIfEmpty(0).Max();

    /// <summary>Adds values of the numeric feature <paramref name="name"/> (NaN = missing); call again to add more rows.</summary>
    /// <param name="name">The feature's name.</param>
    /// <param name="values">Its values.</param>
    public ReferenceProfileBuilder AddNumeric(string name, ReadOnlySpan<double> values)
    {
        var sketch = Get(_features, name, FeatureKind.Numeric);
        foreach (var v in values)
        {
            sketch.Add(v);
        }

        return this;
    }

    /// <summary>Adds values of the numeric feature <paramref name="name"/> (NaN = missing).</summary>
    /// <param name="name">The feature's name.</param>
    /// <param name="values">Its values.</param>
    public ReferenceProfileBuilder AddNumeric(string name, ReadOnlySpan<float> values)
    {
        var sketch = Get(_features, name, FeatureKind.Numeric);
        foreach (var v in values)
        {
            sketch.Add(v);
        }

        return this;
    }

    /// <summary>Adds values of the categorical feature <paramref name="name"/> (null = missing).</summary>
    /// <param name="name">The feature's name.</param>
    /// <param name="values">Its values.</param>
    public ReferenceProfileBuilder AddCategorical(string name, IEnumerable<string?> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var sketch = Get(_features, name, FeatureKind.Categorical);
        foreach (var v in values)
        {
            sketch.Add(v);
        }

        return this;
    }

    /// <summary>
    /// Adds a row-major matrix of numeric features (XGBoost's and ML.NET's feature vectors): <paramref name="names"/> one
    /// per column, NaN = missing.
    /// </summary>
    /// <param name="values">Row-major values, <c>rows × names.Count</c>.</param>
    /// <param name="names">The column names.</param>
    /// <exception cref="ArgumentException">The length is not a multiple of the column count.</exception>
    public ReferenceProfileBuilder AddMatrix(ReadOnlySpan<float> values, IReadOnlyList<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        if (names.Count == 0 || values.Length % names.Count != 0)
        {
            throw new ArgumentException($"values holds {values.Length} numbers: not rows × {names.Count} columns.", nameof(values));
        }

        var sketches = names.Select(n => Get(_features, n, FeatureKind.Numeric)).ToArray();
        for (var i = 0; i < values.Length; i++)
        {
            sketches[i % sketches.Length].Add(values[i]);
        }

        return this;
    }

    /// <summary>Adds values of the target (label) column.</summary>
    /// <param name="values">The targets (NaN = missing).</param>
    /// <param name="categorical">Whether they are classes (a classifier's labels) rather than numbers.</param>
    /// <param name="name">The column's name.</param>
    public ReferenceProfileBuilder AddTarget(ReadOnlySpan<float> values, bool categorical, string name = "target")
    {
        _target ??= (name, new Sketch(categorical ? FeatureKind.Categorical : FeatureKind.Numeric, this));
        foreach (var v in values)
        {
            if (categorical)
            {
                _target.Value.Sketch.Add(float.IsNaN(v) ? null : v.ToString("R", CultureInfo.InvariantCulture));
            }
            else
            {
                _target.Value.Sketch.Add(v);
            }
        }

        return this;
    }

    /// <summary>Adds values of a classifier's target given as class labels (null = missing).</summary>
    /// <param name="labels">The labels.</param>
    /// <param name="name">The column's name.</param>
    public ReferenceProfileBuilder AddTargetCategories(IEnumerable<string?> labels, string name = "target")
    {
        ArgumentNullException.ThrowIfNull(labels);
        _target ??= (name, new Sketch(FeatureKind.Categorical, this));
        if (_target.Value.Sketch.Kind != FeatureKind.Categorical)
        {
            throw new ArgumentException($"The target '{_target.Value.Name}' was added as numbers; it cannot take labels too.", nameof(labels));
        }

        foreach (var label in labels)
        {
            _target.Value.Sketch.Add(label);
        }

        return this;
    }

    /// <summary>Adds the model's predictions for the profiled rows: numbers (a regressor) or classes (a classifier's predicted class, as text).</summary>
    /// <param name="name">The output's name (<c>prediction</c> for a model's single output).</param>
    /// <param name="values">Numeric predictions (NaN = missing).</param>
    public ReferenceProfileBuilder AddPredictions(string name, ReadOnlySpan<float> values)
    {
        var sketch = Get(_predictions, name, FeatureKind.Numeric);
        foreach (var v in values)
        {
            sketch.Add(v);
        }

        return this;
    }

    /// <summary>Adds the model's predicted classes for the profiled rows.</summary>
    /// <param name="name">The output's name (<c>prediction</c> for a model's single output).</param>
    /// <param name="classes">The predicted classes.</param>
    public ReferenceProfileBuilder AddPredictedClasses(string name, IEnumerable<string?> classes)
    {
        ArgumentNullException.ThrowIfNull(classes);
        var sketch = Get(_predictions, name, FeatureKind.Categorical);
        foreach (var c in classes)
        {
            sketch.Add(c);
        }

        return this;
    }

    /// <summary>The profile of everything added.</summary>
    public ReferenceProfile Build()
    {
        var sampled = _features.Concat(_predictions).Any(f => f.Sketch.Sampled) || _target?.Sketch.Sampled == true;
        var error = (1.0 / (ReferenceProfile.QuantileCount - 1)) + (sampled ? Math.Sqrt(Math.Log(2 / 0.01) / (2.0 * SampleCapacity)) : 0);
        return new ReferenceProfile
        {
            Rows = Rows,
            SampleCapacity = SampleCapacity,
            CdfError = error,
            Features = [.. _features.Select(f => f.Sketch.ToProfile(f.Name))],
            Target = _target is { } t ? t.Sketch.ToProfile(t.Name) : null,
            Predictions = [.. _predictions.Select(p => p.Sketch.ToProfile(p.Name))],
        };
    }

    private Sketch Get(List<(string Name, Sketch Sketch)> list, string name, FeatureKind kind)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        foreach (var (n, s) in list)
        {
            if (n == name)
            {
                return s.Kind == kind ? s : throw new ArgumentException($"Column '{name}' was added as {s.Kind}; it cannot take {kind} values too.", nameof(name));
            }
        }

        var sketch = new Sketch(kind, this);
        list.Add((name, sketch));
        return sketch;
    }

    /// <summary>The <paramref name="q"/> quantile of sorted values with linear interpolation (numpy's default, Hyndman–Fan type 7).</summary>
    internal static double Quantile(double[] sorted, double q)
    {
        var position = q * (sorted.Length - 1);
        var below = (int)Math.Floor(position);
        var above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + ((position - below) * (sorted[above] - sorted[below]));
    }

    /// <summary>Value counts keyed by the float32 value (what the model reads; two doubles of one float are one value).</summary>
    private static Dictionary<string, long> DiscreteCounts(Dictionary<double, long> values)
    {
        var counts = new SortedDictionary<float, long>();
        foreach (var (value, count) in values)
        {
            counts[(float)value] = counts.GetValueOrDefault((float)value) + count;
        }

        return counts.ToDictionary(c => c.Key.ToString("R", CultureInfo.InvariantCulture), c => c.Value, StringComparer.Ordinal);
    }

    /// <summary>One column's running summary.</summary>
    private sealed class Sketch(FeatureKind kind, ReferenceProfileBuilder owner)
    {
        private readonly List<double> _sample = [];
        private Dictionary<double, long>? _values = [];
        private readonly Dictionary<string, long> _categories = new(StringComparer.Ordinal);
        private long _count, _missing, _untracked;
        private double _mean, _m2, _min = double.PositiveInfinity, _max = double.NegativeInfinity;

        public FeatureKind Kind { get; } = kind;

        public long Rows => _count + _missing;

        public bool Sampled => _count > owner.SampleCapacity;

        public void Add(double value)
        {
            if (double.IsNaN(value))
            {
                _missing++;
                return;
            }

            _count++;
            var delta = value - _mean;
            _mean += delta / _count;
            _m2 += delta * (value - _mean);
            _min = Math.Min(_min, value);
            _max = Math.Max(_max, value);
            if (_values is not null)
            {
                _values[value] = _values.GetValueOrDefault(value) + 1;
                if (_values.Count > FeatureProfile.MaxDiscreteValues)
                {
                    _values = null;
                }
            }

            // Algorithm R: every value has the same chance, capacity/count, to be in the sample.
            if (_sample.Count < owner.SampleCapacity)
            {
                _sample.Add(value);
            }
            else
            {
                var slot = owner._random.NextInt64(_count);
                if (slot < owner.SampleCapacity)
                {
                    _sample[(int)slot] = value;
                }
            }
        }

        public void Add(string? value)
        {
            if (value is null)
            {
                _missing++;
                return;
            }

            _count++;
            if (_categories.TryGetValue(value, out var n))
            {
                _categories[value] = n + 1;
            }
            else if (_categories.Count < MaxTrackedCategories)
            {
                _categories[value] = 1;
            }
            else
            {
                _untracked++;
            }
        }

        public FeatureProfile ToProfile(string name)
        {
            if (Kind == FeatureKind.Categorical)
            {
                var kept = _categories.OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal).Take(FeatureProfile.MaxCategories).ToList();
                return new FeatureProfile
                {
                    Name = name,
                    Kind = Kind,
                    Count = _count,
                    Missing = _missing,
                    Distinct = _untracked == 0 ? _categories.Count : null,
                    Categories = kept.ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal),
                    OtherCount = _count - kept.Sum(c => c.Value),
                };
            }

            if (_count == 0)
            {
                return new FeatureProfile { Name = name, Kind = Kind, Missing = _missing };
            }

            var sorted = _sample.ToArray();
            Array.Sort(sorted);
            var quantiles = new double[ReferenceProfile.QuantileCount];
            for (var k = 0; k < quantiles.Length; k++)
            {
                quantiles[k] = ReferenceProfile.Stored(Quantile(sorted, (double)k / (quantiles.Length - 1)));
            }

            return new FeatureProfile
            {
                Name = name,
                Kind = Kind,
                Count = _count,
                Missing = _missing,
                Min = ReferenceProfile.Stored(_min),
                Max = ReferenceProfile.Stored(_max),
                Mean = ReferenceProfile.Stored(_mean),
                StandardDeviation = ReferenceProfile.Stored(Math.Sqrt(_m2 / _count)),
                Quantiles = quantiles,
                Distinct = _values?.Count,
                Categories = _values is null ? new Dictionary<string, long>(StringComparer.Ordinal) : DiscreteCounts(_values),
            };
        }
    }
}
