using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using MlOps.Client.Artifacts;
using MlOps.Client.Stores;
using MlOps.Client.Tests.Fixtures;
using MlOps.Client.Tracking;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace MlOps.Client.Tests.Artifacts;

public sealed class ArtifactRepositoryTests : IDisposable
{
    private const string Root = "mlflow-artifacts:/1/e0615394aa0f4901b930c39ef92bfa3b/artifacts";
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-artifacts-");

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    private string TempFile(string name, string content)
    {
        var path = Path.Combine(_dir.FullName, name);
        File.WriteAllText(path, content);
        return path;
    }

    [Fact]
    public async Task Upload_list_download_and_delete_through_the_proxy_as_recorded()
    {
        using var server = new RecordedServer();
        var put = server.Serve("201-artifacts-put");
        var nested = server.Serve("202-artifacts-put-nested");
        var get = server.Serve("204-artifacts-get");
        var delete = server.Serve("219-artifacts-delete");
        using var client = server.CreateClient(o => o.Credential = MlflowCredential.Bearer("tok"));
        var repo = ArtifactRepositories.ForUri(Root, client);
        Assert.IsType<HttpArtifactRepository>(repo);

        await repo.UploadFileAsync(TempFile("hello.txt", "hello artifact\n"), "hello.txt");
        await repo.UploadFileAsync(TempFile("data.json", "{}"), "dir/sub/data.json");
        using var downloaded = new MemoryStream();
        await repo.DownloadFileAsync("hello.txt", downloaded);
        await repo.DeleteAsync("dir/sub/data.json");

        var requests = server.Requests;
        Assert.Equal(("PUT", put.Path), (requests[0].Method, requests[0].Path));
        Assert.Equal("hello artifact\n", requests[0].Body);
        Assert.Equal(("PUT", nested.Path), (requests[1].Method, requests[1].Path));
        Assert.Equal(("GET", get.Path), (requests[2].Method, requests[2].Path));
        Assert.Equal(("DELETE", delete.Path), (requests[3].Method, requests[3].Path));
        Assert.All(requests, r => Assert.Equal("Bearer tok", r.Headers!["Authorization"].Single()));
        Assert.Equal("hello artifact\n", Encoding.UTF8.GetString(downloaded.ToArray()));
    }

