using System.Globalization;

namespace MlOps.Client.Monitoring;

/// <summary>
/// A window of served data, column by column: what drift detection compares with the <see cref="ReferenceProfile"/>.
/// Numbers and text are kept as given; each column is read as its profile's kind when compared (numbers as float32, as
/// the model reads them; text that is not a number is a missing number).
/// </summary>
public sealed class DataWindow
{
    private readonly Dictionary<string, List<double>> _numbers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<string?>> _texts = new(StringComparer.Ordinal);

    /// <summary>Rows added (<see cref="EndRow"/> calls).</summary>
    public long Rows { get; private set; }

    /// <summary>The window's position among its monitor's windows (0 first).</summary>
    public long Index { get; init; }

    /// <summary>When the window's first row was served (or the window opened).</summary>
    public DateTimeOffset Start { get; set; }

    /// <summary>When its last row was served (or it closed).</summary>
    public DateTimeOffset End { get; set; }

    /// <summary>Adds a number to column <paramref name="column"/> of the current row (NaN = missing).</summary>
    /// <param name="column">The column.</param>
    /// <param name="value">The value.</param>
    public void Add(string column, double value)
    {
        if (!_numbers.TryGetValue(column, out var list))
        {
            _numbers[column] = list = [];
        }

        list.Add(value);
    }

    /// <summary>Adds a text (a category; null = missing) to column <paramref name="column"/> of the current row.</summary>
    /// <param name="column">The column.</param>
    /// <param name="value">The value.</param>
    public void Add(string column, string? value)
    {
        if (!_texts.TryGetValue(column, out var list))
        {
            _texts[column] = list = [];
        }

        list.Add(value);
    }

    /// <summary>Ends the current row.</summary>
    public void EndRow() => Rows++;

    /// <summary>The column's values as numbers (float32, missing and non-numbers dropped) and how many were missing.</summary>
    internal (double[] Values, long Missing) Numbers(string column)
    {
        var values = new List<double>();
        long missing = 0;
        if (_numbers.TryGetValue(column, out var numbers))
        {
            foreach (var v in numbers)
            {
                if (double.IsNaN(v) || double.IsInfinity(v))
                {
                    missing++;
                }
                else
                {
                    values.Add((float)v);
                }
            }
        }

        if (_texts.TryGetValue(column, out var texts))
        {
            foreach (var t in texts)
            {
                if (t is not null && double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v))
                {
                    values.Add((float)v);
                }
                else
                {
                    missing++;
                }
            }
        }

        return ([.. values], missing);
    }

    /// <summary>The column's values as categories (numbers as their float32 round-trip text) and how many were missing.</summary>
    internal (string[] Values, long Missing) Categories(string column)
    {
        var values = new List<string>();
        long missing = 0;
        if (_texts.TryGetValue(column, out var texts))
        {
            foreach (var t in texts)
            {
                if (t is null)
                {
                    missing++;
                }
                else
                {
                    values.Add(t);
                }
            }
        }

        if (_numbers.TryGetValue(column, out var numbers))
        {
            foreach (var v in numbers)
            {
                if (double.IsNaN(v))
                {
                    missing++;
                }
                else
                {
                    values.Add(((float)v).ToString("R", CultureInfo.InvariantCulture));
                }
            }
        }

        return ([.. values], missing);
    }
}
