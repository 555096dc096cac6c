using System.Diagnostics;
using System.Globalization;
using MlOps.Client.Artifacts;
using MlOps.Client.Aws;

namespace MlOps.Client.Benchmarks;

/// <summary>
/// Upload and download of one large file to an S3 endpoint (s3rver from tests/Emulators, MinIO, AWS) by this SDK's
/// <see cref="S3ArtifactRepository"/> and by Python's boto3 (<c>upload_file</c>/<c>download_file</c>, what MLflow's
/// S3ArtifactRepository calls), back to back in the same run, alternating, with each side's peak memory: the
/// process's working set (C#) and <c>ru_maxrss</c> (Python). Credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.
/// </summary>
internal static class ArtifactStoreHarness
{
    private const string BotoScript = """
        import os, sys, time, resource, boto3
        from botocore.config import Config
        endpoint, bucket, key, local, mode = sys.argv[1:6]
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
        start = time.perf_counter()
        if mode == "up":
            s3.upload_file(Filename=local, Bucket=bucket, Key=key)
        else:
            s3.download_file(bucket, key, local)
        elapsed = time.perf_counter() - start
        print(f"{elapsed:.3f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}")
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        var endpoint = args.Length > 1 ? args[1] : throw new ArgumentException("usage: artifacts <s3 endpoint> [MiB] [rounds] [python]");
        var mib = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1024;
        var rounds = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 2;
        var python = args.Length > 4 ? args[4] : "/usr/bin/python3";
        Environment.SetEnvironmentVariable("MLFLOW_S3_ENDPOINT_URL", endpoint);
        var work = Directory.CreateTempSubdirectory("mlops-artifact-bench-");
        try
        {
            var file = Path.Combine(work.FullName, "big.bin");
            WriteRandom(file, (long)mib << 20);
            Console.WriteLine($"{mib} MiB file, endpoint {endpoint}, {Environment.ProcessorCount} cores, .NET {Environment.Version}, {rounds} rounds (C# then boto3 each round)");
            Console.WriteLine("side      direction  seconds   MiB/s   peak memory (MiB)");
            var repository = new S3ArtifactRepository("s3://mlflow/bench/csharp");
            for (var round = 0; round < rounds; round++)
            {
                var (up, upPeak) = await MeasureAsync(() => repository.UploadFileAsync(file, "big.bin"));
                Print("C#", "upload", up, mib, upPeak);
                var copy = Path.Combine(work.FullName, "copy.bin");
                var (down, downPeak) = await MeasureAsync(async () =>
                {
                    await using var stream = new FileStream(copy, FileMode.Create, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous);
                    await repository.DownloadFileAsync("big.bin", stream);
                });
                Print("C#", "download", down, mib, downPeak);
                File.Delete(copy);

                var (pyUp, pyUpPeak) = await BotoAsync(python, endpoint, "bench/python/big.bin", file, "up");
                Print("boto3", "upload", pyUp, mib, pyUpPeak);
                var (pyDown, pyDownPeak) = await BotoAsync(python, endpoint, "bench/python/big.bin", copy, "down");
                Print("boto3", "download", pyDown, mib, pyDownPeak);
                File.Delete(copy);
            }

            return 0;
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static void Print(string side, string direction, TimeSpan elapsed, int mib, long peak) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{side,-9} {direction,-10} {elapsed.TotalSeconds,7:0.00} {mib / elapsed.TotalSeconds,7:0.0}   {peak / (1024.0 * 1024),8:0}"));

    private static void WriteRandom(string path, long length)
    {
        var block = new byte[8 << 20];
        new Random(7).NextBytes(block);
        using var stream = File.Create(path);
        for (long written = 0; written < length; written += block.Length)
        {
            block[0]++; // parts differ
            stream.Write(block, 0, (int)Math.Min(block.Length, length - written));
        }
    }

    /// <summary>Elapsed time and the peak working set sampled every 20 ms while <paramref name="work"/> runs.</summary>
    private static async Task<(TimeSpan Elapsed, long Peak)> MeasureAsync(Func<Task> work)
    {
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        long peak = 0;
        using var done = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                process.Refresh();
                peak = Math.Max(peak, process.WorkingSet64);
                try
                {
                    await Task.Delay(20, done.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        });
        var watch = Stopwatch.StartNew();
        await work();
        watch.Stop();
        await done.CancelAsync();
        await sampler;
        return (watch.Elapsed, peak);
    }

    private static async Task<(TimeSpan Elapsed, long Peak)> BotoAsync(string python, string endpoint, string key, string local, string mode)
    {
        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-c", BotoScript, endpoint, "mlflow", key, local, mode })
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException("boto3 failed: " + error);
        }

        var parts = output.Trim().Split(' ');
        return (TimeSpan.FromSeconds(double.Parse(parts[0], CultureInfo.InvariantCulture)), long.Parse(parts[1], CultureInfo.InvariantCulture));
    }
}
