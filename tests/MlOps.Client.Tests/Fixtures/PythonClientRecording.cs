using System.Text.Json.Nodes;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace MlOps.Client.Tests.Fixtures;

/// <summary>
/// What Python MLflow's client sent and what the server answered, recorded through a logging proxy
/// (Recorded/mlflow-protocol/v3/python-client/*.jsonl, one exchange per line).
/// </summary>
public sealed class PythonClientRecording
{
    private PythonClientRecording(IReadOnlyList<JsonObject> exchanges) => Exchanges = exchanges;

    public IReadOnlyList<JsonObject> Exchanges { get; }

    public static PythonClientRecording Load(string name) =>
        new([.. File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Recorded", "mlflow-protocol", "v3", "python-client", name + ".jsonl"))
            .Where(l => l.Length > 0).Select(l => JsonNode.Parse(l)!.AsObject())]);

    /// <summary>The exchange with sequence number <paramref name="seq"/>.</summary>
    public JsonObject this[int seq] => Exchanges.Single(e => e["seq"]!.GetValue<int>() == seq);

    public static string Method(JsonObject e) => e["method"]!.GetValue<string>();

    public static string PathOf(JsonObject e) => e["path"]!.GetValue<string>();

    public static JsonNode? RequestJson(JsonObject e) => e["request"]!["json"];

    public static JsonNode? ResponseJson(JsonObject e) => e["response"]!["json"];

    /// <summary>
    /// Serves the answers of exchanges <paramref name="from"/>..<paramref name="to"/>: for each method, path and query
    /// parameters the first answer recorded in that range (run-id parameters, which Python sends twice, aside).
    /// </summary>
    public void Serve(RecordedServer server, int from, int to)
    {
        var served = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in Exchanges.Where(e => e["seq"]!.GetValue<int>() is var s && s >= from && s <= to))
        {
            var query = (e["query"] as JsonObject ?? []).Where(q => q.Key is not ("run_id" or "run_uuid" or "max_results"))
                .Select(q => (q.Key, Value: q.Value!.AsArray()[0]!.GetValue<string>())).ToList();
            if (!served.Add(Method(e) + " " + PathOf(e) + " " + string.Join("&", query.Select(q => q.Key + "=" + q.Value))) || e["response"]!["json"] is not { } body)
            {
                continue;
            }

            var request = Request.Create().WithPath(PathOf(e)).UsingMethod(Method(e));
            foreach (var (key, value) in query)
            {
                request = request.WithParam(key, value);
            }

            server.Server.Given(request).AtPriority(5).RespondWith(Response.Create()
                .WithStatusCode(e["response"]!["status"]!.GetValue<int>()).WithHeader("Content-Type", "application/json").WithBody(body.ToJsonString()));
        }
    }
}
