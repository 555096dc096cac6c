using System.Globalization;
using System.Text;
using MlOps.Client.Models;
using MlOps.Client.Monitoring;
using MlOps.Client.XGBoost;
using MlOps.Client.XGBoost.Models;
using MlOps.Client.XGBoost.Tests;
using XGBoostIris;

namespace MlOps.Client.Serving.Tests;

/// <summary>
/// The iris model served with its inference log and drift monitor on: request ids, logged rows and predictions,
/// ground truth on /feedback, and drift flagged on the shifted feature only.
/// </summary>
public sealed class ServingMonitoringTests : IDisposable
{
    private static readonly string[] Names = ["sepal_length", "sepal_width", "petal_length", "petal_width"];
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-serving-monitoring-");

    public void Dispose() => _dir.Delete(recursive: true);

    private async Task<(string Folder, float[][] XTest, float[] YTest)> SaveAsync(bool profile)
    {
        var (xTrain, yTrain, xTest, yTest) = Iris.LoadSplit();
        using var dtrain = new DMatrix(xTrain, yTrain);
        using var booster = XGBoost.XGBoost.Train(new Dictionary<string, object?> { ["objective"] = "multi:softprob", ["num_class"] = 3, ["seed"] = 42 }, dtrain);
        var folder = Directory.CreateDirectory(Path.Combine(_dir.FullName, Guid.NewGuid().ToString("N"))).FullName;
        var config = await new XGBoostFlavor().SaveAsync(booster, folder, default);
        var description = MlflowModel.Create("model", "run");
        description.Flavors["xgboost"] = config.Flavor;
        description.Signature = new ModelSignature("[" + string.Join(", ", Names.Select(n => $$"""{"type": "double", "name": "{{n}}", "required": true}""")) + "]", null);
        description.Save(folder);
        if (profile)
        {
            new ReferenceProfileBuilder().AddMatrix([.. xTrain.SelectMany(r => r)], Names).AddTarget(yTrain, categorical: true).Build().Save(folder);
        }

        return (folder, xTest, yTest);
    }

    private static string Body(IEnumerable<float[]> rows, double petalShift = 0) =>
        """{"dataframe_split": {"columns": ["sepal_length", "sepal_width", "petal_length", "petal_width"], "data": [""" +
        string.Join(", ", rows.Select(r => string.Create(CultureInfo.InvariantCulture, $"[{r[0]}, {r[1]}, {r[2] + petalShift}, {r[3]}]"))) + "]}}";

    private static async Task<(HttpResponseMessage Response, string Body)> PostAsync(HttpClient http, string path, string body, string? requestId = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (requestId is not null)
        {
            request.Headers.Add("X-Request-Id", requestId);
        }

        var response = await http.SendAsync(request);
        return (response, await response.Content.ReadAsStringAsync());
    }

    [XGBoostFact]
    public async Task Requests_are_logged_with_their_id_and_ground_truth_comes_back_on_feedback()
    {
        var (folder, xTest, yTest) = await SaveAsync(profile: false);
        var logDir = Path.Combine(_dir.FullName, "log");
        string generated;
        await using (var host = await ServingHost.StartAsync(folder, new ScoringOptions { InferenceLog = new InferenceLogOptions { Directory = logDir } }))
        {
            var (response, _) = await PostAsync(host.Http, "/invocations", Body(xTest.Take(3)), requestId: "client-42");
            Assert.Equal("client-42", response.Headers.GetValues("X-Request-Id").Single());
            (response, _) = await PostAsync(host.Http, "/invocations", Body(xTest.Skip(3).Take(2)));
            generated = response.Headers.GetValues("X-Request-Id").Single();
            Assert.Matches("^[0-9a-f]{32}$", generated);

            (response, var answer) = await PostAsync(host.Http, "/feedback", $$"""{"request_id": "client-42", "targets": [{{string.Join(", ", yTest.Take(3))}}]}""");
            Assert.Equal(200, (int)response.StatusCode);
            Assert.Equal("""{"status":"ok"}""", answer);
            (response, answer) = await PostAsync(host.Http, "/feedback", """{"targets": [1]}""");
            Assert.Equal(400, (int)response.StatusCode);
            Assert.Contains("request_id", answer, StringComparison.Ordinal);

            // A refused request is not logged.
            (response, _) = await PostAsync(host.Http, "/invocations", """{"dataframe_split": {"columns": ["x"], "data": [[1]]}}""");
            Assert.Equal(400, (int)response.StatusCode);
            Assert.Null(host.Model.DriftMonitor); // not asked for
            await host.Model.InferenceLog!.FlushAsync();
        }

        var contents = InferenceLogReader.Read(logDir);
        Assert.Equal(["client-42", generated], contents.Records.Select(r => r.RequestId));
        var first = contents.Records[0];
        Assert.Equal(3, first.Rows);
        Assert.Equal(Names, first.Inputs.Select(c => c.Name));
        Assert.Equal((double)xTest[0][2], (double)first.Inputs[2].Values[0]!, 6);
        Assert.Equal(3, Assert.IsType<double[]>(first.Predictions[0].Values[0]).Length); // the class probabilities
        Assert.True(first.LatencyMilliseconds > 0);
        Assert.Equal(folder, first.ModelUri);
        Assert.Equal("client-42", Assert.Single(contents.Feedback).RequestId);
    }

