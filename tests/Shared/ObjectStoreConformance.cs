using MlOps.Client.Artifacts;

namespace MlOps.Client.Testing;

/// <summary>
/// What every object-store artifact repository (S3, Azure Blob, GCS) must do as MLflow's repositories do, run by each
/// store's test class against its emulator or fake: a folder's round trip with MLflow's listing, deletes that keep
/// siblings sharing a prefix, a missing file as RESOURCE_DOES_NOT_EXIST. Each test project defines
/// <c>StoreFactAttribute</c> (skipped with the reason when its emulator cannot run).
/// </summary>
public abstract class ObjectStoreConformanceTests : IDisposable
{
    /// <summary>A scratch folder for local files.</summary>
    protected string Work { get; } = Directory.CreateTempSubdirectory("mlops-store-").FullName;

    /// <summary>A repository over a fresh, empty root.</summary>
    protected abstract IArtifactRepository NewRepository();

    /// <summary>Writes <paramref name="length"/> random bytes to <c>Work/src/relative</c>.</summary>
    protected string WriteFile(string relative, int length, int seed = 1)
    {
        var path = Path.Combine(Work, "src", relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [StoreFact]
    public async Task A_folder_goes_up_lists_as_mlflow_lists_and_comes_back_byte_for_byte()
    {
        var repository = NewRepository();
        WriteFile("model/MLmodel", 120);
        WriteFile("model/model.ubj", 5000, 2);
        WriteFile("model/sub/conda.yaml", 10, 3);
        WriteFile("model/sub2/x.txt", 10, 5);
        WriteFile("model/requirements.txt", 10, 6);
        WriteFile("metrics.json", 33, 4);

        await repository.UploadDirectoryAsync(Path.Combine(Work, "src"));

        var root = await repository.ListAsync();
        Assert.Equal(["metrics.json", "model"], root.Select(e => e.Path));
        Assert.Equal([false, true], root.Select(e => e.IsDir));
        Assert.Equal([33L, null], root.Select(e => e.FileSize));
        var model = await repository.ListAsync("model");
        Assert.Equal(["model/MLmodel", "model/model.ubj", "model/requirements.txt", "model/sub", "model/sub2"], model.Select(e => e.Path));
        Assert.Equal([120L, 5000L, 10L, null, null], model.Select(e => e.FileSize));
        Assert.Equal(["model/sub/conda.yaml"], (await repository.ListAsync("model/sub/")).Select(e => e.Path));
        Assert.Empty(await repository.ListAsync("model/MLmodel")); // a file lists as nothing, as MLflow's listing
        Assert.Empty(await repository.ListAsync("nothing-here"));

        var local = await repository.DownloadAsync("model", Path.Combine(Work, "dst"));
        foreach (var file in new[] { "MLmodel", "model.ubj", "sub/conda.yaml", "sub2/x.txt" })
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(Work, "src", "model", file)), File.ReadAllBytes(Path.Combine(local, file)));
        }
    }

    [StoreFact]
    public async Task Deleting_a_folder_takes_it_and_nothing_that_merely_shares_its_prefix()
    {
        var repository = NewRepository();
        await repository.UploadFileAsync(WriteFile("a", 1), "model/MLmodel");
        await repository.UploadFileAsync(WriteFile("b", 1), "model/data/x.bin");
        await repository.UploadFileAsync(WriteFile("c", 1), "model2/MLmodel");
        await repository.UploadFileAsync(WriteFile("d", 1), "modelling.txt");

        await repository.DeleteAsync("model");
        await repository.DeleteAsync("never-there"); // not an error, as the local store

        Assert.Equal(["model2", "modelling.txt"], (await repository.ListAsync()).Select(e => e.Path));
        await repository.DeleteAsync("modelling.txt");
        Assert.Equal(["model2"], (await repository.ListAsync()).Select(e => e.Path));
    }

    [StoreFact]
    public async Task A_missing_artifact_is_resource_does_not_exist_naming_the_path()
    {
        var repository = NewRepository();
        var ex = await Assert.ThrowsAsync<MlflowException>(() => repository.DownloadFileAsync("model/missing.bin", Stream.Null));
        Assert.Equal(404, ex.Status);
        Assert.Equal(MlflowErrorCodes.ResourceDoesNotExist, ex.ErrorCode);
        Assert.Contains("model/missing.bin", ex.Message, StringComparison.Ordinal);

        // Into a file, as DownloadAsync writes (S3 asks for the size first there): the same answer.
        await using var file = new FileStream(Path.Combine(Work, "missing.bin"), FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous);
        var intoFile = await Assert.ThrowsAsync<MlflowException>(() => repository.DownloadFileAsync("model/missing.bin", file));
        Assert.Equal(MlflowErrorCodes.ResourceDoesNotExist, intoFile.ErrorCode);
    }

    [StoreFact]
    public async Task A_cancelled_transfer_stops_with_OperationCanceledException_not_a_store_error()
    {
        var repository = NewRepository();
        var file = WriteFile("c.bin", 1000);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => repository.UploadFileAsync(file, "c.bin", null, cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => repository.ListAsync(null, cancelled.Token));
        Assert.Empty(await repository.ListAsync()); // nothing was written
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Deletes the scratch folder; stores add their own cleanup.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing && Directory.Exists(Work))
        {
            Directory.Delete(Work, recursive: true);
        }
    }
}

/// <summary>Collects progress reports from any thread.</summary>
internal sealed class CollectingProgress : IProgress<ArtifactTransferProgress>
{
    private readonly List<ArtifactTransferProgress> _reports = [];

    /// <summary>What was reported, in order.</summary>
    public IReadOnlyList<ArtifactTransferProgress> Reports
    {
        get
        {
            lock (_reports)
            {
                return [.. _reports];
            }
        }
    }

    public void Report(ArtifactTransferProgress value)
    {
        lock (_reports)
        {
            _reports.Add(value);
        }
    }
}
