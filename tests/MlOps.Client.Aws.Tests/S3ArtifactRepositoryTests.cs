using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using MlOps.Client.Artifacts;
using MlOps.Client.Testing;

namespace MlOps.Client.Aws.Tests;

/// <summary>s3rver (an S3 emulator from the npm registry) on 127.0.0.1, one per test class.</summary>
public sealed class S3rverFixture : IAsyncLifetime
{
    private readonly string _data = Directory.CreateTempSubdirectory("mlops-s3rver-").FullName;
    private EmulatorProcess? _process;

    public const string Bucket = "mlflow";

    public string Endpoint => $"http://127.0.0.1:{_process!.Port}";

    /// <summary>A client as a user configures one for an S3-compatible endpoint (s3rver's fixed credentials).</summary>
    public AmazonS3Client Client() => new(new BasicAWSCredentials("S3RVER", "S3RVER"), Settings().ClientConfig());

    internal S3Settings Settings(string? extraArgs = null) => S3Settings.FromEnvironment(name => name switch
    {
        "MLFLOW_S3_ENDPOINT_URL" => Endpoint,
        "MLFLOW_S3_UPLOAD_EXTRA_ARGS" => extraArgs,
        _ => null,
    });

    public async Task InitializeAsync()
    {
        if (Emulators.SkipReason is not null)
        {
            return; // the tests skip with the reason
        }

        _process = await Emulators.StartOnFreePortAsync(Emulators.Script("s3rver/bin/s3rver.js"), port =>
            ["-d", _data, "-a", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--silent", "--configure-bucket", Bucket]);
    }

    public Task DisposeAsync()
    {
        _process?.Dispose();
        Directory.Delete(_data, recursive: true);
        return Task.CompletedTask;
    }
}

/// <summary>s3:// artifacts against a real S3 implementation (s3rver): MLflow's listing/download/delete semantics (the shared conformance tests), boto3's multipart and upload arguments.</summary>
public sealed class S3ArtifactRepositoryTests(S3rverFixture s3) : ObjectStoreConformanceTests, IClassFixture<S3rverFixture>
{
    private AmazonS3Client? _client;

    private string Root() => $"s3://{S3rverFixture.Bucket}/{Guid.NewGuid():N}/artifacts";

    protected override IArtifactRepository NewRepository() => new S3ArtifactRepository(Root(), _client ??= s3.Client());

    protected override void Dispose(bool disposing)
    {
        _client?.Dispose();
        base.Dispose(disposing);
    }

    [EmulatorFact]
    public async Task A_file_of_20_MiB_goes_up_in_8_MiB_parts_as_boto3_sends_it_and_reports_progress()
    {
        var recorder = new RecordingFactory();
        var config = s3.Settings().ClientConfig();
        config.HttpClientFactory = recorder;
        using var client = new AmazonS3Client(new BasicAWSCredentials("S3RVER", "S3RVER"), config);
        var uri = Root();
        var repository = new S3ArtifactRepository(uri, client);
        var file = WriteFile("big.bin", 20 * 1024 * 1024 + 17);
        var reports = new CollectingProgress();
        var progress = reports;

        await repository.UploadFileAsync(file, "data/big.bin", progress);

        var (bucket, prefix) = S3ArtifactRepository.Parse(uri);
        var head = await client.GetObjectMetadataAsync(bucket, prefix + "/data/big.bin");
        Assert.Equal(new FileInfo(file).Length, head.ContentLength);
        Assert.Equal([(1, 8L << 20), (2, 8L << 20), (3, (4L << 20) + 17)], recorder.Parts.OrderBy(p => p.Number));
        Assert.Equal(new FileInfo(file).Length, reports.Reports[^1].BytesTransferred);
        Assert.All(reports.Reports, r => Assert.Equal(new FileInfo(file).Length, r.TotalBytes));

        using var copy = new MemoryStream();
        await repository.DownloadFileAsync("data/big.bin", copy); // a stream that cannot be written at offsets: one GET
        Assert.Equal(SHA256.HashData(File.ReadAllBytes(file)), SHA256.HashData(copy.ToArray()));
        Assert.Empty(recorder.Ranges);

        // Into a file (what DownloadAsync opens): 8 MiB ranges in parallel, as boto3's download_file.
        var target = Path.Combine(Work, "copy.bin");
        var downloads = new CollectingProgress();
        await using (var stream = new FileStream(target, FileMode.Create, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous))
        {
            await repository.DownloadFileAsync("data/big.bin", stream, downloads);
        }

        Assert.Equal(SHA256.HashData(File.ReadAllBytes(file)), SHA256.HashData(File.ReadAllBytes(target)));
        Assert.Equal(["bytes=0-8388607", "bytes=16777216-20971536", "bytes=8388608-16777215"], recorder.Ranges.Order(StringComparer.Ordinal));
        Assert.Equal(new FileInfo(file).Length, downloads.Reports.Max(d => d.BytesTransferred));
    }

    [EmulatorFact]
    public async Task Uploads_carry_the_content_type_python_guesses_and_the_extra_arguments_of_the_environment()
    {
        using var client = s3.Client();
        var uri = Root();
        var settings = s3.Settings("""{"Metadata": {"team": "ml"}, "CacheControl": "no-cache", "ContentDisposition": "inline"}""");
        var repository = new S3ArtifactRepository(uri, settings, client);
        await repository.UploadFileAsync(WriteFile("metrics.json", 10), "metrics.json");
        await repository.UploadFileAsync(WriteFile("MLmodel", 10), "MLmodel");

        var (bucket, prefix) = S3ArtifactRepository.Parse(uri);
        var json = await client.GetObjectMetadataAsync(bucket, prefix + "/metrics.json");
        Assert.Equal("application/json", json.Headers.ContentType);
        Assert.Equal("ml", json.Metadata["team"]);
        Assert.Equal("no-cache", json.Headers.CacheControl);
        Assert.Equal("inline", json.Headers.ContentDisposition);
        var mlmodel = await client.GetObjectMetadataAsync(bucket, prefix + "/MLmodel");
        Assert.NotEqual("application/json", mlmodel.Headers.ContentType); // Python guesses nothing for MLmodel
    }

    [EmulatorFact]
    public async Task The_environment_alone_configures_the_repository_that_ForUri_finds_for_s3_uris()
    {
        // A user's setup: MLFLOW_S3_ENDPOINT_URL and the standard AWS variables; the repository comes from the scheme.
        var settings = s3.Settings();
        var repository = new S3ArtifactRepository(Root(), settings, client: null);
        var previous = (Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID"), Environment.GetEnvironmentVariable("AWS_SECRET_ACCESS_KEY"));
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", "S3RVER");
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", "S3RVER");
        try
        {
            await repository.UploadFileAsync(WriteFile("x.txt", 5), "x.txt");
            Assert.Equal(["x.txt"], (await repository.ListAsync()).Select(e => e.Path));
        }
        finally
        {
            Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", previous.Item1);
            Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", previous.Item2);
        }
    }

    [EmulatorFact]
    public async Task An_unreachable_endpoint_is_a_transient_failure_naming_the_object()
    {
        var closed = Emulators.FreePort();
        var config = new AmazonS3Config { ServiceURL = $"http://127.0.0.1:{closed}", ForcePathStyle = true, AuthenticationRegion = "us-east-1", MaxErrorRetry = 0 };
        using var client = new AmazonS3Client(new BasicAWSCredentials("k", "s"), config);
        var repository = new S3ArtifactRepository("s3://bucket/root", client);
        var ex = await Assert.ThrowsAsync<MlflowException>(() => repository.ListAsync("model"));
        Assert.True(Transience.IsTransient(ex), ex.ToString()); // retried by the callers that retry (status 0: no answer)
        Assert.Contains("s3://bucket/root/model/", ex.Message, StringComparison.Ordinal);
    }

    [StoreFact]
    public async Task A_range_cut_off_mid_download_resumes_where_it_stopped()
    {
        var file = WriteFile("big.bin", (20 << 20) + 1);
        using (var plain = s3.Client())
        {
            await new S3ArtifactRepository("s3://mlflow/resume/root", plain).UploadFileAsync(file, "big.bin");
        }

        var cutter = new CuttingFactory("bytes=8388608-16777215", 1 << 20);
        var config = s3.Settings().ClientConfig();
        config.HttpClientFactory = cutter;
        using var client = new AmazonS3Client(new BasicAWSCredentials("S3RVER", "S3RVER"), config);
        var target = Path.Combine(Work, "resumed.bin");
        await using (var stream = new FileStream(target, FileMode.Create, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous))
        {
            await new S3ArtifactRepository("s3://mlflow/resume/root", client).DownloadFileAsync("big.bin", stream);
        }

        Assert.Equal(SHA256.HashData(File.ReadAllBytes(file)), SHA256.HashData(File.ReadAllBytes(target)));
        Assert.Contains("bytes=9437184-16777215", cutter.Ranges); // the second 8 MiB range, resumed after its first MiB
    }

    /// <summary>Cuts the connection of the first response to <c>Range: range</c> after <c>after</c> bytes of its body.</summary>
    private sealed class CuttingFactory(string range, int after) : HttpClientFactory
    {
        private int _cut;

        private string Range { get; } = range;

        private int After { get; } = after;

        public System.Collections.Concurrent.ConcurrentBag<string> Ranges { get; } = [];

        public override HttpClient CreateHttpClient(IClientConfig clientConfig) => new(new Cutter(this) { InnerHandler = new SocketsHttpHandler() });

        private sealed class Cutter(CuttingFactory owner) : DelegatingHandler
        {
            protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                var response = await base.SendAsync(request, cancellationToken);
                if (request.Headers.Range is { } r)
                {
                    owner.Ranges.Add(r.ToString());
                    if (r.ToString() == owner.Range && Interlocked.Exchange(ref owner._cut, 1) == 0)
                    {
                        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
                        var headers = response.Content.Headers.ToList();
                        response.Content = new StreamContent(new CutStream(body, owner.After));
                        foreach (var (name, values) in headers)
                        {
                            response.Content.Headers.TryAddWithoutValidation(name, values);
                        }
                    }
                }

                return response;
            }
        }

        private sealed class CutStream(byte[] body, int after) : MemoryStream(body)
        {
            public override int Read(byte[] buffer, int offset, int count) =>
                Position >= after ? throw new IOException("connection reset (test)") : base.Read(buffer, offset, (int)Math.Min(count, after - Position));

            public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
                Position >= after ? throw new IOException("connection reset (test)") : base.ReadAsync(buffer[..(int)Math.Min(buffer.Length, after - Position)], cancellationToken);
        }
    }

    /// <summary>Records the parts the client PUTs (partNumber and Content-Length), as the server sees them.</summary>
    private sealed class RecordingFactory : HttpClientFactory
    {
        public System.Collections.Concurrent.ConcurrentBag<(int Number, long Size)> Parts { get; } = [];

        public System.Collections.Concurrent.ConcurrentBag<string> Ranges { get; } = [];

        public override HttpClient CreateHttpClient(IClientConfig clientConfig) => new(new Recorder(this) { InnerHandler = new SocketsHttpHandler() });

        private sealed class Recorder(RecordingFactory owner) : DelegatingHandler
        {
            protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                var query = System.Web.HttpUtility.ParseQueryString(request.RequestUri!.Query);
                if (request.Method == HttpMethod.Put && query["partNumber"] is { } number)
                {
                    owner.Parts.Add((int.Parse(number, System.Globalization.CultureInfo.InvariantCulture), request.Content?.Headers.ContentLength ?? -1));
                }

                if (request.Method == HttpMethod.Get && request.Headers.Range is { } range)
                {
                    owner.Ranges.Add(range.ToString());
                }

                return base.SendAsync(request, cancellationToken);
            }
        }
    }
}

/// <summary>The environment as Python's S3ArtifactRepository reads it; no emulator needed.</summary>
public sealed class S3SettingsTests
{
    private static S3Settings Read(params (string Name, string Value)[] variables) =>
        S3Settings.FromEnvironment(name => variables.FirstOrDefault(v => v.Name == name).Value);

