using System.Text.Json;
using System.Text.Json.Nodes;

namespace MlOps.Client.Tests.Fixtures;

/// <summary>One exchange recorded from a real MLflow server (Recorded/mlflow-protocol/NNN-name.json, copied as recorded).</summary>
public sealed class RecordedExchange
{
    public required string Name { get; init; }
    public required string Method { get; init; }
    public required string Path { get; init; }
    public required IReadOnlyDictionary<string, string> Query { get; init; }
    public JsonNode? RequestJson { get; init; }
    public string? RequestRaw { get; init; }
    public required int Status { get; init; }
    public string? ContentType { get; init; }
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>The response body exactly as the server's JSON or text.</summary>
    public required string Body { get; init; }

    public JsonNode? ResponseJson => Body.Length > 0 && (ContentType?.Contains("json", StringComparison.Ordinal) ?? false) ? JsonNode.Parse(Body) : null;

    /// <summary>The recorded exchanges, carried by the repository (tests/MlOps.Client.Tests/Recorded/mlflow-protocol).</summary>
    public static string ProtocolDirectory { get; } = FindProtocolDirectory();

    public static RecordedExchange Load(string name)
    {
        var file = Directory.GetFiles(ProtocolDirectory, name.EndsWith(".json", StringComparison.Ordinal) ? name : name + ".json", SearchOption.TopDirectoryOnly).SingleOrDefault()
            ?? Directory.GetFiles(ProtocolDirectory, "*-" + name + ".json").SingleOrDefault()
            ?? throw new FileNotFoundException($"No recorded exchange '{name}' in {ProtocolDirectory}");
        return Parse(file);
    }

    /// <summary>Creates <paramref name="path"/> with the schema a real MLflow 3.6 server wrote (v3/schema.sql) and returns its <c>sqlite:///</c> URI.</summary>
    public static string CreateV3Database(string path)
    {
        using (var db = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + path))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = File.ReadAllText(System.IO.Path.Combine(ProtocolDirectory, "v3", "schema.sql"));
            cmd.ExecuteNonQuery();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        return "sqlite:///" + path;
    }

    public static RecordedExchange LoadV3(string name)
    {
        var dir = System.IO.Path.Combine(ProtocolDirectory, "v3");
        var file = Directory.GetFiles(dir, name + ".json").SingleOrDefault()
            ?? Directory.GetFiles(dir, "*-" + name + ".json").SingleOrDefault()
            ?? throw new FileNotFoundException($"No recorded v3 exchange '{name}' in {dir}");
        return Parse(file);
    }

    private static RecordedExchange Parse(string file)
    {
        // The recordings were written by Python's json module: bare NaN/Infinity tokens may appear in request bodies.
        var node = JsonNode.Parse(File.ReadAllText(file), documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true })!;
        var response = node["response"]!;
        string body;
        if (response["json"] is { } json)
        {
            body = json.ToJsonString();
        }
        else
        {
            body = response["text"]?.GetValue<string>() ?? "";
        }

        var query = new Dictionary<string, string>();
        if (node["query"] is JsonObject q)
        {
            foreach (var (k, v) in q)
            {
                query[k] = v is JsonArray arr ? string.Join(",", arr.Select(x => x!.ToString())) : v!.ToString();
            }
        }

        var headers = new Dictionary<string, string>();
        if (response["headers"] is JsonObject h)
        {
            foreach (var (k, v) in h)
            {
                headers[k] = v!.ToString();
            }
        }

        var request = node["request"];
        return new RecordedExchange
        {
            Name = node["name"]!.GetValue<string>(),
            Method = node["method"]!.GetValue<string>(),
            Path = node["path"]!.GetValue<string>(),
            Query = query,
            RequestJson = request?["json"]?.DeepClone(),
            RequestRaw = request?["raw"]?.ToString(),
            Status = response["status"]!.GetValue<int>(),
            ContentType = response["content_type"]?.GetValue<string>(),
            Headers = headers,
            Body = body,
        };
    }

    private static string FindProtocolDirectory()
    {
        // The recordings live in tests/MlOps.Client.Tests/Recorded (copied as recorded) and are copied to the output folder.
        var local = System.IO.Path.Combine(AppContext.BaseDirectory, "Recorded", "mlflow-protocol");
        return Directory.Exists(local)
            ? local
            : throw new DirectoryNotFoundException("The recorded exchanges were not copied to " + local + " (tests/MlOps.Client.Tests/Recorded).");
    }
}
