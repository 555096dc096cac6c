using System.Text;
using System.Text.Json;
using MlOps.Client.Dvc;

namespace MlOps.Client.Tests.Dvc;

/// <summary>
/// DVC's digests and files without DVC. The expected md5 values were computed with Python's hashlib by a copy of
/// dvc-data's algorithm (<c>istextblock</c>, <c>dos2unix</c> per 1 MiB chunk decided from the first 512 bytes for DVC 2,
/// the raw bytes for DVC 3, <c>json.dumps(sort_keys=True)</c> listings for folders); the fixture repository under
/// Resources/repo holds <c>.dvc</c> files written by DVC's format rules (DVC 3 with <c>hash: md5</c>, DVC 2 without).
/// </summary>
public sealed class DvcTests
{
    private static readonly string Repo = Path.Combine(AppContext.BaseDirectory, "Dvc", "Resources", "repo");

    public static TheoryData<string, string, string> Vectors => new()
    {
        // content (latin1 escapes), DVC 3 md5, DVC 2 md5 (md5-dos2unix)
        { "", "d41d8cd98f00b204e9800998ecf8427e", "d41d8cd98f00b204e9800998ecf8427e" },
        { "a\r\nb\r\nc", "17800212205a0baee12dcf34c0748370", "c32b2057b9bd62caa835386346177935" },
        { "a\nb\nc", "c32b2057b9bd62caa835386346177935", "c32b2057b9bd62caa835386346177935" },
        { "a\rb\r\r\n", "48d11599602feaaee984b0d0558a3da7", "7505e981cbc45f1d55327cb8f9e92390" }, // a lone CR is kept
        { "\0\r\n", "692c8022360661692872fdc730517229", "692c8022360661692872fdc730517229" }, // NUL: binary
        { "\u0080\u0081\u0082abcde\r\n", "12fb42f70c3c2d3e7a581c6554241e07", "88a2b6dd017be624d5092d80c75bf6f6" }, // 30 % non-text: still text
        { "\u0080\u0081\u0082\u0083abcd\r\n", "809544b8a7b470246dd99559c81d3882", "809544b8a7b470246dd99559c81d3882" }, // 40 %: binary
    };

    [Theory]
    [MemberData(nameof(Vectors))]
    public void File_digests_equal_dvcs(string content, string md5, string dos2unix)
    {
        var bytes = Encoding.Latin1.GetBytes(content);
        Assert.Equal(md5, DvcHash.Stream(new MemoryStream(bytes), DvcHashKind.Md5));
        Assert.Equal(dos2unix, DvcHash.Stream(new MemoryStream(bytes), DvcHashKind.Md5Dos2Unix));
    }

    [Fact]
    public void Large_files_are_converted_chunk_by_chunk_as_dvc_2_reads_them()
    {
        // A CRLF across the 1 MiB boundary is not joined; the text/binary choice is made once, from the first 512 bytes.
        var across = Encoding.Latin1.GetBytes(new string('x', (1 << 20) - 1) + "\r\n");
        Assert.Equal("059b9ae010d821b197fb177c19d8542f", DvcHash.Stream(new MemoryStream(across), DvcHashKind.Md5Dos2Unix));
        var binaryStart = Encoding.Latin1.GetBytes(new string('\u0080', 1 << 20) + "a\r\n");
        Assert.Equal("9113a8bada3a08a4e23fe0e823289790", DvcHash.Stream(new MemoryStream(binaryStart), DvcHashKind.Md5Dos2Unix));
        var nulLater = Encoding.Latin1.GetBytes(new string('a', 1 << 20) + "\0\r\n");
        Assert.Equal("c29239214697677fc9cf57fdf8e7d9b4", DvcHash.Stream(new MemoryStream(nulLater), DvcHashKind.Md5Dos2Unix));
        Assert.Equal("aceb5b5491f0767dd6cd310bdf692732", DvcHash.Stream(new MemoryStream(nulLater), DvcHashKind.Md5));
    }

    [Fact]
    public void Folder_digests_are_the_md5_of_pythons_json_listing()
    {
        Assert.Equal("d751713988987e9331980363e24189ce.dir", DvcHash.ListingDigest([]));
        Assert.Equal(
            "f6b7fd5af673f8d515badfc3c0806e3e.dir",
            DvcHash.ListingDigest([("sub/é b.bin", "0cc175b9c0f1b6a831c399e269772661"), ("a.txt", "d41d8cd98f00b204e9800998ecf8427e")])); // sorted, \u00e9 escaped
    }

