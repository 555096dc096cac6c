using System.Globalization;
using System.Text;
using MlOps.Client;
using MlOps.Client.Formatting;
using MlOps.Client.Models;
using MlOps.Client.Stores;

namespace MlOps.Client.Reporting;

/// <summary>Whether a larger value of a metric is better.</summary>
public enum MetricDirection
{
    /// <summary>Larger is better (accuracy, f1, auc…).</summary>
    HigherIsBetter,

    /// <summary>Smaller is better (loss, error, mse…).</summary>
    LowerIsBetter,
}

/// <summary>A metric of the report: the run's final value, the baseline's, and which is better.</summary>
/// <param name="Key">The metric key.</param>
/// <param name="Value">The run's latest value.</param>
/// <param name="Baseline">The baseline's latest value, if any.</param>
/// <param name="Direction">Which way is better.</param>
public sealed record MetricDelta(string Key, double Value, double? Baseline, MetricDirection Direction)
{
    /// <summary>Value − baseline, or <see langword="null"/> without a baseline value.</summary>
    public double? Delta => Baseline is { } b ? Value - b : null;

    /// <summary><c>better</c>, <c>worse</c>, <c>same</c>, or <c>new</c> (no baseline value).</summary>
    public string Verdict => Delta switch
    {
        null => "new",
        0 => "same",
        > 0 => Direction == MetricDirection.HigherIsBetter ? "better" : "worse",
        _ => Direction == MetricDirection.HigherIsBetter ? "worse" : "better",
    };
}

/// <summary>What goes into a report.</summary>
public sealed class ReportOptions
{
    /// <summary>The run to compare with: a run id, or a model URI (<c>models:/name@alias</c>, <c>models:/name/version</c>, <c>models:/&lt;model id&gt;</c>) whose source run is used.</summary>
    public string? Baseline { get; set; }

    /// <summary>Gates (<see cref="RegressionGate"/> expressions); a triggered one makes <see cref="RunReport.Passed"/> false.</summary>
    public IList<string> FailIf { get; } = [];

