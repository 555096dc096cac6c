using WireMock;
using WireMock.Server;
using WireMock.Settings;
using WireMock.Types;
using WireMock.Util;
using Request = WireMock.RequestBuilders.Request;
using Response = WireMock.ResponseBuilders.Response;

namespace MlOps.Client.OpenTelemetry.Tests;

/// <summary>
/// MLflow 3.6's two trace endpoints as the real server answers them (recorded): <c>POST /v1/traces</c> 200
/// <c>{"partialSuccess":null}</c> (or an error status), <c>POST /api/3.0/mlflow/traces</c> the trace's info (echoed).
/// </summary>
internal static class FakeTraceEndpoints
{
    public static WireMockServer Start(int port = 0) =>
        WireMockServer.Start(new WireMockServerSettings { Urls = [$"http://127.0.0.1:{port}"], StartAdminInterface = false });

    /// <param name="server">The fake.</param>
    /// <param name="otlpStatus">What <c>/v1/traces</c> answers.</param>
    /// <param name="onSpans">Sees each OTLP request's body as it arrives.</param>
    public static void Answer(WireMockServer server, int otlpStatus = 200, Action<byte[]>? onSpans = null)
    {
        server.Given(Request.Create().WithPath("/v1/traces").UsingPost()).RespondWith(Response.Create().WithCallback(request =>
        {
            onSpans?.Invoke(request.BodyAsBytes ?? []);
            return Json(otlpStatus, otlpStatus == 200 ? """{"partialSuccess":null}""" : """{"detail":"Invalid OpenTelemetry protobuf format"}""");
        }));
        server.Given(Request.Create().WithPath("/api/3.0/mlflow/traces").UsingPost()).RespondWith(Response.Create().WithCallback(request => Json(200, request.Body ?? "{}")));
    }

    private static ResponseMessage Json(int status, string body) => new()
    {
        StatusCode = status,
        Headers = new Dictionary<string, WireMockList<string>> { ["Content-Type"] = new("application/json") },
        BodyData = new BodyData { BodyAsString = body, DetectedBodyType = BodyType.String },
    };
}
