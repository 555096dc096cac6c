using System.Globalization;

namespace XGBoostIris;

/// <summary>The iris data and scikit-learn's <c>train_test_split(X, y, test_size=0.3, random_state=25)</c> of it, row for row.</summary>
public static class Iris
{
    /// <summary>The folder holding <c>iris.csv</c> and <c>iris-split-rs25.csv</c> (copied next to the program).</summary>
    public static string DataDirectory => Path.Combine(AppContext.BaseDirectory, "data");

    /// <summary>Loads the split: features as float, labels 0/1/2, each set in scikit-learn's order.</summary>
    public static (float[][] XTrain, float[] YTrain, float[][] XTest, float[] YTest) LoadSplit(string? directory = null)
    {
        directory ??= DataDirectory;
        var rows = File.ReadLines(Path.Combine(directory, "iris.csv")).Skip(1)
            .Select(line => line.Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray())
            .ToArray();
        var split = File.ReadLines(Path.Combine(directory, "iris-split-rs25.csv")).Skip(1)
            .Select(line => line.Split(','))
            .Select(p => (Row: int.Parse(p[0], CultureInfo.InvariantCulture), Set: p[1], Order: int.Parse(p[2], CultureInfo.InvariantCulture)))
            .ToArray();

        (float[][] X, float[] Y) Take(string set)
        {
            var ordered = split.Where(s => s.Set == set).OrderBy(s => s.Order).Select(s => rows[s.Row]).ToArray();
            // numpy float64 → XGBoost's float32, as DMatrix does in Python.
            return ([.. ordered.Select(r => r[..4].Select(v => (float)v).ToArray())], [.. ordered.Select(r => (float)r[4])]);
        }

        var (xTrain, yTrain) = Take("train");
        var (xTest, yTest) = Take("test");
        return (xTrain, yTrain, xTest, yTest);
    }
}

/// <summary>scikit-learn 1.2's <c>log_loss</c> and <c>accuracy_score</c> for float32 probabilities.</summary>
public static class Metrics
{
    /// <summary><c>sklearn.metrics.log_loss(y_true, y_proba)</c>: clip at float32 epsilon, renormalise rows, mean negative log likelihood.</summary>
    public static double LogLoss(float[] labels, float[] probabilities, int classes)
    {
        var eps = MathF.BitIncrement(1f) - 1f; // np.finfo(np.float32).eps
        var total = 0.0;
        for (var i = 0; i < labels.Length; i++)
        {
            var row = new float[classes];
            var sum = 0f;
            for (var k = 0; k < classes; k++)
            {
                row[k] = Math.Clamp(probabilities[(i * classes) + k], eps, 1 - eps);
                sum += row[k];
            }

            total -= Math.Log(row[(int)labels[i]] / sum);
        }

        return total / labels.Length;
    }

    /// <summary><c>accuracy_score(y_true, argmax(y_proba))</c>.</summary>
    public static double Accuracy(float[] labels, float[] probabilities, int classes)
    {
        var correct = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            var row = probabilities.AsSpan(i * classes, classes);
            var best = 0;
            for (var k = 1; k < classes; k++)
            {
                if (row[k] > row[best])
                {
                    best = k;
                }
            }

            correct += best == (int)labels[i] ? 1 : 0;
        }

        return (double)correct / labels.Length;
    }
}