    [Fact]
    public void An_endpoint_means_path_style_in_its_region_or_us_east_1()
    {
        var config = Read(("MLFLOW_S3_ENDPOINT_URL", "http://127.0.0.1:9000")).ClientConfig();
        Assert.Equal("http://127.0.0.1:9000/", config.ServiceURL);
        Assert.True(config.ForcePathStyle);
        Assert.Equal("us-east-1", config.AuthenticationRegion);
        Assert.Equal("eu-west-1", Read(("MLFLOW_S3_ENDPOINT_URL", "http://minio:9000"), ("AWS_DEFAULT_REGION", "eu-west-1")).ClientConfig().AuthenticationRegion);
        Assert.False(Read(("MLFLOW_S3_ENDPOINT_URL", "http://minio:9000"), ("MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE", "virtual")).ClientConfig().ForcePathStyle);
    }

    [Fact]
    public void Without_an_endpoint_the_region_comes_from_AWS_REGION_then_AWS_DEFAULT_REGION()
    {
        Assert.Equal("eu-central-1", Read(("AWS_DEFAULT_REGION", "eu-central-1")).ClientConfig().RegionEndpoint.SystemName);
        Assert.Equal("us-west-2", Read(("AWS_REGION", "us-west-2"), ("AWS_DEFAULT_REGION", "eu-central-1")).ClientConfig().RegionEndpoint.SystemName);
        Assert.True(Read(("MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE", "path")).ClientConfig().ForcePathStyle);
    }

