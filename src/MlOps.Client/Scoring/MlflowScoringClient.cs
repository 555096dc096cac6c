using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace MlOps.Client.Scoring;

/// <summary>
/// A client for a model served by <c>mlflow models serve</c> (or any MLflow scoring server): <c>/ping</c>,
/// <c>/version</c> and <c>/invocations</c> with the <c>dataframe_split</c>, <c>dataframe_records</c>, <c>instances</c>
/// and <c>inputs</c> payloads. Same retry pipeline and authentication as <see cref="MlflowClient"/>.
/// </summary>
public sealed class MlflowScoringClient : IDisposable
{
    private readonly MlflowClient _http;

    /// <summary>Creates a client for the scoring server at <paramref name="endpoint"/>.</summary>
    /// <param name="endpoint">The server, e.g. <c>http://127.0.0.1:5001</c>.</param>
    /// <param name="configure">Options (credentials, retries, timeouts).</param>
    public MlflowScoringClient(string endpoint, Action<MlflowClientOptions>? configure = null)
    {
        var options = new MlflowClientOptions { TrackingUri = endpoint };
        configure?.Invoke(options);
        _http = new MlflowClient(options);
    }

    /// <summary>The scoring server's address.</summary>
    public Uri Endpoint => _http.BaseUri;

    /// <summary>Whether the server answers <c>GET /ping</c> with 200.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<bool> PingAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_http.BaseUri, "ping"));
            using var response = await _http.SendRawAsync(request, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (MlflowException)
        {
            return false;
        }
    }

    /// <summary>The MLflow version of the server (<c>GET /version</c>).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<string> GetVersionAsync(CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_http.BaseUri, "version"));
        using var response = await _http.SendRawAsync(request, cancellationToken).ConfigureAwait(false);
        return (await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)).Trim();
    }

    /// <summary>Scores rows given as columns + data (<c>dataframe_split</c>, the most compact form).</summary>
    /// <param name="columns">Column names.</param>
    /// <param name="rows">Rows of values (numbers, strings, booleans or null).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<ScoringResult> PredictDataFrameSplitAsync(IReadOnlyList<string> columns, IEnumerable<IReadOnlyList<object?>> rows, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentNullException.ThrowIfNull(rows);
        var data = new JsonArray();
        foreach (var row in rows)
        {
            if (row.Count != columns.Count)
            {
                throw new ArgumentException($"A row has {row.Count} values for {columns.Count} columns.", nameof(rows));
            }

            data.Add((JsonNode)new JsonArray([.. row.Select(ToNode)]));
        }

        return InvokeAsync(new JsonObject { ["dataframe_split"] = new JsonObject { ["columns"] = new JsonArray([.. columns.Select(c => (JsonNode)c)]), ["data"] = data } }, cancellationToken);
    }

    /// <summary>Scores rows given as records (<c>dataframe_records</c>).</summary>
    /// <param name="records">One dictionary of column → value per row.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<ScoringResult> PredictDataFrameRecordsAsync(IEnumerable<IReadOnlyDictionary<string, object?>> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        var array = new JsonArray();
        foreach (var record in records)
        {
            var obj = new JsonObject();
            foreach (var (k, v) in record)
            {
                obj[k] = ToNode(v);
            }

            array.Add((JsonNode)obj);
        }

        return InvokeAsync(new JsonObject { ["dataframe_records"] = array }, cancellationToken);
    }

    /// <summary>Scores tensors given as <c>instances</c> (one element per row).</summary>
    /// <param name="instances">The instances.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<ScoringResult> PredictInstancesAsync(JsonArray instances, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instances);
        return InvokeAsync(new JsonObject { ["instances"] = instances }, cancellationToken);
    }

    /// <summary>Scores tensors given as <c>inputs</c> (an array or a dictionary of named arrays).</summary>
    /// <param name="inputs">The inputs.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<ScoringResult> PredictInputsAsync(JsonNode inputs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return InvokeAsync(new JsonObject { ["inputs"] = inputs }, cancellationToken);
    }

    /// <summary>Sends a prepared payload to <c>POST /invocations</c>.</summary>
    /// <param name="payload">A JSON object with one of the four payload keys (and optionally <c>params</c>).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<ScoringResult> InvokeAsync(JsonObject payload, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(payload);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_http.BaseUri, "invocations"))
        {
            Content = new StringContent(payload.ToJsonString(), Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
        };
        using var response = await _http.SendRawAsync(request, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        var node = JsonNode.Parse(body);
        // MLflow 2.x answers {"predictions": ...}; older servers a bare list.
        var predictions = node is JsonObject obj && obj.TryGetPropertyValue("predictions", out var p) ? p : node;
        return new ScoringResult(predictions);
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    private static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        JsonNode n => n,
        string s => s,
        bool b => b,
        int i => i,
        long l => l,
        float f => f,
        double d => d,
        decimal m => m,
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture),
    };
}

/// <summary>The predictions of a scoring call.</summary>
/// <param name="Predictions">The <c>predictions</c> value as the server sent it.</param>
public sealed record ScoringResult(JsonNode? Predictions)
{
    /// <summary>The predictions as numbers (one per row; nested arrays such as class probabilities are flattened row by row).</summary>
    public double[] AsDoubles() =>
        Predictions is JsonArray array
            ? [.. array.SelectMany(Flatten)]
            : throw new InvalidOperationException("The predictions are not an array.");

    /// <summary>The predictions as rows of numbers (e.g. class probabilities).</summary>
    public double[][] AsRows() =>
        Predictions is JsonArray array
            ? [.. array.Select(r => r is JsonArray inner ? inner.Select(v => v!.GetValue<double>()).ToArray() : [r!.GetValue<double>()])]
            : throw new InvalidOperationException("The predictions are not an array.");

    private static IEnumerable<double> Flatten(JsonNode? node) =>
        node is JsonArray inner ? inner.SelectMany(Flatten) : [node!.GetValue<double>()];
}
