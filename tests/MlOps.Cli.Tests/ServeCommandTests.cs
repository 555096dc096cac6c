using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using MlOps.Client.Models;
using MlOps.Client.XGBoost;
using MlOps.Client.XGBoost.Models;
using MlOps.Client.XGBoost.Tests;

namespace MlOps.Cli.Tests;

/// <summary><c>mlops models serve</c> as a real process: MLflow's scoring protocol for an XGBoost model folder.</summary>
public sealed class ServeCommandTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-serve-");

    public void Dispose() => _dir.Delete(recursive: true);

    [XGBoostFact]
    public async Task The_serve_command_answers_ping_and_invocations_until_it_is_stopped()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_dir.FullName, "model")).FullName;
        using (var dtrain = new DMatrix([[0f, 1f], [1f, 0f], [1f, 1f], [0f, 0f]], [0f, 1f, 1f, 0f]))
        using (var booster = XGBoost.Train(new Dictionary<string, object?> { ["objective"] = "binary:logistic", ["seed"] = 1 }, dtrain, 5))
        {
            var description = MlflowModel.Create("model", "run");
            description.Flavors["xgboost"] = (await new XGBoostFlavor().SaveAsync(booster, folder, default)).Flavor;
            description.Save(folder);
        }

        // -p 0: the system chooses the port and the command prints the address it bound (no race for a free port).
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = _dir.FullName, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Mlops.ToolDll, "models", "serve", "-m", folder, "-p", "0" })
        {
            start.ArgumentList.Add(a);
        }

        start.Environment.Remove("MLFLOW_TRACKING_URI");
        using var process = Process.Start(start)!;
        try
        {
            string? line = null;
            using (var startup = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
            {
                while (line?.StartsWith("serving ", StringComparison.Ordinal) != true)
                {
                    line = await process.StandardOutput.ReadLineAsync(startup.Token);
                    if (line is null)
                    {
                        Assert.Fail("the command ended before serving: " + await process.StandardError.ReadToEndAsync());
                    }
                }
            }

            // Keep reading what it prints (its request lines), so that a full pipe never blocks it.
            var rest = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            var address = line.Split(" on ")[1].Split(';')[0];
            Assert.Matches(@"^http://127\.0\.0\.1:[1-9][0-9]*$", address);
            using var http = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(30) };
            var up = (await http.GetAsync("/ping")).StatusCode == HttpStatusCode.OK;
            Assert.True(up, "the server did not answer /ping");
            using var body = new StringContent("""{"inputs": [[0, 1], [0, 0]]}""", Encoding.UTF8, "application/json");
            using var response = await http.PostAsync("/invocations", body);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var predictions = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["predictions"]!.AsArray();
            Assert.Equal(2, predictions.Count);
            Assert.All(predictions, p => Assert.InRange(p!.GetValue<double>(), 0, 1)); // binary:logistic: one probability per row

            // The whole server is the model's: an unknown path gets 404 in FastAPI's shape, as Python's server answers.
            using var unknown = await http.GetAsync("/nope");
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
            Assert.Equal("""{"detail":"Not Found"}""", await unknown.Content.ReadAsStringAsync());

            // SIGTERM (what a container runtime sends): the server stops, disposes the model and exits 0.
            using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}: {await errors}");
            await rest;
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }
        }
    }
}
