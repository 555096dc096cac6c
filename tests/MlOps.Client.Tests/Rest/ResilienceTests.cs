using MlOps.Client.Testing;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using MlOps.Client.Rest;
using MlOps.Client.Tests.Fixtures;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace MlOps.Client.Tests.Rest;

public class ResilienceTests
{
    private const string GetRunPath = "/api/2.0/mlflow/runs/get";

    private static void FailThenSucceed(RecordedServer server, int failures, int status, IDictionary<string, string>? headers = null)
    {
        var scenario = "s";
        for (var i = 0; i < failures; i++)
        {
            var response = Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody("""{"error_code":"TEMPORARILY_UNAVAILABLE","message":"busy"}""");
            foreach (var (k, v) in headers ?? new Dictionary<string, string>())
            {
                response = response.WithHeader(k, v);
            }

            var mapping = server.Server.Given(Request.Create().WithPath(GetRunPath).UsingGet()).InScenario(scenario);
            (i == 0 ? mapping : mapping.WhenStateIs("f" + i)).WillSetStateTo("f" + (i + 1)).RespondWith(response);
        }

        var ok = RecordedExchange.Load("043-runs-get");
        server.Server.Given(Request.Create().WithPath(GetRunPath).UsingGet()).InScenario(scenario).WhenStateIs("f" + failures)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(ok.Body));
    }

    /// <summary>Runs <paramref name="call"/> while advancing the fake clock until it completes; returns the fake time that passed.</summary>
    private static async Task<TimeSpan> RunWithFakeTime<T>(FakeTimeProvider time, Func<Task<T>> call, TimeSpan step)
    {
        var start = time.GetUtcNow();
        var task = call();
        await time.AdvanceUntilAsync(task, step);

        await task;
        return time.GetUtcNow() - start;
    }

    [Fact]
    public async Task A_streamed_artifact_upload_is_retried_under_the_same_policy_Retry_After_log_line_and_counter()
    {
        using var server = new RecordedServer();
        const string path = "/api/2.0/mlflow-artifacts/artifacts/1/e0615394aa0f4901b930c39ef92bfa3b/artifacts/flaky.txt";
        server.Server.Given(Request.Create().WithPath(path).UsingPut()).InScenario("put").WillSetStateTo("failed")
            .RespondWith(Response.Create().WithStatusCode(429).WithHeader("Retry-After", "7").WithHeader("Content-Type", "application/json")
                .WithBody("""{"error_code":"REQUEST_LIMIT_EXCEEDED","message":"slow down"}"""));
        server.Server.Given(Request.Create().WithPath(path).UsingPut()).InScenario("put").WhenStateIs("failed")
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody("{}"));
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var logs = new FakeLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        using var client = server.CreateClient(o => { o.Retry.MaxRetries = 2; o.Retry.BackoffFactor = 0.1; o.Retry.BackoffJitter = 0; o.TimeProvider = time; o.LoggerFactory = loggerFactory; });
        var file = Path.Combine(Path.GetTempPath(), $"mlops-flaky-{Guid.NewGuid():N}.txt");
        await File.WriteAllTextAsync(file, "again");
        using var retries = new MetricCollector<long>(null, "MlOps.Client", "mlops.client.request.retries");
        try
        {
            var repository = MlOps.Client.Artifacts.ArtifactRepositories.ForUri("mlflow-artifacts:/1/e0615394aa0f4901b930c39ef92bfa3b/artifacts", client);
            var waited = await RunWithFakeTime(time, async () =>
            {
                await repository.UploadFileAsync(file, "flaky.txt");
                return true;
            }, TimeSpan.FromMilliseconds(500));

            Assert.Equal(2, server.Requests.Count);
            Assert.All(server.Requests, r => Assert.Equal("again", r.Body)); // the file is read again for the second try
            Assert.True(waited >= TimeSpan.FromSeconds(7), $"waited {waited}: Retry-After says 7 s, the backoff 0.1 s");
            var line = Assert.Single(logs.Collector.GetSnapshot(), r => r.Id.Id == 1003);
            Assert.Contains("PUT flaky.txt in 7000 ms", line.Message, StringComparison.Ordinal);
            Assert.Contains(retries.GetMeasurementSnapshot(), m => Equals(m.Tags["http.request.method"], "PUT")); // other tests' retries may be counted too
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_503_is_retried_then_succeeds_after_the_backoff()
    {
        using var server = new RecordedServer();
        FailThenSucceed(server, 2, 503);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var client = server.CreateClient(o => { o.Retry.MaxRetries = 3; o.Retry.BackoffFactor = 1; o.TimeProvider = time; });

        var waited = await RunWithFakeTime(time, () => client.GetRunAsync("e0615394aa0f4901b930c39ef92bfa3b"), TimeSpan.FromMilliseconds(250));

        Assert.Equal(3, server.Requests.Count);
        Assert.True(waited >= TimeSpan.FromSeconds(3), $"waited {waited}: backoff 1 s then 2 s"); // factor × 2^(n-1)
    }

    [Fact]
    public async Task A_429_waits_as_long_as_Retry_After_says()
    {
        using var server = new RecordedServer();
        FailThenSucceed(server, 1, 429, new Dictionary<string, string> { ["Retry-After"] = "7" });
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var logs = new FakeLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        using var client = server.CreateClient(o => { o.Retry.MaxRetries = 2; o.Retry.BackoffFactor = 0.1; o.Retry.BackoffJitter = 0; o.TimeProvider = time; o.LoggerFactory = loggerFactory; });

        var waited = await RunWithFakeTime(time, () => client.GetRunAsync("e0615394aa0f4901b930c39ef92bfa3b"), TimeSpan.FromMilliseconds(500));

        Assert.Equal(2, server.Requests.Count);
        Assert.True(waited >= TimeSpan.FromSeconds(7));
        var retry = Assert.Single(logs.Collector.GetSnapshot(), r => r.Id.Id == 1003);
        Assert.Contains("in 7000 ms", retry.Message, StringComparison.Ordinal);
        Assert.Contains("429", retry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Retry_After_as_seconds_or_HTTP_date_replaces_a_shorter_backoff()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero));
        var retry = new MlflowRetryOptions { BackoffFactor = 2, BackoffJitter = 0 };
        using var seconds = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        seconds.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(30));
        Assert.Equal(TimeSpan.FromSeconds(30), MlflowHttpPipeline.ResilienceHandler.ComputeDelay(retry, 1, Transience.RetryAfter(seconds, time), new Random(1)));

        using var date = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
        date.Headers.RetryAfter = new RetryConditionHeaderValue(time.GetUtcNow().AddSeconds(45));
        Assert.Equal(TimeSpan.FromSeconds(45), MlflowHttpPipeline.ResilienceHandler.ComputeDelay(retry, 1, Transience.RetryAfter(date, time), new Random(1)));

        using var shorter = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        shorter.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(1));
        Assert.Equal(TimeSpan.FromSeconds(8), MlflowHttpPipeline.ResilienceHandler.ComputeDelay(retry, 3, Transience.RetryAfter(shorter, time), new Random(1)));

        retry.RespectRetryAfter = false;
        Assert.Equal(TimeSpan.FromSeconds(2), MlflowHttpPipeline.ResilienceHandler.ComputeDelay(retry, 1, Transience.RetryAfter(seconds, time), new Random(1)));
        retry.MaxBackoff = TimeSpan.FromSeconds(5);
        Assert.Equal(TimeSpan.FromSeconds(5), MlflowHttpPipeline.ResilienceHandler.ComputeDelay(retry, 10, null, new Random(1)));
        retry.BackoffJitter = 1;
        Assert.InRange(MlflowHttpPipeline.ResilienceHandler.ComputeDelay(retry, 1, null, new Random(1)), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task A_400_is_not_retried()
    {
        using var server = new RecordedServer();
        server.Serve("062-runs-log-parameter-change-value");
        using var client = server.CreateClient(o => o.Retry.MaxRetries = 5);
        await Assert.ThrowsAsync<MlflowException>(() => client.LogParamAsync("e0615394aa0f4901b930c39ef92bfa3b", "learning_rate", "0.2"));
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task Retries_stop_after_the_configured_count()
    {
        using var server = new RecordedServer();
        server.ServeStatus("GET", GetRunPath, 503, """{"error_code":"TEMPORARILY_UNAVAILABLE","message":"down"}""");
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var client = server.CreateClient(o => { o.Retry.MaxRetries = 3; o.Retry.BackoffFactor = 0.5; o.TimeProvider = time; });
        var task = client.GetRunAsync("r");
        await time.AdvanceUntilAsync(task, TimeSpan.FromSeconds(1));

        var ex = await Assert.ThrowsAsync<MlflowException>(() => task);
        Assert.Equal(503, ex.Status);
        Assert.Equal(4, server.Requests.Count);
    }

    [Fact]
    public async Task An_attempt_that_stalls_times_out_and_is_retried()
    {
        using var server = new RecordedServer();
        var ok = RecordedExchange.Load("043-runs-get");
        server.Server.Given(Request.Create().WithPath(GetRunPath).UsingGet()).InScenario("t").WillSetStateTo("slow-done")
            .RespondWith(Response.Create().WithStatusCode(200).WithBody(ok.Body).WithDelay(TimeSpan.FromSeconds(20)));
        server.Server.Given(Request.Create().WithPath(GetRunPath).UsingGet()).InScenario("t").WhenStateIs("slow-done")
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(ok.Body));
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var logs = new FakeLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        using var client = server.CreateClient(o => { o.Retry.MaxRetries = 2; o.RequestTimeout = TimeSpan.FromSeconds(2); o.Retry.BackoffFactor = 0.1; o.TimeProvider = time; o.LoggerFactory = loggerFactory; });

        await RunWithFakeTime(time, () => client.GetRunAsync("e0615394aa0f4901b930c39ef92bfa3b"), TimeSpan.FromMilliseconds(500));

        // The stalled first attempt is not logged by WireMock until it answers; the retry log tells.
        var retry = Assert.Single(logs.Collector.GetSnapshot(), r => r.Id.Id == 1003);
        Assert.Contains("Timeout", retry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancellation_stops_retrying_at_once()
    {
        using var server = new RecordedServer();
        server.ServeStatus("GET", GetRunPath, 503, "{}");
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var client = server.CreateClient(o => { o.Retry.MaxRetries = 7; o.TimeProvider = time; });
        using var cts = new CancellationTokenSource();
        var task = client.GetRunAsync("r", cts.Token);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (server.Requests.Count == 0)
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), "the first request never reached the server");
            await Task.Delay(5);
        }

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task The_meter_counts_requests_failures_and_retries()
    {
        using var server = new RecordedServer();
        FailThenSucceed(server, 1, 503);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var requests = new MetricCollector<long>(null, "MlOps.Client", "mlops.client.requests");
        using var failures = new MetricCollector<long>(null, "MlOps.Client", "mlops.client.request.failures");
        using var retries = new MetricCollector<long>(null, "MlOps.Client", "mlops.client.request.retries");
        using var client = server.CreateClient(o => { o.Retry.MaxRetries = 2; o.Retry.BackoffFactor = 0.1; o.TimeProvider = time; });
        var authority = new Uri(server.Url).Authority;

        await RunWithFakeTime(time, () => client.GetRunAsync("e0615394aa0f4901b930c39ef92bfa3b"), TimeSpan.FromMilliseconds(200));

        Assert.Equal(2, requests.GetMeasurementSnapshot().Where(m => Equals(m.Tags["server.address"], authority)).Sum(m => m.Value));
        Assert.Equal(1, failures.GetMeasurementSnapshot().Where(m => Equals(m.Tags["server.address"], authority)).Sum(m => m.Value));
        Assert.True(retries.GetMeasurementSnapshot().Sum(m => m.Value) >= 1);
    }
}