    [Fact]
    public async Task Listing_through_the_proxy_gives_paths_relative_to_the_run_root()
    {
        using var server = new RecordedServer();
        var root = RecordedExchange.Load("207-artifacts-list-proxy");
        var sub = RecordedExchange.Load("208-artifacts-list-proxy-subdir");
        server.Server.Given(Request.Create().WithPath(root.Path).UsingGet().WithParam("path", root.Query["path"])).RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody(root.Body));
        server.Server.Given(Request.Create().WithPath(sub.Path).UsingGet().WithParam("path", sub.Query["path"])).RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody(sub.Body));
        using var client = server.CreateClient();
        var repo = ArtifactRepositories.ForUri(Root, client);

        var top = await repo.ListAsync();
        var dir = await repo.ListAsync("dir");

        Assert.Contains(top, f => f.Path == "hello.txt" && f.FileSize == 15 && !f.IsDir);
        Assert.Equal("dir/sub", Assert.Single(dir).Path);
    }

    [Fact]
    public async Task A_large_file_falls_back_to_one_PUT_when_the_server_has_no_multipart()
    {
        using var server = new RecordedServer();
        // The recorded 501 of a local destination, served where Python's client asks: the URL names the folder, the
        // body the file (the recording's own request named the file in both; the server ignores both for a 501).
        var recorded = RecordedExchange.Load("216-artifacts-mpu-create");
        const string folder = "/api/2.0/mlflow-artifacts/mpu/create/1/e0615394aa0f4901b930c39ef92bfa3b/artifacts";
        server.ServeStatus("POST", folder, recorded.Status, recorded.Body, recorded.ContentType!);
        server.ServeStatus("PUT", "/api/2.0/mlflow-artifacts/artifacts/1/e0615394aa0f4901b930c39ef92bfa3b/artifacts/big.bin", 200, "{}");
        using var client = server.CreateClient();
        var repo = new HttpArtifactRepository(client, Root, new ArtifactOptions { MultipartThreshold = 10, MultipartPartSize = 64 });

        await repo.UploadFileAsync(TempFile("big.bin", new string('x', 100)), "big.bin");

        Assert.Equal(["POST", "PUT"], server.Requests.Select(r => r.Method));
        Assert.Equal(folder, server.Requests[0].Path);
        Assert.Equal(JsonNode.Parse("""{"path":"big.bin","num_parts":2}"""), RecordedServer.BodyOf(server.Requests[0]), JsonNode.DeepEquals);
        Assert.Equal(100, server.Requests[1].Body!.Length);
    }

    [Fact]
    public void Multipart_defaults_are_mlflows_500_MiB_threshold_and_10_MiB_parts()
    {
        Assert.Null(Environment.GetEnvironmentVariable("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE"));
        Assert.Null(Environment.GetEnvironmentVariable("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE"));
        var options = new ArtifactOptions();
        Assert.Equal(500L << 20, options.MultipartThreshold);
        Assert.Equal(10L << 20, options.MultipartPartSize);
    }

    [Fact]
    public async Task Multipart_uploads_parts_to_the_presigned_urls_without_credentials_then_completes()
    {
        using var server = new RecordedServer();
        using var storage = new RecordedServer(); // another origin, like a cloud bucket
        var create = new JsonObject
        {
            ["upload_id"] = "u1",
            ["credentials"] = new JsonArray(
                new JsonObject { ["url"] = storage.Url + "/part1", ["part_number"] = 1, ["headers"] = new JsonObject { ["x-amz-meta"] = "m" } },
                new JsonObject { ["url"] = storage.Url + "/part2", ["part_number"] = 2 }),
        }.ToJsonString();
        server.ServeStatus("POST", "/api/2.0/mlflow-artifacts/mpu/create/1/e0615394aa0f4901b930c39ef92bfa3b/artifacts/data", 200, create);
        server.ServeStatus("POST", "/api/2.0/mlflow-artifacts/mpu/complete/1/e0615394aa0f4901b930c39ef92bfa3b/artifacts/data", 200, "{}");
        storage.Server.Given(Request.Create().WithPath("/part1").UsingPut()).RespondWith(Response.Create().WithStatusCode(200).WithHeader("ETag", "\"e1\""));
        storage.Server.Given(Request.Create().WithPath("/part2").UsingPut()).RespondWith(Response.Create().WithStatusCode(200).WithHeader("ETag", "\"e2\""));
        using var client = server.CreateClient(o => o.Credential = MlflowCredential.Bearer("secret-token"));
        var repo = new HttpArtifactRepository(client, Root, new ArtifactOptions { MultipartThreshold = 10, MultipartPartSize = 64 });
        var progress = new List<long>();

        await repo.UploadFileAsync(TempFile("big.bin", new string('y', 100)), "data/big.bin", new SyncProgress(p => progress.Add(p.BytesTransferred)));

        Assert.Equal([64, 36], storage.Requests.OrderBy(r => r.Path).Select(r => r.Body!.Length));
        Assert.All(storage.Requests, r => Assert.False(r.Headers!.ContainsKey("Authorization")));
        Assert.Equal("m", storage.Requests.Single(r => r.Path == "/part1").Headers!["x-amz-meta"].Single());
        Assert.Equal(JsonNode.Parse("""{"path":"big.bin","num_parts":2}"""), RecordedServer.BodyOf(server.Requests[0]), JsonNode.DeepEquals); // the folder in the URL, the file in the body, as Python's client
        var complete = RecordedServer.BodyOf(server.Requests[^1])!;
        Assert.Equal("u1", complete["upload_id"]!.GetValue<string>());
        Assert.Equal("big.bin", complete["path"]!.GetValue<string>());
        Assert.Equal(["\"e1\"", "\"e2\""], complete["parts"]!.AsArray().Select(p => p!["etag"]!.GetValue<string>()));
        Assert.Equal(100, progress.Max());
    }

    [Theory]
    [InlineData("../escape.txt")]
    [InlineData("dir/../../escape.txt")]
    [InlineData("/etc/passwd")]
    [InlineData("C:\\Windows\\evil.txt")]
    public async Task Downloads_never_write_outside_the_destination(string evil)
    {
        using var server = new RecordedServer();
        var listing = new JsonObject { ["files"] = new JsonArray(new JsonObject { ["path"] = "ok.txt", ["is_dir"] = false }, new JsonObject { ["path"] = evil, ["is_dir"] = false }) };
        server.ServeStatus("GET", "/api/2.0/mlflow-artifacts/artifacts", 200, listing.ToJsonString());
        server.ServeStatus("GET", "/api/2.0/mlflow-artifacts/artifacts/1/e0615394aa0f4901b930c39ef92bfa3b/artifacts/ok.txt", 200, "fine", "text/plain");
        using var client = server.CreateClient();
        var repo = ArtifactRepositories.ForUri(Root, client);
        var destination = Path.Combine(_dir.FullName, "dest", "inner");

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => repo.DownloadAsync(null, destination));

        Assert.Contains("Refusing", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dir.FullName, "dest", "escape.txt")));
        Assert.False(Directory.Exists(destination) && Directory.EnumerateFileSystemEntries(destination).Any());
        Assert.DoesNotContain(server.Requests, r => r.Path.EndsWith("ok.txt", StringComparison.Ordinal)); // refused before any download
    }

    [Fact]
    public void Other_schemes_are_refused_with_the_advice_to_register_or_serve_artifacts()
    {
        foreach (var uri in new[] { "ftp://host/x", "hdfs://namenode/x", "dbfs:/x" })
        {
            var ex = Assert.Throws<NotSupportedException>(() => ArtifactRepositories.ForUri(uri, null));
            Assert.Contains("--serve-artifacts", ex.Message, StringComparison.Ordinal);
            Assert.Contains("ArtifactRepositories.Register", ex.Message, StringComparison.Ordinal);
            Assert.Contains(uri[..uri.IndexOf(':', StringComparison.Ordinal)], ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_registered_scheme_is_answered_by_its_factory_until_unregistered()
    {
        var mine = new LocalArtifactRepository(_dir.FullName);
        ArtifactRepositories.Register("hdfs", _ => mine);
        try
        {
            Assert.Same(mine, ArtifactRepositories.ForUri("HDFS://namenode/x", null));
        }
        finally
        {
            Assert.True(ArtifactRepositories.Unregister("hdfs"));
        }

        Assert.False(ArtifactRepositories.Unregister("hdfs"));
        Assert.Throws<NotSupportedException>(() => ArtifactRepositories.ForUri("hdfs://namenode/x", null));
    }

    [Fact]
    public async Task Run_scope_artifacts_on_the_embedded_store_are_written_before_the_run_ends_and_come_back()
    {
        await using var store = SqliteTrackingStore.Open("sqlite:///" + Path.Combine(_dir.FullName, "mlflow.db"));
        await using var tracker = new Tracker(store, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false });
        var data = Directory.CreateDirectory(Path.Combine(_dir.FullName, "data"));
        File.WriteAllText(Path.Combine(data.FullName, "a.csv"), "x,y\n1,2\n");
        Directory.CreateDirectory(Path.Combine(data.FullName, "nested"));
        File.WriteAllText(Path.Combine(data.FullName, "nested", "b.txt"), "b");
        RunScope run;
        using (run = tracker.StartRun("artifacts"))
        {
            _ = run.LogArtifactAsync(TempFile("notes.md", "# notes"), "docs");
            _ = run.LogArtifactsAsync(data.FullName, "data");
            _ = run.LogTextAsync("hello", "hello.txt");
            _ = run.LogDictionaryAsync(new JsonObject { ["lr"] = 0.1, ["layers"] = new JsonArray(1, 2), ["name"] = "a: b" }, "config.yaml");
            _ = run.LogDictionaryAsync(new JsonObject { ["k"] = "v" }, "config.json");
        }

        // The uploads completed before the run was ended.
        var root = new Uri(run.ArtifactUri!).LocalPath;
        Assert.Equal("hello", File.ReadAllText(Path.Combine(root, "hello.txt")));
        Assert.Equal("# notes", File.ReadAllText(Path.Combine(root, "docs", "notes.md")));
        Assert.Equal("b", File.ReadAllText(Path.Combine(root, "data", "nested", "b.txt")));
        Assert.Equal("lr: 0.1\nlayers:\n- 1\n- 2\nname: 'a: b'\n", File.ReadAllText(Path.Combine(root, "config.yaml")));
        Assert.Equal("v", JsonNode.Parse(File.ReadAllText(Path.Combine(root, "config.json")))!["k"]!.GetValue<string>());

        var listed = await run.ListArtifactsAsync();
        Assert.Equal(["config.json", "config.yaml", "data", "docs", "hello.txt"], listed.Select(f => f.Path));
        var back = await run.DownloadArtifactsAsync("data", Path.Combine(_dir.FullName, "back"));
        Assert.Equal("x,y\n1,2\n", File.ReadAllText(Path.Combine(back, "a.csv")));
        Assert.Equal("b", File.ReadAllText(Path.Combine(back, "nested", "b.txt")));
        Assert.ThrowsAny<ArgumentException>(() => { _ = run.LogDictionaryAsync(new JsonObject(), "x.txt"); });
    }

    [Fact]
    public async Task A_ScottPlot_figure_is_logged_as_a_PNG()
    {
        await using var store = SqliteTrackingStore.Open("sqlite:///" + Path.Combine(_dir.FullName, "mlflow.db"));
        await using var tracker = new Tracker(store, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false });
        var plot = new ScottPlot.Plot();
        plot.Add.Scatter(new double[] { 0, 1, 2, 3 }, new double[] { 1.0, 0.6, 0.4, 0.3 });
        plot.Title("loss");
        RunScope run;
        using (run = tracker.StartRun("figure"))
        {
            _ = run.LogFigureAsync(plot, "plots/loss.png", 400, 300);
            Assert.Throws<ArgumentException>(() => { _ = run.LogFigureAsync(plot, "plots/loss.jpg"); });
        }

        var bytes = File.ReadAllBytes(Path.Combine(new Uri(run.ArtifactUri!).LocalPath, "plots", "loss.png"));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        Assert.True(bytes.Length > 1000);
    }

    [Fact]
    public async Task Images_are_logged_as_Python_s_log_image_writes_them()
    {
        await using var store = SqliteTrackingStore.Open("sqlite:///" + Path.Combine(_dir.FullName, "mlflow.db"));
        await using var tracker = new Tracker(store, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false });
        using var bitmap = new SkiaSharp.SKBitmap(640, 320);
        bitmap.Erase(new SkiaSharp.SKColor(200, 30, 30));
        using var image = SkiaSharp.SKImage.FromBitmap(bitmap);
        RunScope run;
        using (run = tracker.StartRun("images"))
        {
            _ = run.LogImageAsync(image, "samples/red.jpg");
            _ = run.LogImageAsync(image, "train/sample", step: 3, timestamp: DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123));
            Assert.Throws<ArgumentException>("artifactFile", () => { _ = run.LogImageAsync(image, "samples/red.gif"); });
            var bad = Assert.Throws<ArgumentException>("key", () => { _ = run.LogImageAsync(image, "a:b", 0); });
            Assert.Contains("'a:b' contains invalid characters", bad.Message, StringComparison.Ordinal);
        }

        var root = new Uri(run.ArtifactUri!).LocalPath;
        using (var jpeg = SkiaSharp.SKBitmap.Decode(Path.Combine(root, "samples", "red.jpg")))
        {
            Assert.Equal((640, 320), (jpeg.Width, jpeg.Height));
        }

        // images/{key with / as #}%step%{step}%timestamp%{ms}%{uuid starting g-z}.png and its %compressed.webp preview.
        var files = Directory.GetFiles(Path.Combine(root, "images")).Select(Path.GetFileName).OrderBy(f => f!.Length).ToArray();
        Assert.Equal(2, files.Length);
        var pattern = new System.Text.RegularExpressions.Regex(@"^train#sample%step%3%timestamp%1700000000123%[g-z][0-9a-f]{7}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
        Assert.Matches(pattern, files[0]);
        Assert.EndsWith(".png", files[0], StringComparison.Ordinal);
        Assert.Equal(files[0]![..^4] + "%compressed.webp", files[1]);
        using (var full = SkiaSharp.SKBitmap.Decode(Path.Combine(root, "images", files[0]!)))
        using (var preview = SkiaSharp.SKBitmap.Decode(Path.Combine(root, "images", files[1]!)))
        {
            Assert.Equal((640, 320), (full.Width, full.Height));
            Assert.Equal((256, 128), (preview.Width, preview.Height)); // the longest side 256, as Python's compress_image_size
            var pixel = preview.GetPixel(128, 64);
            Assert.InRange(pixel.Red, 190, 210);
            Assert.InRange(pixel.Green, 20, 40);
        }

        Assert.Equal("True", (await store.GetRunAsync(run.RunId, default)).Data.GetTag(MlflowTags.LoggedImages));
    }

    private sealed class SyncProgress(Action<ArtifactTransferProgress> report) : IProgress<ArtifactTransferProgress>
    {
        public void Report(ArtifactTransferProgress value) => report(value);
    }
}

