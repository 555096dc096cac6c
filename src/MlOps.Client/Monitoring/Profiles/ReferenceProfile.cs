using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MlOps.Client.Monitoring;

/// <summary>
/// A model's training data, summarised so that served data can be tested against it later: per feature its kind,
/// counts, missing values, quantiles and moments (numeric) or category counts; the target's and the predictions'
/// distributions. Logged beside the model as <see cref="FileName"/> (in the model's folder, so it travels with the
/// model into the registry and to the serving host). The JSON format is in <c>docs/monitoring.md</c>; about 1.2 KB per
/// numeric feature.
/// </summary>
public sealed class ReferenceProfile
{
    /// <summary>The file name inside a model's folder.</summary>
    public const string FileName = "reference_profile.json";

    /// <summary>The format's name, the JSON's <c>format</c> field.</summary>
    public const string FormatName = "mlops-reference-profile";

    /// <summary>The format version this library writes and reads.</summary>
    public const int FormatVersion = 1;

    /// <summary>The number of quantiles kept per numeric column (0 %, 1 %, …, 100 %).</summary>
    public const int QuantileCount = 101;

    /// <summary>Rows profiled.</summary>
    public required long Rows { get; init; }

    /// <summary>
    /// The most a profiled CDF differs from the data's empirical CDF, for any value: 1/(q − 1) between quantiles
    /// (q = <see cref="QuantileCount"/>), plus, when a column was sampled, the sampling error (DKW bound at 99 %:
    /// √(ln(2/0.01)/2s) for a sample of s values). Drift statistics computed from the profile inherit it: a KS statistic
    /// is within this of the one over the raw training data.
    /// </summary>
    public required double CdfError { get; init; }

    /// <summary>The most values per column the quantiles were computed from (a uniform sample beyond; exact below).</summary>
    public required int SampleCapacity { get; init; }

    /// <summary>The features, in the model's input order.</summary>
    public required IReadOnlyList<FeatureProfile> Features { get; init; }

    /// <summary>The target (label) column, when profiled.</summary>
    public FeatureProfile? Target { get; init; }

    /// <summary>The model's predictions on the profiled rows (one per output), when profiled.</summary>
    public IReadOnlyList<FeatureProfile> Predictions { get; init; } = [];

    /// <summary>The feature named <paramref name="name"/>, or <see langword="null"/>.</summary>
    /// <param name="name">The feature's name.</param>
    public FeatureProfile? Feature(string name) => Features.FirstOrDefault(f => f.Name == name);

    /// <summary>Writes the profile as JSON (UTF-8, compact).</summary>
    /// <param name="stream">Where to write.</param>
    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var json = new Utf8JsonWriter(stream);
        json.WriteStartObject();
        json.WriteString("format", FormatName);
        json.WriteNumber("version", FormatVersion);
        json.WriteNumber("rows", Rows);
        json.WriteNumber("quantile_count", QuantileCount);
        json.WriteNumber("sample_capacity", SampleCapacity);
        json.WriteNumber("cdf_error", Math.Round(CdfError, 6));
        json.WriteStartArray("features");
        foreach (var feature in Features)
        {
            Write(json, feature);
        }

        json.WriteEndArray();
        if (Target is not null)
        {
            json.WritePropertyName("target");
            Write(json, Target);
        }

