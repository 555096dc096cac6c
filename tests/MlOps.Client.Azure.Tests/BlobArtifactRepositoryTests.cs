using System.Security.Cryptography;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using MlOps.Client.Artifacts;
using MlOps.Client.Testing;

namespace MlOps.Client.Azure.Tests;

/// <summary>Azurite (Microsoft's Azure Storage emulator, from the npm registry) on 127.0.0.1, one per test class.</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private readonly string _data = Directory.CreateTempSubdirectory("mlops-azurite-").FullName;
    private EmulatorProcess? _process;

    public const string Container = "mlflow";

    /// <summary>Azurite's well-known development account (public, documented by Microsoft).</summary>
    public string ConnectionString =>
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
        $"BlobEndpoint=http://127.0.0.1:{_process!.Port}/devstoreaccount1;";

    internal BlobEnvironment Environment(string? timeout = null) => BlobEnvironment.Read(name => name switch
    {
        "AZURE_STORAGE_CONNECTION_STRING" => ConnectionString,
        "MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT" => timeout,
        _ => null,
    });

    public async Task InitializeAsync()
    {
        if (Emulators.SkipReason is not null)
        {
            return; // the tests skip with the reason
        }

        _process = await Emulators.StartOnFreePortAsync(Emulators.Script("azurite/dist/src/blob/main.js"), port =>
            ["--blobHost", "127.0.0.1", "--blobPort", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
             "--location", _data, "--silent", "--skipApiVersionCheck", "--loose"]);
        await new BlobServiceClient(ConnectionString).GetBlobContainerClient(Container).CreateIfNotExistsAsync();
    }

    public Task DisposeAsync()
    {
        _process?.Dispose();
        Directory.Delete(_data, recursive: true);
        return Task.CompletedTask;
    }
}

/// <summary>wasbs:// artifacts against Azurite: MLflow's listing/download/delete semantics (the shared conformance tests), block uploads, Python's credential order.</summary>
public sealed class BlobArtifactRepositoryTests(AzuriteFixture azurite) : ObjectStoreConformanceTests, IClassFixture<AzuriteFixture>
{
    private static string Root() => $"wasbs://{AzuriteFixture.Container}@devstoreaccount1.blob.core.windows.net/{Guid.NewGuid():N}/artifacts";

    private BlobArtifactRepository Repository(string root) => new(root, azurite.Environment(), service: null);

    protected override IArtifactRepository NewRepository() => Repository(Root());

    [EmulatorFact]
    public async Task A_file_above_64_MiB_goes_up_as_4_MiB_blocks_and_comes_back_whole()
    {
        var uri = Root();
        var repository = Repository(uri);
        var file = WriteFile("big.bin", (65 << 20) + 3);
        var reports = new CollectingProgress();

        await repository.UploadFileAsync(file, "data/big.bin", reports);

        var (container, _, path, _) = BlobArtifactRepository.Parse(uri);
        var blob = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient(container).GetBlockBlobClient(path + "/data/big.bin");
        var blocks = (await blob.GetBlockListAsync(BlockListTypes.Committed)).Value.CommittedBlocks.ToList();
        Assert.Equal(17, blocks.Count); // 65 MiB + 3 bytes in 4 MiB blocks: a block upload, not one put
        Assert.All(blocks.SkipLast(1), b => Assert.Equal(4L << 20, b.SizeLong));
        Assert.Equal(new FileInfo(file).Length, reports.Reports.Max(r => r.BytesTransferred));

        var copy = Path.Combine(Work, "copy.bin");
        var downloads = new CollectingProgress();
        await using (var stream = File.Create(copy))
        {
            await repository.DownloadFileAsync("data/big.bin", stream, downloads);
        }

        Assert.Equal(SHA256.HashData(File.ReadAllBytes(file)), SHA256.HashData(File.ReadAllBytes(copy)));
        Assert.Equal(new FileInfo(file).Length, downloads.Reports[^1].TotalBytes);
        Assert.Equal(new FileInfo(file).Length, downloads.Reports.Max(d => d.BytesTransferred));
    }