    /// <summary>Metrics where smaller is better, besides those recognised by name (loss, error, mse, mae, rmse, mape…).</summary>
    public ISet<string> LowerIsBetter { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Metrics where larger is better, overriding recognition by name.</summary>
    public ISet<string> HigherIsBetter { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Draw the metric histories with more than one point as PNG files beside the report. Default true.</summary>
    public bool Plots { get; set; } = true;
}

/// <summary>
/// The CI report of a training run: its identity (with a link to the tracking server's UI), params, final metrics with
/// the change against a baseline run (better/worse by each metric's direction), the gates, and the metric histories as
/// PNG figures — as markdown to post on a pull request.
/// </summary>
public sealed class RunReport
{
    private static readonly string[] LowerIsBetterWords = ["loss", "error", "mse", "mae", "rmse", "mape", "perplexity", "latency", "duration"];

    private readonly Dictionary<string, IReadOnlyList<Metric>> _histories;
    private readonly Dictionary<string, IReadOnlyList<Metric>> _baselineHistories;

    private RunReport(
        Run run, Run? baseline, string? baselineSource, string? runLink, IReadOnlyList<MetricDelta> metrics, IReadOnlyList<GateResult> gates,
        Dictionary<string, IReadOnlyList<Metric>> histories, Dictionary<string, IReadOnlyList<Metric>> baselineHistories, bool plots)
    {
        Run = run;
        Baseline = baseline;
        BaselineSource = baselineSource;
        RunLink = runLink;
        Metrics = metrics;
        Gates = gates;
        _histories = histories;
        _baselineHistories = baselineHistories;
        Plots = plots;
    }

    /// <summary>The reported run.</summary>
    public Run Run { get; }

    /// <summary>The baseline run, if one was given.</summary>
    public Run? Baseline { get; }

    /// <summary>How the baseline was named (a run id or a model URI).</summary>
    public string? BaselineSource { get; }

    /// <summary>The run's page in the tracking server's UI, when the store is a server.</summary>
    public string? RunLink { get; }

    /// <summary>The run's metrics (sorted by key) with their baseline values.</summary>
    public IReadOnlyList<MetricDelta> Metrics { get; }

    /// <summary>The gates' outcomes.</summary>
    public IReadOnlyList<GateResult> Gates { get; }

    /// <summary>Whether no gate was triggered.</summary>
    public bool Passed => Gates.All(g => g.Outcome != GateOutcome.Triggered);

    private bool Plots { get; }

    /// <summary>Which way is better for <paramref name="key"/>: the options first, then the name (loss, error, mse… → lower).</summary>
    /// <param name="key">The metric key.</param>
    /// <param name="options">The options.</param>
    public static MetricDirection DirectionOf(string key, ReportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (options?.HigherIsBetter.Contains(key) == true)
        {
            return MetricDirection.HigherIsBetter;
        }

        if (options?.LowerIsBetter.Contains(key) == true)
        {
            return MetricDirection.LowerIsBetter;
        }

        var lower = key.ToLowerInvariant();
        return LowerIsBetterWords.Any(w => lower.Contains(w, StringComparison.Ordinal)) ? MetricDirection.LowerIsBetter : MetricDirection.HigherIsBetter;
    }

    /// <summary>Reads the run (and the baseline) from <paramref name="store"/> and evaluates the gates.</summary>
    /// <param name="store">The tracking store.</param>
    /// <param name="runId">The run.</param>
    /// <param name="options">Baseline, gates, directions.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    public static async Task<RunReport> CreateAsync(ITrackingStore store, string runId, ReportOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(runId);
        options ??= new ReportOptions();
        var gates = options.FailIf.Select(RegressionGate.Parse).ToList(); // bad expressions fail before any request
        var run = await store.GetRunAsync(runId, cancellationToken).ConfigureAwait(false);
        var baseline = options.Baseline is { } b ? await ResolveBaselineAsync(store, b, cancellationToken).ConfigureAwait(false) : null;
        var metrics = run.Data.Metrics.GroupBy(m => m.Key, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new MetricDelta(g.Key, g.Last().Value, baseline?.Data.Metrics.LastOrDefault(m => m.Key == g.Key)?.Value, DirectionOf(g.Key, options)))
            .ToList();
        var results = gates.Select(g => g.Evaluate(
            metrics.FirstOrDefault(m => m.Key == g.Metric)?.Value, baseline?.Data.Metrics.LastOrDefault(m => m.Key == g.Metric)?.Value)).ToList();

        var histories = new Dictionary<string, IReadOnlyList<Metric>>(StringComparer.Ordinal);
        var baselineHistories = new Dictionary<string, IReadOnlyList<Metric>>(StringComparer.Ordinal);
        if (options.Plots)
        {
            foreach (var m in metrics)
            {
                var history = await store.GetMetricHistoryAsync(run.Info.RunId, m.Key, cancellationToken).ConfigureAwait(false);
                if (history.Count > 1)
                {
                    histories[m.Key] = history;
                    if (baseline is not null && m.Baseline is not null)
                    {
                        baselineHistories[m.Key] = await store.GetMetricHistoryAsync(baseline.Info.RunId, m.Key, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
        }

        var link = store.Uri.StartsWith("http", StringComparison.OrdinalIgnoreCase)
            ? $"{store.Uri.TrimEnd('/')}/#/experiments/{run.Info.ExperimentId}/runs/{run.Info.RunId}"
            : null;
        return new RunReport(run, baseline, options.Baseline, link, metrics, results, histories, baselineHistories, options.Plots);
    }

    /// <summary>Resolves a baseline given as a run id or a model URI to its run.</summary>
    private static async Task<Run> ResolveBaselineAsync(ITrackingStore store, string baseline, CancellationToken cancellationToken)
    {
        if (!ModelUris.TryParseModels(baseline, out var uri))
        {
            return await store.GetRunAsync(baseline, cancellationToken).ConfigureAwait(false);
        }

        string? runId;
        if (uri.ModelId is { } modelId)
        {
            var models = store.LoggedModelsOf($"'{baseline}'");
            runId = (await models.GetLoggedModelAsync(modelId, cancellationToken).ConfigureAwait(false)).SourceRunId;
        }
        else
        {
            var registry = store.RegistryOf() ?? throw new NotSupportedException($"'{baseline}': this store has no model registry.");
            var version = await MlOps.Client.Registry.RegisteredVersions.ResolveAsync(registry, uri, cancellationToken).ConfigureAwait(false);
            runId = version.RunId;
        }

        return string.IsNullOrEmpty(runId)
            ? throw new MlflowException(0, MlflowErrorCodes.InvalidState, $"'{baseline}' has no source run to compare with.")
            : await store.GetRunAsync(runId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes the report to <paramref name="markdownPath"/> and its figures beside it
    /// (<c>&lt;name&gt;-&lt;metric&gt;.png</c>); returns the files written, the markdown first.
    /// </summary>
    /// <param name="markdownPath">The markdown file.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public async Task<IReadOnlyList<string>> WriteAsync(string markdownPath, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(markdownPath);
        var full = Path.GetFullPath(markdownPath);
        var directory = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(directory);
        var stem = Path.GetFileNameWithoutExtension(full);
        var figures = new List<(string Key, string File)>();
        foreach (var (key, history) in _histories.OrderBy(h => h.Key, StringComparer.Ordinal))
        {
            var file = $"{stem}-{SafeName(key)}.png";
            var series = new List<MetricSeries> { new($"{Run.Info.RunName ?? Run.Info.RunId} ({key})", history) };
            if (_baselineHistories.TryGetValue(key, out var baseHistory) && baseHistory.Count > 0)
            {
                series.Add(new MetricSeries($"baseline {Baseline!.Info.RunName ?? Baseline.Info.RunId} ({key})", baseHistory));
            }

            MetricPlot.SavePng(series, Path.Combine(directory, file), key, key);
            figures.Add((key, file));
        }

        await File.WriteAllTextAsync(full, ToMarkdown(figures), new UTF8Encoding(false), cancellationToken).ConfigureAwait(false);
        return [full, .. figures.Select(f => Path.Combine(directory, f.File))];
    }

    /// <summary>The report as markdown (figures referenced by file name, as <see cref="WriteAsync"/> writes them).</summary>
    public string ToMarkdown() => ToMarkdown(Plots
        ? _histories.Keys.Order(StringComparer.Ordinal).Select(k => (k, $"report-{SafeName(k)}.png")).ToList()
        : []);

    private string ToMarkdown(IReadOnlyList<(string Key, string File)> figures)
    {
        var w = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        var name = Run.Info.RunName ?? Run.Info.RunId;
        w.WriteLine($"# MLflow run report: {Markdown.Cell(name)}");
        w.WriteLine();
        if (Gates.Count > 0)
        {
            w.WriteLine(Passed ? "**Result: passed** — no gate was triggered." : "**Result: FAILED** — a gate was triggered (see Gates).");
            w.WriteLine();
        }

        var start = RunTable.Time(Run.Info.StartTime);
        var duration = Run.Info is { StartTime: { } s, EndTime: { } e } ? string.Create(CultureInfo.InvariantCulture, $"{(e - s) / 1000.0:0.0} s") : "";
        Markdown.WriteTable(w, ["", ""], new List<IReadOnlyList<string?>>
        {
            new[] { "Run", RunLink is null ? $"{name} (`{Run.Info.RunId}`)" : $"[{name}]({RunLink}) (`{Run.Info.RunId}`)" },
            new[] { "Experiment", Run.Info.ExperimentId },
            new[] { "Status", RunTable.StatusName(Run.Info.Status) },
            new[] { "Started", start },
            new[] { "Duration", duration },
            new[] { "Baseline", Baseline is null ? "none" : $"{Baseline.Info.RunName ?? Baseline.Info.RunId} (`{Baseline.Info.RunId}`){(BaselineSource is { } src && src != Baseline.Info.RunId ? $" from `{src}`" : "")}" },
        });
        w.WriteLine();

        w.WriteLine("## Metrics");
        w.WriteLine();
        if (Metrics.Count == 0)
        {
            w.WriteLine("The run has no metrics.");
        }
        else
        {
            Markdown.WriteTable(w, ["metric", "value", "baseline", "change", ""], Metrics.Select(m => (IReadOnlyList<string?>)
            [
                m.Key, PythonFormat.Float(m.Value), m.Baseline is { } b ? PythonFormat.Float(b) : "",
                m.Delta is { } d ? d.ToString("+0.######;-0.######;0", CultureInfo.InvariantCulture) : "",
                m.Verdict switch { "better" => "✅ better", "worse" => "❌ worse", "same" => "= same", _ => "new" },
            ]));
        }

        w.WriteLine();
        if (Gates.Count > 0)
        {
            w.WriteLine("## Gates");
            w.WriteLine();
            foreach (var g in Gates)
            {
                var mark = g.Outcome switch { GateOutcome.Passed => "✅ passed", GateOutcome.Triggered => "❌ triggered", _ => "⚠️ not evaluated" };
                w.WriteLine($"- {mark}: fail if `{g.Gate.Text}` — {g.Detail}");
            }

            w.WriteLine();
        }

        w.WriteLine("## Params");
        w.WriteLine();
        var keys = Run.Data.Params.Select(p => p.Key).Concat(Baseline?.Data.Params.Select(p => p.Key) ?? []).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (keys.Count == 0)
        {
            w.WriteLine("The run has no params.");
        }
        else if (Baseline is null)
        {
            Markdown.WriteTable(w, ["param", "value"], keys.Select(k => (IReadOnlyList<string?>)[k, Run.Data.GetParam(k)]));
        }
        else
        {
            Markdown.WriteTable(w, ["param", "value", "baseline", ""], keys.Select(k => (IReadOnlyList<string?>)
                [k, Run.Data.GetParam(k), Baseline.Data.GetParam(k), Run.Data.GetParam(k) == Baseline.Data.GetParam(k) ? "" : "≠"]));
        }

        if (figures.Count > 0)
        {
            w.WriteLine();
            w.WriteLine("## Figures");
            foreach (var (key, file) in figures)
            {
                w.WriteLine();
                w.WriteLine($"![{Markdown.Cell(key)}]({Uri.EscapeDataString(file)})");
            }
        }

        return w.ToString();
    }

    /// <summary>A metric key as a file-name part: letters, digits, <c>-</c> and <c>_</c>; anything else becomes <c>_</c>.</summary>
    internal static string SafeName(string key) => new([.. key.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_')]);
}
