using System.Text.Json.Nodes;
using MlOps.Client.Artifacts;
using MlOps.Client.Tests.Fixtures;
using MlOps.Client.Tests.Rest;
using WireMock;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;
using WireMock.Types;
using WireMock.Util;

namespace MlOps.Client.Tests.Artifacts;

/// <summary>
/// A Databricks run's artifacts against a fake workspace (the signed-URL service of databricks_artifacts.proto) and a
/// fake cloud store on another origin that checks the signed headers.
/// </summary>
public sealed class DatabricksArtifactRepositoryTests : IDisposable
{
    private const string Pat = "dapi-ARTIFACT-SECRET";
    private const string RunId = "0123456789abcdef0123456789abcdef";
    private const string Root = "dbfs:/databricks/mlflow-tracking/42/" + RunId + "/artifacts";
    private readonly WireMockServer _workspace = WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"], StartAdminInterface = false });
    private readonly WireMockServer _store = WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"], StartAdminInterface = false });
    private readonly Dictionary<string, byte[]> _objects = [];
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-dbx-art-");

    public DatabricksArtifactRepositoryTests()
    {
        // The store: keeps what is PUT when the signed header came with it, serves it back, answers ETags for parts.
        _store.Given(Request.Create().WithPath("/bucket/*").UsingPut()).RespondWith(Response.Create().WithCallback(request =>
        {
            if (!request.Headers!.TryGetValue("x-amz-server-side-encryption", out var sse) || sse.Single() != "AES256" || request.Headers.ContainsKey("Authorization"))
            {
                return Status(403, "signature does not match");
            }

            lock (_objects)
            {
                var key = request.Path + (request.Query!.TryGetValue("partNumber", out var part) ? "#" + part.Single() : "");
                _objects[key] = request.BodyAsBytes ?? [];
                return new ResponseMessage
                {
                    StatusCode = 200,
                    Headers = new Dictionary<string, WireMockList<string>> { ["ETag"] = new("\"etag-" + key.Length + "-" + (request.BodyAsBytes?.Length ?? 0) + "\"") },
                };
            }
        }));
        _store.Given(Request.Create().WithPath("/bucket/*").UsingGet()).RespondWith(Response.Create().WithCallback(request =>
        {
            lock (_objects)
            {
                return _objects.TryGetValue(request.Path, out var bytes)
                    ? new ResponseMessage { StatusCode = 200, BodyData = new BodyData { BodyAsBytes = bytes, DetectedBodyType = BodyType.Bytes } }
                    : Status(404, "NoSuchKey");
            }
        }));
        _workspace.Given(Request.Create().WithPath("/api/2.0/mlflow/artifacts/credentials-for-write").UsingPost()).RespondWith(Response.Create().WithCallback(request => Credentials(request, "write")));
        _workspace.Given(Request.Create().WithPath("/api/2.0/mlflow/artifacts/credentials-for-read").UsingPost()).RespondWith(Response.Create().WithCallback(request => Credentials(request, "read")));
    }

    public void Dispose()
    {
        _workspace.Stop();
        _store.Stop();
        _dir.Delete(recursive: true);
    }

    private MlflowClient Client() => new(new MlflowClientOptions { TrackingUri = "databricks", Databricks = { Host = _workspace.Url, Token = Pat } }.WithNoRetries());

    private ResponseMessage Credentials(IRequestMessage request, string kind)
    {
        var body = JsonNode.Parse(request.Body!)!;
        Assert.Equal(RunId, body["run_id"]!.GetValue<string>());
        var path = body["path"]!.AsArray().Single()!.GetValue<string>();
        return Json(200, new JsonObject
        {
            ["credential_infos"] = new JsonArray(new JsonObject
            {
                ["run_id"] = RunId,
                ["path"] = path,
                ["signed_uri"] = $"{_store.Url}/bucket/{path}?X-Amz-Signature={kind}-sig",
                ["type"] = "AWS_PRESIGNED_URL",
                ["headers"] = new JsonArray(
                    new JsonObject { ["name"] = "x-amz-server-side-encryption", ["value"] = "AES256" },
                    new JsonObject { ["name"] = "Content-Type", ["value"] = "application/x-signed-type" }), // a URL signed over a content header
            }),
        }.ToJsonString());
    }

