using System.Globalization;
using MlOps.Client.Evaluation;

namespace MlOps.Client.Monitoring;

/// <summary>
/// Turns logged requests into a <see cref="DataWindow"/> (inputs as the profile's columns, predictions as one value per
/// row: a number, a label, or a classifier's most probable class) and keeps what performance needs (each row's
/// prediction by request id, joined with ground truth). Used online by <see cref="DriftMonitor"/> and offline by
/// <see cref="DriftMonitor.Analyze"/>; one thread at a time.
/// </summary>
internal sealed class WindowAssembler(ReferenceProfile reference)
{
    private readonly List<(string RequestId, int Row, object? Prediction)> _rows = [];

    public DataWindow Window { get; private set; } = new();

    public long Rows => Window.Rows;

    public bool IsEmpty => Window.Rows == 0;

    public void Open(long index, DateTimeOffset start)
    {
        Window = new DataWindow { Index = index, Start = start, End = start };
        _rows.Clear();
    }

    public void Add(InferenceRecord record)
    {
        if (Window.Rows == 0)
        {
            Window.Start = record.Timestamp;
        }

        Window.End = record.Timestamp;
        var prediction = reference.Predictions.Count > 0 ? reference.Predictions[0].Name : "prediction";
        for (var r = 0; r < record.Rows; r++)
        {
            foreach (var column in record.Inputs)
            {
                if (r >= column.Values.Count)
                {
                    continue;
                }

                if (column.Values is NumberValues numbers)
                {
                    Window.Add(column.Name, numbers.Values[r]); // no box per value
                }
                else
                {
                    Add(column.Name, column.Values[r]);
                }
            }

            object? predicted = null;
            foreach (var column in record.Predictions)
            {
                if (r >= column.Values.Count)
                {
                    continue;
                }

                var name = record.Predictions.Count == 1 ? prediction : column.Name;
                if (column.Values is VectorValues vectors)
                {
                    Window.Add(name, ClassNames[Math.Min(vectors.ArgMax(r), ClassNames.Length - 1)]); // the predicted class
                    predicted ??= new VectorRow(vectors, r);
                    continue;
                }

                var value = column.Values[r];
                if (value is double[] probabilities)
                {
                    Window.Add(name, ArgMax(probabilities).ToString(CultureInfo.InvariantCulture)); // the predicted class
                }
                else
                {
                    Add(name, value);
                }

                predicted ??= value;
            }

            _rows.Add((record.RequestId, r, predicted));
            Window.EndRow();
        }
    }

    /// <summary>Class indices as text, made once ("0", "1", …).</summary>
    private static readonly string[] ClassNames = [.. Enumerable.Range(0, 1024).Select(i => i.ToString(CultureInfo.InvariantCulture))];

    /// <summary>A row of a vector column, read (copied) only when ground truth asks for it.</summary>
    private sealed record VectorRow(VectorValues Vectors, int Row);

    private void Add(string column, object? value)
    {
        switch (value)
        {
            case double d:
                Window.Add(column, d);
                break;
            case string s:
                Window.Add(column, s);
                break;
            case bool b:
                Window.Add(column, b ? "True" : "False");
                break;
            case null:
                Window.Add(column, (string?)null);
                break;
            default:
                break; // vectors (array inputs) are not profiled
        }
    }

    /// <summary>Closes the window: its drift, and its performance over the rows whose ground truth <paramref name="feedback"/> holds.</summary>
    public DriftReport Close(DriftOptions options, Func<string, IReadOnlyList<object?>?> feedback)
    {
        var report = DriftDetector.Detect(reference, Window, options);
        var (metrics, labeled) = Performance(feedback);
        return new DriftReport
        {
            Window = report.Window,
            Start = report.Start,
            End = report.End,
            Rows = report.Rows,
            Features = report.Features,
            Predictions = report.Predictions,
            DatasetDriftShare = report.DatasetDriftShare,
            Performance = metrics,
            LabeledRows = labeled,
        };
    }

    /// <summary>MLflow's evaluation metrics over the labelled rows: a classifier's from probabilities (class-index targets) or accuracy from labels; a regressor's.</summary>
    private (IReadOnlyList<KeyValuePair<string, double>> Metrics, long Labeled) Performance(Func<string, IReadOnlyList<object?>?> feedback)
    {
        var pairs = new List<(object Target, object Prediction)>();
        foreach (var (requestId, row, prediction) in _rows)
        {
            if (prediction is not null && feedback(requestId) is { } targets && row < targets.Count && targets[row] is { } target)
            {
                pairs.Add((target, prediction is VectorRow v ? v.Vectors[v.Row]! : prediction));
            }
        }

        if (pairs.Count == 0)
        {
            return ([], 0);
        }

        try
        {
            if (pairs.All(p => p.Prediction is double[] && p.Target is double))
            {
                var labels = pairs.Select(p => (int)(double)p.Target).ToArray();
                return (ModelEvaluation.EvaluateClassifier(labels, [.. pairs.Select(p => (double[])p.Prediction)]).Metrics, pairs.Count);
            }

            var classification = reference.Target?.Kind == FeatureKind.Categorical || pairs.Any(p => p.Target is string || p.Prediction is string);
            if (!classification && pairs.All(p => p.Target is double && p.Prediction is double))
            {
                return (ModelEvaluation.EvaluateRegressor([.. pairs.Select(p => (double)p.Target)], [.. pairs.Select(p => (double)p.Prediction)]).Metrics, pairs.Count);
            }

            var correct = pairs.Count(p => Text(p.Prediction) == Text(p.Target));
            return ([new("example_count", pairs.Count), new("accuracy_score", (double)correct / pairs.Count)], pairs.Count);
        }
        catch (ArgumentException)
        {
            return ([], pairs.Count); // targets that do not fit the predictions (a class index beyond the outputs)
        }
    }

    private static string Text(object value) => value switch
    {
        double d => ((float)d).ToString("R", CultureInfo.InvariantCulture),
        double[] p => ArgMax(p).ToString(CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    private static int ArgMax(double[] values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }
}
