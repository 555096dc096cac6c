using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace MlOps.Client.Reliability.Tests;

/// <summary>
/// An in-process MLflow tracking endpoint (Kestrel on 127.0.0.1) that stores what it accepts with the server's
/// semantics — identical metrics stored once, params immutable (same value accepted again, another value refused),
/// tags overwritten, keys validated — behind a fault layer that can fail requests, throttle with Retry-After, reset
/// connections, stall, go down, or store a batch and then drop the response (the ambiguous case).
/// </summary>
public sealed class FaultyMlflowServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly object _gate = new();
    private readonly Dictionary<string, StoredRun> _runs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _throttledBodies = new(StringComparer.Ordinal);
    private readonly Random _random = new(12345);
    private long _requests;

    private FaultyMlflowServer(WebApplication app) => _app = app;

    public string Url => _app.Urls.First();

    public Faults Faults { get; } = new();

    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>For each throttled log-batch body that came back: how long after the 429 it did.</summary>
    public ConcurrentBag<TimeSpan> RetryAfterWaits { get; } = [];

    /// <summary>When set, MLflow's endpoints need a Bearer token issued by this server's OAuth endpoint and not expired (401 otherwise), as a Databricks workspace.</summary>
    public TimeSpan? OAuthTokenLifetime { get; set; }

    /// <summary>The OAuth client secret the token endpoint accepts (Basic client authentication).</summary>
    public const string OAuthClientSecret = "cs-SUPER-SECRET-5151";

    /// <summary>Tokens issued, with their expiry.</summary>
    public ConcurrentDictionary<string, DateTimeOffset> TokensIssued { get; } = new(StringComparer.Ordinal);

    /// <summary>MLflow requests answered 401 because their token was missing, unknown or expired.</summary>
    public long Unauthorized => Interlocked.Read(ref _unauthorized);

    private long _unauthorized;

    /// <summary>Authorization headers seen, in order.</summary>
    public ConcurrentQueue<string> AuthorizationHeaders { get; } = new();

    /// <summary>log-batch requests that reached the handlers or the fault layer.</summary>
    public long LogBatchRequests => Interlocked.Read(ref _logBatchRequests);

    /// <summary>Metrics received in stored log-batch bodies, repeats included: equal to the distinct count when nothing was sent twice.</summary>
    public long MetricsReceived => Interlocked.Read(ref _metricsReceived);

    private long _logBatchRequests;
    private long _metricsReceived;

    /// <summary>Deletes a run as <c>runs/delete</c> does: later log-batch and update requests get MLflow's recorded answer.</summary>
    public void DeleteRun(string runId)
    {
        lock (_gate)
        {
            _runs[runId].Deleted = true;
        }
    }

    public sealed class StoredRun
    {
        public string Status { get; set; } = "RUNNING";

        public bool Deleted { get; set; }

        public long? EndTime { get; set; }

        public HashSet<(string Key, long Timestamp, long Step, double Value)> Metrics { get; } = [];

        public Dictionary<string, string> Params { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, string> Tags { get; } = new(StringComparer.Ordinal);
    }

    public StoredRun Run(string runId)
    {
        lock (_gate)
        {
            return _runs[runId];
        }
    }

    /// <summary>The metric history of <paramref name="key"/>: how many stored points per step (1 each when nothing is duplicated).</summary>
    public Dictionary<long, int> StepCounts(string runId, string key)
    {
        lock (_gate)
        {
            return _runs[runId].Metrics.Where(m => m.Key == key).GroupBy(m => m.Step).ToDictionary(g => g.Key, g => g.Count());
        }
    }

    public int MetricCount(string runId)
    {
        lock (_gate)
        {
            return _runs.TryGetValue(runId, out var r) ? r.Metrics.Count : 0;
        }
    }

    public static async Task<FaultyMlflowServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var server = new FaultyMlflowServer(app);
        app.Use(server.FaultLayerAsync);
        app.MapPost("/api/2.0/mlflow/runs/create", server.CreateRunAsync);
        app.MapPost("/api/2.0/mlflow/runs/log-batch", server.LogBatchAsync);
        app.MapPost("/api/2.0/mlflow/runs/update", server.UpdateRunAsync);
        app.MapGet("/api/2.0/mlflow/runs/get", server.GetRunAsync);
        app.MapGet("/api/2.0/mlflow/experiments/get-by-name", (HttpContext ctx) => Json(ctx, 404, """{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Could not find experiment"}"""));
        app.MapPost("/api/2.0/mlflow/experiments/create", (HttpContext ctx) => Json(ctx, 200, """{"experiment_id":"1"}"""));
        app.MapGet("/oidc/.well-known/oauth-authorization-server", (HttpContext ctx) => Json(ctx, 200, $$"""{"token_endpoint":"{{server.Url}}/oidc/v1/token"}"""));
        app.MapPost("/oidc/v1/token", server.IssueTokenAsync);
        await app.StartAsync();
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private Task IssueTokenAsync(HttpContext ctx)
    {
        var expected = "Basic " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("sp-reliability:" + OAuthClientSecret));
        if (ctx.Request.Headers.Authorization.ToString() != expected)
        {
            return Json(ctx, 401, """{"error":"invalid_client"}""");
        }

        var lifetime = OAuthTokenLifetime ?? TimeSpan.FromHours(1);
        var token = "dbx-SECRET-token-" + TokensIssued.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        TokensIssued[token] = DateTimeOffset.UtcNow + lifetime;
        return Json(ctx, 200, $$"""{"access_token":"{{token}}","token_type":"Bearer","expires_in":{{(int)lifetime.TotalSeconds}}}""");
    }

    private async Task FaultLayerAsync(HttpContext ctx, RequestDelegate next)
    {
        Interlocked.Increment(ref _requests);
        if (ctx.Request.Headers.Authorization.ToString() is { Length: > 0 } auth)
        {
            AuthorizationHeaders.Enqueue(auth);
        }

        var f = Faults;
        var isBatch = ctx.Request.Path.Value!.EndsWith("/log-batch", StringComparison.Ordinal);
        if (isBatch)
        {
            Interlocked.Increment(ref _logBatchRequests);
        }
        if (f.DownUntil is { } until && DateTimeOffset.UtcNow < until)
        {
            ctx.Abort(); // connection reset: the server is away
            return;
        }

        double roll;
        lock (_random)
        {
            roll = _random.NextDouble();
        }

        if (isBatch && f.ThrottleShare > 0)
        {
            ctx.Request.EnableBuffering();
            var body = await new StreamReader(ctx.Request.Body, leaveOpen: true).ReadToEndAsync();
            ctx.Request.Body.Position = 0;
            var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(body)));
            if (_throttledBodies.TryRemove(hash, out var throttledAt))
            {
                RetryAfterWaits.Add(DateTimeOffset.UtcNow - throttledAt);
            }
            else if (roll < f.ThrottleShare)
            {
                _throttledBodies[hash] = DateTimeOffset.UtcNow;
                ctx.Response.Headers.RetryAfter = f.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await Json(ctx, 429, """{"error_code":"REQUEST_LIMIT_EXCEEDED","message":"Too many requests"}""");
                return;
            }
        }

        if (isBatch && roll < f.FailShare)
        {
            var status = new[] { 503, 500, 502 }[(int)(roll * 1000) % 3];
            await Json(ctx, status, status == 503 ? "" : """{"error_code":"INTERNAL_ERROR","message":"injected"}""");
            return;
        }

        if (isBatch && roll < f.FailShare + f.ResetShare)
        {
            ctx.Abort();
            return;
        }

        if (isBatch && roll < f.FailShare + f.ResetShare + f.StallShare)
        {
            await Task.Delay(f.Stall, ctx.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            ctx.Abort();
            return;
        }

        var dropResponse = isBatch && roll < f.FailShare + f.ResetShare + f.StallShare + f.DropResponseShare;
        if (isBatch && f.Delay > TimeSpan.Zero)
        {
            await Task.Delay(f.Delay, ctx.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        if (OAuthTokenLifetime is not null && ctx.Request.Path.StartsWithSegments("/api", StringComparison.Ordinal)
            && !(ctx.Request.Headers.Authorization.ToString() is { Length: > 7 } bearer && TokensIssued.TryGetValue(bearer[7..], out var expires) && expires > DateTimeOffset.UtcNow))
        {
            Interlocked.Increment(ref _unauthorized);
            await Json(ctx, 401, """{"error_code":"UNAUTHENTICATED","message":"Invalid access token."}""");
            return;
        }

        await next(ctx);
        if (dropResponse)
        {
            ctx.Abort(); // stored, but the client never hears it
        }
    }

    private async Task CreateRunAsync(HttpContext ctx)
    {
        var id = Guid.NewGuid().ToString("N");
        lock (_gate)
        {
            _runs[id] = new StoredRun();
        }

        await Json(ctx, 200, "{\"run\":{\"info\":{\"run_id\":\"" + id + "\",\"run_uuid\":\"" + id + "\",\"experiment_id\":\"1\",\"status\":\"RUNNING\",\"start_time\":0,\"artifact_uri\":\"mlflow-artifacts:/1/" + id + "/artifacts\",\"lifecycle_stage\":\"active\"},\"data\":{},\"inputs\":{}}}");
    }

    private async Task LogBatchAsync(HttpContext ctx)
    {
        var body = (await JsonNode.ParseAsync(ctx.Request.Body))!;
        var runId = body["run_id"]!.GetValue<string>();
        lock (_gate)
        {
            if (!_runs.TryGetValue(runId, out var run))
            {
                _ = Json(ctx, 404, """{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Run not found"}""");
                return;
            }

            if (run.Deleted)
            {
                _ = Recorded(ctx, "runs-log-batch-deleted-run", runId);
                return;
            }

            // Validate everything first: MLflow refuses the whole batch.
            foreach (var p in body["params"]?.AsArray() ?? [])
            {
                var key = p!["key"]!.GetValue<string>();
                var value = p["value"]!.GetValue<string>();
                if (key.StartsWith("forbidden", StringComparison.Ordinal))
                {
                    _ = Json(ctx, 400, $$"""{"error_code":"INVALID_PARAMETER_VALUE","message":"Param '{{key}}' is refused by this server"}""");
                    return;
                }

                if (run.Params.TryGetValue(key, out var old) && old != value)
                {
                    _ = Json(ctx, 400, $$"""{"error_code":"INVALID_PARAMETER_VALUE","message":"Changing param values is not allowed. Param with key='{{key}}' was already logged with value='{{old}}'"}""");
                    return;
                }
            }

            foreach (var m in body["metrics"]?.AsArray() ?? [])
            {
                var v = m!["value"]!;
                var value = v.GetValueKind() == JsonValueKind.String ? double.Parse(v.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture) : v.GetValue<double>();
                run.Metrics.Add((m["key"]!.GetValue<string>(), ReadLong(m["timestamp"]), ReadLong(m["step"]), value));
                Interlocked.Increment(ref _metricsReceived);
            }

            foreach (var p in body["params"]?.AsArray() ?? [])
            {
                run.Params[p!["key"]!.GetValue<string>()] = p["value"]!.GetValue<string>();
            }

            foreach (var t in body["tags"]?.AsArray() ?? [])
            {
                run.Tags[t!["key"]!.GetValue<string>()] = t["value"]!.GetValue<string>();
            }
        }

        await Json(ctx, 200, "{}");
    }

    private async Task UpdateRunAsync(HttpContext ctx)
    {
        var body = (await JsonNode.ParseAsync(ctx.Request.Body))!;
        var runId = body["run_id"]!.GetValue<string>();
        lock (_gate)
        {
            var run = _runs[runId];
            if (run.Deleted)
            {
                _ = Recorded(ctx, "runs-update-deleted-run", runId);
                return;
            }

            run.Status = body["status"]?.GetValue<string>() ?? run.Status;
            run.EndTime = body["end_time"] is { } e ? ReadLong(e) : run.EndTime;
        }

        await Json(ctx, 200, "{\"run_info\":{\"run_id\":\"" + runId + "\",\"experiment_id\":\"1\",\"status\":\"" + Run(runId).Status + "\"}}");
    }

    private async Task GetRunAsync(HttpContext ctx)
    {
        var runId = ctx.Request.Query["run_id"].ToString();
        await Json(ctx, 200, "{\"run\":{\"info\":{\"run_id\":\"" + runId + "\",\"experiment_id\":\"1\",\"status\":\"" + Run(runId).Status + "\"},\"data\":{}}}");
    }

    /// <summary>Answers with a recorded exchange's status and body, the recorded run id replaced by <paramref name="runId"/>.</summary>
    private static Task Recorded(HttpContext ctx, string name, string runId)
    {
        var exchange = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Recorded", name + ".json")))!;
        var recordedRun = exchange["request"]!["json"]!["run_id"]!.GetValue<string>();
        var response = exchange["response"]!;
        return Json(ctx, response["status"]!.GetValue<int>(), response["json"]!.ToJsonString().Replace(recordedRun, runId, StringComparison.Ordinal));
    }

    private static long ReadLong(JsonNode? node) => node is null ? 0 : node.GetValueKind() == JsonValueKind.String ? long.Parse(node.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture) : node.GetValue<long>();

    private static async Task Json(HttpContext ctx, int status, string body)
    {
        ctx.Response.StatusCode = status;
        if (body.Length > 0)
        {
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync(body);
        }
    }
}

/// <summary>What the fault layer does to each request (shares are of log-batch requests).</summary>
public sealed class Faults
{
    public double FailShare { get; set; }

    public double ThrottleShare { get; set; }

    public int RetryAfterSeconds { get; set; } = 1;

    public double ResetShare { get; set; }

    public double StallShare { get; set; }

    public TimeSpan Stall { get; set; } = TimeSpan.FromSeconds(5);

    public double DropResponseShare { get; set; }

    public DateTimeOffset? DownUntil { get; set; }

    /// <summary>Every log-batch is answered this much later (a slow server: it stores the batch, then answers).</summary>
    public TimeSpan Delay { get; set; }

    public void Clear()
    {
        FailShare = ThrottleShare = ResetShare = StallShare = DropResponseShare = 0;
        DownUntil = null;
        Delay = TimeSpan.Zero;
    }
}
