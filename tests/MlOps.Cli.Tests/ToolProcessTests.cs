using System.Globalization;
using System.Text.Json.Nodes;
using CsvHelper;
using Microsoft.Data.Sqlite;
using MlOps.Client;
using MlOps.Client.Stores;
using MlOps.Client.Tracking;
using SkiaSharp;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;

namespace MlOps.Cli.Tests;

/// <summary><c>mlops</c> run as a real process: against the QuickStart sample's mlflow.db, a prepared embedded store, and an HTTP fake serving recorded MLflow 2.22 answers.</summary>
public sealed class ToolProcessTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-cli-");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    private static List<Dictionary<string, string>> ParseCsv(string text)
    {
        using var reader = CsvReader.FromText(text, new CsvReaderOptions { HasHeader = false });
        var rows = new List<Dictionary<string, string>>();
        string[]? header = null;
        foreach (var row in reader)
        {
            var cells = row.ToArray();
            if (header is null)
            {
                header = cells;
                continue;
            }

            rows.Add(header.Zip(cells).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal));
        }

        return rows;
    }

    /// <summary>Two runs in an embedded store: a baseline, and a better candidate (higher accuracy, lower loss).</summary>
    private async Task<(string Uri, string Baseline, string Candidate)> TwoRunsAsync()
    {
        var uri = "sqlite:///" + Path.Combine(_dir.FullName, "runs.db");
        await using var store = SqliteTrackingStore.Open(uri);
        await using var tracker = new Tracker(store, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false, ExperimentName = "iris" });
        async Task<string> Train(string name, double lr, double finalAccuracy)
        {
            using var run = await tracker.StartRunAsync(name);
            run.LogParam("lr", lr);
            run.LogParam("notes", "first, \"quoted\""); // a value that needs CSV quoting
            for (var step = 0; step < 5; step++)
            {
                run.LogMetric("loss", (1 - finalAccuracy) * (5 - step), step);
                run.LogMetric("accuracy", finalAccuracy - (0.02 * (4 - step)), step);
            }

            return run.RunId;
        }

        var baseline = await Train("baseline", 0.1, 0.90);
        var candidate = await Train("candidate", 0.3, 0.95);
        return (uri, baseline, candidate);
    }

    private Dictionary<string, string> Env(string uri) => new() { ["MLFLOW_TRACKING_URI"] = uri };

    [Fact]
    public async Task Every_command_has_help_and_the_root_lists_them()
    {
        var root = await Mlops.RunAsync(_dir.FullName, null, "--help");
        Assert.Equal(0, root.ExitCode);
        foreach (var command in new[] { "experiments", "runs", "metrics", "report", "models", "monitor", "spool" })
        {
            Assert.Contains(command, root.Output, StringComparison.Ordinal);
        }

        foreach (var args in new[] { "experiments list", "runs search", "runs compare", "metrics plot", "report", "models list", "models versions", "models set-alias", "models download", "models serve", "monitor", "spool status", "spool replay" })
        {
            var help = await Mlops.RunAsync(_dir.FullName, null, [.. args.Split(' '), "--help"]);
            Assert.True(help.ExitCode == 0 && help.Output.Contains("Usage:", StringComparison.Ordinal), args + ": " + help);
        }
    }

    [Fact]
    public async Task A_search_of_the_QuickStart_database_exports_CSV_with_Pythons_columns_and_the_runs_values()
    {
        var folder = await Mlops.QuickStartFolderAsync();
        try
        {
            var result = await Mlops.RunAsync(folder.FullName, null, "runs", "search", "--experiment", "quickstart", "--format", "csv");
            Assert.True(result.ExitCode == 0, result.ToString());
            var rows = ParseCsv(result.Output);

            await using var store = SqliteTrackingStore.Open("sqlite:///" + Path.Combine(folder.FullName, "mlflow.db"));
            var experiment = await store.FindExperimentByNameAsync("quickstart", default);
            var runs = (await store.SearchRunsPageAsync(new SearchRunsOptions { ExperimentIds = { experiment!.ExperimentId } }, null, default)).Values;
            Assert.Equal(runs.Select(r => r.Info.RunId).Order(), rows.Select(r => r["run_id"]).Order());
            Assert.Equal(["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"], ParseHeader(result.Output).Take(6));
            foreach (var run in runs)
            {
                var row = rows.Single(r => r["run_id"] == run.Info.RunId);
                Assert.Equal("FINISHED", row["status"]);
                Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(run.Info.StartTime!.Value).UtcDateTime,
                    DateTime.ParseExact(row["start_time"], "yyyy-MM-dd HH:mm:ss.ffffff+00:00", CultureInfo.InvariantCulture));
                foreach (var m in run.Data.Metrics)
                {
                    Assert.Equal(m.Value, double.Parse(row["metrics." + m.Key], CultureInfo.InvariantCulture)); // repr round-trips exactly
                }

                foreach (var p in run.Data.Params)
                {
                    Assert.Equal(p.Value, row["params." + p.Key]);
                }

                Assert.Equal(run.Data.GetTag(MlflowTags.RunName), row["tags.mlflow.runName"]);
            }

            // Runs without a metric have an empty cell (the child run has no "loss").
            Assert.Contains(rows, r => r["metrics.loss"].Length == 0);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static string[] ParseHeader(string csv)
    {
        using var reader = CsvReader.FromText(csv, new CsvReaderOptions { HasHeader = false });
        foreach (var row in reader)
        {
            return row.ToArray();
        }

        return [];
    }

    [Fact]
    public async Task JSON_markdown_and_a_file_carry_the_same_runs_and_CSV_quotes_what_needs_quoting()
    {
        var (uri, baseline, candidate) = await TwoRunsAsync();
        var json = await Mlops.RunAsync(_dir.FullName, Env(uri), "runs", "search", "-e", "iris", "--format", "json", "--order-by", "attributes.run_name");
        Assert.True(json.ExitCode == 0, json.ToString());
        var array = JsonNode.Parse(json.Output)!.AsArray();
        Assert.Equal([baseline, candidate], array.Select(r => r!["run_id"]!.GetValue<string>()));

        var file = Path.Combine(_dir.FullName, "out", "runs.csv");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        var csv = await Mlops.RunAsync(_dir.FullName, Env(uri), "runs", "search", "-e", "iris", "--format", "csv", "-o", file, "--filter", "params.lr = '0.3'");
        Assert.True(csv.ExitCode == 0, csv.ToString());
        var text = await File.ReadAllTextAsync(file);
        Assert.Contains(",\"first, \"\"quoted\"\"\",", text, StringComparison.Ordinal); // RFC 4180
        var rows = ParseCsv(text);
        Assert.Equal(candidate, Assert.Single(rows)["run_id"]);
        Assert.Equal("first, \"quoted\"", rows[0]["params.notes"]);

        var markdown = await Mlops.RunAsync(_dir.FullName, Env(uri), "runs", "search", "-e", "iris", "--format", "markdown", "--max", "1");
        Assert.Equal(3, markdown.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length); // header, rule, one run

        // The terminal table at 160 columns: every key in full under its group, values compact; at 80 a run id still on one line.
        var env = Env(uri);
        env["COLUMNS"] = "160";
        var table = await Mlops.RunAsync(_dir.FullName, env, "runs", "search", "-e", "iris");
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.False(table.Output.Contains('…', StringComparison.Ordinal), table.Output);
        foreach (var expected in new[] { baseline, candidate, "accuracy", "loss", "notes", "mlflow.runName", "0.95" })
        {
            Assert.True(table.Output.Contains(expected, StringComparison.Ordinal), expected + " missing:\n" + table.Output);
        }

        var narrow = await Mlops.RunAsync(_dir.FullName, Env(uri), "runs", "search", "-e", "iris");
        Assert.Contains(baseline, narrow.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Compare_marks_the_differences_and_plot_writes_a_readable_PNG()
    {
        var (uri, baseline, candidate) = await TwoRunsAsync();
        var compare = await Mlops.RunAsync(_dir.FullName, Env(uri), "runs", "compare", baseline, candidate, "--format", "markdown");
        Assert.True(compare.ExitCode == 0, compare.ToString());
        var lines = compare.Output.Split('\n');
        Assert.Contains(lines, l => l.StartsWith("| params.lr | 0.1 | 0.3 | ≠ |", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("| params.notes | first, \"quoted\" | first, \"quoted\" |  |", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("| metrics.accuracy | 0.9 | 0.95 | ≠ |", StringComparison.Ordinal));

        var png = Path.Combine(_dir.FullName, "loss.png");
        var plot = await Mlops.RunAsync(_dir.FullName, Env(uri), "metrics", "plot", $"{baseline},{candidate}", "--key", "loss", "--key", "accuracy", "-o", png, "--width", "640", "--height", "400");
        Assert.True(plot.ExitCode == 0, plot.ToString());
        Assert.Contains("4 series", plot.Output, StringComparison.Ordinal);
        using var bitmap = SKBitmap.Decode(png);
        Assert.Equal((640, 400), (bitmap.Width, bitmap.Height));
        Assert.True(DistinctColors(bitmap) > 20, "the PNG looks blank");
    }

    internal static int DistinctColors(SKBitmap bitmap)
    {
        var colors = new HashSet<SKColor>();
        for (var y = 0; y < bitmap.Height; y += 3)
        {
            for (var x = 0; x < bitmap.Width; x += 3)
            {
                colors.Add(bitmap.GetPixel(x, y));
            }
        }

        return colors.Count;
    }

    [Fact]
    public async Task The_report_shows_deltas_by_direction_writes_figures_and_its_gates_set_the_exit_code()
    {
        var (uri, baseline, candidate) = await TwoRunsAsync();
        var report = Path.Combine(_dir.FullName, "ci", "report.md");
        var passed = await Mlops.RunAsync(_dir.FullName, Env(uri), "report", candidate, "--baseline", baseline, "-o", report, "--fail-if", "accuracy < baseline - 0.01");
        Assert.True(passed.ExitCode == 0, passed.ToString());
        var md = await File.ReadAllTextAsync(report);
        Assert.Contains("| accuracy | 0.95 | 0.9 | +0.05 | ✅ better |", md, StringComparison.Ordinal);
        Assert.Contains("| loss | 0.050000000000000044 | 0.09999999999999998 | -0.05 | ✅ better |", md, StringComparison.Ordinal); // lower is better for a loss
        Assert.Contains("| lr | 0.3 | 0.1 | ≠ |", md, StringComparison.Ordinal);
        Assert.Contains("✅ passed: fail if `accuracy < baseline - 0.01`", md, StringComparison.Ordinal);
        foreach (var figure in new[] { "report-accuracy.png", "report-loss.png" })
        {
            Assert.Contains($"]({figure})", md, StringComparison.Ordinal);
            using var bitmap = SKBitmap.Decode(Path.Combine(_dir.FullName, "ci", figure));
            Assert.True(bitmap.Width > 0 && DistinctColors(bitmap) > 20, figure);
        }

        // The other way round the candidate regressed: exit code 3, the gate named in the output and the report.
        var failed = await Mlops.RunAsync(_dir.FullName, Env(uri), "report", baseline, "--baseline", candidate, "-o", report, "--fail-if", "accuracy < baseline - 0.01", "--log-artifact");
        Assert.True(failed.ExitCode == 3, failed.ToString());
        Assert.Contains("triggered: accuracy < baseline - 0.01", failed.Output, StringComparison.Ordinal);
        md = await File.ReadAllTextAsync(report);
        Assert.Contains("**Result: FAILED**", md, StringComparison.Ordinal);
        Assert.Contains("| accuracy | 0.9 | 0.95 | -0.05 | ❌ worse |", md, StringComparison.Ordinal);

        // A gate with a misspelt metric is a usage error (2) that names what there is, not a regression (3).
        var typo = await Mlops.RunAsync(_dir.FullName, Env(uri), "report", candidate, "--baseline", baseline, "-o", report, "--fail-if", "acuracy < 0.9");
        Assert.True(typo.ExitCode == 2, typo.ToString());
        Assert.Contains("names the metric 'acuracy', which neither the run nor the baseline has; did you mean 'accuracy'?", typo.Error, StringComparison.Ordinal);

        // --log-artifact: the report and its figures are artifacts of the reported run.
        await using var store = SqliteTrackingStore.Open(uri);
        var run = await store.GetRunAsync(baseline, default);
        var artifacts = Path.Combine(new Uri(run.Info.ArtifactUri!).LocalPath, "report");
        Assert.True(File.Exists(Path.Combine(artifacts, "report.md")) && File.Exists(Path.Combine(artifacts, "report-loss.png")));
    }

    [Fact]
    public async Task Errors_are_one_line_with_a_non_zero_exit_code()
    {
        var (uri, _, _) = await TwoRunsAsync();
        var unknownRun = await Mlops.RunAsync(_dir.FullName, Env(uri), "report", "0123456789abcdef0123456789abcdef");
        Assert.Equal(1, unknownRun.ExitCode);
        Assert.Equal("mlops: Run with id=0123456789abcdef0123456789abcdef not found", unknownRun.Error.Trim());

        var badFilter = await Mlops.RunAsync(_dir.FullName, Env(uri), "runs", "search", "-e", "iris", "--filter", "metrics.acc >>> 1");
        Assert.Equal(1, badFilter.ExitCode);
        Assert.Single(badFilter.Error.Trim().Split('\n'));

        var badGate = await Mlops.RunAsync(_dir.FullName, Env(uri), "report", "x", "--fail-if", "accuracy is bad");
        Assert.Equal(1, badGate.ExitCode);
        Assert.StartsWith("mlops: 'accuracy is bad' is not a gate", badGate.Error, StringComparison.Ordinal);

        var unreachable = await Mlops.RunAsync(_dir.FullName, new Dictionary<string, string> { ["MLFLOW_TRACKING_URI"] = "http://127.0.0.1:9", ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0" }, "experiments", "list");
        Assert.Equal(1, unreachable.ExitCode);
        Assert.Single(unreachable.Error.Trim().Split('\n'));
        Assert.StartsWith("mlops: ", unreachable.Error, StringComparison.Ordinal);

        var usage = await Mlops.RunAsync(_dir.FullName, null, "runs", "serch");
        Assert.Equal(2, usage.ExitCode);
    }

    [Fact]
    public async Task Runs_and_experiments_are_deleted_and_restored_with_Python_s_words()
    {
        var (uri, baseline, candidate) = await TwoRunsAsync();
        async Task<string[]> Active() =>
            ParseCsv((await Mlops.RunAsync(_dir.FullName, Env(uri), "runs", "search", "-e", "iris", "--format", "csv")).Output).Select(r => r["run_id"]).ToArray();

        var deleted = await Mlops.RunAsync(_dir.FullName, Env(uri), "runs", "delete", "--run-id", baseline);
        Assert.True(deleted.ExitCode == 0, deleted.ToString());
        Assert.Equal($"Run with ID {baseline} has been deleted.", deleted.Output.Trim());
        Assert.Equal([candidate], await Active());
        var restored = await Mlops.RunAsync(_dir.FullName, Env(uri), "runs", "restore", "--run-id", baseline);
        Assert.Equal($"Run with id {baseline} has been restored.", restored.Output.Trim());
        Assert.Equal(2, (await Active()).Length);
        var unknown = await Mlops.RunAsync(_dir.FullName, Env(uri), "runs", "delete", "--run-id", "0123456789abcdef0123456789abcdef");
        Assert.True(unknown.ExitCode == 1, unknown.ToString());
        Assert.Contains("Run with id=0123456789abcdef0123456789abcdef not found", unknown.Error, StringComparison.Ordinal);

        // An experiment takes its runs with it, and comes back with them; deleting it twice says it is not there (as MLflow).
        var experiments = ParseCsv((await Mlops.RunAsync(_dir.FullName, Env(uri), "experiments", "list", "--format", "csv")).Output);
        var iris = experiments.Single(e => e["name"] == "iris")["experiment_id"];
        var gone = await Mlops.RunAsync(_dir.FullName, Env(uri), "experiments", "delete", "-x", iris);
        Assert.Equal($"Experiment with ID {iris} has been deleted.", gone.Output.Trim());
        Assert.DoesNotContain(ParseCsv((await Mlops.RunAsync(_dir.FullName, Env(uri), "experiments", "list", "--format", "csv")).Output), e => e["name"] == "iris");
        await using (var store = SqliteTrackingStore.Open(uri))
        {
            Assert.Equal("deleted", (await store.GetRunAsync(candidate, default)).Info.LifecycleStage);
        }

        var twice = await Mlops.RunAsync(_dir.FullName, Env(uri), "experiments", "delete", "--experiment-id", iris);
        Assert.True(twice.ExitCode == 1, twice.ToString());
        Assert.Contains($"No Experiment with id={iris} exists", twice.Error, StringComparison.Ordinal);
        var back = await Mlops.RunAsync(_dir.FullName, Env(uri), "experiments", "restore", "-x", iris);
        Assert.Equal($"Experiment with id {iris} has been restored.", back.Output.Trim());
        Assert.Equal(2, (await Active()).Length);
    }

    [Fact]
    public async Task The_tool_takes_a_databricks_uri_as_Python_s_cli_does()
    {
        using var server = WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"], StartAdminInterface = false });
        var byName = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Recorded", "044-runs-get-missing.json")))!;
        server.Given(Request.Create().WithPath("/api/2.0/mlflow/runs/get").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(404).WithHeader("Content-Type", "application/json").WithBody(byName["response"]!["json"]!.ToJsonString()));
        var env = new Dictionary<string, string>
        {
            ["MLFLOW_TRACKING_URI"] = "databricks",
            ["DATABRICKS_HOST"] = server.Url!,
            ["DATABRICKS_TOKEN"] = "dapi-CLI-SECRET",
            ["DATABRICKS_CONFIG_FILE"] = Path.Combine(_dir.FullName, "none.cfg"),
        };
        var result = await Mlops.RunAsync(_dir.FullName, env, "runs", "describe", "0123456789abcdef0123456789abcdef");
        Assert.Equal(1, result.ExitCode); // the workspace answered: the run does not exist
        Assert.Contains("RESOURCE_DOES_NOT_EXIST", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("dapi-CLI-SECRET", result.Error + result.Output, StringComparison.Ordinal);
        Assert.Equal("Bearer dapi-CLI-SECRET", Assert.Single(server.LogEntries).RequestMessage!.Headers!["Authorization"].Single());
    }

    [Fact]
    public async Task Against_a_tracking_server_every_page_is_fetched_and_exported()
    {
        using var server = WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"], StartAdminInterface = false });
        static JsonObject Load(string name) => JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Recorded", name + ".json")))!.AsObject();
        var byName = Load("017-experiments-get-by-name");
        var page1 = Load("117-runs-search-filter-page1");
        var page2 = Load("118-runs-search-filter-page2");
        var page3 = Load("119-runs-search-filter-page3");
        void Answer(IRequestBuilder request, JsonNode body) =>
            server.Given(request).RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(body.ToJsonString()));
        Answer(Request.Create().WithPath("/api/2.0/mlflow/experiments/get-by-name").UsingGet(), byName["response"]!["json"]!);
        Answer(Request.Create().WithPath("/api/2.0/mlflow/runs/search").UsingPost().WithBody(b => b is not null && !b.Contains("page_token", StringComparison.Ordinal)), page1["response"]!["json"]!);
        Answer(Request.Create().WithPath("/api/2.0/mlflow/runs/search").UsingPost().WithBody(b => b is not null && b.Contains(page1["response"]!["json"]!["next_page_token"]!.GetValue<string>(), StringComparison.Ordinal)), page2["response"]!["json"]!);
        // The last page: the third recorded run (from the third recorded page), with no further token.
        var third = page3["response"]!["json"]!["runs"]!.AsArray().Last()!.DeepClone();
        Answer(Request.Create().WithPath("/api/2.0/mlflow/runs/search").UsingPost().WithBody(b => b is not null && b.Contains(page2["response"]!["json"]!["next_page_token"]!.GetValue<string>(), StringComparison.Ordinal)), new JsonObject { ["runs"] = new JsonArray(third) });

        var result = await Mlops.RunAsync(_dir.FullName, new Dictionary<string, string> { ["MLFLOW_TRACKING_URI"] = server.Url! },
            "runs", "search", "--experiment", "tour-experiment", "--filter", "metrics.acc > 0.5", "--order-by", "metrics.acc DESC", "--format", "csv");
        Assert.True(result.ExitCode == 0, result.ToString());
        var rows = ParseCsv(result.Output);
        var expected = new[] { page1, page2 }.SelectMany(p => p["response"]!["json"]!["runs"]!.AsArray()).Append(third).ToList();
        Assert.Equal(expected.Select(r => r!["info"]!["run_id"]!.GetValue<string>()), rows.Select(r => r["run_id"]));
        foreach (var (run, row) in expected.Zip(rows))
        {
            foreach (var m in run!["data"]!["metrics"]?.AsArray() ?? [])
            {
                Assert.Equal(m!["value"]!.GetValue<double>(), double.Parse(row["metrics." + m["key"]!.GetValue<string>()], CultureInfo.InvariantCulture));
            }

            foreach (var p in run["data"]!["params"]?.AsArray() ?? [])
            {
                Assert.Equal(p!["value"]!.GetValue<string>(), row["params." + p["key"]!.GetValue<string>()]);
            }
        }

        var search = server.LogEntries.Where(e => e.RequestMessage!.Path == "/api/2.0/mlflow/runs/search").Select(e => JsonNode.Parse(e.RequestMessage!.Body!)!).ToList();
        Assert.Equal(3, search.Count);
        Assert.All(search, s => Assert.Equal("metrics.acc > 0.5", s["filter"]!.GetValue<string>()));
        Assert.Equal(["1"], search[0]["experiment_ids"]!.AsArray().Select(x => x!.GetValue<string>()));
    }

    [Fact]
    public async Task The_registry_commands_list_alias_and_download_and_the_spool_is_reported()
    {
        var (uri, _, candidate) = await TwoRunsAsync();
        await using (var store = SqliteTrackingStore.Open(uri))
        {
            var run = await store.GetRunAsync(candidate, default);
            var folder = Path.Combine(new Uri(run.Info.ArtifactUri!).LocalPath, "model");
            Directory.CreateDirectory(folder);
            await File.WriteAllTextAsync(Path.Combine(folder, "MLmodel"), "flavors: {}\n");
            await File.WriteAllTextAsync(Path.Combine(folder, "weights.bin"), "w");
            await new MlOps.Client.Registry.ModelRegistry(store).RegisterModelAsync($"runs:/{candidate}/model", "iris");
        }

        var list = await Mlops.RunAsync(_dir.FullName, Env(uri), "models", "list", "--format", "csv");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Equal("iris", Assert.Single(ParseCsv(list.Output))["name"]);

        var alias = await Mlops.RunAsync(_dir.FullName, Env(uri), "models", "set-alias", "iris", "champion", "1");
        Assert.True(alias.ExitCode == 0, alias.ToString());
        var versions = await Mlops.RunAsync(_dir.FullName, Env(uri), "models", "versions", "iris", "--format", "json");
        var version = Assert.Single(JsonNode.Parse(versions.Output)!.AsArray())!;
        Assert.Equal(("1", "champion", candidate), (version["version"]!.GetValue<string>(), version["aliases"]!.GetValue<string>(), version["run_id"]!.GetValue<string>()));
        Assert.Equal("READY", version["status"]!.GetValue<string>()); // MLflow's word, not the enum's "Ready"

        // Python's verbs: experiments create, runs describe, artifacts list|download.
        var created = await Mlops.RunAsync(_dir.FullName, Env(uri), "experiments", "create", "fresh");
        Assert.True(created.ExitCode == 0, created.ToString());
        Assert.Matches(@"^Created experiment 'fresh' with id \d+", created.Output);
        var described = await Mlops.RunAsync(_dir.FullName, Env(uri), "runs", "describe", candidate);
        Assert.True(described.ExitCode == 0, described.ToString());
        var runJson = JsonNode.Parse(described.Output)!;
        Assert.Equal((candidate, "FINISHED", "0.3"), (runJson["info"]!["run_id"]!.GetValue<string>(), runJson["info"]!["status"]!.GetValue<string>(), runJson["data"]!["params"]!["lr"]!.GetValue<string>()));
        Assert.Equal(0.95, runJson["data"]!["metrics"]!["accuracy"]!.GetValue<double>(), 6);
        var listed = await Mlops.RunAsync(_dir.FullName, Env(uri), "artifacts", "list", "-r", candidate, "-a", "model", "--format", "csv");
        Assert.True(listed.ExitCode == 0, listed.ToString());
        Assert.Equal(["model/MLmodel", "model/weights.bin"], ParseCsv(listed.Output).Select(r => r["path"]).Order(StringComparer.Ordinal));
        var fetched = await Mlops.RunAsync(_dir.FullName, Env(uri), "artifacts", "download", "-r", candidate, "-a", "model/weights.bin", "-d", Path.Combine(_dir.FullName, "art"));
        Assert.True(fetched.ExitCode == 0, fetched.ToString());
        Assert.Equal("w", await File.ReadAllTextAsync(fetched.Output.Trim()));

        var noModel = await Mlops.RunAsync(_dir.FullName, Env(uri), "models", "download", $"runs:/{candidate}/no-model-here", "-o", Path.Combine(_dir.FullName, "none"));
        Assert.True(noModel.ExitCode == 1, noModel.ToString());
        Assert.Contains($"No model at runs:/{candidate}/no-model-here: there are no artifacts at 'no-model-here'", noModel.Error, StringComparison.Ordinal);

        var target = Path.Combine(_dir.FullName, "downloaded");
        var download = await Mlops.RunAsync(_dir.FullName, Env(uri), "models", "download", "models:/iris@champion", "-o", target);
        Assert.True(download.ExitCode == 0, download.ToString());
        Assert.Single(Directory.GetFiles(target, "weights.bin", SearchOption.AllDirectories));

        var report = await Mlops.RunAsync(_dir.FullName, Env(uri), "report", candidate, "--baseline", "models:/iris@champion", "-o", Path.Combine(_dir.FullName, "r.md"), "--no-plots");
        Assert.True(report.ExitCode == 0, report.ToString());
        Assert.Contains("from `models:/iris@champion`", await File.ReadAllTextAsync(Path.Combine(_dir.FullName, "r.md")), StringComparison.Ordinal);

        var spoolDir = Directory.CreateDirectory(Path.Combine(_dir.FullName, "spool")).FullName;
        var spool = await Mlops.RunAsync(_dir.FullName, new Dictionary<string, string> { ["MLFLOW_TRACKING_URI"] = "http://127.0.0.1:9", ["MLOPS_SPOOL_DIR"] = spoolDir }, "spool", "status");
        Assert.True(spool.ExitCode == 0, spool.ToString());
        Assert.Contains("pending: 0 record(s), 0 entities of 0 run(s), 0 bytes", spool.Output, StringComparison.Ordinal);
        Assert.Contains(spoolDir, spool.Output, StringComparison.Ordinal);
    }
}
