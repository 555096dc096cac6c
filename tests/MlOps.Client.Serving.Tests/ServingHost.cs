using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using MlOps.Client.Stores;

namespace MlOps.Client.Serving.Tests;

/// <summary>A model folder served on 127.0.0.1 (a free port) by <c>MapMlflowModel</c>, with a client.</summary>
internal sealed class ServingHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly bool _ownsModel;

    private ServingHost(WebApplication app, ServedModel model, bool ownsModel)
    {
        _app = app;
        _ownsModel = ownsModel;
        Model = model;
        Http = new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromSeconds(60) };
    }

    public ServedModel Model { get; }

    public HttpClient Http { get; }

    /// <param name="folder">The model folder.</param>
    /// <param name="options">The scoring options.</param>
    /// <param name="log">When given, every log message of the server is added to it (under its lock).</param>
    public static async Task<ServingHost> StartAsync(string folder, ScoringOptions? options = null, List<string>? log = null)
    {
        // A local folder needs no tracking store to resolve; the embedded store in a temporary folder stands in.
        var dir = Directory.CreateTempSubdirectory("mlops-serving-store-");
        ServedModel model;
        await using (var store = SqliteTrackingStore.Open("sqlite:///" + Path.Combine(dir.FullName, "mlflow.db")))
        {
            model = await ServedModel.LoadAsync(store, folder);
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        dir.Delete(recursive: true);
        return await StartAsync(model, options, log, ownsModel: true);
    }

    /// <summary>Serves a loaded model; the host disposes it only when it <paramref name="ownsModel"/>.</summary>
    public static async Task<ServingHost> StartAsync(ServedModel model, ScoringOptions? options, List<string>? log, bool ownsModel)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        if (log is not null)
        {
            builder.Logging.AddProvider(new ListLoggerProvider(log));
        }

        var app = builder.Build();
        app.MapMlflowModel(model, options);
        await app.StartAsync();
        return new ServingHost(app, model, ownsModel);
    }

    /// <summary>POSTs a body to /invocations; returns the status and the parsed JSON answer.</summary>
    public async Task<(int Status, JsonNode? Json)> InvokeAsync(string body, string contentType = "application/json")
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        using var response = await Http.PostAsync("/invocations", content);
        return ((int)response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync()));
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.DisposeAsync();
        if (_ownsModel)
        {
            Model.Dispose();
        }
    }
}
