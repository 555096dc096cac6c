namespace MlOps.Client;

/// <summary>
/// One metric value as the batched uploader carries it to a store: a struct, so that a batch of a thousand values is
/// one array rather than a thousand <see cref="Metric"/> objects (issue V: those objects were the uploader's garbage
/// collections, which stop the training thread too). The built-in stores write it as they would the
/// <see cref="Metric"/> it stands for: the same request bytes, the same rows.
/// </summary>
/// <param name="Key">The metric key.</param>
/// <param name="Value">The value.</param>
/// <param name="Timestamp">Milliseconds since the Unix epoch.</param>
/// <param name="Step">The step.</param>
/// <param name="Link">The logged model and dataset the value is linked to (MLflow 3), or <see langword="null"/>.</param>
internal readonly record struct MetricRow(string Key, double Value, long Timestamp, long Step, MetricLink? Link = null)
{
    /// <summary>The row standing for <paramref name="metric"/> (its run id, which a log-batch does not carry, left out).</summary>
    public static MetricRow Of(Metric metric) => new(metric.Key, metric.Value, metric.Timestamp, metric.Step, MetricLink.Of(metric));

    /// <summary>The <see cref="Metric"/> this row stands for.</summary>
    public Metric ToMetric()
    {
        var metric = new Metric(Key, Value, Timestamp, Step);
        return Link is null ? metric : Link.Apply(metric);
    }
}

/// <summary>What an MLflow 3 metric is linked to: a logged model and/or the dataset it was measured on.</summary>
/// <param name="ModelId">The logged model, or <see langword="null"/>.</param>
/// <param name="DatasetName">The dataset's name, or <see langword="null"/>.</param>
/// <param name="DatasetDigest">The dataset's digest, or <see langword="null"/>.</param>
internal sealed record MetricLink(string? ModelId, string? DatasetName, string? DatasetDigest)
{
    /// <summary>The link of <paramref name="metric"/>, or <see langword="null"/> when it has none.</summary>
    public static MetricLink? Of(Metric metric) =>
        metric.ModelId is null && metric.DatasetName is null && metric.DatasetDigest is null ? null : new(metric.ModelId, metric.DatasetName, metric.DatasetDigest);

    /// <summary>The metric carrying this link.</summary>
    public Metric Apply(Metric metric) => metric with { ModelId = ModelId, DatasetName = DatasetName, DatasetDigest = DatasetDigest };
}