    [Fact]
    public async Task An_unreachable_store_is_named_as_the_artifact_store_not_the_workspace()
    {
        _workspace.Given(Request.Create().WithPath("/api/2.0/mlflow/artifacts/credentials-for-read").UsingPost()).AtPriority(-10).RespondWith(Response.Create().WithCallback(_ =>
            Json(200, """{"credential_infos":[{"signed_uri":"http://127.0.0.1:1/bucket/x?X-Amz-Signature=s","type":"AWS_PRESIGNED_URL"}]}""")));
        using var client = Client();
        var ex = await Assert.ThrowsAsync<MlflowException>(() => ArtifactRepositories.ForUri(Root, client).DownloadFileAsync("x", new MemoryStream()));
        Assert.Contains("Cannot reach the artifact store at http://127.0.0.1:1", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_workspace.Url!, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_store_that_answers_503_once_gets_the_file_again()
    {
        var attempts = 0;
        _store.Given(Request.Create().WithPath("/bucket/flaky.txt").UsingPut()).AtPriority(-10).RespondWith(Response.Create().WithCallback(request =>
        {
            if (Interlocked.Increment(ref attempts) == 1)
            {
                return Status(503, "SlowDown");
            }

            lock (_objects)
            {
                _objects[request.Path] = request.BodyAsBytes ?? [];
            }

            return new ResponseMessage { StatusCode = 200 };
        }));
        var options = new MlflowClientOptions { TrackingUri = "databricks", Databricks = { Host = _workspace.Url, Token = Pat } };
        (options.Retry.BackoffFactor, options.Retry.BackoffJitter) = (0, 0);
        using var client = new MlflowClient(options);
        var file = Path.Combine(_dir.FullName, "flaky.txt");
        await File.WriteAllTextAsync(file, "again");
        await ArtifactRepositories.ForUri(Root, client).UploadFileAsync(file, "flaky.txt"); // streamed: the repository retries, re-reading the file
        Assert.Equal(2, attempts);
        Assert.Equal("again", System.Text.Encoding.UTF8.GetString(_objects["/bucket/flaky.txt"]));
    }

    [Fact]
    public async Task Files_go_to_signed_urls_with_their_headers_and_never_carry_the_workspace_token()
    {
        using var client = Client();
        var repository = ArtifactRepositories.ForUri(Root, client);
        Assert.IsType<DatabricksArtifactRepository>(repository);
        var file = Path.Combine(_dir.FullName, "model.txt");
        await File.WriteAllTextAsync(file, "weights");
        await repository.UploadFileAsync(file, "model/model.txt");
        Assert.Equal("weights", System.Text.Encoding.UTF8.GetString(_objects["/bucket/model/model.txt"]));

        using var back = new MemoryStream();
        await repository.DownloadFileAsync("model/model.txt", back);
        Assert.Equal("weights", System.Text.Encoding.UTF8.GetString(back.ToArray()));

        // The workspace got the token; the store never did.
        Assert.All(_workspace.LogEntries, e => Assert.Equal("Bearer " + Pat, e.RequestMessage!.Headers!["Authorization"].Single()));
        Assert.All(_store.LogEntries, e => Assert.False(e.RequestMessage!.Headers!.ContainsKey("Authorization")));
        Assert.Equal("write-sig", _store.LogEntries[0].RequestMessage!.Query!["X-Amz-Signature"].Single());
        Assert.Equal("application/x-signed-type", _store.LogEntries[0].RequestMessage!.Headers!["Content-Type"].Single()); // a content header reaches the store

        await Assert.ThrowsAsync<NotSupportedException>(() => repository.DeleteAsync("model/model.txt"));

        // A signed URL is a credential while it lives: a failure names the path, never the signature.
        var missing = await Assert.ThrowsAsync<MlflowException>(() => repository.DownloadFileAsync("model/absent.txt", new MemoryStream()));
        Assert.Equal(404, missing.Status);
        Assert.Contains("/bucket/model/absent.txt?X-Amz-Signature=***", missing.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("read-sig", missing.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Listing_pages_through_the_workspace_s_artifacts_list()
    {
        _workspace.Given(Request.Create().WithPath("/api/2.0/mlflow/artifacts/list").UsingGet().WithParam("page_token", "p2")).AtPriority(1)
            .RespondWith(Response.Create().WithBody("""{"root_uri":"x","files":[{"path":"model/MLmodel","is_dir":false,"file_size":"12"}]}"""));
        _workspace.Given(Request.Create().WithPath("/api/2.0/mlflow/artifacts/list").UsingGet().WithParam("run_id", RunId)).AtPriority(20)
            .RespondWith(Response.Create().WithBody("""{"root_uri":"x","files":[{"path":"model/model.txt","is_dir":false,"file_size":"7"}],"next_page_token":"p2"}"""));
        using var client = Client();
        var listed = await ArtifactRepositories.ForUri(Root, client).ListAsync("model");
        Assert.Equal(["model/model.txt", "model/MLmodel"], listed.Select(f => f.Path));
    }

    [Fact]
    public async Task A_large_file_goes_in_parts_completed_with_their_etags_and_a_failed_part_aborts_the_upload()
    {
        var parts = new List<string>();
        _workspace.Given(Request.Create().WithPath("/api/2.0/mlflow/artifacts/create-multipart-upload").UsingPost()).RespondWith(Response.Create().WithCallback(request =>
        {
            var body = JsonNode.Parse(request.Body!)!;
            var path = body["path"]!.GetValue<string>();
            var n = body["num_parts"]!.GetValue<long>();
            var infos = new JsonArray();
            for (var i = 1; i <= n; i++)
            {
                infos.Add((JsonNode)new JsonObject
                {
                    ["signed_uri"] = $"{_store.Url}/bucket/{path}?partNumber={i}&uploadId=up-1",
                    ["type"] = "AWS_PRESIGNED_URL",
                    ["headers"] = new JsonArray(new JsonObject { ["name"] = "x-amz-server-side-encryption", ["value"] = (path.Contains("bad", StringComparison.Ordinal) || path.Contains("expired", StringComparison.Ordinal)) && i == 2 ? "wrong" : "AES256" }),
                });
            }

            return Json(200, new JsonObject
            {
                ["upload_id"] = "up-1",
                ["upload_credential_infos"] = infos,
                ["abort_credential_info"] = new JsonObject { ["signed_uri"] = $"{_store.Url}/abort/{path}?uploadId=up-1", ["type"] = "AWS_PRESIGNED_URL" },
            }.ToJsonString());
        }));
        _workspace.Given(Request.Create().WithPath("/api/2.0/mlflow/artifacts/complete-multipart-upload").UsingPost()).RespondWith(Response.Create().WithCallback(request =>
        {
            parts.Add(request.Body!);
            return Json(200, "{}");
        }));
        _store.Given(Request.Create().WithPath("/abort/*").UsingDelete()).RespondWith(Response.Create().WithStatusCode(204));
        var renewals = new List<string>();
        _workspace.Given(Request.Create().WithPath("/api/2.0/mlflow/artifacts/get-presigned-upload-part-url").UsingPost()).RespondWith(Response.Create().WithCallback(request =>
        {
            var body = JsonNode.Parse(request.Body!)!;
            var path = body["path"]!.GetValue<string>();
            lock (renewals)
            {
                renewals.Add($"{path}#{body["part_number"]!.GetValue<long>()}@{body["upload_id"]!.GetValue<string>()}");
            }

            // An expired URL is renewed with a good one; a part the store keeps refusing stays refused.
            return Json(200, new JsonObject
            {
                ["upload_credential_info"] = new JsonObject
                {
                    ["signed_uri"] = $"{_store.Url}/bucket/{path}?partNumber={body["part_number"]}&uploadId=up-1",
                    ["headers"] = new JsonArray(new JsonObject { ["name"] = "x-amz-server-side-encryption", ["value"] = path.Contains("bad", StringComparison.Ordinal) ? "wrong" : "AES256" }),
                },
            }.ToJsonString());
        }));

        using var client = Client();
        var options = new ArtifactOptions { MultipartThreshold = 10, MultipartPartSize = 8 };
        var repository = ArtifactRepositories.ForUri(Root, client, options);
        var file = Path.Combine(_dir.FullName, "big.bin");
        await File.WriteAllBytesAsync(file, [.. Enumerable.Range(0, 20).Select(i => (byte)i)]);
        await repository.UploadFileAsync(file, "data/big.bin");

        Assert.Equal([.. Enumerable.Range(0, 8).Select(i => (byte)i)], _objects["/bucket/data/big.bin#1"]);
        Assert.Equal([.. Enumerable.Range(16, 4).Select(i => (byte)i)], _objects["/bucket/data/big.bin#3"]);
        var complete = JsonNode.Parse(Assert.Single(parts))!;
        Assert.Equal(("up-1", "data/big.bin"), (complete["upload_id"]!.GetValue<string>(), complete["path"]!.GetValue<string>()));
        Assert.Equal([1L, 2L, 3L], complete["part_etags"]!.AsArray().Select(p => p!["part_number"]!.GetValue<long>()));
        Assert.All(complete["part_etags"]!.AsArray(), p => Assert.StartsWith("\"etag-", p!["etag"]!.GetValue<string>(), StringComparison.Ordinal));

        // Part 2's URL has expired: renewed once through get-presigned-upload-part-url, the upload completes.
        await File.WriteAllBytesAsync(Path.Combine(_dir.FullName, "expired.bin"), new byte[20]);
        await repository.UploadFileAsync(Path.Combine(_dir.FullName, "expired.bin"), "data/expired.bin");
        Assert.Equal(["data/expired.bin#2@up-1"], renewals);
        Assert.Equal(2, parts.Count);

        await File.WriteAllBytesAsync(Path.Combine(_dir.FullName, "bad.bin"), new byte[20]);
        var failed = await Assert.ThrowsAsync<MlflowException>(() => repository.UploadFileAsync(Path.Combine(_dir.FullName, "bad.bin"), "data/bad.bin"));
        Assert.Equal(403, failed.Status);
        Assert.Contains(_store.LogEntries, e => e.RequestMessage!.Method == "DELETE" && e.RequestMessage.Path == "/abort/data/bad.bin");
        Assert.Equal(2, parts.Count); // never completed
        Assert.Contains("data/bad.bin#2@up-1", renewals); // renewed once, still refused
    }

    [Fact]
    public async Task An_Azure_SAS_url_gets_staged_blocks_then_the_block_list_and_an_expired_one_is_renewed_once()
    {
        var issued = 0;
        _workspace.Given(Request.Create().WithPath("/api/2.0/mlflow/artifacts/credentials-for-write").UsingPost()).AtPriority(-10).RespondWith(Response.Create().WithCallback(request =>
            Json(200, new JsonObject
            {
                ["credential_infos"] = new JsonArray(new JsonObject
                {
                    ["signed_uri"] = $"{_store.Url}/container/{JsonNode.Parse(request.Body!)!["path"]!.AsArray()[0]!.GetValue<string>()}?sv=2021&sig=sas-{Interlocked.Increment(ref issued)}",
                    ["type"] = "AZURE_SAS_URI",
                }),
            }.ToJsonString())));
        var blocks = new List<(string Comp, string? Id, string? BlobType, string Body)>();
        _store.Given(Request.Create().WithPath("/container/*").UsingPut()).RespondWith(Response.Create().WithCallback(request =>
        {
            lock (blocks)
            {
                if (request.Query!["sig"].Single() == "sas-1" && blocks.Count >= 1)
                {
                    return Status(403, "AuthenticationFailed: Signed expiry time has passed");
                }

                blocks.Add((request.Query!["comp"].Single(), request.Query.TryGetValue("blockid", out var id) ? id.Single() : null,
                    request.Headers!.TryGetValue("x-ms-blob-type", out var t) ? t.Single() : null, request.Body ?? ""));
            }

            return new ResponseMessage { StatusCode = 201 };
        }));
        using var client = Client();
        var repository = ArtifactRepositories.ForUri(Root, client, new ArtifactOptions { MultipartPartSize = 4 });
        var file = Path.Combine(_dir.FullName, "w.bin");
        await File.WriteAllBytesAsync(file, new byte[10]);
        await repository.UploadFileAsync(file, "w.bin");

        Assert.Equal(["block", "block", "block", "blocklist"], blocks.Select(b => b.Comp));
        Assert.Equal(2, issued); // the SAS URL expired after the first block: renewed once, the rest went with the new one
        Assert.All(blocks.Take(3), b => Assert.Equal("BlockBlob", b.BlobType));
        Assert.All(blocks.Take(3), b => Assert.Contains($"<Uncommitted>{b.Id}</Uncommitted>", blocks[3].Body, StringComparison.Ordinal));
        Assert.StartsWith("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<BlockList>", blocks[3].Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_ADLS_Gen2_SAS_url_gets_create_append_and_flush()
    {
        _workspace.Given(Request.Create().WithPath("/api/2.0/mlflow/artifacts/credentials-for-write").UsingPost()).AtPriority(-10).RespondWith(Response.Create().WithCallback(_ =>
            Json(200, new JsonObject
            {
                ["credential_infos"] = new JsonArray(new JsonObject { ["signed_uri"] = $"{_store.Url}/fs/run/w.bin?sv=2021&sig=abc", ["type"] = "AZURE_ADLS_GEN2_SAS_URI" }),
            }.ToJsonString())));
        var calls = new List<string>();
        _store.Given(Request.Create().WithPath("/fs/*")).RespondWith(Response.Create().WithCallback(request =>
        {
            lock (calls)
            {
                var q = request.Query!;
                calls.Add($"{request.Method} {(q.TryGetValue("resource", out var r) ? "resource=" + r.Single() : "")}{(q.TryGetValue("action", out var a) ? "action=" + a.Single() + "@" + q["position"].Single() : "")}{(q.ContainsKey("flush") ? "+flush" : "")} {request.BodyAsBytes?.Length ?? 0}");
            }

            return new ResponseMessage { StatusCode = 201 };
        }));
        using var client = Client();
        var file = Path.Combine(_dir.FullName, "w.bin");
        await File.WriteAllBytesAsync(file, new byte[10]);
        await ArtifactRepositories.ForUri(Root, client, new ArtifactOptions { MultipartPartSize = 4 }).UploadFileAsync(file, "w.bin");
        Assert.Equal(["PUT resource=file 0", "PATCH action=append@0 4", "PATCH action=append@4 4", "PATCH action=append@8 2", "PATCH action=flush@10 0"], calls);

        calls.Clear();
        await ArtifactRepositories.ForUri(Root, client, new ArtifactOptions { MultipartPartSize = 64 }).UploadFileAsync(file, "w.bin");
        Assert.Equal(["PUT resource=file 0", "PATCH action=append@0+flush 10"], calls); // one chunk: flushed with it, as Python

        calls.Clear();
        await File.WriteAllBytesAsync(file, []);
        await ArtifactRepositories.ForUri(Root, client).UploadFileAsync(file, "w.bin");
        Assert.Equal(["PUT resource=file 0", "PATCH action=flush@0 0"], calls); // an empty file: no zero-byte append (Azure refuses one)
    }

    [Fact]
    public async Task A_logged_model_s_files_go_through_the_workspace_Files_API()
    {
        const string prefix = "/api/2.0/fs/files/Mlflow/Artifacts/42/LoggedModels/m-abc/";
        var files = new Dictionary<string, byte[]>();
        _workspace.Given(Request.Create().WithPath(prefix + "*").UsingPut()).RespondWith(Response.Create().WithCallback(request =>
        {
            Assert.Equal("true", request.Query!["overwrite"].Single());
            lock (files)
            {
                files[request.Path[prefix.Length..]] = request.BodyAsBytes ?? [];
            }

            return new ResponseMessage { StatusCode = 204 };
        }));
        _workspace.Given(Request.Create().WithPath(prefix + "*").UsingGet()).RespondWith(Response.Create().WithCallback(request =>
            new ResponseMessage { StatusCode = 200, BodyData = new BodyData { BodyAsBytes = files[request.Path[prefix.Length..]], DetectedBodyType = BodyType.Bytes } }));
        const string dirs = "/api/2.0/fs/directories/Mlflow/Artifacts/42/LoggedModels/m-abc";
        _workspace.Given(Request.Create().WithPath(dirs + "/model").UsingHead()).RespondWith(Response.Create().WithStatusCode(200));
        _workspace.Given(Request.Create().WithPath(dirs + "/nothing").UsingHead()).RespondWith(Response.Create().WithStatusCode(404));
        _workspace.Given(Request.Create().WithPath(dirs + "/model").UsingGet()).RespondWith(Response.Create().WithCallback(_ => Json(200, new JsonObject
        {
            ["contents"] = new JsonArray([.. files.Keys.Order(StringComparer.Ordinal).Select(k => (JsonNode)new JsonObject
            {
                ["path"] = "/Mlflow/Artifacts/42/LoggedModels/m-abc/" + k,
                ["is_directory"] = false,
                ["file_size"] = files[k].Length,
            })]),
        }.ToJsonString())));

        using var client = Client();
        var repository = ArtifactRepositories.ForUri("dbfs:/databricks/mlflow-tracking/42/logged_models/m-abc", client);
        var folder = _dir.CreateSubdirectory("model");
        await File.WriteAllTextAsync(Path.Combine(folder.FullName, "MLmodel"), "flavors: {}\n");
        await File.WriteAllTextAsync(Path.Combine(folder.FullName, "model.xgb"), "booster");
        await repository.UploadDirectoryAsync(folder.FullName, "model");

        var listed = await repository.ListAsync("model");
        Assert.Equal([("model/MLmodel", 12L), ("model/model.xgb", 7L)], listed.Select(f => (f.Path, f.FileSize ?? -1)));
        Assert.Empty(await repository.ListAsync("nothing"));
        using var back = new MemoryStream();
        await repository.DownloadFileAsync("model/model.xgb", back);
        Assert.Equal("booster", System.Text.Encoding.UTF8.GetString(back.ToArray()));
        Assert.All(_workspace.LogEntries, e => Assert.Equal("Bearer " + Pat, e.RequestMessage!.Headers!["Authorization"].Single()));
    }

    private static ResponseMessage Json(int status, string body) => RecordedServer.JsonAnswer(status, body);

    private static ResponseMessage Status(int status, string text) => new()
    {
        StatusCode = status,
        BodyData = new BodyData { BodyAsString = text, DetectedBodyType = BodyType.String },
    };
}