/// <summary>A wrong URI fails at once, in words; an outage of a server that answered before is retried; retries are said.</summary>
public sealed class FirstContactTests
{
    private static int ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port; // free once the listener stops: nothing listens there
    }

    [Fact]
    public async Task A_server_that_never_answered_fails_at_once_with_the_uri_the_cause_and_the_variable()
    {
        var port = ClosedPort();
        using var logs = new FakeLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = $"http://127.0.0.1:{port}", LoggerFactory = loggerFactory }); // default retries
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<MlflowException>(() => client.GetExperimentAsync("0"));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed.TotalSeconds:0.0} s");
        Assert.Contains($"http://127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
        Assert.Contains("connection refused", error.Message, StringComparison.Ordinal);
        Assert.Contains("MLFLOW_TRACKING_URI", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(logs.Collector.GetSnapshot(), r => r.Id.Id == 1003); // not retried
    }

    [Fact]
    public async Task A_server_that_answered_before_and_then_refuses_connections_is_retried_and_the_retry_is_a_warning()
    {
        // A server that answers one request (closing the connection) and then stops listening: connections are refused.
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var body = RecordedExchange.Load("014-experiments-get").Body;
        var serveOnce = Task.Run(async () =>
        {
            using var socket = await listener.AcceptTcpClientAsync();
            var stream = socket.GetStream();
            var buffer = new byte[8192];
            var read = 0;
            while (!System.Text.Encoding.ASCII.GetString(buffer, 0, read).Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                read += await stream.ReadAsync(buffer.AsMemory(read));
            }

            var bytes = System.Text.Encoding.UTF8.GetBytes(body);
            await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {bytes.Length}\r\nConnection: close\r\n\r\n"));
            await stream.WriteAsync(bytes);
            listener.Stop();
        });
        using var logs = new FakeLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        var options = new MlflowClientOptions { TrackingUri = $"http://127.0.0.1:{port}", LoggerFactory = loggerFactory };
        options.Retry.MaxRetries = 2;
        options.Retry.BackoffFactor = 0.01;
        options.Retry.BackoffJitter = 0;
        using var client = new MlflowClient(options);
        await client.GetExperimentAsync("0");
        await serveOnce.WaitAsync(TimeSpan.FromSeconds(30)); // the server went away after it answered: an outage

        var error = await Assert.ThrowsAsync<MlflowException>(() => client.GetExperimentAsync("0"));
        Assert.Contains("Cannot reach the MLflow tracking server", error.Message, StringComparison.Ordinal);
        var retries = logs.Collector.GetSnapshot().Where(r => r.Id.Id == 1003).ToList();
        Assert.Equal(2, retries.Count);
        Assert.All(retries, r => Assert.Equal(LogLevel.Warning, r.Level)); // as urllib3's "Retrying (Retry(total=…))" warnings
    }

    [Fact]
    public void Without_configured_logging_warnings_go_to_standard_error_in_Pythons_format_at_MLFLOW_LOGGING_LEVEL()
    {
        static string Print(Dictionary<string, string> env, LogLevel level)
        {
            using var output = new StringWriter();
            using var factory = MlOps.Client.Diagnostics.ConsoleLogging.Create(k => env.GetValueOrDefault(k), output);
            factory.CreateLogger("MlOps.Client.MlflowClient").Log(level, "Retrying MLflow GET x");
            return output.ToString();
        }

        var warning = Print([], LogLevel.Warning);
        Assert.Matches(@"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} WARNING mlops\.client\.mlflowclient: Retrying MLflow GET x\r?\n$", warning);
        Assert.Empty(Print([], LogLevel.Information)); // WARNING by default
        Assert.Contains("INFO", Print(new() { ["MLFLOW_LOGGING_LEVEL"] = "info" }, LogLevel.Information), StringComparison.Ordinal);
        Assert.Empty(Print(new() { ["MLFLOW_LOGGING_LEVEL"] = "ERROR" }, LogLevel.Warning));
        Assert.Empty(Print(new() { ["MLFLOW_CONFIGURE_LOGGING"] = "false" }, LogLevel.Error));
        var invalid = Assert.Throws<ArgumentException>(() => Print(new() { ["MLFLOW_LOGGING_LEVEL"] = "LOUD" }, LogLevel.Warning));
        Assert.Contains("Invalid log level: LOUD", invalid.Message, StringComparison.Ordinal);
    }
}

/// <summary>Everyday URI mistakes said in words.</summary>
public sealed class TrackingUriMistakeTests
{
    [Fact]
    public async Task A_tracking_uri_ending_in_api_gets_a_hint_with_its_404()
    {
        using var server = new RecordedServer();
        server.Server.Given(Request.Create().UsingAnyMethod())
            .RespondWith(Response.Create().WithStatusCode(404).WithHeader("Content-Type", "text/html").WithBody("<!doctype html><title>404 Not Found</title>"));
        var options = new MlflowClientOptions { TrackingUri = server.Url + "/api" };
        options.Retry.MaxRetries = 0;
        using var client = new MlflowClient(options);
        var error = await Assert.ThrowsAsync<MlflowException>(() => client.GetExperimentAsync("0"));
        Assert.Equal(404, error.Status);
        Assert.Contains($"The tracking URI {server.Url}/api ends in '/api': give the server's address without it", error.Message, StringComparison.Ordinal);
    }
}