        json.WriteStartArray("predictions");
        foreach (var prediction in Predictions)
        {
            Write(json, prediction);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>The profile as JSON text.</summary>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        WriteTo(stream);
        return Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length);
    }

    /// <summary>Writes the profile to <paramref name="path"/> (a file, or a model folder: then <see cref="FileName"/> inside it).</summary>
    /// <param name="path">A file or a folder.</param>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var file = Directory.Exists(path) ? Path.Combine(path, FileName) : path;
        using var stream = File.Create(file);
        WriteTo(stream);
    }

    /// <summary>Reads a profile (a file, or a model folder holding <see cref="FileName"/>).</summary>
    /// <param name="path">A file or a folder.</param>
    /// <exception cref="FileNotFoundException">There is no profile there.</exception>
    /// <exception cref="FormatException">The file is not a profile this library reads.</exception>
    public static ReferenceProfile Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var file = Directory.Exists(path) ? Path.Combine(path, FileName) : path;
        if (!File.Exists(file))
        {
            throw new FileNotFoundException($"No reference profile at '{file}': the model was logged without one (log it with a profile of its training data, see docs/monitoring.md).", file);
        }

        return Parse(File.ReadAllBytes(file));
    }

    /// <summary>Reads a profile from its JSON.</summary>
    /// <param name="json">The JSON (UTF-8).</param>
    /// <exception cref="FormatException">Not a profile, or a version this library does not read.</exception>
    public static ReferenceProfile Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            using var document = JsonDocument.Parse(json.ToArray());
            var root = document.RootElement;
            if (!root.TryGetProperty("format", out var format) || format.GetString() != FormatName)
            {
                throw new FormatException($"Not a reference profile: its 'format' is not '{FormatName}'.");
            }

            var version = root.GetProperty("version").GetInt32();
            if (version != FormatVersion)
            {
                throw new FormatException($"Reference profile version {version}: this library reads version {FormatVersion}.");
            }

            if (root.GetProperty("quantile_count").GetInt32() is var q && q != QuantileCount)
            {
                throw new FormatException($"Reference profile with {q} quantiles per column: this library reads {QuantileCount}.");
            }

            return new ReferenceProfile
            {
                Rows = root.GetProperty("rows").GetInt64(),
                SampleCapacity = root.GetProperty("sample_capacity").GetInt32(),
                CdfError = root.GetProperty("cdf_error").GetDouble(),
                Features = [.. root.GetProperty("features").EnumerateArray().Select(Read)],
                Target = root.TryGetProperty("target", out var target) ? Read(target) : null,
                Predictions = root.TryGetProperty("predictions", out var predictions) ? [.. predictions.EnumerateArray().Select(Read)] : [],
            };
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException("The reference profile is not valid JSON of its format: " + ex.Message, ex);
        }
    }

    private static void Write(Utf8JsonWriter json, FeatureProfile feature)
    {
        json.WriteStartObject();
        json.WriteString("name", feature.Name);
        json.WriteString("kind", feature.Kind == FeatureKind.Numeric ? "numeric" : "categorical");
        json.WriteNumber("count", feature.Count);
        json.WriteNumber("missing", feature.Missing);
        if (feature.Distinct is { } distinct)
        {
            json.WriteNumber("distinct", distinct);
        }

        if (feature.Kind == FeatureKind.Numeric && feature.Count > 0)
        {
            WriteNumber(json, "min", feature.Min!.Value);
            WriteNumber(json, "max", feature.Max!.Value);
            WriteNumber(json, "mean", feature.Mean!.Value);
            WriteNumber(json, "std", feature.StandardDeviation!.Value);
            json.WriteStartArray("quantiles");
            foreach (var value in feature.Quantiles)
            {
                json.WriteRawValue(Compact(value), skipInputValidation: true);
            }

            json.WriteEndArray();
        }

        if (feature.Categories.Count > 0)
        {
            json.WriteStartObject("categories");
            foreach (var (key, count) in feature.Categories)
            {
                json.WriteNumber(key, count);
            }

            json.WriteEndObject();
        }

        if (feature.OtherCount > 0)
        {
            json.WriteNumber("other_count", feature.OtherCount);
        }

        json.WriteEndObject();
    }

    private static void WriteNumber(Utf8JsonWriter json, string name, double value)
    {
        json.WritePropertyName(name);
        json.WriteRawValue(Compact(value), skipInputValidation: true);
    }

    /// <summary>
    /// Six significant digits: numbers of a profile are float32 (what XGBoost and ML.NET models read; served values are
    /// compared in float32 too), written in about half the size of a double's round trip.
    /// </summary>
    private static string Compact(double value) =>
        double.IsFinite(value) ? value.ToString("G6", CultureInfo.InvariantCulture) : "null";

    /// <summary>A number as the profile keeps it (the float32 nearest its six significant digits): the same in memory as after a round trip through the file.</summary>
    internal static double Stored(double value) =>
        double.IsFinite(value) ? (float)double.Parse(Compact(value), NumberStyles.Float, CultureInfo.InvariantCulture) : value;

    private static FeatureProfile Read(JsonElement e)
    {
        var kind = e.GetProperty("kind").GetString() switch
        {
            "numeric" => FeatureKind.Numeric,
            "categorical" => FeatureKind.Categorical,
            var other => throw new FormatException($"Unknown column kind '{other}' in the reference profile."),
        };
        double? Number(string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? (float)v.GetDouble() : null;
        var categories = new Dictionary<string, long>(StringComparer.Ordinal);
        if (e.TryGetProperty("categories", out var c))
        {
            foreach (var p in c.EnumerateObject())
            {
                categories[p.Name] = p.Value.GetInt64();
            }
        }

        return new FeatureProfile
        {
            Name = e.GetProperty("name").GetString()!,
            Kind = kind,
            Count = e.GetProperty("count").GetInt64(),
            Missing = e.GetProperty("missing").GetInt64(),
            Distinct = e.TryGetProperty("distinct", out var d) ? d.GetInt32() : null,
            Min = Number("min"),
            Max = Number("max"),
            Mean = Number("mean"),
            StandardDeviation = Number("std"),
            Quantiles = e.TryGetProperty("quantiles", out var q) ? [.. q.EnumerateArray().Select(v => (double)(float)v.GetDouble())] : [],
            Categories = categories,
            OtherCount = e.TryGetProperty("other_count", out var o) ? o.GetInt64() : 0,
        };
    }
}
