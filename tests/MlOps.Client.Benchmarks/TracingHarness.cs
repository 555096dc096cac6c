using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using MlOps.Client.OpenTelemetry;
using MlOps.Client.Tracing;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Trace;

namespace MlOps.Client.Benchmarks;

/// <summary>
/// The cost of tracing, this SDK's exporter against OpenTelemetry's OTLP exporter alone, back to back in the same run,
/// both sending to an in-process OTLP endpoint on 127.0.0.1 (Kestrel): the application thread's time per span
/// (<c>MlflowTracing.StartSpan</c> with inputs and outputs, then dispose — root spans, the dearer case for this exporter,
/// which builds each trace's info) and the spans per second that reach the server when the application paces itself
/// below the batch processor's queue (OpenTelemetry drops what overflows its 2,048-span queue, with either exporter).
/// usage: tracing [spans per round] [rounds]
/// </summary>
internal static class TracingHarness
{
    public static async Task<int> RunAsync(string[] args)
    {
        var spans = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20_000;
        var rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 5;
        long received = 0;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        app.MapPost("/v1/traces", async (HttpContext ctx) =>
        {
            using var body = new MemoryStream();
            await ctx.Request.Body.CopyToAsync(body);
            Interlocked.Add(ref received, Count(body.GetBuffer().AsSpan(0, (int)body.Length), "bench-"u8));
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync("""{"partialSuccess":null}""");
        });
        app.MapPost("/api/3.0/mlflow/traces", async (HttpContext ctx) =>
        {
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync("""{"trace":{"trace_info":{"trace_id":"x"}}}""");
        });
        await app.StartAsync();
        var url = app.Urls.First();

        var configs = new (string Name, Func<TracerProvider> Build)[]
        {
            ("OpenTelemetry OTLP exporter alone", () => Sdk.CreateTracerProviderBuilder().AddSource(MlflowTracing.ActivitySourceName)
                .AddOtlpExporter(o => { o.Endpoint = new Uri(url + "/v1/traces"); o.Protocol = OtlpExportProtocol.HttpProtobuf; o.Headers = "x-mlflow-experiment-id=0"; }).Build()!),
            ("AddMlflowExporter", () => Sdk.CreateTracerProviderBuilder()
                .AddMlflowExporter(o => { o.Client = new MlflowClientOptions { TrackingUri = url }; o.ExperimentId = "0"; }).Build()!),
        };
        Console.WriteLine($"{spans} root spans per round, {rounds} rounds alternated; server {url}");
        var results = configs.ToDictionary(c => c.Name, _ => (Burst: new List<double>(), Paced: new List<double>(), Delivered: new List<double>()));
        for (var round = 0; round <= rounds; round++)
        {
            foreach (var (name, build) in configs)
            {
                using var provider = build();
                // Burst: the application thread's cost per span (what overflows the queue is dropped, by both).
                var clock = Stopwatch.StartNew();
                for (var i = 0; i < spans; i++)
                {
                    using var span = MlflowTracing.StartSpan("bench-burst", SpanType.Chain, new JsonObject { ["i"] = i });
                    span.SetOutputs(new JsonObject { ["ok"] = true });
                }

                var burst = clock.Elapsed.TotalNanoseconds / spans;
                provider.ForceFlush(60_000);

                // Paced: chunks of 1,000 with a flush between, so nothing overflows: spans delivered per second.
                Interlocked.Exchange(ref received, 0);
                clock.Restart();
                for (var i = 0; i < spans; i++)
                {
                    using (var span = MlflowTracing.StartSpan("bench-paced", SpanType.Chain, new JsonObject { ["i"] = i }))
                    {
                        span.SetOutputs(new JsonObject { ["ok"] = true });
                    }

                    if (i % 1000 == 999)
                    {
                        provider.ForceFlush(60_000);
                    }
                }

                provider.ForceFlush(60_000);
                var seconds = clock.Elapsed.TotalSeconds;
                var delivered = Interlocked.Read(ref received);
                if (round > 0)
                {
                    results[name].Burst.Add(burst);
                    results[name].Paced.Add(delivered / seconds);
                    results[name].Delivered.Add(delivered);
                }
            }
        }

        Console.WriteLine($"{"exporter",-36} {"ns/span (burst, app thread)",28} {"spans/s delivered (paced)",26} {"delivered of " + spans,16}");
        foreach (var (name, r) in results)
        {
            Console.WriteLine($"{name,-36} {Median(r.Burst),28:F0} {Median(r.Paced),26:F0} {Median(r.Delivered),16:F0}");
        }

        var ratio = Median(results["AddMlflowExporter"].Burst) / Median(results["OpenTelemetry OTLP exporter alone"].Burst);
        Console.WriteLine($"app-thread cost, AddMlflowExporter ÷ OTLP alone: {ratio:F2}");
        return 0;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted[sorted.Count / 2];
    }

    private static int Count(ReadOnlySpan<byte> haystack, ReadOnlySpan<byte> needle)
    {
        var count = 0;
        int at;
        while ((at = haystack.IndexOf(needle)) >= 0)
        {
            count++;
            haystack = haystack[(at + needle.Length)..];
        }

        return count;
    }
}
