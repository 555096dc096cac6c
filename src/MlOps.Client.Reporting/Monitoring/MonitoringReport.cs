using System.Globalization;
using System.Text;
using MlOps.Client.Monitoring;
using ScottPlot;

namespace MlOps.Client.Reporting;

/// <summary>
/// The markdown report of <c>mlops monitor</c>: an inference log tested against a model's reference profile, window by
/// window — the verdict (the retraining trigger: did the latest window's dataset drift?), a table of windows, the latest
/// window's features with their method, score, threshold and PSI, the model's live metrics where ground truth arrived,
/// and figures: the drifted share over the windows, and for each feature that drifted in the latest drifted window the
/// reference's distribution overlaid with the served one.
/// </summary>
public sealed class MonitoringReport
{
    private readonly InferenceLogContents _log;

    private MonitoringReport(string modelUri, ReferenceProfile reference, IReadOnlyList<DriftReport> windows, InferenceLogContents log)
    {
        ModelUri = modelUri;
        Reference = reference;
        Windows = windows;
        _log = log;
    }

    /// <summary>The monitored model.</summary>
    public string ModelUri { get; }

    /// <summary>Its training profile.</summary>
    public ReferenceProfile Reference { get; }

    /// <summary>The windows' reports, oldest first.</summary>
    public IReadOnlyList<DriftReport> Windows { get; }

    /// <summary>The latest window, or <see langword="null"/> (no traffic).</summary>
    public DriftReport? Latest => Windows.Count > 0 ? Windows[^1] : null;

    /// <summary>Whether the latest window's dataset drifted: the retraining trigger (<c>mlops monitor</c> exits 3).</summary>
    public bool Drifted => Latest?.DatasetDrift == true;

    /// <summary>Tests <paramref name="log"/> against <paramref name="reference"/> (<see cref="DriftMonitor.Analyze"/>).</summary>
    /// <param name="modelUri">The monitored model (for the title).</param>
    /// <param name="reference">The model's training profile.</param>
    /// <param name="log">The inference log's contents.</param>
    /// <param name="options">Windows, methods, thresholds.</param>
    public static MonitoringReport Create(string modelUri, ReferenceProfile reference, InferenceLogContents log, DriftMonitorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(log);
        return new MonitoringReport(modelUri, reference, DriftMonitor.Analyze(reference, log, options), log);
    }

    /// <summary>Writes the markdown and its PNG figures beside it; returns the files written, the markdown first.</summary>
    /// <param name="markdownPath">The markdown file.</param>
    /// <param name="plots">Whether to draw the figures.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public async Task<IReadOnlyList<string>> WriteAsync(string markdownPath, bool plots = true, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(markdownPath);
        var full = Path.GetFullPath(markdownPath);
        var directory = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(directory);
        var stem = Path.GetFileNameWithoutExtension(full);
        var figures = new List<(string Title, string File)>();
        if (plots && Windows.Count > 0)
        {
            var share = $"{stem}-drift-share.png";
            SaveShare(Path.Combine(directory, share));
            figures.Add(("drifted share of features per window", share));
            if (Windows.LastOrDefault(w => w.AnyDrift) is { } drifted)
            {
                foreach (var feature in drifted.Features.Where(f => f.Drifted))
                {
                    var file = $"{stem}-{SafeName(feature.Name)}.png";
                    if (SaveOverlay(drifted, feature, Path.Combine(directory, file)))
                    {
                        figures.Add(($"{feature.Name}: training vs window {drifted.Window}", file));
                    }
                }
            }
        }

