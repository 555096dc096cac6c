using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace MlOps.Client.Benchmarks;

/// <summary>An in-process MLflow endpoint on 127.0.0.1 (Kestrel) that answers like the recorded server and counts metrics.</summary>
internal sealed class FakeMlflowServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private long _metrics;
    private long _requests;

    private FakeMlflowServer(WebApplication app) => _app = app;

    public string Url => _app.Urls.First();

    public long Metrics => Interlocked.Read(ref _metrics);

    public long Requests => Interlocked.Read(ref _requests);

    public static async Task<FakeMlflowServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var server = new FakeMlflowServer(app);
        app.MapPost("/api/2.0/mlflow/runs/create", async (HttpContext ctx) =>
        {
            Interlocked.Increment(ref server._requests);
            var id = Guid.NewGuid().ToString("N");
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync("{\"run\":{\"info\":{\"run_id\":\"" + id + "\",\"run_uuid\":\"" + id + "\",\"experiment_id\":\"0\",\"status\":\"RUNNING\",\"start_time\":0,\"artifact_uri\":\"mlflow-artifacts:/0/" + id + "/artifacts\",\"lifecycle_stage\":\"active\"},\"data\":{},\"inputs\":{}}}");
        });
        app.MapPost("/api/2.0/mlflow/runs/log-batch", async (HttpContext ctx) =>
        {
            Interlocked.Increment(ref server._requests);
            using var doc = await JsonDocument.ParseAsync(ctx.Request.Body);
            if (doc.RootElement.TryGetProperty("metrics", out var metrics))
            {
                Interlocked.Add(ref server._metrics, metrics.GetArrayLength());
            }

            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync("{}");
        });
        app.MapPost("/api/2.0/mlflow/runs/log-metric", async (HttpContext ctx) =>
        {
            Interlocked.Increment(ref server._requests);
            Interlocked.Increment(ref server._metrics);
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync("{}");
        });
        app.MapPost("/api/2.0/mlflow/runs/update", async (HttpContext ctx) =>
        {
            Interlocked.Increment(ref server._requests);
            using var doc = await JsonDocument.ParseAsync(ctx.Request.Body);
            var id = doc.RootElement.GetProperty("run_id").GetString();
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync($$$"""{"run_info":{"run_id":"{{{id}}}","experiment_id":"0","status":"FINISHED"}}""");
        });
        await app.StartAsync();
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