[CollectionDefinition(nameof(LargeTransfer), DisableParallelization = true)]
public sealed class LargeTransfer;

[Collection(nameof(LargeTransfer))]
public sealed class LargeArtifactTests
{
    [Fact]
    public async Task A_200_MB_upload_streams_with_flat_memory()
    {
        const long size = 200L * 1024 * 1024;
        var file = Path.Combine(Path.GetTempPath(), "mlops-big-" + Guid.NewGuid().ToString("N") + ".bin");
        try
        {
            using (var fs = new FileStream(file, FileMode.CreateNew))
            {
                fs.SetLength(size); // generated: a sparse file of zeros
            }

            var sink = new DiscardingTransport();
            using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = "http://127.0.0.1:9", Transport = sink });
            var repo = new HttpArtifactRepository(client, "mlflow-artifacts:/1/run/artifacts");
            GC.Collect();
            var before = GC.GetTotalAllocatedBytes(precise: true);

            await repo.UploadFileAsync(file, "big.bin");

            var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
            Assert.Equal(size, sink.BytesReceived);
            Assert.True(allocated < 32L * 1024 * 1024, $"{allocated:N0} bytes allocated to upload {size:N0} bytes");
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>A transport that reads request bodies into one reused buffer and answers 200.</summary>
    private sealed class DiscardingTransport : HttpMessageHandler
    {
        private readonly CountingStream _sink = new();

        public long BytesReceived => _sink.Count;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Content is { } content)
            {
                await content.CopyToAsync(_sink, cancellationToken); // as a socket would: no buffering of the body
            }

            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("{}") };
        }
    }

    private sealed class CountingStream : Stream
    {
        public long Count { get; private set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => Count;

        public override long Position { get => Count; set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Count += count;

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Count += buffer.Length;
            return ValueTask.CompletedTask;
        }
    }
}
