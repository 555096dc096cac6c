using System.CommandLine;
using System.Globalization;
using MlOps.Client;
using MlOps.Client.Artifacts;
using MlOps.Client.Monitoring;
using MlOps.Client.Reporting;
using MlOps.Client.Stores;
using MlOps.Client.Tracking;
using Spectre.Console;

namespace MlOps.Cli.Commands;

/// <summary>The <c>mlops</c> command tree (System.CommandLine) and its exit codes.</summary>
internal static partial class MlopsCommandLine
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>An error: unreachable server, unknown run, bad filter… (one line on standard error).</summary>
    public const int Error = 1;

    /// <summary>The command line itself is wrong (unknown command or option, missing argument).</summary>
    public const int Usage = 2;

    /// <summary><c>mlops report --fail-if …</c>: a gate was triggered (the run regressed).</summary>
    public const int Regression = 3;

    /// <summary><c>mlops monitor</c>: the latest window of served data drifted (the retraining trigger).</summary>
    public const int Drift = 3;

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        var trackingUri = new Option<string?>("--tracking-uri") { Description = "The tracking server (http://…) or embedded store (sqlite:///…). Default: MLFLOW_TRACKING_URI, else sqlite:///mlflow.db.", Recursive = true };
        var root = new RootCommand("mlops: the work around training with MLflow — search, compare, export, plot and report runs; the model registry; the upload spool.");
        root.Options.Add(trackingUri);
        Func<ParseResult, CliContext> context = parse => new CliContext(output, error, parse.GetValue(trackingUri));
        root.Subcommands.Add(Experiments(context));
        root.Subcommands.Add(Runs(context));
        root.Subcommands.Add(Metrics(context));
        root.Subcommands.Add(Report(context));
        root.Subcommands.Add(Models(context));
        root.Subcommands.Add(Monitor(context));
        root.Subcommands.Add(Spool(context));
        root.Subcommands.Add(Artifacts(context));
        root.Subcommands.Add(RunProject(context));
        root.Subcommands.Add(Traces(context));

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors)
            {
                await error.WriteLineAsync("mlops: " + e.Message).ConfigureAwait(false);
            }

            await error.WriteLineAsync("Run 'mlops --help' (or '<command> --help') for usage.").ConfigureAwait(false);
            return Usage;
        }

        // Ctrl+C cancels the action's token; a project run then has its grace period to stop its command and end its run KILLED.
        return await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = TimeSpan.FromSeconds(30) }, cancellationToken).ConfigureAwait(false);
    }

    // ---------------------------------------------------------------- experiments

    private static Command Experiments(Func<ParseResult, CliContext> context)
    {
        var max = new Option<int?>("--max") { Description = "At most this many experiments." };
        var format = FormatOption();
        var list = new Command("list", "List the experiments (active ones).") { max, format };
        list.SetAction((parse, ct) => Guard(context(parse), async ctx =>
        {
            await using var store = ctx.OpenStore();
            var query = new SearchExperimentsOptions { MaxResults = parse.GetValue(max) };
            var rows = new List<IReadOnlyList<string?>>();
            string? token = null;
            do
            {
                var page = await store.SearchExperimentsPageAsync(query, token, ct).ConfigureAwait(false);
                rows.AddRange(page.Values.Select(e => (IReadOnlyList<string?>)[e.ExperimentId, e.Name, e.ArtifactLocation, e.LifecycleStage]));
                token = page.NextPageToken;
            }
            while (token is not null && (query.MaxResults is not { } m || rows.Count < m));

            WriteRows(ctx, parse.GetValue(format)!, ["experiment_id", "name", "artifact_location", "lifecycle_stage"], rows.Take(query.MaxResults ?? int.MaxValue).ToList());
            return Ok;
        }));
        var createName = new Argument<string>("name") { Description = "The experiment's name." };
        var artifactLocation = new Option<string?>("--artifact-location", "-l") { Description = "Where its runs' artifacts go (the server's default when not given)." };
        var create = new Command("create", "Create an experiment (mlflow experiments create).") { createName, artifactLocation };
        create.SetAction((parse, ct) => Guard(context(parse), async ctx =>
        {
            await using var store = ctx.OpenStore();
            var id = await store.CreateExperimentAsync(parse.GetValue(createName)!, parse.GetValue(artifactLocation), null, ct).ConfigureAwait(false);
            await ctx.Output.WriteLineAsync($"Created experiment '{parse.GetValue(createName)}' with id {id}").ConfigureAwait(false);
            return Ok;
        }));
        var delete = Lifecycle(context, "delete", "Mark an experiment and its runs deleted (mlflow experiments delete); restore undoes it.", ExperimentIdOption,
            (store, id, ct) => store.DeleteExperimentAsync(id, ct), id => $"Experiment with ID {id} has been deleted.");
        var restore = Lifecycle(context, "restore", "Restore a deleted experiment and its runs (mlflow experiments restore).", ExperimentIdOption,
            (store, id, ct) => store.RestoreExperimentAsync(id, ct), id => $"Experiment with id {id} has been restored.");
        return new Command("experiments", "Experiments of the tracking store.") { list, create, delete, restore };
    }

    // ---------------------------------------------------------------- artifacts

    private static Command Artifacts(Func<ParseResult, CliContext> context)
    {
        var runId = new Option<string>("--run-id", "-r") { Description = "The run.", Required = true };
        var path = new Option<string?>("--artifact-path", "-a") { Description = "A folder or file inside the run's artifacts (the top when not given)." };
        var format = FormatOption();
        var list = new Command("list", "List a run's artifacts (mlflow artifacts list).") { runId, path, format };
        list.SetAction((parse, ct) => Guard(context(parse), async ctx =>
        {
            await using var store = ctx.OpenStore();
            var run = await store.GetRunAsync(parse.GetValue(runId)!, ct).ConfigureAwait(false);
            var artifacts = store.ArtifactsFor(run.Info.ArtifactUri ?? throw new MlflowException($"Run {run.Info.RunId} has no artifact URI."));
            var files = await artifacts.ListAsync(parse.GetValue(path), ct).ConfigureAwait(false);
            WriteRows(ctx, parse.GetValue(format)!, ["path", "is_dir", "file_size"], files
                .Select(f => (IReadOnlyList<string?>)[f.Path, f.IsDir ? "True" : "False", f.FileSize?.ToString(CultureInfo.InvariantCulture)]).ToList());
            return Ok;
        }));

        var downloadRun = new Option<string>("--run-id", "-r") { Description = "The run.", Required = true };
        var downloadPath = new Option<string?>("--artifact-path", "-a") { Description = "A folder or file inside the run's artifacts (all of them when not given)." };
        var dst = new Option<string>("--dst-path", "-d") { Description = "The folder to download into.", DefaultValueFactory = _ => "." };
        var download = new Command("download", "Download a run's artifacts (mlflow artifacts download).") { downloadRun, downloadPath, dst };
        download.SetAction((parse, ct) => Guard(context(parse), async ctx =>
        {
            await using var store = ctx.OpenStore();
            var run = await store.GetRunAsync(parse.GetValue(downloadRun)!, ct).ConfigureAwait(false);
            var artifacts = store.ArtifactsFor(run.Info.ArtifactUri ?? throw new MlflowException($"Run {run.Info.RunId} has no artifact URI."));
            var destination = Directory.CreateDirectory(parse.GetValue(dst)!).FullName;
            var local = await DownloadWithProgressAsync(ctx, artifacts, parse.GetValue(downloadPath) ?? "", destination, ct).ConfigureAwait(false);
            await ctx.Output.WriteLineAsync(local).ConfigureAwait(false); // as Python prints the local path
            return Ok;
        }));
        return new Command("artifacts", "A run's artifacts.") { list, download };
    }

    // ---------------------------------------------------------------- runs

    private static Command Runs(Func<ParseResult, CliContext> context)
    {
        var experiment = new Option<string[]>("--experiment", "-e") { Description = "Experiment name (repeatable). Default: MLFLOW_EXPERIMENT_NAME/MLFLOW_EXPERIMENT_ID, else the Default experiment." };
        var experimentId = new Option<string[]>("--experiment-id") { Description = "Experiment id (repeatable)." };
        var filter = new Option<string?>("--filter") { Description = "MLflow filter, e.g. \"metrics.accuracy > 0.9 and params.lr = '0.1'\"." };
        var orderBy = new Option<string[]>("--order-by") { Description = "Order clause, e.g. \"metrics.accuracy DESC\" (repeatable)." };
        var max = new Option<int?>("--max") { Description = "At most this many runs (all pages are fetched up to it). Default: all." };
        var format = FormatOption();
        var outFile = new Option<string?>("--out-file", "-o") { Description = "Write to this file instead of standard output." };
        var search = new Command("search", "Search runs: a table in the terminal, or CSV/JSON/markdown with the columns of Python's mlflow.search_runs().")
        {
            experiment, experimentId, filter, orderBy, max, format, outFile,
        };
        search.SetAction((parse, ct) => Guard(context(parse), async ctx =>
        {
            await using var store = ctx.OpenStore();
            var ids = await ExperimentIdsAsync(store, parse.GetValue(experiment) ?? [], parse.GetValue(experimentId) ?? [], ct).ConfigureAwait(false);
            var query = new SearchRunsOptions { Filter = parse.GetValue(filter), MaxResults = parse.GetValue(max) };
            foreach (var id in ids)
            {
                query.ExperimentIds.Add(id);
            }

            foreach (var o in parse.GetValue(orderBy) ?? [])
            {
                query.OrderBy.Add(o);
            }

            var runs = await SearchAllAsync(ctx, store, query, ct).ConfigureAwait(false);
            var table = RunTable.FromRuns(runs);
            var fmt = parse.GetValue(format)!;
            await WriteTableAsync(ctx, table, fmt, parse.GetValue(outFile), ct).ConfigureAwait(false);
            return Ok;
        }));

        var runIds = new Argument<string[]>("runs") { Description = "Two or more run ids.", Arity = ArgumentArity.OneOrMore };
        var compareFormat = new Option<string>("--format", "-f") { Description = "table (terminal) or markdown.", DefaultValueFactory = _ => "table" };
        compareFormat.AcceptOnlyFromAmong("table", "markdown");
        var onlyDiff = new Option<bool>("--only-differences") { Description = "Show only the keys on which the runs differ." };
        var compare = new Command("compare", "Params and metrics of runs side by side; differences marked with ≠.") { runIds, compareFormat, onlyDiff };
        compare.SetAction((parse, ct) => Guard(context(parse), async ctx =>
        {
            var ids = (parse.GetValue(runIds) ?? []).SelectMany(SplitList).ToList();
            if (ids.Count < 2)
            {
                throw new ArgumentException("Give at least two run ids to compare.");
            }

            await using var store = ctx.OpenStore();
            var runs = new List<Run>();
            foreach (var id in ids)
            {
                runs.Add(await store.GetRunAsync(id, ct).ConfigureAwait(false));
            }

            var comparison = RunComparison.Create(runs);
            if (parse.GetValue(compareFormat) == "markdown")
            {
                comparison.WriteMarkdown(ctx.Output, parse.GetValue(onlyDiff));
                return Ok;
            }

            var table = new Table().Border(TableBorder.Rounded).AddColumn("key");
            foreach (var label in comparison.RunLabels)
            {
                table.AddColumn(Markup.Escape(label));
            }

            table.AddColumn("≠");
            foreach (var v in comparison.Values.Where(v => !parse.GetValue(onlyDiff) || v.Differs))
            {
                var cells = new List<string> { Markup.Escape($"{v.Section}.{v.Key}") };
                cells.AddRange(v.Values.Select(x => v.Differs ? $"[yellow]{Markup.Escape(x ?? "—")}[/]" : Markup.Escape(x ?? "—")));
                cells.Add(v.Differs ? "[yellow]≠[/]" : "");
                table.AddRow([.. cells]);
            }

            ctx.Console.Write(table);
            return Ok;
        }));

        var describeId = new Argument<string>("run_id") { Description = "The run." };
        var describe = new Command("describe", "A run's info, params, metrics and tags as JSON (mlflow runs describe).") { describeId };
        describe.SetAction((parse, ct) => Guard(context(parse), async ctx =>
        {
            await using var store = ctx.OpenStore();
            var run = await store.GetRunAsync(parse.GetValue(describeId)!, ct).ConfigureAwait(false);
            var info = new System.Text.Json.Nodes.JsonObject
            {
                ["run_id"] = run.Info.RunId,
                ["run_name"] = run.Info.RunName,
                ["experiment_id"] = run.Info.ExperimentId,
                ["status"] = MlOps.Client.Rest.MlflowEnumNames.Of(run.Info.Status),
                ["start_time"] = run.Info.StartTime,
                ["end_time"] = run.Info.EndTime,
                ["artifact_uri"] = run.Info.ArtifactUri,
                ["lifecycle_stage"] = run.Info.LifecycleStage,
            };
            var data = new System.Text.Json.Nodes.JsonObject
            {
                ["params"] = Pairs(run.Data.Params.Select(p => (p.Key, p.Value))),
                ["metrics"] = new System.Text.Json.Nodes.JsonObject(run.Data.Metrics.OrderBy(m => m.Key, StringComparer.Ordinal)
                    .Select(m => KeyValuePair.Create(m.Key, (System.Text.Json.Nodes.JsonNode?)System.Text.Json.Nodes.JsonValue.Create(m.Value)))),
                ["tags"] = Pairs(run.Data.Tags.Select(t => (t.Key, t.Value))),
            };
            var json = new System.Text.Json.Nodes.JsonObject { ["info"] = info, ["data"] = data };
            await ctx.Output.WriteLineAsync(json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true })).ConfigureAwait(false);
            return Ok;

            static System.Text.Json.Nodes.JsonObject Pairs(IEnumerable<(string Key, string Value)> pairs) =>
                new(pairs.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, (System.Text.Json.Nodes.JsonNode?)System.Text.Json.Nodes.JsonValue.Create(p.Value))));
        }));

        var delete = Lifecycle(context, "delete", "Mark a run deleted (mlflow runs delete); restore undoes it.", RunIdOption,
            (store, id, ct) => store.DeleteRunAsync(id, ct), id => $"Run with ID {id} has been deleted.");
        var restore = Lifecycle(context, "restore", "Restore a deleted run (mlflow runs restore).", RunIdOption,
            (store, id, ct) => store.RestoreRunAsync(id, ct), id => $"Run with id {id} has been restored.");
        return new Command("runs", "Search, compare, describe, delete and restore runs.") { search, compare, describe, delete, restore };
    }

    // ---------------------------------------------------------------- metrics

    private static Command Metrics(Func<ParseResult, CliContext> context)
    {
        var runIds = new Argument<string[]>("runs") { Description = "Run ids (comma-separated or several arguments).", Arity = ArgumentArity.OneOrMore };
        var keys = new Option<string[]>("--key", "-k") { Description = "Metric key (repeatable).", Required = true };
        var outFile = new Option<string>("--out-file", "-o") { Description = "The PNG file to write.", Required = true };
        var width = new Option<int>("--width") { Description = "Width in pixels.", DefaultValueFactory = _ => 800 };
        var height = new Option<int>("--height") { Description = "Height in pixels.", DefaultValueFactory = _ => 500 };
        var plot = new Command("plot", "Plot metric histories as a PNG line chart: one series per run and key.") { runIds, keys, outFile, width, height };
        plot.SetAction((parse, ct) => Guard(context(parse), async ctx =>
        {
            await using var store = ctx.OpenStore();
            var series = new List<MetricSeries>();
            foreach (var id in (parse.GetValue(runIds) ?? []).SelectMany(SplitList))
            {
                var run = await store.GetRunAsync(id, ct).ConfigureAwait(false);
                foreach (var key in parse.GetValue(keys) ?? [])
                {
                    var history = await store.GetMetricHistoryAsync(id, key, ct).ConfigureAwait(false);
                    if (history.Count == 0)
                    {
                        await ctx.Error.WriteLineAsync($"mlops: run {id} has no metric '{key}'.").ConfigureAwait(false);
                        continue;
                    }

                    series.Add(new MetricSeries($"{run.Info.RunName ?? id} · {key}", history));
                }
            }

            if (series.Count == 0)
            {
                throw new InvalidOperationException("None of the runs has any of the metrics: nothing to plot.");
            }

            var path = parse.GetValue(outFile)!;
            var allKeys = parse.GetValue(keys)!;
            MetricPlot.SavePng(series, path, string.Join(", ", allKeys), allKeys.Length == 1 ? allKeys[0] : "value", parse.GetValue(width), parse.GetValue(height));
            await ctx.Output.WriteLineAsync($"wrote {path} ({series.Count} series)").ConfigureAwait(false);
            return Ok;
        }));
        return new Command("metrics", "Metric histories.") { plot };
    }

    // ---------------------------------------------------------------- report

    private static Command Report(Func<ParseResult, CliContext> context)
    {
        var runId = new Argument<string>("run") { Description = "The run to report." };
        var baseline = new Option<string?>("--baseline", "-b") { Description = "Compare with a run id, or a model URI (models:/name@alias, models:/name/3, models:/<model id>)." };
        var outFile = new Option<string>("--out-file", "-o") { Description = "The markdown file (figures are written beside it).", DefaultValueFactory = _ => "report.md" };
        var failIf = new Option<string[]>("--fail-if") { Description = "Exit with code 3 when this holds, e.g. \"accuracy < baseline - 0.01\" (repeatable)." };
        var lower = new Option<string[]>("--lower-is-better") { Description = "Metric keys where smaller is better (loss, error, mse… are recognised by name)." };
        var higher = new Option<string[]>("--higher-is-better") { Description = "Metric keys where larger is better." };
        var noPlots = new Option<bool>("--no-plots") { Description = "Do not draw the metric histories." };
        var logArtifact = new Option<bool>("--log-artifact") { Description = "Also log the report and its figures as artifacts of the run (under report/)." };
        var report = new Command("report", "Write the CI report of a run: params, final metrics against a baseline, gates and metric plots.")
        {
            runId, baseline, outFile, failIf, lower, higher, noPlots, logArtifact,
        };
        report.SetAction((parse, ct) => Guard(context(parse), async ctx =>
        {
            var options = new ReportOptions { Baseline = parse.GetValue(baseline), Plots = !parse.GetValue(noPlots) };
            foreach (var g in parse.GetValue(failIf) ?? [])
            {
                options.FailIf.Add(g);
            }

            foreach (var k in parse.GetValue(lower) ?? [])
            {
                options.LowerIsBetter.Add(k);
            }

            foreach (var k in parse.GetValue(higher) ?? [])
            {
                options.HigherIsBetter.Add(k);
            }

            await using var store = ctx.OpenStore();
            var result = await RunReport.CreateAsync(store, parse.GetValue(runId)!, options, ct).ConfigureAwait(false);

            // A gate naming a metric neither run has is a typo, not a regression: a usage error that says what there is.
            var known = result.Run.Data.Metrics.Select(m => m.Key).Concat(result.Baseline?.Data.Metrics.Select(m => m.Key) ?? []).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            if (result.Gates.FirstOrDefault(g => !known.Contains(g.Gate.Metric, StringComparer.Ordinal)) is { } unknown)
            {
                var near = known.OrderBy(k => EditDistance(k, unknown.Gate.Metric)).FirstOrDefault();
                await ctx.Error.WriteLineAsync(
                    $"mlops: the gate '{unknown.Gate.Text}' names the metric '{unknown.Gate.Metric}', which neither the run nor the baseline has"
                    + (near is not null && EditDistance(near, unknown.Gate.Metric) <= 2 ? $"; did you mean '{near}'?" : "")
                    + $" (metrics: {(known.Count == 0 ? "none" : string.Join(", ", known))})").ConfigureAwait(false);
                return Usage;
            }

            var files = await result.WriteAsync(parse.GetValue(outFile)!, ct).ConfigureAwait(false);
            if (parse.GetValue(logArtifact))
            {
                var artifacts = store.ArtifactsFor(result.Run.Info.ArtifactUri ?? throw new MlflowException($"Run {result.Run.Info.RunId} has no artifact URI."));
                foreach (var file in files)
                {
                    await artifacts.UploadFileAsync(file, "report/" + Path.GetFileName(file), null, ct).ConfigureAwait(false);
                }
            }

            await ctx.Output.WriteLineAsync($"wrote {files[0]} ({files.Count - 1} figure(s)); {(result.Passed ? "passed" : "FAILED")}").ConfigureAwait(false);
            foreach (var g in result.Gates.Where(g => g.Outcome != GateOutcome.Passed))
            {
                await ctx.Output.WriteLineAsync($"  {(g.Outcome == GateOutcome.Triggered ? "triggered" : "not evaluated")}: {g.Gate.Text} — {g.Detail}").ConfigureAwait(false);
            }

            return result.Passed ? Ok : Regression;
        }));
        return report;
    }

    // ---------------------------------------------------------------- models

    private static Command Models(Func<ParseResult, CliContext> context)
    {
        var format = FormatOption();
        var list = new Command("list", "List the registered models.") { format };
        list.SetAction((parse, ct) => Guard(context(parse), async ctx =>
        {
            await using var store = ctx.OpenStore();
            IReadOnlyList<RegisteredModel> models = store switch
            {
                RestTrackingStore rest => await CollectAsync(rest.Client.SearchRegisteredModelsAsync(new SearchRegisteredModelsOptions(), ct), ct).ConfigureAwait(false),
                SqliteTrackingStore sqlite => await sqlite.ListRegisteredModelsAsync(ct).ConfigureAwait(false),
                _ => throw new NotSupportedException($"{store.Uri} has no model registry."),
            };
            WriteRows(ctx, parse.GetValue(format)!, ["name", "latest_versions", "aliases", "description"], models.Select(m => (IReadOnlyList<string?>)
                [m.Name, string.Join(", ", m.LatestVersions.Select(v => $"v{v.Version} ({v.CurrentStage})")), string.Join(", ", m.Aliases.Select(a => $"{a.Alias}→v{a.Version}")), m.Description]).ToList());
            return Ok;
        }));

        var name = new Argument<string>("name") { Description = "The registered model." };
        var versionsFormat = FormatOption();
        var versions = new Command("versions", "List the versions of a registered model.") { name, versionsFormat };
        versions.SetAction((parse, ct) => Guard(context(parse), async ctx =>
        {
            await using var store = ctx.OpenStore();
            var registry = store.RegistryOf() ?? throw new NotSupportedException($"{store.Uri} has no model registry.");
            var all = await registry.GetModelVersionsAsync(parse.GetValue(name)!, ct).ConfigureAwait(false);
            // MLflow's version search carries no aliases: they come from the registered model (alias → version).
            var model = await registry.GetRegisteredModelAsync(parse.GetValue(name)!, ct).ConfigureAwait(false);
            string Aliases(ModelVersion v) => string.Join(", ", v.Aliases.Concat(model.Aliases.Where(a => a.Version == v.Version).Select(a => a.Alias)).Distinct(StringComparer.Ordinal));
            WriteRows(ctx, parse.GetValue(versionsFormat)!, ["version", "stage", "status", "aliases", "run_id", "source"], all
                .OrderBy(v => long.TryParse(v.Version, CultureInfo.InvariantCulture, out var n) ? n : 0)
                .Select(v => (IReadOnlyList<string?>)[v.Version, v.CurrentStage, MlOps.Client.Rest.MlflowEnumNames.Of(v.Status), Aliases(v), v.RunId, v.Source]).ToList());
            return Ok;
        }));

        var aliasName = new Argument<string>("name") { Description = "The registered model." };
        var alias = new Argument<string>("alias") { Description = "The alias, e.g. champion." };
        var aliasVersion = new Argument<string>("version") { Description = "The version it points at." };
        var setAlias = new Command("set-alias", "Point an alias at a version.") { aliasName, alias, aliasVersion };
        setAlias.SetAction((parse, ct) => Guard(context(parse), async ctx =>
        {
            await using var store = ctx.OpenStore();
            var registry = store.RegistryOf() ?? throw new NotSupportedException($"{store.Uri} has no model registry.");
            await new MlOps.Client.Registry.ModelRegistry(registry).SetRegisteredModelAliasAsync(parse.GetValue(aliasName)!, parse.GetValue(alias)!, parse.GetValue(aliasVersion)!, ct).ConfigureAwait(false);
            await ctx.Output.WriteLineAsync($"{parse.GetValue(aliasName)}@{parse.GetValue(alias)} → v{parse.GetValue(aliasVersion)}").ConfigureAwait(false);
            return Ok;
        }));

        var uri = new Argument<string>("model-uri") { Description = "models:/name@alias, models:/name/3, models:/<model id>, runs:/<run id>/model or the model folder's artifact URI (s3://…, gs://…, wasbs://…)." };
        var dir = new Option<string>("--out-dir", "-o") { Description = "The folder to download into.", DefaultValueFactory = _ => "." };
        var download = new Command("download", "Download a model's files.") { uri, dir };
        download.SetAction((parse, ct) => Guard(context(parse), async ctx =>
        {
            await using var store = ctx.OpenStore();
            var (artifactRoot, path) = await ModelLogging.ResolveAsync(store, parse.GetValue(uri)!, ct).ConfigureAwait(false);
            var artifacts = store.ArtifactsFor(artifactRoot);
            await ModelLogging.EnsureModelAtAsync(artifacts, parse.GetValue(uri)!, path, ct).ConfigureAwait(false); // "no model at …" in words, at once
            var destination = Directory.CreateDirectory(parse.GetValue(dir)!).FullName;
            var local = await DownloadWithProgressAsync(ctx, artifacts, path, destination, ct).ConfigureAwait(false);
            await ctx.Output.WriteLineAsync($"downloaded {parse.GetValue(uri)} to {local}").ConfigureAwait(false);
            return Ok;
        }));

        var serveUri = new Option<string>("--model-uri", "-m") { Description = "The model: models:/name@alias, models:/name/3, models:/<model id>, runs:/<run>/model, an artifact URI (s3://…) or a folder.", Required = true };
        var port = new Option<int>("--port", "-p") { Description = "The port (0: one the system chooses, printed).", DefaultValueFactory = _ => 5000 };
        var host = new Option<string>("--host") { Description = "The address to listen on.", DefaultValueFactory = _ => "127.0.0.1" };
        var maxBody = new Option<long>("--max-body-bytes") { Description = "The largest request body accepted (413 beyond).", DefaultValueFactory = _ => new MlOps.Client.Serving.ScoringOptions().MaxRequestBodyBytes };
        var logDir = new Option<string?>("--log-dir") { Description = "Log each answered request (rows, predictions, id, latency) to rolling JSON Lines files in this folder, and take ground truth on POST /feedback." };
        var sampleRate = new Option<double>("--log-sample-rate") { Description = "The share of requests logged.", DefaultValueFactory = _ => 1.0 };
        var logMaxMb = new Option<long>("--log-max-mb") { Description = "The most megabytes the log takes (the oldest files go first).", DefaultValueFactory = _ => new InferenceLogOptions().MaxBytes >> 20 };
        var drift = new Option<bool>("--monitor-drift") { Description = "Test the served data for drift against the model's reference_profile.json, in windows (OpenTelemetry metrics, a log line per window)." };
        var driftRows = new Option<long>("--drift-window-rows") { Description = "Rows per drift window.", DefaultValueFactory = _ => new DriftMonitorOptions().WindowRows };
        var monitoringRun = new Option<bool>("--monitoring-run") { Description = "Record each drift window in the model's monitoring run on the tracking server (one step per window)." };
        var serve = new Command("serve", "Serve a model with MLflow's scoring protocol (/ping, /health, /version, /invocations), as `mlflow models serve` does, without Python.")
        {
            serveUri, port, host, maxBody, logDir, sampleRate, logMaxMb, drift, driftRows, monitoringRun,
        };
        serve.SetAction((parse, ct) => Guard(context(parse), async ctx =>
        {
            await using var store = ctx.OpenStore();
            await using var model = await MlOps.Client.Serving.ServedModel.LoadAsync(store, parse.GetValue(serveUri)!, ct).ConfigureAwait(false);
            using var consoleLog = Logging.BufferedConsoleLoggerProvider.ForConsole(); // disposed after the app: its last lines written
            var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
            // As ASP.NET Core's templates configure it: the framework's own per-request lines only from Warning up; the
            // served model's one line per request (status, rows, time) stays — in the console logger's format, written in
            // batches rather than a system call per line (Logging/BufferedConsoleLoggerProvider).
            Microsoft.Extensions.Logging.FilterLoggingBuilderExtensions.AddFilter(builder.Logging, "Microsoft.AspNetCore", Microsoft.Extensions.Logging.LogLevel.Warning);
            consoleLog.ReplaceProviders(builder.Logging);
            var url = $"http://{parse.GetValue(host)}:{parse.GetValue(port)}";
            Microsoft.AspNetCore.Hosting.HostingAbstractionsWebHostBuilderExtensions.UseUrls(builder.WebHost, url);
            await using var app = builder.Build();
            var scoring = new MlOps.Client.Serving.ScoringOptions { MaxRequestBodyBytes = parse.GetValue(maxBody) };
            if (parse.GetValue(logDir) is { } directory)
            {
                scoring.InferenceLog = new InferenceLogOptions { Directory = directory, SampleRate = parse.GetValue(sampleRate), MaxBytes = parse.GetValue(logMaxMb) << 20 };
            }

            if (parse.GetValue(drift) || parse.GetValue(monitoringRun))
            {
                scoring.DriftMonitor = new DriftMonitorOptions { WindowRows = parse.GetValue(driftRows) };
            }

            MlOps.Client.Serving.ScoringEndpoints.MapMlflowModel(app, model, scoring);
            Tracker? tracker = null;
            MonitoringRun? recording = null;
            if (parse.GetValue(monitoringRun) && model.DriftMonitor is { } monitor)
            {
                tracker = new Tracker(store, new TrackerOptions { HandleProcessExit = false });
                recording = await MonitoringRun.StartAsync(tracker, parse.GetValue(serveUri)!, ct).ConfigureAwait(false);
                monitor.WindowCompleted += (_, e) => recording.Record(e.Report);
            }

            // The whole server is the model's: unknown paths answer 404 in FastAPI's shape, as Python's server does.
            Microsoft.AspNetCore.Builder.EndpointRouteBuilderExtensions.MapFallback(app, () => Microsoft.AspNetCore.Http.Results.Text("""{"detail":"Not Found"}""", "application/json", statusCode: 404));
            await app.StartAsync(ct).ConfigureAwait(false);
            // The address bound (with -p 0, the port the system chose).
            await ctx.Output.WriteLineAsync($"serving {parse.GetValue(serveUri)} ({model.Flavor}) on {app.Urls.FirstOrDefault() ?? url}; Ctrl+C stops").ConfigureAwait(false);
            try
            {
                await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C / SIGTERM
            }

            await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await model.DisposeAsync().ConfigureAwait(false); // the inference log's last lines, the monitor's stop
            if (recording is not null)
            {
                await recording.DisposeAsync().ConfigureAwait(false);
                await tracker!.DisposeAsync().ConfigureAwait(false);
            }

            return Ok;
        }));

        return new Command("models", "The model registry, and serving a model.") { list, versions, setAlias, download, serve };
    }

    // ---------------------------------------------------------------- spool

    private static Command Spool(Func<ParseResult, CliContext> context)
    {
        var status = new Command("status", "What the uploader's disk spool holds for the tracking URI (not yet delivered).");
        status.SetAction((parse, ct) => Guard(context(parse), async ctx =>
        {
            var uri = ctx.ClientOptions().TrackingUri ?? TrackingStores.DefaultUri;
            using var spool = new MlOps.Client.Uploading.Spooling.DiskSpool(new MlOps.Client.Uploading.SpoolOptions(), uri, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
            long records = 0, entities = 0;
            var runs = new HashSet<string>(StringComparer.Ordinal);
            foreach (var entry in spool.ReadPending(inspectOnly: true))
            {
                records++;
                entities += entry.Record.EntityCount;
                runs.Add(entry.Record.RunId);
            }

            await ctx.Output.WriteLineAsync($"spool: {spool.Folder}").ConfigureAwait(false);
            await ctx.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"pending: {records} record(s), {entities} entit{(entities == 1 ? "y" : "ies")} of {runs.Count} run(s), {spool.Bytes} bytes")).ConfigureAwait(false);
            return Ok;
        }));

        var replay = new Command("replay", "Send what the spool holds to the tracking server now.");
        replay.SetAction((parse, ct) => Guard(context(parse), async ctx =>
        {
            var options = ctx.ClientOptions();
            if (!(options.TrackingUri ?? "").StartsWith("http", StringComparison.OrdinalIgnoreCase))
            {
                throw new NotSupportedException("The spool holds uploads to a tracking server: set MLFLOW_TRACKING_URI (or --tracking-uri) to it.");
            }

            await using var store = ctx.OpenStore();
            var trackerOptions = new TrackerOptions { HandleProcessExit = false };
            trackerOptions.Uploader.Spool.Enabled = true;
            trackerOptions.Uploader.Spool.ReplayOnStart = false;
            await using var tracker = new Tracker(store, trackerOptions);
            var all = ctx.ShowProgress
                ? await ctx.Console.Status().StartAsync("replaying the spool…", _ => tracker.ReplaySpoolAsync(ct)).ConfigureAwait(false)
                : await tracker.ReplaySpoolAsync(ct).ConfigureAwait(false);
            await ctx.Output.WriteLineAsync(all ? "replayed: the spool is empty" : "replay stopped: the server did not take everything (run it again later)").ConfigureAwait(false);
            return all ? Ok : Error;
        }));

        return new Command("spool", "The uploader's disk spool (what an outage left to send).") { status, replay };
    }

    // ---------------------------------------------------------------- monitor

    private static Command Monitor(Func<ParseResult, CliContext> context)
    {
        var logDir = new Option<string>("--log", "-l") { Description = "The inference log's folder (mlops models serve --log-dir, or ScoringOptions.InferenceLog).", Required = true };
        var modelUri = new Option<string?>("--model-uri", "-m") { Description = "The served model, whose reference_profile.json the traffic is compared with (models:/name/3, runs:/…, a folder); when the log holds requests served under this URI, only those are tested." };
        var profileFile = new Option<string?>("--profile") { Description = "A reference profile file to compare with, instead of the model's." };
        var windowRows = new Option<long>("--window-rows") { Description = "Rows per window (0: windows by time only).", DefaultValueFactory = _ => new DriftMonitorOptions().WindowRows };
        var windowMinutes = new Option<double?>("--window-minutes") { Description = "Also close a window after this many minutes of the log's timestamps." };
        var since = new Option<DateTimeOffset?>("--since") { Description = "Only requests served at or after this time (ISO 8601)." };
        var pValue = new Option<double>("--p-value") { Description = "Significance of the p-value tests (Bonferroni-corrected over the features).", DefaultValueFactory = _ => new DriftOptions().PValue };
        var share = new Option<double>("--drift-share") { Description = "The share of drifted features at which the dataset drifts.", DefaultValueFactory = _ => new DriftOptions().DatasetDriftShare };
        var outFile = new Option<string>("--out-file", "-o") { Description = "The markdown report (figures are written beside it).", DefaultValueFactory = _ => "monitor.md" };
        var noPlots = new Option<bool>("--no-plots") { Description = "Do not draw the figures." };
        var toMlflow = new Option<bool>("--log-to-mlflow") { Description = "Record the windows in the model's monitoring run (one step per window) and the report as its artifacts." };
        var monitor = new Command("monitor", "Test an inference log for drift against the model's training profile, write a markdown report, and exit 3 when the latest window drifted (the retraining trigger).")
        {
            logDir, modelUri, profileFile, windowRows, windowMinutes, since, pValue, share, outFile, noPlots, toMlflow,
        };
        monitor.SetAction((parse, ct) => Guard(context(parse), async ctx =>
        {
            var uri = parse.GetValue(modelUri);
            var file = parse.GetValue(profileFile);
            if (uri is null && file is null)
            {
                await ctx.Error.WriteLineAsync("mlops: give the served model (--model-uri) or its reference profile (--profile).").ConfigureAwait(false);
                return Usage;
            }

            var options = new DriftMonitorOptions
            {
                WindowRows = parse.GetValue(windowRows),
                WindowDuration = parse.GetValue(windowMinutes) is { } minutes ? TimeSpan.FromMinutes(minutes) : null,
                Drift = new DriftOptions { PValue = parse.GetValue(pValue), DatasetDriftShare = parse.GetValue(share) },
            };
            options.Validate();
            var contents = InferenceLogReader.Read(parse.GetValue(logDir)!, parse.GetValue(since));
            if (uri is not null && contents.Records.Any(r => r.ModelUri == uri))
            {
                // A log shared by several models (or versions): this model's requests only.
                contents = contents with { Records = [.. contents.Records.Where(r => r.ModelUri == uri)] };
            }

            await using var store = ctx.OpenStore();
            var reference = file is not null
                ? ReferenceProfile.Load(file)
                : await ModelLogging.WithLocalCopyAsync(store, uri!, directory => Task.FromResult(ReferenceProfile.Load(directory)), ct).ConfigureAwait(false);
            var name = uri ?? contents.Records.Select(r => r.ModelUri).FirstOrDefault(u => u is not null) ?? Path.GetFileName(file!);
            var result = MonitoringReport.Create(name, reference, contents, options);
            var files = await result.WriteAsync(parse.GetValue(outFile)!, !parse.GetValue(noPlots), ct).ConfigureAwait(false);
            if (parse.GetValue(toMlflow))
            {
                await using var tracker = new Tracker(store, new TrackerOptions { HandleProcessExit = false });
                await using var run = await MonitoringRun.StartAsync(tracker, name, ct).ConfigureAwait(false);
                foreach (var window in result.Windows)
                {
                    run.Record(window);
                }

                foreach (var written in files)
                {
                    await run.Run.LogArtifactAsync(written, "monitoring", cancellationToken: ct).ConfigureAwait(false);
                }

                await ctx.Output.WriteLineAsync($"recorded {result.Windows.Count} window(s) in run {run.Run.RunId}").ConfigureAwait(false);
            }

            var latest = result.Latest;
            await ctx.Output.WriteLineAsync(latest is null
                ? $"wrote {files[0]}: no window ({contents.Records.Sum(r => (long)r.Rows)} rows logged)"
                : $"wrote {files[0]} ({files.Count - 1} figure(s)); {result.Windows.Count} window(s), latest: {latest.Features.Count(f => f.Drifted)}/{latest.Features.Count(f => f.Tested)} features drifted{(result.Drifted ? " — DRIFT" : "")}").ConfigureAwait(false);
            if (contents.UnreadableLines > 0)
            {
                await ctx.Error.WriteLineAsync($"mlops: {contents.UnreadableLines} line(s) of the log could not be read (torn by a crash or a full disk) and were skipped").ConfigureAwait(false);
            }

            return result.Drifted ? Drift : Ok;
        }));
        return monitor;
    }

    // ---------------------------------------------------------------- helpers

    private static Option<string> FormatOption()
    {
        var format = new Option<string>("--format", "-f") { Description = "table (terminal), csv, json or markdown.", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "csv", "json", "markdown");
        return format;
    }

    /// <summary>Runs a command body: known failures become one line on standard error and exit code 1.</summary>
    private static Option<string> ExperimentIdOption() => new("--experiment-id", "-x") { Description = "The experiment.", Required = true };

    private static Option<string> RunIdOption() => new("--run-id") { Description = "The run.", Required = true };

    /// <summary>A delete or restore verb: one required id, the store's lifecycle call, then Python's line.</summary>
    private static Command Lifecycle(
        Func<ParseResult, CliContext> context, string name, string description, Func<Option<string>> idOption,
        Func<ILifecycleStore, string, CancellationToken, Task> apply, Func<string, string> said)
    {
        var id = idOption();
        var command = new Command(name, description) { id };
        command.SetAction((parse, ct) => Guard(context(parse), async ctx =>
        {
            await using var store = ctx.OpenStore();
            var value = parse.GetValue(id)!;
            await apply(store.LifecycleOf(), value, ct).ConfigureAwait(false);
            await ctx.Output.WriteLineAsync(said(value)).ConfigureAwait(false);
            return Ok;
        }));
        return command;
    }

    private static async Task<int> Guard(CliContext ctx, Func<CliContext, Task<int>> body)
    {
        try
        {
            return await body(ctx).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is MlflowException or HttpRequestException or NotSupportedException or ArgumentException or FormatException
                                       or IOException or InvalidOperationException or UnauthorizedAccessException or TimeoutException or KeyNotFoundException)
        {
            var message = ex.Message.Split('\n')[0].Trim();
            await ctx.Error.WriteLineAsync("mlops: " + message).ConfigureAwait(false);
            return Error;
        }
    }

    private static IEnumerable<string> SplitList(string value) => value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Levenshtein distance, for "did you mean".</summary>
    private static int EditDistance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            previous = current;
        }

        return previous[b.Length];
    }

    private static async Task<List<string>> ExperimentIdsAsync(ITrackingStore store, IReadOnlyList<string> names, IReadOnlyList<string> ids, CancellationToken ct)
    {
        var result = new List<string>();
        foreach (var id in ids)
        {
            result.Add((await Tracker.GetExperimentByIdAsync(store, id, "--experiment-id", ct).ConfigureAwait(false)).ExperimentId);
        }

        foreach (var name in names)
        {
            var experiment = await store.FindExperimentByNameAsync(name, ct).ConfigureAwait(false)
                ?? throw new MlflowException(404, MlflowErrorCodes.ResourceDoesNotExist, $"No experiment named '{name}'.");
            result.Add(experiment.ExperimentId);
        }

        if (result.Count == 0)
        {
            if (Environment.GetEnvironmentVariable(MlOps.Client.Configuration.MlflowEnvironment.ExperimentId) is { Length: > 0 } envId)
            {
                result.Add((await Tracker.GetExperimentByIdAsync(store, envId, MlOps.Client.Configuration.MlflowEnvironment.ExperimentId, ct).ConfigureAwait(false)).ExperimentId);
            }
            else if (Environment.GetEnvironmentVariable(MlOps.Client.Configuration.MlflowEnvironment.ExperimentName) is { Length: > 0 } envName)
            {
                result.Add((await store.FindExperimentByNameAsync(envName, ct).ConfigureAwait(false)
                    ?? throw new MlflowException(404, MlflowErrorCodes.ResourceDoesNotExist, $"No experiment named '{envName}' (MLFLOW_EXPERIMENT_NAME).")).ExperimentId);
            }
            else
            {
                result.Add("0");
            }
        }

        return result;
    }

    /// <summary>All pages of a search, with a live count on standard error when it is a terminal.</summary>
    private static async Task<List<Run>> SearchAllAsync(CliContext ctx, ITrackingStore store, SearchRunsOptions query, CancellationToken ct)
    {
        var runs = new List<Run>();
        async Task Fetch(Action<int>? report)
        {
            string? token = null;
            do
            {
                var page = await store.SearchRunsPageAsync(query, token, ct).ConfigureAwait(false);
                runs.AddRange(page.Values);
                report?.Invoke(runs.Count);
                token = page.NextPageToken;
            }
            while (token is not null && (query.MaxResults is not { } m || runs.Count < m));
        }

        if (ctx.ShowProgress)
        {
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
            await console.Status().StartAsync("searching runs…", status => Fetch(n => status.Status($"searching runs… {n} so far"))).ConfigureAwait(false);
        }
        else
        {
            await Fetch(null).ConfigureAwait(false);
        }

        return query.MaxResults is { } max && runs.Count > max ? runs.GetRange(0, max) : runs;
    }

    private static async Task WriteTableAsync(CliContext ctx, RunTable table, string format, string? file, CancellationToken ct)
    {
        if (format == "table" && file is null)
        {
            var shown = RunTable.InfoColumns.Where(c => c is "run_id" or "status" or "start_time")
                .Concat(table.Columns.Where(c => c.StartsWith("metrics.", StringComparison.Ordinal) || c.StartsWith("params.", StringComparison.Ordinal)))
                .Append("tags.mlflow.runName").Where(c => table.IndexOf(c) >= 0).ToList();
            var t = new Table().Border(TableBorder.Rounded);
            foreach (var c in shown)
            {
                // Two-line headers (group, then key) keep columns narrow without cutting names ("metrics…"); a run id never wraps.
                var dot = c.IndexOf('.', StringComparison.Ordinal);
                var header = c.StartsWith("metrics.", StringComparison.Ordinal) || c.StartsWith("params.", StringComparison.Ordinal) || c.StartsWith("tags.", StringComparison.Ordinal)
                    ? $"[grey]{Markup.Escape(c[..dot])}[/]\n{Markup.Escape(c[(dot + 1)..])}"
                    : Markup.Escape(c);
                var column = new TableColumn(header);
                if (c == "run_id")
                {
                    column.NoWrap();
                }

                t.AddColumn(column);
            }

            // Compact for reading (full values are in CSV/JSON): 6 significant digits, times to the second.
            static string Compact(string column, string? value) =>
                value is null ? ""
                : column.StartsWith("metrics.", StringComparison.Ordinal) && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d.ToString("G6", CultureInfo.InvariantCulture)
                : column is "start_time" or "end_time" && DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.None, out var t) ? t.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)
                : value;
            for (var r = 0; r < table.Rows.Count; r++)
            {
                t.AddRow([.. shown.Select(c => Markup.Escape(Compact(c, table[r, c])))]);
            }

            ctx.Console.Write(t);
            await ctx.Output.WriteLineAsync($"{table.Rows.Count} run(s)").ConfigureAwait(false);
            return;
        }

        var writer = file is null ? ctx.Output : new StreamWriter(file, append: false, new System.Text.UTF8Encoding(false));
        try
        {
            switch (format)
            {
                case "json": table.WriteJson(writer); break;
                case "markdown": table.WriteMarkdown(writer); break;
                default: table.WriteCsv(writer); break;
            }
        }
        finally
        {
            if (file is not null)
            {
                await writer.DisposeAsync().ConfigureAwait(false);
            }
        }

        if (file is not null)
        {
            await ctx.Output.WriteLineAsync($"wrote {table.Rows.Count} run(s) to {file}").ConfigureAwait(false);
        }

        ct.ThrowIfCancellationRequested();
    }

    private static void WriteRows(CliContext ctx, string format, IReadOnlyList<string> header, IReadOnlyList<IReadOnlyList<string?>> rows)
    {
        switch (format)
        {
            case "csv":
                new TextTable(header, rows).WriteCsv(ctx.Output);
                break;
            case "json":
                new TextTable(header, rows).WriteJson(ctx.Output);
                break;
            case "markdown":
                new TextTable(header, rows).WriteMarkdown(ctx.Output);
                break;
            default:
                var t = new Table().Border(TableBorder.Rounded);
                foreach (var h in header)
                {
                    t.AddColumn(Markup.Escape(h));
                }

                foreach (var row in rows)
                {
                    t.AddRow([.. row.Select(c => Markup.Escape(c ?? ""))]);
                }

                ctx.Console.Write(t);
                break;
        }
    }

    private static async Task<List<T>> CollectAsync<T>(IAsyncEnumerable<T> items, CancellationToken ct)
    {
        var list = new List<T>();
        await foreach (var item in items.WithCancellation(ct).ConfigureAwait(false))
        {
            list.Add(item);
        }

        return list;
    }

    private static async Task<string> DownloadWithProgressAsync(CliContext ctx, IArtifactRepository artifacts, string path, string destination, CancellationToken ct)
    {
        if (!ctx.ShowProgress)
        {
            return await artifacts.DownloadAsync(path, destination, 4, null, ct).ConfigureAwait(false);
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        string local = destination;
        await console.Progress().StartAsync(async p =>
        {
            var task = p.AddTask("downloading");
            local = await artifacts.DownloadAsync(path, destination, 4, new Progress<ArtifactTransferProgress>(x => task.Value = x.TotalBytes is > 0 ? 100.0 * x.BytesTransferred / x.TotalBytes.Value : task.Value), ct).ConfigureAwait(false);
            task.Value = 100;
        }).ConfigureAwait(false);
        return local;
    }
}
