using MlOps.Client;
using MlOps.Client.Reporting;

namespace MlOps.Client.Reporting.Tests;

/// <summary>The reporting library (what the mlops tool prints, callable from code), in process.</summary>
public sealed class ReportingTests
{
    private static Run NewRun(string id, long start, (string Key, double Value)[] metrics, (string Key, string Value)[] parameters) => new()
    {
        Info = new RunInfo { RunId = id, ExperimentId = "1", Status = RunStatus.Finished, StartTime = start, ArtifactUri = "file:///a" },
        Data = new RunData
        {
            Metrics = [.. metrics.Select(m => new Metric(m.Key, m.Value, start, 0))],
            Params = [.. parameters.Select(p => new Param(p.Key, p.Value))],
        },
    };

    [Theory]
    [InlineData("accuracy < baseline - 0.01", 0.90, 0.92, GateOutcome.Triggered)]
    [InlineData("accuracy < baseline - 0.01", 0.915, 0.92, GateOutcome.Passed)]
    [InlineData("log_loss > baseline * 1.1", 0.2, 0.15, GateOutcome.Triggered)]
    [InlineData("log_loss > 0.3", 0.2, null, GateOutcome.Passed)]
    [InlineData("accuracy <= baseline", 0.9, null, GateOutcome.NotEvaluated)]
    [InlineData("f1 != 1", null, 0.5, GateOutcome.Triggered)] // the run lacks the metric: cannot be shown safe
    public void Gates_follow_their_grammar(string text, double? value, double? baseline, GateOutcome expected)
    {
        var gate = RegressionGate.Parse(text);
        Assert.Equal(expected, gate.Evaluate(value, baseline).Outcome);
    }

    [Theory]
    [InlineData("accuracy")]
    [InlineData("accuracy < ")]
    [InlineData("accuracy < baseline -")]
    [InlineData("accuracy ~ 3")]
    public void A_malformed_gate_says_what_it_expects(string text)
    {
        var error = Assert.Throws<FormatException>(() => RegressionGate.Parse(text));
        Assert.Contains("'<metric> <op> <bound>'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("log_loss", MetricDirection.LowerIsBetter)]
    [InlineData("val_loss", MetricDirection.LowerIsBetter)]
    [InlineData("root_mean_squared_error", MetricDirection.LowerIsBetter)]
    [InlineData("rmse", MetricDirection.LowerIsBetter)]
    [InlineData("accuracy_score", MetricDirection.HigherIsBetter)]
    [InlineData("roc_auc", MetricDirection.HigherIsBetter)]
    public void Directions_are_recognised_by_name_and_can_be_overridden(string key, MetricDirection expected)
    {
        Assert.Equal(expected, RunReport.DirectionOf(key));
        var options = new ReportOptions();
        (expected == MetricDirection.LowerIsBetter ? options.HigherIsBetter : options.LowerIsBetter).Add(key);
        Assert.NotEqual(expected, RunReport.DirectionOf(key, options));
    }

    [Fact]
    public void The_table_has_Pythons_columns_sorted_groups_and_pandas_timestamps()
    {
        var a = NewRun("a", 1_796_206_571_653, [("loss", 0.1), ("acc", 1e-05)], [("lr", "0.1")]);
        var b = NewRun("b", 1_796_206_571_000, [("acc", double.NaN)], [("depth", "3")]);
        var table = RunTable.FromRuns([a, b]);
        Assert.Equal(["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time", "metrics.acc", "metrics.loss", "params.depth", "params.lr"], table.Columns);
        Assert.Equal("2026-12-02 10:16:11.653000+00:00", table[0, "start_time"]);
        Assert.Equal(("1e-05", "nan", null), (table[0, "metrics.acc"], table[1, "metrics.acc"], table[1, "metrics.loss"]));
        Assert.Equal("FINISHED", table[0, "status"]);
        Assert.Null(table[0, "end_time"]);
        using var csv = new StringWriter();
        table.WriteCsv(csv);
        Assert.Equal("b,1,FINISHED,file:///a,2026-12-02 10:16:11.000000+00:00,,nan,,3,", csv.ToString().Split('\n')[2]);
    }

    [Fact]
    public void The_comparison_marks_differences_and_needs_two_runs()
    {
        var a = NewRun("aaaaaaaaaa", 1, [("acc", 0.9)], [("lr", "0.1"), ("seed", "1")]);
        var b = NewRun("bbbbbbbbbb", 2, [("acc", 0.95)], [("lr", "0.1")]);
        var comparison = RunComparison.Create([a, b]);
        Assert.Equal([("params", "lr", false), ("params", "seed", true), ("metrics", "acc", true)], comparison.Values.Select(v => (v.Section, v.Key, v.Differs)));
        Assert.Throws<ArgumentException>(() => RunComparison.Create([a]));
    }
}

/// <summary>The metric chart's step axis.</summary>
public sealed class MetricPlotTests
{
    [Fact]
    public void A_short_history_gets_ticks_on_whole_steps_only()
    {
        var history = new[] { new Metric("loss", 0.9, 1, 0), new Metric("loss", 0.5, 2, 1), new Metric("loss", 0.4, 3, 2) };
        var plot = MetricPlot.Build([new MetricSeries("loss", history)], "loss", "loss");
        plot.GetImageBytes(800, 500, ScottPlot.ImageFormat.Png); // lays the ticks out
        var ticks = plot.Axes.Bottom.TickGenerator.Ticks.Where(t => t.IsMajor).Select(t => t.Position).ToList();
        Assert.NotEmpty(ticks);
        Assert.All(ticks, p => Assert.Equal(Math.Round(p), p));
    }
}
