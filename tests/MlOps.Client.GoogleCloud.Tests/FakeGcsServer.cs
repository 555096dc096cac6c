#pragma warning disable CA5351 // Cloud Storage reports MD5 checksums of objects; the fake does as the service does.
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MlOps.Client.GoogleCloud.Tests;

/// <summary>
/// The part of Cloud Storage's JSON API that Google.Cloud.Storage.V1 calls for artifacts, on 127.0.0.1 (no GCS emulator
/// is reachable here): objects.list with prefix/delimiter/pageToken, resumable uploads (initiation, chunked PUTs with
/// Content-Range, 308 until complete), objects.get (metadata and <c>alt=media</c> with Range), objects.delete. Pages of
/// <see cref="PageSize"/> entries so that continuation is exercised. Anything else is answered 501 and recorded.
/// </summary>
internal sealed class FakeGcsServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentDictionary<string, (byte[] Data, string? ContentType)> _objects = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    private readonly Task _loop;
    private int _nextSession;

    public FakeGcsServer(string bucket)
    {
        Bucket = bucket;
        Port = FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public string Bucket { get; }

    public int Port { get; }

    public int PageSize { get; set; } = 3;

    /// <summary>Every request as "METHOD path?query [Content-Range]".</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>The stored objects.</summary>
    public IReadOnlyDictionary<string, (byte[] Data, string? ContentType)> Objects => _objects;

    public Uri BaseUri => new($"http://127.0.0.1:{Port}/storage/v1/");

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                try
                {
                    await HandleAsync(context);
                }
                catch (Exception ex)
                {
                    Requests.Enqueue("FAKE ERROR " + ex);
                    context.Response.StatusCode = 500;
                }
                finally
                {
                    context.Response.Close();
                }
            });
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var raw = request.RawUrl ?? "/";
        var path = raw.Split('?')[0];
        var query = System.Web.HttpUtility.ParseQueryString(request.Url!.Query);
        Requests.Enqueue($"{request.HttpMethod} {raw} {request.Headers["Content-Range"]}".Trim());
        var objectsPrefix = $"/storage/v1/b/{Bucket}/o";
        var uploadPrefix = $"/upload/storage/v1/b/{Bucket}/o";

        if (!path.StartsWith(objectsPrefix, StringComparison.Ordinal) && !path.StartsWith(uploadPrefix, StringComparison.Ordinal))
        {
            await ErrorAsync(response, 404, "The specified bucket does not exist.");
            return;
        }

        if (path == uploadPrefix && request.HttpMethod == "POST" && query["uploadType"] == "resumable")
        {
            var metadata = JsonNode.Parse(await ReadAsync(request)) ?? new JsonObject();
            var name = query["name"] ?? metadata["name"]?.GetValue<string>() ?? throw new InvalidOperationException("no object name");
            var id = Interlocked.Increment(ref _nextSession).ToString(System.Globalization.CultureInfo.InvariantCulture);
            _sessions[id] = new Session(name, metadata["contentType"]?.GetValue<string>() ?? request.Headers["X-Upload-Content-Type"]);
            response.StatusCode = 200;
            response.Headers["Location"] = $"http://127.0.0.1:{Port}{uploadPrefix}?uploadType=resumable&upload_id={id}";
            return;
        }

        if (path == uploadPrefix && request.HttpMethod == "PUT" && query["upload_id"] is { } sessionId && _sessions.TryGetValue(sessionId, out var session))
        {
            var body = await ReadBytesAsync(request);
            var range = request.Headers["Content-Range"] ?? "";
            long? total = null;
            if (range.Split('/') is [_, var t] && t != "*")
            {
                total = long.Parse(t, System.Globalization.CultureInfo.InvariantCulture);
            }

            lock (session)
            {
                session.Data.Write(body);
            }

            if (total is { } complete && session.Data.Length >= complete)
            {
                _sessions.TryRemove(sessionId, out _);
                _objects[session.Name] = (session.Data.ToArray(), session.ContentType);
                await JsonAsync(response, 200, Describe(session.Name));
                return;
            }

            response.StatusCode = 308;
            if (session.Data.Length > 0)
            {
                response.Headers["Range"] = $"bytes=0-{session.Data.Length - 1}";
            }

            return;
        }

        if (path == objectsPrefix && request.HttpMethod == "GET")
        {
            await ListAsync(response, query["prefix"] ?? "", query["delimiter"], query["pageToken"]);
            return;
        }

        if (path.StartsWith(objectsPrefix + "/", StringComparison.Ordinal))
        {
            var name = Uri.UnescapeDataString(path[(objectsPrefix.Length + 1)..]);
            if (!_objects.TryGetValue(name, out var stored))
            {
                await ErrorAsync(response, 404, "No such object: " + Bucket + "/" + name);
                return;
            }

            switch (request.HttpMethod)
            {
                case "DELETE":
                    _objects.TryRemove(name, out _);
                    response.StatusCode = 204;
                    return;
                case "GET" when query["alt"] == "media":
                    var data = stored.Data;
                    var from = 0L;
                    var to = data.LongLength - 1;
                    if (request.Headers["Range"] is { } r && r.StartsWith("bytes=", StringComparison.Ordinal))
                    {
                        var parts = r["bytes=".Length..].Split('-');
                        from = long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture);
                        if (parts[1].Length > 0)
                        {
                            to = Math.Min(to, long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
                        }

                        response.StatusCode = 206;
                        response.Headers["Content-Range"] = $"bytes {from}-{to}/{data.LongLength}";
                    }
                    else
                    {
                        response.StatusCode = 200;
                    }

                    response.Headers["x-goog-hash"] = "md5=" + Convert.ToBase64String(MD5.HashData(data));
                    response.ContentType = stored.ContentType ?? "application/octet-stream";
                    var length = Math.Max(0, to - from + 1);
                    response.ContentLength64 = length;
                    await response.OutputStream.WriteAsync(data.AsMemory((int)from, (int)length));
                    return;
                case "GET":
                    await JsonAsync(response, 200, Describe(name));
                    return;
            }
        }

        response.StatusCode = 501;
    }

    private JsonObject Describe(string name)
    {
        var (data, type) = _objects[name];
        return new JsonObject
        {
            ["kind"] = "storage#object",
            ["bucket"] = Bucket,
            ["name"] = name,
            ["size"] = data.LongLength.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["contentType"] = type ?? "application/octet-stream",
            ["md5Hash"] = Convert.ToBase64String(MD5.HashData(data)),
            ["generation"] = "1",
        };
    }

    private async Task ListAsync(HttpListenerResponse response, string prefix, string? delimiter, string? pageToken)
    {
        // Entries in name order; with a delimiter, names below the next delimiter collapse into one prefix.
        var entries = new SortedDictionary<string, bool>(StringComparer.Ordinal); // name -> is prefix
        foreach (var name in _objects.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)))
        {
            var rest = name[prefix.Length..];
            var cut = delimiter is null ? -1 : rest.IndexOf(delimiter, StringComparison.Ordinal);
            if (cut >= 0)
            {
                entries[prefix + rest[..(cut + delimiter!.Length)]] = true;
            }
            else
            {
                entries[name] = false;
            }
        }

        var start = pageToken is null ? 0 : int.Parse(pageToken, System.Globalization.CultureInfo.InvariantCulture);
        var page = entries.Skip(start).Take(PageSize).ToList();
        var body = new JsonObject
        {
            ["kind"] = "storage#objects",
            ["items"] = new JsonArray([.. page.Where(e => !e.Value).Select(e => (JsonNode)Describe(e.Key))]),
            ["prefixes"] = new JsonArray([.. page.Where(e => e.Value).Select(e => (JsonNode)JsonValue.Create(e.Key))]),
        };
        if (start + PageSize < entries.Count)
        {
            body["nextPageToken"] = (start + PageSize).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        await JsonAsync(response, 200, body);
    }

    private static async Task ErrorAsync(HttpListenerResponse response, int status, string message) =>
        await JsonAsync(response, status, new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["code"] = status,
                ["message"] = message,
                ["errors"] = new JsonArray(new JsonObject { ["message"] = message, ["domain"] = "global", ["reason"] = status == 404 ? "notFound" : "error" }),
            },
        });

    private static async Task JsonAsync(HttpListenerResponse response, int status, JsonNode body)
    {
        var bytes = Encoding.UTF8.GetBytes(body.ToJsonString());
        response.StatusCode = status;
        response.ContentType = "application/json; charset=UTF-8";
        response.ContentLength64 = bytes.Length;
        await response.OutputStream.WriteAsync(bytes);
    }

    private static async Task<string> ReadAsync(HttpListenerRequest request) => Encoding.UTF8.GetString(await ReadBytesAsync(request));

    private static async Task<byte[]> ReadBytesAsync(HttpListenerRequest request)
    {
        using var buffer = new MemoryStream();
        var body = request.Headers["Content-Encoding"] == "gzip" ? new System.IO.Compression.GZipStream(request.InputStream, System.IO.Compression.CompressionMode.Decompress) : request.InputStream;
        await body.CopyToAsync(buffer); // the client gzips JSON bodies
        return buffer.ToArray();
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(10));
    }

    private sealed class Session(string name, string? contentType)
    {
        public string Name { get; } = name;

        public string? ContentType { get; } = contentType;

        public MemoryStream Data { get; } = new();
    }
}
