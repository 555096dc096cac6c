using System.Text.Json.Nodes;
using WireMock;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;

namespace MlOps.Client.Tests.Fixtures;

/// <summary>
/// A WireMock server on 127.0.0.1 that answers with exchanges recorded from a real MLflow server, and keeps the
/// requests the client sent so tests can check them.
/// </summary>
public sealed class RecordedServer : IDisposable
{
    public RecordedServer()
    {
        Server = WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"], StartAdminInterface = false });
    }

    public WireMockServer Server { get; }

    public string Url => Server.Url!;

    /// <summary>A client for this server: no retries and no jitter unless the test changes it.</summary>
    public MlflowClient CreateClient(Action<MlflowClientOptions>? configure = null)
    {
        var options = new MlflowClientOptions { TrackingUri = Url };
        options.Retry.MaxRetries = 0;
        options.Retry.BackoffJitter = 0;
        configure?.Invoke(options);
        return new MlflowClient(options);
    }

    /// <summary>Serves the recorded answer of <paramref name="name"/> for its method and path (any query/body).</summary>
    public RecordedExchange Serve(string name, int priority = 10)
    {
        var exchange = RecordedExchange.Load(name);
        Serve(exchange, priority);
        return exchange;
    }

    /// <summary>Serves the recorded answer of an MLflow 3 exchange (Recorded/mlflow-protocol/v3).</summary>
    public RecordedExchange ServeV3(string name, int priority = 10)
    {
        var exchange = RecordedExchange.LoadV3(name);
        Serve(exchange, priority);
        return exchange;
    }

    public void Serve(RecordedExchange exchange, int priority = 10)
    {
        var response = Response.Create().WithStatusCode(exchange.Status).WithBody(exchange.Body);
        if (exchange.ContentType is { } ct)
        {
            response = response.WithHeader("Content-Type", ct);
        }

        if (exchange.Headers.TryGetValue("Retry-After", out var retryAfter))
        {
            response = response.WithHeader("Retry-After", retryAfter);
        }

        Server.Given(Request.Create().WithPath(exchange.Path).UsingMethod(exchange.Method)).AtPriority(priority).RespondWith(response);
    }

    /// <summary>Serves a hand-made answer (for scenarios the recording does not cover, such as 503 or 429).</summary>
    public void ServeStatus(string method, string path, int status, string body = "", string contentType = "application/json", IDictionary<string, string>? headers = null, int priority = 10)
    {
        var response = Response.Create().WithStatusCode(status).WithBody(body).WithHeader("Content-Type", contentType);
        if (headers is not null)
        {
            foreach (var (k, v) in headers)
            {
                response = response.WithHeader(k, v);
            }
        }

        Server.Given(Request.Create().WithPath(path).UsingMethod(method)).AtPriority(priority).RespondWith(response);
    }

    /// <summary>The requests received, in order.</summary>
    public IReadOnlyList<IRequestMessage> Requests => Server.LogEntries.Select(e => e.RequestMessage!).ToList();

    /// <summary>The single request received (fails when there were others).</summary>
    public IRequestMessage SingleRequest() => Assert.Single(Requests);

    /// <summary>The JSON body of a received request.</summary>
    public static JsonNode? BodyOf(IRequestMessage request) => request.Body is { Length: > 0 } b ? JsonNode.Parse(b) : null;

    /// <summary>An answer for a WireMock callback: <paramref name="status"/> with a JSON body.</summary>
    public static ResponseMessage JsonAnswer(int status, string body) => new()
    {
        StatusCode = status,
        BodyData = new WireMock.Util.BodyData { BodyAsString = body, DetectedBodyType = WireMock.Types.BodyType.String },
        Headers = new Dictionary<string, WireMock.Types.WireMockList<string>> { ["Content-Type"] = new("application/json") },
    };

    public void Dispose() => Server.Stop();
}
