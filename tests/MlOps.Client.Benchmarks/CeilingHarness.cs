using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using MlOps.Client.Stores;

namespace MlOps.Client.Benchmarks;

/// <summary>
/// This SDK against a tracking server's own ceiling, measured back to back in one run: the ceiling is what the server
/// takes when the harness itself sends pre-serialized 1000-metric <c>log-batch</c> bodies as fast as it can on 1, 2
/// and 4 connections; the SDK is the tracker with default settings logging the same number of metrics from 4 threads,
/// timed from the first <c>LogMetric</c> until <c>EndAsync</c> returns, between two 2-connection ceiling measures (a
/// SQLite-backed server slows as its database grows). Prints the ratio to the mean of those two ceilings.
/// </summary>
internal static class CeilingHarness
{
    // dotnet run -c Release --project tests/MlOps.Client.Benchmarks -- ceiling http://127.0.0.1:5512 [metrics] [rounds]
    public static async Task<int> RunAsync(string[] args)
    {
        var uri = args.Length > 1 ? args[1] : Environment.GetEnvironmentVariable("MLFLOW_TRACKING_URI") ?? throw new ArgumentException("usage: ceiling <tracking uri> [metrics] [rounds]");
        var metrics = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 200_000;
        var rounds = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 2;
        Console.WriteLine($"# ceiling: {MlOps.Client.Configuration.UriRedaction.Redact(uri)}, {metrics:N0} metrics per measure, {rounds} rounds; {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = uri });
        var experiment = await client.FindExperimentByNameAsync("ceiling-harness") is { } e ? e.ExperimentId : await client.CreateExperimentAsync("ceiling-harness");
        var ratios = new List<double>();
        for (var r = 1; r <= rounds; r++)
        {
            var raw = new Dictionary<int, double>();
            foreach (var connections in new[] { 1, 2, 4 })
            {
                raw[connections] = await RawAsync(client, uri, experiment, metrics, connections);
                Console.WriteLine($"round {r}: raw ceiling, pre-serialized 1000-metric bodies, {connections} connection(s): {raw[connections]:N0} metrics/s");
            }

            var sdk = await SdkAsync(client, experiment, metrics, threads: 4);
            var after = await RawAsync(client, uri, experiment, metrics, 2); // the server slows as its database grows: bracket the SDK
            Console.WriteLine($"round {r}: raw ceiling again, 2 connections: {after:N0} metrics/s");
            var ceiling = (raw[2] + after) / 2;
            var ratio = sdk / ceiling;
            ratios.Add(ratio);
            Console.WriteLine($"round {r}: this SDK (defaults, 4 threads): {sdk:N0} metrics/s = {ratio:P0} of the 2-connection ceiling measured around it ({ceiling:N0})");
        }

        ratios.Sort();
        var median = ratios.Count % 2 == 1 ? ratios[ratios.Count / 2] : (ratios[(ratios.Count / 2) - 1] + ratios[ratios.Count / 2]) / 2;
        Console.WriteLine($"median ratio to the 2-connection ceiling: {median:P0} (rounds: {string.Join(", ", ratios.Select(x => x.ToString("P0", CultureInfo.InvariantCulture)))})");
        return 0;
    }

    private static async Task<double> RawAsync(MlflowClient client, string uri, string experiment, int metrics, int connections)
    {
        var run = await client.CreateRunAsync(experiment);
        var runId = run.Info.RunId;
        var batches = metrics / 1000;
        var ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var bodies = new byte[batches][];
        for (var b = 0; b < batches; b++)
        {
            var sb = new StringBuilder("{\"run_id\":\"").Append(runId).Append("\",\"metrics\":[");
            for (var i = 0; i < 1000; i++)
            {
                sb.Append(i == 0 ? "" : ",").Append("{\"key\":\"metric_").Append(i % 4).Append("\",\"value\":").Append(((b * 1000) + i) * 0.001).Append(",\"timestamp\":").Append(ts).Append(",\"step\":").Append((b * 1000) + i).Append('}');
            }

            bodies[b] = Encoding.UTF8.GetBytes(sb.Append("]}").ToString());
        }

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = connections, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = new Uri(uri.TrimEnd('/') + "/"),
        };
        var next = -1;
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, connections).Select(async _ =>
        {
            int b;
            while ((b = Interlocked.Increment(ref next)) < batches)
            {
                using var content = new ByteArrayContent(bodies[b]);
                content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
                using var response = await http.PostAsync("api/2.0/mlflow/runs/log-batch", content);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    throw new InvalidOperationException($"log-batch answered {(int)response.StatusCode}");
                }
            }
        }));
        sw.Stop();
        await client.SetTerminatedAsync(runId);
        return batches * 1000 / sw.Elapsed.TotalSeconds;
    }

    private static Task<double> SdkAsync(MlflowClient client, string experiment, int metrics, int threads) =>
        ThroughputHarness.MeasureAsync(new RestTrackingStore(client), metrics, threads, experiment, counters =>
            Console.WriteLine($"  sdk: {counters.Requests:N0} requests for {counters.Sent:N0} metrics ({(double)counters.Sent / counters.Requests:N0} per request), backpressure waits {counters.BackpressureWaits:N0}"));
}
