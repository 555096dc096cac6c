using System.Text;
using System.Globalization;

namespace MlOps.Client.Validation;

/// <summary>
/// Client-side checks of MLflow's rules (<c>mlflow/utils/validation.py</c>). Each failure is an
/// <see cref="MlflowValidationException"/> whose message names the field, the offending length or count and the limit.
/// </summary>
internal static class MlflowValidator
{
    private const string BadCharacters =
        "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colons (:) and slashes (/).";

    /// <summary>Checks a metric key.</summary>
    /// <param name="key">The key.</param>
    public static void ValidateMetricKey(string? key) => ValidateKey("Metric name", key);

    /// <summary>Checks a param key and value.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    public static void ValidateParam(string? key, string? value)
    {
        ValidateKey("Param key", key);
        ValidateValue("Param value", key!, value, MlflowLimits.MaxParamValueLength);
    }

    /// <summary>Checks a run tag key and value.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    public static void ValidateTag(string? key, string? value)
    {
        ValidateKey("Tag key", key);
        ValidateValue("Tag value", key!, value, MlflowLimits.MaxTagValueLength);
    }

    /// <summary>Checks an experiment tag key and value.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    public static void ValidateExperimentTag(string? key, string? value)
    {
        ValidateKey("Experiment tag key", key, MlflowLimits.MaxExperimentTagKeyLength);
        ValidateValue("Experiment tag value", key!, value, MlflowLimits.MaxExperimentTagValueLength);
    }

    /// <summary>Checks a registered model or model version tag.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    public static void ValidateRegistryTag(string? key, string? value)
    {
        ValidateKey("Model registry tag key", key, MlflowLimits.MaxModelRegistryTagKeyLength);
        ValidateValue("Model registry tag value", key!, value, MlflowLimits.MaxModelRegistryTagValueLength);
    }

    /// <summary>Checks a metric: key, finite or NaN/±Infinity value (all allowed), non-negative timestamp.</summary>
    /// <param name="metric">The metric.</param>
    public static void ValidateMetric(Metric metric)
    {
        ArgumentNullException.ThrowIfNull(metric);
        ValidateMetric(metric.Key, metric.Timestamp);
    }

    /// <summary>Checks a metric's key and timestamp (what <see cref="ValidateMetric(Metric)"/> checks, for a value not held in a <see cref="Metric"/>).</summary>
    /// <param name="key">The key.</param>
    /// <param name="timestamp">Milliseconds since the Unix epoch.</param>
    public static void ValidateMetric(string key, long timestamp)
    {
        ValidateMetricKey(key);
        ValidateMetricTimestamp(key, timestamp);
    }

    /// <summary>Checks a metric's timestamp: a non-negative number of milliseconds since the Unix epoch.</summary>
    /// <param name="key">The metric's key (named in the message).</param>
    /// <param name="timestamp">The timestamp.</param>
    public static void ValidateMetricTimestamp(string key, long timestamp)
    {
        if (timestamp < 0)
        {
            throw new MlflowValidationException("timestamp",
                $"Metric '{key}' has timestamp {timestamp.ToString(CultureInfo.InvariantCulture)}; it must be a non-negative number of milliseconds since the Unix epoch.");
        }
    }

    /// <summary>Checks an experiment name: not empty, at most 500 characters.</summary>
    /// <param name="name">The name.</param>
    public static void ValidateExperimentName(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw new MlflowValidationException("name", "Experiment name must not be empty.");
        }

