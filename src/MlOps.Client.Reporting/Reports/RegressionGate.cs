using System.Globalization;
using System.Text.RegularExpressions;

namespace MlOps.Client.Reporting;

/// <summary>
/// A condition that fails a pipeline, such as <c>accuracy &lt; baseline - 0.01</c> or <c>log_loss &gt; 0.2</c>:
/// <c>&lt;metric&gt; &lt;op&gt; &lt;bound&gt;</c> with <c>&lt;</c>, <c>&lt;=</c>, <c>&gt;</c>, <c>&gt;=</c>, <c>==</c>, <c>!=</c>, and a bound
/// that is a number, <c>baseline</c>, <c>baseline ± number</c> or <c>baseline * number</c>. The gate is triggered (the
/// run regressed) when the condition holds.
/// </summary>
public sealed partial class RegressionGate
{
    private RegressionGate(string text, string metric, string op, bool usesBaseline, char arithmetic, double number)
    {
        Text = text;
        Metric = metric;
        Operator = op;
        UsesBaseline = usesBaseline;
        _arithmetic = arithmetic;
        _number = number;
    }

    private readonly char _arithmetic;
    private readonly double _number;

    /// <summary>The expression as written.</summary>
    public string Text { get; }

    /// <summary>The metric key.</summary>
    public string Metric { get; }

    /// <summary>The comparison operator.</summary>
    public string Operator { get; }

    /// <summary>Whether the bound refers to the baseline's value.</summary>
    public bool UsesBaseline { get; }

    /// <summary>Parses an expression.</summary>
    /// <param name="text">The expression, e.g. <c>accuracy &lt; baseline - 0.01</c>.</param>
    /// <exception cref="FormatException">The expression does not follow the grammar (the message says what it expects).</exception>
    public static RegressionGate Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var m = Grammar().Match(text);
        if (!m.Success)
        {
            throw new FormatException(
                $"'{text}' is not a gate: write '<metric> <op> <bound>' with op one of < <= > >= == != and bound a number, 'baseline', 'baseline - 0.01' or 'baseline * 0.95'.");
        }

        var metric = m.Groups["metric"].Value;
        var op = m.Groups["op"].Value;
        if (m.Groups["base"].Success)
        {
            var arithmetic = m.Groups["arith"].Success ? m.Groups["arith"].Value[0] : ' ';
            var number = m.Groups["by"].Success ? double.Parse(m.Groups["by"].Value, NumberStyles.Float, CultureInfo.InvariantCulture) : 0;
            return new RegressionGate(text.Trim(), metric, op, true, arithmetic, number);
        }

        return new RegressionGate(text.Trim(), metric, op, false, ' ', double.Parse(m.Groups["number"].Value, NumberStyles.Float, CultureInfo.InvariantCulture));
    }

    /// <summary>The bound for a baseline value (<see langword="null"/> when the gate needs a baseline and there is none).</summary>
    /// <param name="baseline">The baseline's value of <see cref="Metric"/>, if any.</param>
    public double? Bound(double? baseline) => !UsesBaseline ? _number
        : baseline is not { } b ? null
        : _arithmetic switch { '+' => b + _number, '-' => b - _number, '*' => b * _number, _ => b };

    /// <summary>Evaluates the gate.</summary>
    /// <param name="value">The run's value of <see cref="Metric"/>, if it has one.</param>
    /// <param name="baseline">The baseline's value, if any.</param>
    public GateResult Evaluate(double? value, double? baseline)
    {
        if (value is not { } v)
        {
            return new GateResult(this, GateOutcome.Triggered, $"the run has no metric '{Metric}'");
        }

        if (Bound(baseline) is not { } bound)
        {
            return new GateResult(this, GateOutcome.NotEvaluated, "no baseline value: not evaluated");
        }

        var holds = Operator switch
        {
            "<" => v < bound,
            "<=" => v <= bound,
            ">" => v > bound,
            ">=" => v >= bound,
            "==" => v == bound,
            _ => v != bound,
        };
        var detail = string.Create(CultureInfo.InvariantCulture, $"{Metric} = {v:G6} {(holds ? "" : "not ")}{Operator} {bound:G6}");
        return new GateResult(this, holds ? GateOutcome.Triggered : GateOutcome.Passed, detail);
    }

    [GeneratedRegex(@"^\s*(?<metric>[\w.\-/:]+)\s*(?<op><=|>=|==|!=|<|>)\s*(?:(?<base>baseline)(?:\s*(?<arith>[-+*])\s*(?<by>\d+(?:\.\d+)?(?:[eE][-+]?\d+)?))?|(?<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?))\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex Grammar();
}

/// <summary>How a gate came out.</summary>
public enum GateOutcome
{
    /// <summary>The condition does not hold: no regression.</summary>
    Passed,

    /// <summary>The condition holds (or the run lacks the metric): the pipeline should fail.</summary>
    Triggered,

    /// <summary>The gate compares with a baseline that has no value for the metric.</summary>
    NotEvaluated,
}

/// <summary>A gate's outcome with a one-line explanation.</summary>
/// <param name="Gate">The gate.</param>
/// <param name="Outcome">The outcome.</param>
/// <param name="Detail">What was compared.</param>
public sealed record GateResult(RegressionGate Gate, GateOutcome Outcome, string Detail);