    [Fact]
    public void Reads_dvc_3_and_dvc_2_files_and_their_workspace_copies_match()
    {
        var iris = Assert.Single(DvcFiles.ReadDvcFile(Path.Combine(Repo, "data", "iris.csv.dvc")));
        Assert.Equal(("iris.csv", DvcHashKind.Md5, "9d7fa24b918344d54c4229f638f66973"), (iris.Path, iris.HashKind, iris.Md5));
        Assert.Equal(iris.Md5, iris.ComputeWorkspaceMd5());

        var notes = Assert.Single(DvcFiles.ReadDvcFile(Path.Combine(Repo, "data", "notes.txt.dvc")));
        Assert.Equal((DvcHashKind.Md5Dos2Unix, "backup"), (notes.HashKind, notes.Remote));
        Assert.Equal("03a88d0ab46b68f85b6a068905c8b9cf", notes.ComputeWorkspaceMd5()); // CRLF file: DVC 2's digest, not the raw md5
        Assert.NotEqual(DvcHash.File(notes.FullPath, DvcHashKind.Md5), notes.Md5);

        var images = Assert.Single(DvcFiles.ReadDvcFile(Path.Combine(Repo, "data", "images.dvc")));
        Assert.True(images.IsDirectory);
        Assert.Equal((19L, 2), (images.Size, images.FileCount));
        Assert.Equal(images.Md5, images.ComputeWorkspaceMd5());
        Assert.Equal((images.Md5, 19L, 2), DvcHash.Directory(images.FullPath, DvcHashKind.Md5));
    }

    [Fact]
    public void Reads_dvc_lock_stages()
    {
        var entries = DvcFiles.ReadLockFile(Path.Combine(Repo, "dvc.lock"), includeDependencies: true);

        Assert.Equal(["prepare:data/iris.csv:Md5", "prepare:data/prepared:Md5Dos2Unix"], entries.Select(e => $"{e.Stage}:{e.Output.Path}:{e.Output.HashKind}"));
        Assert.Null(entries[1].Output.ComputeWorkspaceMd5()); // not pulled
        var notLock = Path.Combine(Repo, "data", "iris.csv.dvc");
        Assert.Contains("not a dvc.lock of schema '2.0'", Assert.Throws<FormatException>(() => DvcFiles.ReadLockFile(notLock)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Names_the_remote_object_from_the_merged_config()
    {
        var repository = DvcRepository.Find(Path.Combine(Repo, "data", "iris.csv.dvc"))!;
        Assert.Equal(Repo, repository.Root);
        Assert.Equal("storage", repository.DefaultRemote);
        Assert.Equal("s3://override-bucket/store", repository.RemoteUrl("Storage")); // config.local wins; names in any case

        var iris = DvcFiles.ReadDvcFile(Path.Combine(Repo, "data", "iris.csv.dvc"))[0];
        Assert.Equal(("storage", "s3://override-bucket/store/files/md5/9d/7fa24b918344d54c4229f638f66973"), repository.RemoteObject(iris));
        var notes = DvcFiles.ReadDvcFile(Path.Combine(Repo, "data", "notes.txt.dvc"))[0];
        var backup = repository.RemoteObject(notes)!.Value; // the entry's own remote, DVC 2 layout, a local URL relative to .dvc/
        Assert.Equal("backup", backup.Remote);
        Assert.Equal(Path.GetFullPath(Path.Combine(Repo, "..", "dvc-backup", "03", "a88d0ab46b68f85b6a068905c8b9cf")), backup.Url);
    }

    [Fact]
    public void A_dataset_names_the_version_and_where_it_is_stored()
    {
        var dataset = DvcDatasets.FromDvcFile(Path.Combine(Repo, "data", "iris.csv.dvc"));

        Assert.Equal("iris.csv", dataset.Name);
        Assert.Equal("9d7fa24b918344d54c4229f638f66973", dataset.Digest);
        Assert.Equal("s3", dataset.SourceType);
        using var source = JsonDocument.Parse(dataset.Source);
        Assert.Equal("s3://override-bucket/store/files/md5/9d/7fa24b918344d54c4229f638f66973", source.RootElement.GetProperty("uri").GetString());
        Assert.Equal("data/iris.csv.dvc", source.RootElement.GetProperty("dvc_file").GetString());
        Assert.Equal("md5", source.RootElement.GetProperty("dvc_hash").GetString());
        Assert.Equal("""{"size":2616}""", dataset.Profile);

        var folder = DvcDatasets.FromDvcFile(Path.Combine(Repo, "data", "images.dvc"), "images-v1");
        Assert.Equal(("images-v1", "3ed0f60e5f27cf46f6da859d69509de4.dir"), (folder.Name, folder.Digest));
        var local = DvcDatasets.FromDvcFile(Path.Combine(Repo, "data", "notes.txt.dvc"));
        Assert.Equal("local", local.SourceType);
        var prepared = DvcDatasets.FromLockFile(Path.Combine(Repo, "dvc.lock"), "data/prepared");
        Assert.Equal("153aad06d376b6595932470e459ef42a.dir", prepared.Digest);
    }

    [Fact]
    public void A_workspace_copy_that_is_not_the_recorded_version_is_refused_unless_allowed()
    {
        var dir = Directory.CreateTempSubdirectory("mlops-dvc-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "x.csv"), "changed\n");
            File.WriteAllText(Path.Combine(dir, "x.csv.dvc"), "outs:\n- md5: 0123456789abcdef0123456789abcdef\n  hash: md5\n  path: x.csv\n");

            var error = Assert.Throws<InvalidOperationException>(() => DvcDatasets.FromDvcFile(Path.Combine(dir, "x.csv.dvc")));
            Assert.Contains("is not the version x.csv.dvc records (md5 0123456789abcdef0123456789abcdef", error.Message, StringComparison.Ordinal);
            Assert.Equal("0123456789abcdef0123456789abcdef", DvcDatasets.FromDvcFile(Path.Combine(dir, "x.csv.dvc"), allowModified: true).Digest);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