    [Fact]
    public void Ignore_tls_and_unsigned_requests_are_read_as_python_reads_them()
    {
        Assert.True(Read(("MLFLOW_S3_IGNORE_TLS", "true")).IgnoreTls);
        Assert.NotNull(Read(("MLFLOW_S3_IGNORE_TLS", "true")).ClientConfig().HttpClientFactory);
        Assert.False(Read().IgnoreTls);
        Assert.True(Read(("MLFLOW_EXPERIMENTAL_S3_SIGNATURE_VERSION", "unsigned")).Unsigned);
    }

    [Theory]
    [InlineData("MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE", "sideways", "MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE")]
    [InlineData("MLFLOW_S3_IGNORE_TLS", "maybe", "MLFLOW_S3_IGNORE_TLS")]
    [InlineData("MLFLOW_S3_ENDPOINT_URL", "minio:9000", "MLFLOW_S3_ENDPOINT_URL")]
    [InlineData("MLFLOW_S3_UPLOAD_EXTRA_ARGS", "{not json", "not valid JSON")]
    [InlineData("MLFLOW_S3_UPLOAD_EXTRA_ARGS", "[1]", "must be a JSON object")]
    [InlineData("MLFLOW_S3_UPLOAD_EXTRA_ARGS", """{"ServerSideEncryptionX": "AES256"}""", "invalid extra_args key 'ServerSideEncryptionX'")]
    [InlineData("MLFLOW_EXPERIMENTAL_S3_SIGNATURE_VERSION", "v2", "MLFLOW_EXPERIMENTAL_S3_SIGNATURE_VERSION")]
    public void A_bad_value_is_refused_naming_the_variable(string name, string value, string expected)
    {
        var ex = Assert.Throws<FormatException>(() => Read((name, value)));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Extra_arguments_reach_the_upload_request_and_their_values_never_print()
    {
        var settings = Read(("MLFLOW_S3_UPLOAD_EXTRA_ARGS", """{"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "arn:aws:kms:key/secret-id", "SSECustomerKey": "c2VjcmV0", "StorageClass": "STANDARD_IA", "ACL": "bucket-owner-full-control", "Tagging": "team=ml&stage=dev"}"""));
        var request = new PutObjectRequest();
        settings.Apply(request, "model/data.tar.gz");
        Assert.Equal(ServerSideEncryptionMethod.AWSKMS, request.ServerSideEncryptionMethod);
        Assert.Equal("arn:aws:kms:key/secret-id", request.ServerSideEncryptionKeyManagementServiceKeyId);
        Assert.Equal(S3StorageClass.StandardInfrequentAccess, request.StorageClass);
        Assert.Equal(S3CannedACL.BucketOwnerFullControl, request.CannedACL);
        Assert.Equal(["team=ml", "stage=dev"], request.TagSet.Select(t => t.Key + "=" + t.Value));
        Assert.Equal("application/x-tar", request.ContentType); // mimetypes.guess_type('data.tar.gz') = ('application/x-tar', 'gzip')
        Assert.Equal("gzip", request.Headers.ContentEncoding);
        Assert.DoesNotContain("secret", settings.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("c2VjcmV0", settings.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("s3://bucket/path/to/root", "bucket", "path/to/root")]
    [InlineData("s3://bucket", "bucket", "")]
    [InlineData("s3://bucket/", "bucket", "")]
    [InlineData("s3://my.bucket/a%20b/", "my.bucket", "a%20b")] // urlparse does not unquote: the key keeps %20, as Python writes it
    public void S3_uris_parse_as_python_parses_them(string uri, string bucket, string prefix) =>
        Assert.Equal((bucket, prefix), S3ArtifactRepository.Parse(uri));

    [Fact]
    public void ForUri_finds_the_S3_repository_by_scheme_once_the_package_is_referenced()
    {
        var repository = ArtifactRepositories.ForUri("s3://bucket/1/abc/artifacts", client: null);
        Assert.IsType<S3ArtifactRepository>(repository);
        Assert.Equal("s3://bucket/1/abc/artifacts", repository.RootUri);
    }
}