        if (name.Length > MlflowLimits.MaxExperimentNameLength && CodePoints(name) > MlflowLimits.MaxExperimentNameLength)
        {
            throw new MlflowValidationException("name",
                $"Experiment name has length {CodePoints(name)}, which exceeds the limit of {MlflowLimits.MaxExperimentNameLength} characters.");
        }
    }

    /// <summary>Checks a registered model alias: characters, length, and the reserved <c>latest</c> and <c>v&lt;digits&gt;</c>.</summary>
    /// <param name="alias">The alias.</param>
    public static void ValidateAlias(string? alias)
    {
        if (string.IsNullOrEmpty(alias))
        {
            throw new MlflowValidationException("alias", "Registered model alias must not be empty.");
        }

        foreach (var c in alias)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_' || c == '-' || (c > 127 && char.IsLetterOrDigit(c))))
            {
                throw new MlflowValidationException("alias",
                    $"Invalid alias '{alias}': names may only contain alphanumerics, underscores (_) and dashes (-).");
            }
        }

        if (alias.Length > MlflowLimits.MaxRegisteredModelAliasLength)
        {
            throw new MlflowValidationException("alias",
                $"Registered model alias has length {alias.Length}, which exceeds the limit of {MlflowLimits.MaxRegisteredModelAliasLength} characters.");
        }

        if (alias.Equals("latest", StringComparison.OrdinalIgnoreCase))
        {
            throw new MlflowValidationException("alias", "The alias 'latest' (case insensitive) is reserved.");
        }

        if (alias.Length > 1 && (alias[0] == 'v' || alias[0] == 'V') && alias.AsSpan(1).IndexOfAnyExceptInRange('0', '9') < 0)
        {
            throw new MlflowValidationException("alias", $"Version alias name '{alias}' is reserved.");
        }
    }

    /// <summary>Checks a dataset and its input tags against MLflow's size limits.</summary>
    /// <param name="input">The dataset input.</param>
    public static void ValidateDatasetInput(DatasetInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var d = input.Dataset ?? throw new MlflowValidationException("dataset", "A dataset input needs a dataset.");
        if (string.IsNullOrEmpty(d.Name))
        {
            throw new MlflowValidationException("dataset.name", "A dataset needs a name.");
        }

        CheckLength("dataset.name", "Dataset name", d.Name, MlflowLimits.MaxDatasetNameLength);
        CheckLength("dataset.digest", "Dataset digest", d.Digest, MlflowLimits.MaxDatasetDigestLength);
        if (string.IsNullOrEmpty(d.SourceType))
        {
            throw new MlflowValidationException("dataset.source_type", $"Dataset '{d.Name}' needs a source type (e.g. 'local', 'http', 'code').");
        }

        CheckLength("dataset.source", "Dataset source", d.Source, MlflowLimits.MaxDatasetSourceLength);
        CheckLength("dataset.schema", "Dataset schema", d.Schema, MlflowLimits.MaxDatasetSchemaLength);
        CheckLength("dataset.profile", "Dataset profile", d.Profile, MlflowLimits.MaxDatasetProfileLength);
        foreach (var tag in input.Tags)
        {
            if (string.IsNullOrEmpty(tag.Key))
            {
                throw new MlflowValidationException("tags.key", "An input tag needs a key.");
            }

            CheckLength("tags.key", "Input tag key", tag.Key, MlflowLimits.MaxInputTagKeyLength);
            CheckLength("tags.value", $"Input tag '{tag.Key}' value", tag.Value, MlflowLimits.MaxInputTagValueLength);
        }
    }

    /// <summary>Checks the counts of one <c>log-batch</c> request and that no param key repeats.</summary>
    /// <param name="metrics">Metrics count.</param>
    /// <param name="parameters">The params.</param>
    /// <param name="tags">Tags count.</param>
    public static void ValidateBatchCounts(int metrics, IReadOnlyCollection<Param> parameters, int tags)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        CheckCount("metrics", metrics, MlflowLimits.MaxMetricsPerBatch);
        CheckCount("params", parameters.Count, MlflowLimits.MaxParamsPerBatch);
        CheckCount("tags", tags, MlflowLimits.MaxTagsPerBatch);
        CheckCount("metrics, params, and tags", metrics + parameters.Count + tags, MlflowLimits.MaxEntitiesPerBatch);
        if (parameters.Count > 1)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in parameters)
            {
                if (!seen.Add(p.Key))
                {
                    throw new MlflowValidationException("params",
                        $"Param key '{p.Key}' appears more than once in one batch; a batch may contain one value per param key.");
                }
            }
        }
    }

    /// <summary>Returns why <paramref name="key"/> is not a valid MLflow key, or <see langword="null"/> when it is.</summary>
    /// <param name="key">The key.</param>
    /// <param name="maxLength">The length limit.</param>
    public static string? CheckKey(string? key, int maxLength = MlflowLimits.MaxEntityKeyLength)
    {
        if (string.IsNullOrEmpty(key))
        {
            return "a key name must be provided";
        }

        var length = CodePoints(key);
        if (length > maxLength)
        {
            return $"key '{key[..Math.Min(key.Length, 40)]}…' has length {length}, which exceeds the limit of {maxLength} characters";
        }

        // Python's re.match(r"^[/\w.\- :]*$", name): '$' also matches before one final newline.
        var body = key.EndsWith('\n') ? key[..^1] : key;
        foreach (var rune in body.EnumerateRunes())
        {
            if (!IsKeyChar(rune))
            {
                return $"invalid key '{key}': {BadCharacters}";
            }
        }

        if (!IsNormalizedPath(key))
        {
            return $"invalid key '{key}': names may be treated as files in certain cases, and must not resolve to other names when treated as such";
        }

        return null;
    }

    private static void ValidateKey(string field, string? key, int maxLength = MlflowLimits.MaxEntityKeyLength)
    {
        var problem = CheckKey(key, maxLength);
        if (problem is not null)
        {
            throw new MlflowValidationException(field, $"{field}: {problem}.");
        }
    }

    private static void ValidateValue(string field, string key, string? value, int limit)
    {
        if (value is null)
        {
            throw new MlflowValidationException(field, $"{field} of '{key}' must not be null.");
        }

        if (value.Length > limit && CodePoints(value) is var length && length > limit)
        {
            throw new MlflowValidationException(field,
                $"{field} of '{key}' has length {length}, which exceeds the limit of {limit} characters.");
        }
    }

    private static void CheckLength(string field, string what, string? value, int limit)
    {
        if (value is not null && value.Length > limit && CodePoints(value) is var length && length > limit)
        {
            throw new MlflowValidationException(field, $"{what} has length {length}, which exceeds the limit of {limit} characters.");
        }
    }

    private static void CheckCount(string what, int count, int limit)
    {
        if (count > limit)
        {
            throw new MlflowValidationException(what,
                $"A batch logging request can contain at most {limit} {what}. Got {count} {what}.");
        }
    }

    /// <summary>
    /// Python's <c>\w</c> on text — letters (Lu, Ll, Lt, Lm, Lo), numbers (Nd, Nl, No: "x²" and "Ⅷ" pass) and '_', but
    /// not combining marks or other connector punctuation — plus / . - space and colon, as MLflow's
    /// <c>validate_param_and_metric_name</c>.
    /// </summary>
    private static bool IsKeyChar(Rune rune) =>
        rune.Value is '_' or '/' or '.' or '-' or ' ' or ':'
        || Rune.GetUnicodeCategory(rune) is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber
            or UnicodeCategory.OtherNumber;

    /// <summary>The length as Python's <c>len()</c> counts it: code points (an emoji is 1, not 2 UTF-16 units).</summary>
    internal static int CodePoints(string text)
    {
        var count = text.Length;
        for (var i = 0; i < text.Length - 1; i++)
        {
            if (char.IsHighSurrogate(text[i]) && char.IsLowSurrogate(text[i + 1]))
            {
                count--;
                i++;
            }
        }

        return count;
    }

    // posixpath.normpath(name) == name, and not '.', '..…' or '/…'.
    private static bool IsNormalizedPath(string name)
    {
        if (name[0] == '/' || name == "." || name.StartsWith("..", StringComparison.Ordinal))
        {
            return false;
        }

        if (name.EndsWith('/'))
        {
            return false;
        }

        foreach (var part in name.Split('/'))
        {
            if (part.Length == 0 || part == "." || part == "..")
            {
                return false;
            }
        }

        return true;
    }
}
