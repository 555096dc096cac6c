using System.Security.Cryptography;
using Google.Cloud.Storage.V1;
using MlOps.Client.Artifacts;

namespace MlOps.Client.GoogleCloud.Tests;

/// <summary>gs:// artifacts against a fake of Cloud Storage's JSON API (no GCS emulator is reachable here; see docs/artifact-stores.md).</summary>
public sealed class GcsArtifactRepositoryTests : IDisposable
{
    private readonly FakeGcsServer _gcs = new("mlflow-bucket");
    private readonly string _work = Directory.CreateTempSubdirectory("mlops-gcs-").FullName;

    public void Dispose()
    {
        _gcs.Dispose();
        Directory.Delete(_work, recursive: true);
    }

    private StorageClient Client() => new StorageClientBuilder { BaseUri = _gcs.BaseUri.ToString(), UnauthenticatedAccess = true }.Build();

    private GcsArtifactRepository Repository(string root = "gs://mlflow-bucket/1/run/artifacts", GcsSettings? settings = null) =>
        new(root, settings ?? GcsSettings.Read(_ => null), Client());

    private string WriteFile(string relative, int length, int seed = 1)
    {
        var path = Path.Combine(_work, "src", relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public async Task A_folder_goes_up_lists_across_pages_as_mlflow_lists_and_comes_back_byte_for_byte()
    {
        var repository = Repository();
        WriteFile("model/MLmodel", 120);
        WriteFile("model/model.ubj", 5000, 2);
        WriteFile("model/sub/conda.yaml", 10, 3);
        WriteFile("model/sub2/x.txt", 10, 5);
        WriteFile("model/requirements.txt", 10, 6);
        WriteFile("metrics.json", 33, 4);

        await repository.UploadDirectoryAsync(Path.Combine(_work, "src"));

        Assert.Equal("application/json", _gcs.Objects["1/run/artifacts/metrics.json"].ContentType); // mimetypes' guess, as Python's upload_from_filename
        var root = await repository.ListAsync();
        Assert.Equal(["metrics.json", "model"], root.Select(e => e.Path));
        var model = await repository.ListAsync("model"); // 5 entries in pages of 3
        Assert.Equal(["model/MLmodel", "model/model.ubj", "model/requirements.txt", "model/sub", "model/sub2"], model.Select(e => e.Path));
        Assert.Equal([120L, 5000L, 10L, null, null], model.Select(e => e.FileSize));
        Assert.Contains(_gcs.Requests, r => r.Contains("pageToken=3", StringComparison.Ordinal));
        Assert.Empty(await repository.ListAsync("model/MLmodel"));

        var local = await repository.DownloadAsync("model", Path.Combine(_work, "dst"));
        foreach (var file in new[] { "MLmodel", "model.ubj", "sub/conda.yaml", "sub2/x.txt" })
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(_work, "src", "model", file)), File.ReadAllBytes(Path.Combine(local, file)));
        }
    }

    [Fact]
    public async Task A_large_file_goes_up_resumably_in_chunks_of_MLFLOW_GCS_UPLOAD_CHUNK_SIZE_and_reports_progress()
    {
        var settings = GcsSettings.Read(name => name == "MLFLOW_GCS_UPLOAD_CHUNK_SIZE" ? (1 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture) : null);
        var repository = Repository(settings: settings);
        var file = WriteFile("big.bin", (3 << 20) + 5);
        var reports = new List<ArtifactTransferProgress>();

        await repository.UploadFileAsync(file, "data/big.bin", new Collect(reports));

        var puts = _gcs.Requests.Where(r => r.StartsWith("PUT", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, puts.Count); // 3 full chunks of 1 MiB and the 5-byte rest
        Assert.EndsWith($"bytes 0-1048575/{(3 << 20) + 5}", puts[0], StringComparison.Ordinal);
        Assert.EndsWith($"/{(3 << 20) + 5}", puts[^1], StringComparison.Ordinal);
        Assert.Equal(SHA256.HashData(File.ReadAllBytes(file)), SHA256.HashData(_gcs.Objects["1/run/artifacts/data/big.bin"].Data));
        Assert.Equal(new FileInfo(file).Length, reports.Max(r => r.BytesTransferred));

        var copy = new MemoryStream();
        var downloads = new List<ArtifactTransferProgress>();
        await repository.DownloadFileAsync("data/big.bin", copy, new Collect(downloads));
        Assert.Equal(SHA256.HashData(File.ReadAllBytes(file)), SHA256.HashData(copy.ToArray()));
        Assert.Equal(new FileInfo(file).Length, downloads[^1].TotalBytes);
    }

    [Fact]
    public async Task Deleting_a_folder_takes_it_and_nothing_that_merely_shares_its_prefix()
    {
        var repository = Repository();
        await repository.UploadFileAsync(WriteFile("a", 1), "model/MLmodel");
        await repository.UploadFileAsync(WriteFile("b", 1), "model/data/x.bin");
        await repository.UploadFileAsync(WriteFile("c", 1), "model2/MLmodel");
        await repository.UploadFileAsync(WriteFile("d", 1), "modelling.txt");

        await repository.DeleteAsync("model");
        await repository.DeleteAsync("never-there");

        Assert.Equal(["model2", "modelling.txt"], (await repository.ListAsync()).Select(e => e.Path));
    }

    [Fact]
    public async Task A_missing_object_is_resource_does_not_exist_and_a_missing_bucket_says_so()
    {
        var ex = await Assert.ThrowsAsync<MlflowException>(() => Repository().DownloadFileAsync("model/missing.bin", Stream.Null));
        Assert.Equal(404, ex.Status);
        Assert.Equal(MlflowErrorCodes.ResourceDoesNotExist, ex.ErrorCode);
        Assert.Contains("model/missing.bin", ex.Message, StringComparison.Ordinal);

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

    private sealed class Collect(List<ArtifactTransferProgress> reports) : IProgress<ArtifactTransferProgress>
    {
        public void Report(ArtifactTransferProgress value)
        {
            lock (reports)
            {
                reports.Add(value);
            }
        }
    }
}
