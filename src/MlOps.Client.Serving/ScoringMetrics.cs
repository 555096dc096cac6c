using System.Diagnostics.Metrics;
using MlOps.Client.Serving.Output;

namespace MlOps.Client.Serving;

/// <summary>
/// The served model's production metrics, meter <c>MlOps.Client.Serving</c> (export them with OpenTelemetry's
/// <c>AddMeter("MlOps.Client.Serving")</c>), all tagged with <c>model</c> (the model URI):
/// <list type="bullet">
/// <item><c>mlops.serving.requests</c>: requests, by <c>http.response.status_code</c> (and <c>error_code</c> when refused);</item>
/// <item><c>mlops.serving.errors</c>: refused requests, by <c>error_code</c> (<c>BAD_REQUEST</c>, <c>INVALID_PARAMETER_VALUE</c>);</item>
/// <item><c>mlops.serving.request.duration</c> (s): the latency histogram;</item>
/// <item><c>mlops.serving.rows</c>: rows per answered request;</item>
/// <item><c>mlops.serving.prediction</c>: each predicted number, by <c>output</c> (the output's name, or its index
/// for a model's unnamed output) — its count, sum (mean), min and max per output are the histogram's;</item>
/// <item><c>mlops.serving.predicted_class</c>: predicted classes, by <c>output</c> and <c>class</c> (labels; the
/// most probable class of a <c>multi:softprob</c> XGBoost model, by index).</item>
/// </list>
/// </summary>
public sealed class ScoringMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "MlOps.Client.Serving";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Requests = Meter.CreateCounter<long>("mlops.serving.requests", "{request}", "Scoring requests, by status code.");
    private static readonly Counter<long> Errors = Meter.CreateCounter<long>("mlops.serving.errors", "{request}", "Refused scoring requests, by MLflow error code.");
    /// <summary>
    /// The latency histogram's bucket boundaries (seconds), given as the instrument's advice (OpenTelemetry's SDK takes
    /// them): from 100 µs — an answer here takes well under a millisecond — to 10 s. OpenTelemetry's default boundaries
    /// start at 5 (meant for milliseconds) and would put every request in the first bucket.
    /// </summary>
    public static readonly IReadOnlyList<double> DurationBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>The rows-per-request histogram's bucket boundaries.</summary>
    public static readonly IReadOnlyList<long> RowBuckets = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 100000];

    private static readonly Histogram<double> Duration = Meter.CreateHistogram("mlops.serving.request.duration", "s", "Time to answer a scoring request.",
        tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
    private static readonly Histogram<long> Rows = Meter.CreateHistogram("mlops.serving.rows", "{row}", "Rows per scoring request.",
        tags: null, advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = RowBuckets });
    private static readonly Histogram<double> Predictions = Meter.CreateHistogram<double>("mlops.serving.prediction", "1", "Predicted values, by output.");
    private static readonly Counter<long> Classes = Meter.CreateCounter<long>("mlops.serving.predicted_class", "{row}", "Predicted classes, by output and class.");

    private readonly KeyValuePair<string, object?> _model;

    internal ScoringMetrics(string model) => _model = new("model", model);

    internal void RecordRequest(int status, string? errorCode, int rows, TimeSpan elapsed)
    {
        var code = new KeyValuePair<string, object?>("http.response.status_code", status);
        if (errorCode is null)
        {
            Requests.Add(1, _model, code);
            Duration.Record(elapsed.TotalSeconds, _model, code);
            Rows.Record(rows, _model);
            return;
        }

        var error = new KeyValuePair<string, object?>("error_code", errorCode);
        Requests.Add(1, _model, code, error);
        Errors.Add(1, _model, error);
        Duration.Record(elapsed.TotalSeconds, _model, code);
    }

    internal void RecordPredictions(Predictions predictions)
    {
        for (var c = 0; c < predictions.Columns.Count; c++)
        {
            var column = predictions.Columns[c];
            if (column.Labels is { } labels)
            {
                // Only a classifier's label (a bounded set of classes) becomes a tag; other text outputs would make
                // unbounded tag values, and could carry what requests sent.
                if (column.IsClass && Classes.Enabled)
                {
                    var output = new KeyValuePair<string, object?>("output", column.Name ?? "0");
                    foreach (var group in labels.GroupBy(l => l, StringComparer.Ordinal))
                    {
                        Classes.Add(group.Count(), _model, output, new("class", group.Key));
                    }
                }

                continue;
            }

            RecordNumbers(predictions, column, predictions.ClassIndex && predictions.Columns.Count == 1);
        }
    }

    private void RecordNumbers(Predictions predictions, OutputColumn column, bool classProbabilities)
    {
        var numbers = column.Numbers!;
        var width = column.Width;
        if (Predictions.Enabled)
        {
            var tags = Enumerable.Range(0, width).Select(o => new KeyValuePair<string, object?>("output", width == 1 && column.Name is not null ? column.Name : column.Name is null ? o : $"{column.Name}[{o}]")).ToArray();
            for (var i = 0; i < predictions.Rows * width; i++)
            {
                Predictions.Record(numbers[i], _model, tags[i % width]);
            }
        }

        if (classProbabilities && Classes.Enabled)
        {
            var counts = new long[width];
            for (var r = 0; r < predictions.Rows; r++)
            {
                var best = 0;
                for (var o = 1; o < width; o++)
                {
                    if (numbers[(r * width) + o] > numbers[(r * width) + best])
                    {
                        best = o;
                    }
                }

                counts[best]++;
            }

            var output = new KeyValuePair<string, object?>("output", column.Name ?? "0");
            for (var o = 0; o < width; o++)
            {
                if (counts[o] > 0)
                {
                    Classes.Add(counts[o], _model, output, new("class", o));
                }
            }
        }
    }
}