    [XGBoostFact]
    public async Task Drift_is_flagged_on_the_shifted_feature_only_and_the_trigger_fires()
    {
        var (folder, xTest, _) = await SaveAsync(profile: true);
        var reports = new List<DriftReport>();
        var triggers = 0;
        await using var host = await ServingHost.StartAsync(folder, new ScoringOptions { DriftMonitor = new DriftMonitorOptions { WindowRows = 45 } });
        var monitor = host.Model.DriftMonitor!;
        monitor.WindowCompleted += (_, e) => reports.Add(e.Report);
        monitor.DriftDetected += (_, _) => triggers++;

        await PostAsync(host.Http, "/invocations", Body(xTest)); // the 45 test rows as they are
        await PostAsync(host.Http, "/invocations", Body(xTest, petalShift: 1.0)); // petal length + 1 cm
        Assert.Null(await monitor.CloseWindowAsync().WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Equal(2, reports.Count);
        Assert.False(reports[0].AnyDrift, string.Join("; ", reports[0].Features));
        Assert.Equal(["petal_length"], reports[1].Features.Where(f => f.Drifted).Select(f => f.Name));
        Assert.Equal(0, triggers); // 1 of 4 features: below the dataset share of 50 %
    }

    [XGBoostFact]
    public async Task When_the_app_stops_the_log_holds_every_answered_request()
    {
        var (folder, xTest, _) = await SaveAsync(profile: false);
        var logDir = Path.Combine(_dir.FullName, "stop-log");
        await using (var host = await ServingHost.StartAsync(folder, new ScoringOptions { InferenceLog = new InferenceLogOptions { Directory = logDir } }))
        {
            for (var i = 0; i < 30; i++)
            {
                await PostAsync(host.Http, "/invocations", Body(xTest.Skip(i).Take(1)));
            }
        } // no flush: stopping the app writes what is queued

        Assert.Equal(30, InferenceLogReader.Read(logDir).Records.Count);
    }

    [XGBoostFact]
    public async Task Without_a_reference_profile_the_model_is_served_and_drift_is_off()
    {
        var (folder, xTest, _) = await SaveAsync(profile: false);
        await using var host = await ServingHost.StartAsync(folder, new ScoringOptions { DriftMonitor = new DriftMonitorOptions() });
        Assert.Null(host.Model.DriftMonitor);
        var (response, _) = await PostAsync(host.Http, "/invocations", Body(xTest.Take(2)));
        Assert.Equal(200, (int)response.StatusCode);
    }

    [XGBoostFact]
    public async Task The_sample_flags_the_shifted_feature_only_and_triggers_on_the_shifted_windows_only()
    {
        var dir = Directory.CreateTempSubdirectory("mlops-monitordrift-");
        try
        {
            var output = await MlOps.Client.Testing.SampleProcess.RunAsync("MonitorDrift.dll", dir.FullName, TimeSpan.FromMinutes(2));
            for (var w = 0; w < 3; w++)
            {
                Assert.Contains($"WINDOW {w}: 45 rows, drifted: none", output, StringComparison.Ordinal);
            }

            for (var w = 3; w < 5; w++)
            {
                Assert.Contains($"WINDOW {w}: 45 rows, drifted: petal length (cm) (KolmogorovSmirnov", output, StringComparison.Ordinal);
            }

            Assert.Contains("TRIGGERED 3,4", output, StringComparison.Ordinal);
            Assert.Contains("LOGGED 225 rows", output, StringComparison.Ordinal);
            var log = InferenceLogReader.Read(Path.Combine(dir.FullName, "inference-log"));
            Assert.Equal(45, log.Records.Count);
            Assert.Equal(0, log.UnreadableLines);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            dir.Delete(recursive: true);
        }
    }

    [XGBoostFact]
    public async Task A_request_served_by_a_logged_model_links_its_trace_to_that_model()
    {
        var (folder, xTest, _) = await SaveAsync(profile: false);
        var description = MlflowModel.Load(folder);
        description.ModelId = "m-0f3a9c7e5b1d4e2f8a6b0c9d7e5f3a1b"; // what MLflow 3 writes in the MLmodel of a logged model
        description.Save(folder);

        // The host traces its requests (ASP.NET Core's own source), as a host exporting to MLflow does.
        var linked = new TaskCompletionSource<System.Diagnostics.Activity>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = source => source.Name == "Microsoft.AspNetCore",
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.GetTagItem("mlops.trace.metadata." + MlOps.Client.TraceMetadataKeys.ModelId) is string)
                {
                    linked.TrySetResult(activity);
                }
            },
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);
        await using var host = await ServingHost.StartAsync(folder);
        var (response, _) = await PostAsync(host.Http, "/invocations", Body(xTest.Take(2)));
        Assert.True(response.IsSuccessStatusCode);

        var request = await linked.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(description.ModelId, request.GetTagItem("mlops.trace.metadata." + MlOps.Client.TraceMetadataKeys.ModelId));
        Assert.Null(request.Parent); // on the trace's root, where the exporter reads trace metadata
    }
}