    [EmulatorFact]
    public async Task A_wrong_account_key_is_permission_denied_and_the_key_never_shows()
    {
        const string wrong = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=d3Jvbmcta2V5LXRoYXQtaXMtbm90LXRoZS1lbXVsYXRvcnMtb3duLWtleS0xMjM0NTY3OA==;";
        var environment = BlobEnvironment.Read(name => name == "AZURE_STORAGE_CONNECTION_STRING" ? wrong + $"BlobEndpoint={new Uri(azurite.ConnectionString.Split("BlobEndpoint=")[1].TrimEnd(';'))}" : null);
        var repository = new BlobArtifactRepository(Root(), environment, service: null);
        var ex = await Assert.ThrowsAsync<MlflowException>(() => repository.ListAsync());
        Assert.Equal(403, ex.Status);
        Assert.Equal(MlflowErrorCodes.PermissionDenied, ex.ErrorCode);
        Assert.DoesNotContain("d3Jvbmct", ex.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("d3Jvbmct", environment.ToString(), StringComparison.Ordinal);
    }
}

/// <summary>Python's credential order and URI form, without an emulator.</summary>
public sealed class BlobEnvironmentTests
{
    private static BlobEnvironment Read(params (string Name, string Value)[] variables) =>
        BlobEnvironment.Read(name => variables.FirstOrDefault(v => v.Name == name).Value);

    [Fact]
    public void The_connection_string_wins_then_the_access_key_then_the_default_credential()
    {
        Assert.Equal("AZURE_STORAGE_CONNECTION_STRING", Read(("AZURE_STORAGE_CONNECTION_STRING", "UseDevelopmentStorage=true"), ("AZURE_STORAGE_ACCESS_KEY", "a2V5")).CredentialKind);
        Assert.Equal("AZURE_STORAGE_ACCESS_KEY", Read(("AZURE_STORAGE_ACCESS_KEY", "a2V5")).CredentialKind);
        Assert.Equal("DefaultAzureCredential", Read().CredentialKind);

        var keyed = Read(("AZURE_STORAGE_ACCESS_KEY", "a2V5")).ServiceClient("acct", "blob.core.windows.net");
        Assert.Equal(new Uri("https://acct.blob.core.windows.net/"), keyed.Uri);
        Assert.True(keyed.CanGenerateAccountSasUri); // a shared key
        var token = Read().ServiceClient("acct", "blob.core.chinacloudapi.cn");
        Assert.Equal(new Uri("https://acct.blob.core.chinacloudapi.cn/"), token.Uri);
        Assert.False(token.CanGenerateAccountSasUri); // a token credential
    }

    [Fact]
    public void The_transfer_timeout_is_600_s_unless_the_variable_says_otherwise()
    {
        Assert.Equal(TimeSpan.FromSeconds(600), Read().Timeout);
        Assert.Equal(TimeSpan.FromSeconds(30), Read(("MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT", "30")).Timeout);
        Assert.Equal(Timeout.InfiniteTimeSpan, Read(("MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT", "-1")).Timeout);
        Assert.Contains("MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT", Assert.Throws<FormatException>(() => Read(("MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT", "soon"))).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("wasbs://c@acct.blob.core.windows.net/a/b", "c", "acct", "a/b", "blob.core.windows.net")]
    [InlineData("wasbs://c@acct.blob.core.chinacloudapi.cn/", "c", "acct", "", "blob.core.chinacloudapi.cn")]
    [InlineData("wasbs://c@acct.blob.core.windows.net", "c", "acct", "", "blob.core.windows.net")]
    public void Wasbs_uris_parse_as_python_parses_them(string uri, string container, string account, string path, string suffix) =>
        Assert.Equal((container, account, path, suffix), BlobArtifactRepository.Parse(uri));

    [Theory]
    [InlineData("wasbs://acct.blob.core.windows.net/x")]
    [InlineData("wasbs://c@acct.dfs.core.windows.net/x")]
    [InlineData("wasb://c@acct.blob.core.windows.net/x")]
    public void Other_forms_are_refused_with_the_form_python_expects(string uri) =>
        Assert.Throws<ArgumentException>(() => BlobArtifactRepository.Parse(uri));

    [Fact]
    public void ForUri_finds_the_blob_repository_by_scheme_once_the_package_is_referenced()
    {
        var repository = ArtifactRepositories.ForUri("wasbs://c@acct.blob.core.windows.net/1/abc/artifacts", client: null);
        Assert.IsType<BlobArtifactRepository>(repository);
        Assert.Equal("wasbs://c@acct.blob.core.windows.net/1/abc/artifacts", repository.RootUri);
    }
}
