using System.Security.Cryptography;
using Google.Cloud.Storage.V1;
using MlOps.Client.Artifacts;
using MlOps.Client.Testing;

namespace MlOps.Client.GoogleCloud.Tests;

/// <summary>gs:// artifacts against a fake of Cloud Storage's JSON API (no GCS emulator is reachable here; see docs/artifact-stores.md): the shared conformance tests, paging, resumable chunks, content types.</summary>
public sealed class GcsArtifactRepositoryTests : ObjectStoreConformanceTests
{
    private readonly FakeGcsServer _gcs = new("mlflow-bucket");

    protected override void Dispose(bool disposing)
    {
        _gcs.Dispose();
        base.Dispose(disposing);
    }

    private StorageClient Client() => new StorageClientBuilder { BaseUri = _gcs.BaseUri.ToString(), UnauthenticatedAccess = true }.Build();

    private GcsArtifactRepository Repository(string root = "gs://mlflow-bucket/1/run/artifacts", GcsSettings? settings = null) =>
        new(root, settings ?? GcsSettings.Read(_ => null), Client());

    protected override IArtifactRepository NewRepository() => Repository($"gs://mlflow-bucket/{Guid.NewGuid():N}/artifacts");

    [Fact]
    public async Task Listings_follow_page_tokens_and_uploads_carry_the_content_type_python_guesses()
    {
        var repository = Repository();
        await repository.UploadFileAsync(WriteFile("metrics.json", 33), "metrics.json");
        foreach (var name in new[] { "a", "b", "c", "d", "e" })
        {
            await repository.UploadFileAsync(WriteFile(name, 3), "model/" + name + ".bin");
        }

        Assert.Equal("application/json", _gcs.Objects["1/run/artifacts/metrics.json"].ContentType); // mimetypes' guess, as Python's upload_from_filename
        Assert.Equal(["model/a.bin", "model/b.bin", "model/c.bin", "model/d.bin", "model/e.bin"], (await repository.ListAsync("model")).Select(e => e.Path)); // pages of 3
        Assert.Contains(_gcs.Requests, r => r.Contains("pageToken=3", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_large_file_goes_up_resumably_in_chunks_of_MLFLOW_GCS_UPLOAD_CHUNK_SIZE_and_reports_progress()
    {
        var settings = GcsSettings.Read(name => name == "MLFLOW_GCS_UPLOAD_CHUNK_SIZE" ? (1 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture) : null);
        var repository = Repository(settings: settings);
        var file = WriteFile("big.bin", (3 << 20) + 5);
        var reports = new CollectingProgress();

        await repository.UploadFileAsync(file, "data/big.bin", reports);

        var puts = _gcs.Requests.Where(r => r.StartsWith("PUT", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, puts.Count); // 3 full chunks of 1 MiB and the 5-byte rest
        Assert.EndsWith($"bytes 0-1048575/{(3 << 20) + 5}", puts[0], StringComparison.Ordinal);
        Assert.EndsWith($"/{(3 << 20) + 5}", puts[^1], StringComparison.Ordinal);
        Assert.Equal(SHA256.HashData(File.ReadAllBytes(file)), SHA256.HashData(_gcs.Objects["1/run/artifacts/data/big.bin"].Data));
        Assert.Equal(new FileInfo(file).Length, reports.Reports.Max(r => r.BytesTransferred));

        var copy = new MemoryStream();
        var downloads = new CollectingProgress();
        await repository.DownloadFileAsync("data/big.bin", copy, downloads);
        Assert.Equal(SHA256.HashData(File.ReadAllBytes(file)), SHA256.HashData(copy.ToArray()));
        Assert.Equal(new FileInfo(file).Length, downloads.Reports[^1].TotalBytes);
        Assert.Equal(new FileInfo(file).Length, downloads.Reports.Max(d => d.BytesTransferred));
    }

    [Fact]
    public async Task A_missing_bucket_is_a_404_that_says_so()
    {
        var bucket = await Assert.ThrowsAsync<MlflowException>(() => Repository("gs://other-bucket/x").ListAsync());
        Assert.Equal(404, bucket.Status);
        Assert.Contains("bucket does not exist", bucket.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gs://bucket/path/to/root", "bucket", "path/to/root")]
    [InlineData("gs://bucket", "bucket", "")]
    [InlineData("gs://bucket/", "bucket", "")]
    public void Gs_uris_parse_as_python_parses_them(string uri, string bucket, string path) =>
        Assert.Equal((bucket, path), GcsArtifactRepository.Parse(uri));

    [Fact]
    public void The_variables_are_read_as_python_reads_them()
    {
        Assert.Equal(new GcsSettings(null, null, TimeSpan.FromSeconds(60)), GcsSettings.Read(_ => null));
        Assert.Equal(TimeSpan.FromSeconds(5), GcsSettings.Read(n => n switch { "MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT" => "5", "MLFLOW_GCS_DEFAULT_TIMEOUT" => "9", _ => null }).Timeout);
        Assert.Equal(TimeSpan.FromSeconds(9), GcsSettings.Read(n => n == "MLFLOW_GCS_DEFAULT_TIMEOUT" ? "9" : null).Timeout);
        Assert.Equal(Timeout.InfiniteTimeSpan, GcsSettings.Read(n => n == "MLFLOW_GCS_DEFAULT_TIMEOUT" ? "-1" : null).Timeout);
        Assert.Contains("MLFLOW_GCS_UPLOAD_CHUNK_SIZE", Assert.Throws<FormatException>(() => GcsSettings.Read(n => n == "MLFLOW_GCS_UPLOAD_CHUNK_SIZE" ? "1000" : null)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ForUri_finds_the_gcs_repository_by_scheme_and_makes_no_call_until_used()
    {
        var repository = ArtifactRepositories.ForUri("gs://bucket/1/abc/artifacts", client: null);
        Assert.IsType<GcsArtifactRepository>(repository);
        Assert.Equal("gs://bucket/1/abc/artifacts", repository.RootUri);
    }
}