        await File.WriteAllTextAsync(full, ToMarkdown(figures), new UTF8Encoding(false), cancellationToken).ConfigureAwait(false);
        return [full, .. figures.Select(f => Path.Combine(directory, f.File))];
    }

    /// <summary>The report as markdown, without figures.</summary>
    public string ToMarkdown() => ToMarkdown([]);

    private string ToMarkdown(IReadOnlyList<(string Title, string File)> figures)
    {
        var w = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        w.WriteLine($"# Drift report: {Markdown.Cell(ModelUri)}");
        w.WriteLine();
        var latest = Latest;
        w.WriteLine(latest is null
            ? "**No window**: the inference log holds too few rows."
            : Drifted
                ? $"**Drift detected** in the latest window ({latest.Window}): {latest.Features.Count(f => f.Drifted)} of {latest.Features.Count(f => f.Tested)} features drifted ({string.Join(", ", latest.Features.Where(f => f.Drifted).Select(f => Markdown.Cell(f.Name)))}) — retrain."
                : $"**No dataset drift** in the latest window ({latest.Window}): {latest.Features.Count(f => f.Drifted)} of {latest.Features.Count(f => f.Tested)} features drifted (dataset drift at {latest.DatasetDriftShare:P0}).");
        w.WriteLine();
        Markdown.WriteTable(w, ["", ""], new List<IReadOnlyList<string?>>
        {
            new[] { "requests", _log.Records.Count.ToString(CultureInfo.InvariantCulture) },
            new[] { "rows", _log.Records.Sum(r => (long)r.Rows).ToString(CultureInfo.InvariantCulture) },
            new[] { "ground truth", _log.Feedback.Count.ToString(CultureInfo.InvariantCulture) + " requests" },
            new[] { "unreadable lines", _log.UnreadableLines.ToString(CultureInfo.InvariantCulture) },
            new[] { "windows", Windows.Count.ToString(CultureInfo.InvariantCulture) },
            new[] { "reference rows", Reference.Rows.ToString(CultureInfo.InvariantCulture) },
        });
        if (Windows.Count > 0)
        {
            w.WriteLine();
            w.WriteLine("## Windows");
            w.WriteLine();
            var live = Windows.SelectMany(r => r.Performance.Select(p => p.Key)).Where(k => k is "accuracy_score" or "root_mean_squared_error" or "f1_score").Distinct().ToList();
            Markdown.WriteTable(w, ["window", "from", "to", "rows", "drifted", "share", "dataset drift", .. live], Windows.Select(r => (IReadOnlyList<string?>)
            [
                r.Window.ToString(CultureInfo.InvariantCulture),
                r.Start.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                r.End.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                r.Rows.ToString(CultureInfo.InvariantCulture),
                string.Join(", ", r.Features.Where(f => f.Drifted).Select(f => f.Name)),
                r.DriftedShare.ToString("P0", CultureInfo.InvariantCulture),
                r.DatasetDrift ? "**yes**" : "no",
                .. live.Select(k => r.Performance.FirstOrDefault(p => p.Key == k) is { Key: not null } m ? m.Value.ToString("0.####", CultureInfo.InvariantCulture) : ""),
            ]));
            w.WriteLine();
            w.WriteLine($"## Latest window ({latest!.Window})");
            w.WriteLine();
            Markdown.WriteTable(w, ["column", "method", "score", "threshold", "PSI", "values", "missing", "drift"], latest.Features.Concat(latest.Predictions).Select(f => (IReadOnlyList<string?>)
            [
                latest.Predictions.Contains(f) ? "prediction: " + f.Name : f.Name,
                f.Method.ToString(),
                Number(f.Score),
                Number(f.Threshold),
                Number(f.Psi) + (f.PsiMajor ? " (major)" : ""),
                f.Values.ToString(CultureInfo.InvariantCulture),
                f.Missing.ToString(CultureInfo.InvariantCulture),
                !f.Tested ? "not tested" : f.Drifted ? "**drift**" : "",
            ]));
            if (latest.Performance.Count > 0)
            {
                w.WriteLine();
                w.WriteLine($"Live metrics over the {latest.LabeledRows} rows with ground truth:");
                w.WriteLine();
                Markdown.WriteTable(w, ["metric", "value"], latest.Performance.Select(p => (IReadOnlyList<string?>)[p.Key, Number(p.Value)]));
            }
        }

        foreach (var (title, file) in figures)
        {
            w.WriteLine();
            w.WriteLine($"![{Markdown.Cell(title)}]({Uri.EscapeDataString(file)})");
        }

        return w.ToString();
    }

    private static string Number(double value) => double.IsNaN(value) ? "" : value.ToString(Math.Abs(value) is > 0 and < 1e-4 ? "0.##E+0" : "0.####", CultureInfo.InvariantCulture);

    private static string SafeName(string name) => string.Concat(name.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' ? c : '_'));

    private void SaveShare(string path)
    {
        var plot = new Plot();
        var xs = Windows.Select(r => (double)r.Window).ToArray();
        var line = plot.Add.Scatter(xs, Windows.Select(r => r.DriftedShare).ToArray());
        line.LegendText = "drifted share";
        line.LineWidth = 2;
        var threshold = plot.Add.HorizontalLine(Windows[0].DatasetDriftShare);
        threshold.LegendText = "dataset drift";
        threshold.LinePattern = LinePattern.Dashed;
        plot.Title("Drifted share of features");
        plot.XLabel("window");
        plot.YLabel("share");
        plot.Axes.SetLimitsY(0, 1.05);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.ShowLegend(Alignment.UpperLeft);
        plot.SavePng(path, 800, 400);
    }

    /// <summary>The reference's distribution (from its profile) and the window's, over the same bins.</summary>
    private bool SaveOverlay(DriftReport window, FeatureDrift drift, string path)
    {
        var reference = Reference.Feature(drift.Name);
        if (reference is null)
        {
            return false;
        }

        var values = _log.Records.Where(r => r.Timestamp >= window.Start && r.Timestamp <= window.End)
            .SelectMany(r => r.Inputs.Where(c => c.Name == drift.Name).SelectMany(c => c.Values)).ToList();
        var plot = new Plot();
        if (reference.Kind == FeatureKind.Numeric && !reference.IsDiscrete)
        {
            var numbers = values.OfType<double>().Where(double.IsFinite).ToArray();
            if (numbers.Length == 0)
            {
                return false;
            }

            const int Bins = 30;
            var lo = Math.Min(reference.Min ?? numbers.Min(), numbers.Min());
            var hi = Math.Max(reference.Max ?? numbers.Max(), numbers.Max());
            var width = (hi - lo) / Bins;
            if (width <= 0)
            {
                return false;
            }

            var centers = Enumerable.Range(0, Bins).Select(b => lo + ((b + 0.5) * width)).ToArray();
            var referenceShares = Enumerable.Range(0, Bins).Select(b => reference.Cdf(lo + ((b + 1) * width)) - reference.Cdf(lo + (b * width))).ToArray();
            var current = new double[Bins];
            foreach (var v in numbers)
            {
                current[Math.Clamp((int)((v - lo) / width), 0, Bins - 1)] += 1.0 / numbers.Length;
            }

            var r = plot.Add.Scatter(centers, referenceShares);
            r.LegendText = $"training ({reference.Count} rows)";
            r.LineWidth = 2;
            r.ConnectStyle = ConnectStyle.StepVertical;
            var c = plot.Add.Scatter(centers, current);
            c.LegendText = $"window {window.Window} ({numbers.Length} rows)";
            c.LineWidth = 2;
            c.ConnectStyle = ConnectStyle.StepVertical;
            plot.XLabel(drift.Name);
        }
        else
        {
            List<string> texts = [.. values.Select(v => v switch { double d => ((float)d).ToString("R", CultureInfo.InvariantCulture), bool b => b ? "True" : "False", _ => v as string }).OfType<string>()];
            string[] keys = [.. reference.Categories.Keys.Union(texts).Order(StringComparer.Ordinal).Take(30)];
            if (keys.Length == 0 || texts.Count == 0)
            {
                return false;
            }

            var positions = Enumerable.Range(0, keys.Length).Select(i => (double)i).ToArray();
            var r = plot.Add.Bars(positions.Select(p => p - 0.2).ToArray(), keys.Select(k => reference.Categories.GetValueOrDefault(k) / (double)Math.Max(1, reference.Count)).ToArray());
            r.LegendText = "training";
            foreach (var bar in r.Bars)
            {
                bar.Size = 0.4;
            }

            var c = plot.Add.Bars(positions.Select(p => p + 0.2).ToArray(), keys.Select(k => texts.Count(t => t == k) / (double)texts.Count).ToArray());
            c.LegendText = $"window {window.Window}";
            foreach (var bar in c.Bars)
            {
                bar.Size = 0.4;
            }

            plot.Axes.Bottom.SetTicks(positions, keys);
            plot.XLabel(drift.Name);
        }

        plot.Title($"{drift.Name}: {drift.Method} {(drift.IsDistance ? "distance" : "p")} = {Number(drift.Score)}");
        plot.YLabel("share of rows");
        plot.ShowLegend(Alignment.UpperRight);
        plot.SavePng(path, 800, 450);
        return true;
    }
}
