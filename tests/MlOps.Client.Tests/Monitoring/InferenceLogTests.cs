using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using MlOps.Client.Monitoring;

namespace MlOps.Client.Tests.Monitoring;

public sealed class InferenceLogTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-inference-log-");

    public void Dispose() => _dir.Delete(recursive: true);

    private static InferenceRecord Record(string id, int rows = 2, DateTimeOffset? at = null) => new()
    {
        RequestId = id,
        Timestamp = at ?? DateTimeOffset.UnixEpoch.AddDays(20000),
        ModelUri = "models:/iris/1",
        LatencyMilliseconds = 0.5,
        Rows = rows,
        Inputs = [new InferenceColumn("petal length (cm)", [.. Enumerable.Range(0, rows).Select(i => (object?)(1.5 + i))]), new InferenceColumn("color", [.. Enumerable.Range(0, rows).Select(i => (object?)(i % 2 == 0 ? "red" : null))])],
        Predictions = [new InferenceColumn("prediction", [.. Enumerable.Range(0, rows).Select(i => (object?)new[] { 0.25, 0.75 })])],
    };

    [Fact]
    public async Task Concurrent_requests_lose_no_row_below_the_limit_and_read_back_as_written()
    {
        await using (var log = new InferenceLog(new InferenceLogOptions { Directory = _dir.FullName }))
        {
            await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
            {
                for (var i = 0; i < 500; i++)
                {
                    Assert.True(log.TryLog(Record($"t{t}-{i}")));
                }
            })));
            log.TryLog(new InferenceFeedback("t3-7", DateTimeOffset.UnixEpoch, [1.0, "setosa"]));
            await log.FlushAsync();
            Assert.Equal(8000, log.Statistics.Logged);
            Assert.Equal(0, log.Statistics.Dropped + log.Statistics.Evicted + log.Statistics.Failed);
        }

        var contents = InferenceLogReader.Read(_dir.FullName);
        Assert.Equal(4000, contents.Records.Count);
        Assert.Equal(4000, contents.Records.Select(r => r.RequestId).Distinct().Count());
        Assert.Equal(0, contents.UnreadableLines);
        var first = contents.Records[0];
        Assert.Equal("models:/iris/1", first.ModelUri);
        Assert.Equal(["petal length (cm)", "color"], first.Inputs.Select(c => c.Name));
        Assert.Equal([1.5, 2.5], first.Inputs[0].Values.Cast<double>());
        Assert.Equal(["red", null], first.Inputs[1].Values);
        Assert.Equal([0.25, 0.75], Assert.IsType<double[]>(first.Predictions[0].Values[0]));
        var feedback = Assert.Single(contents.Feedback);
        Assert.Equal("t3-7", feedback.RequestId);
        Assert.Equal([1.0, "setosa"], feedback.Targets);
    }

    [Fact]
    public async Task The_disk_limit_is_never_exceeded_and_the_oldest_rows_go_first_counted()
    {
        var options = new InferenceLogOptions { Directory = _dir.FullName, MaxBytes = 64 * 1024, MaxFileBytes = 4096 };
        await using var log = new InferenceLog(options);
        var written = 0;
        for (var i = 0; i < 3000; i++)
        {
            log.TryLog(Record("r" + i.ToString("D5", CultureInfo.InvariantCulture)));
            written += 2;
            if (i % 100 == 0)
            {
                await log.FlushAsync();
                Assert.True(DiskBytes() <= options.MaxBytes, $"{DiskBytes()} bytes on disk after {i} records");
            }
        }

        await log.FlushAsync();
        Assert.True(DiskBytes() <= options.MaxBytes);
        var stats = log.Statistics;
        Assert.Equal(DiskBytes(), stats.Bytes);
        Assert.True(stats.Evicted > 0);
        var kept = InferenceLogReader.Read(_dir.FullName).Records;
        Assert.Equal(written, stats.Logged);
        Assert.Equal(stats.Logged, stats.Evicted + kept.Sum(r => r.Rows)); // every row is on disk or counted as evicted
        Assert.Equal("r02999", kept[^1].RequestId); // the newest stay
        Assert.Equal(kept.Select(r => r.RequestId).Order(StringComparer.Ordinal), kept.Select(r => r.RequestId)); // read in the order written
    }

    [Fact]
    public async Task A_torn_last_line_costs_that_line_only_and_the_log_goes_on_in_a_new_file()
    {
        await using (var log = new InferenceLog(new InferenceLogOptions { Directory = _dir.FullName }))
        {
            for (var i = 0; i < 10; i++)
            {
                log.TryLog(Record("a" + i));
            }
        }

        // A crash mid-write: the last line cut short (and one byte flipped in another line).
        var file = Directory.GetFiles(_dir.FullName).Single();
        var bytes = File.ReadAllBytes(file);
        File.WriteAllBytes(file, bytes.AsSpan(0, bytes.Length - 40).ToArray());
        await using (var log = new InferenceLog(new InferenceLogOptions { Directory = _dir.FullName }))
        {
            log.TryLog(Record("b0"));
        }

        var contents = InferenceLogReader.Read(_dir.FullName);
        Assert.Equal(1, contents.UnreadableLines);
        Assert.Equal([.. Enumerable.Range(0, 9).Select(i => "a" + i), "b0"], contents.Records.Select(r => r.RequestId));
        Assert.Equal(2, contents.Files);
    }

    [Fact]
    public async Task A_process_killed_mid_write_leaves_files_that_read_back_every_flushed_record()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "MlOps.Client.Tests.ProcessHost.dll"));
        start.ArgumentList.Add("inference-log");
        start.ArgumentList.Add("20");
        start.Environment["MLOPS_INFERENCE_LOG_DIR"] = _dir.FullName;
        using var child = Process.Start(start)!;
        var flushed = 0;
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            while (flushed < 2000)
            {
                var line = await child.StandardOutput.ReadLineAsync(cts.Token)
                    ?? throw new Xunit.Sdk.XunitException("The child ended: " + await child.StandardError.ReadToEndAsync(cts.Token));
                if (line.StartsWith("LOGGED ", StringComparison.Ordinal))
                {
                    flushed = int.Parse(line[7..], CultureInfo.InvariantCulture);
                }
            }
        }

        child.Kill(); // SIGKILL while it writes
        await child.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        var contents = InferenceLogReader.Read(_dir.FullName);
        Assert.True(contents.Records.Count >= flushed, $"{contents.Records.Count} records read, {flushed} were flushed");
        Assert.True(contents.UnreadableLines <= 1, $"{contents.UnreadableLines} unreadable lines");
        Assert.True(contents.Files > 1);
        Assert.All(contents.Records, r => Assert.Equal(20, r.Inputs[0].Values.Count));
    }

    [Fact]
    public async Task A_file_deleted_underneath_is_counted_said_once_and_writing_goes_on()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20000));
        var logger = new FakeLogger();
        await using var log = new InferenceLog(new InferenceLogOptions { Directory = _dir.FullName }, logger, time);
        for (var i = 0; i < 5; i++)
        {
            log.TryLog(Record("a" + i, rows: 3));
        }

        await log.FlushAsync();
        File.Delete(Directory.GetFiles(_dir.FullName).Single());
        time.Advance(TimeSpan.FromSeconds(2));
        for (var i = 0; i < 5; i++)
        {
            log.TryLog(Record("b" + i, rows: 3));
            time.Advance(TimeSpan.FromSeconds(2));
        }

        await log.FlushAsync();
        Assert.Equal(15, log.Statistics.Failed); // the 5 records of the deleted file
        Assert.Equal(["b0", "b1", "b2", "b3", "b4"], InferenceLogReader.Read(_dir.FullName).Records.Select(r => r.RequestId));
        Assert.Single(logger.Collector.GetSnapshot(), r => r.Id.Id == 6005);
    }

    [Fact]
    public async Task Refused_writes_cost_their_rows_are_said_once_and_the_log_recovers()
    {
        // The disk refuses every write (here: the log's folder replaced by a file, as a full disk refuses them): each
        // record's rows are counted as failed, the failure is said once, and once writing works again the log goes on
        // in a new file and says how many rows were lost.
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20000));
        var logger = new FakeLogger();
        var directory = Path.Combine(_dir.FullName, "log");
        await using var log = new InferenceLog(new InferenceLogOptions { Directory = directory }, logger, time);
        log.TryLog(Record("a0", rows: 3));
        await log.FlushAsync();
        Directory.Delete(directory, recursive: true);
        await File.WriteAllTextAsync(directory, "not a folder");
        time.Advance(TimeSpan.FromSeconds(2));
        for (var i = 0; i < 4; i++)
        {
            log.TryLog(Record("b" + i, rows: 3));
        }

        await log.FlushAsync();
        Assert.Equal(3 + 12, log.Statistics.Failed); // the deleted file's rows, then every refused record's
        Assert.Single(logger.Collector.GetSnapshot(), r => r.Id.Id == 6003);

        File.Delete(directory);
        log.TryLog(Record("c0", rows: 3));
        await log.FlushAsync();
        Assert.Equal(["c0"], InferenceLogReader.Read(directory).Records.Select(r => r.RequestId));
        Assert.Single(logger.Collector.GetSnapshot(), r => r.Id.Id == 6004);
        Assert.Equal(15, log.Statistics.Failed);
    }

    [Fact]
    public async Task A_full_queue_drops_and_counts_instead_of_waiting_and_says_so_once()
    {
        var logger = new FakeLogger();
        // A queue of one record: most of a burst finds it full.
        await using var log = new InferenceLog(new InferenceLogOptions { Directory = _dir.FullName, QueueCapacity = 1 }, logger);
        var accepted = 0;
        for (var i = 0; i < 2000; i++)
        {
            accepted += log.TryLog(Record("r" + i)) ? 1 : 0;
        }

        await log.FlushAsync();
        Assert.Equal(2 * (2000 - accepted), log.Statistics.Dropped);
        Assert.Equal(2 * accepted, log.Statistics.Logged);
        Assert.True(log.Statistics.Dropped > 0);
        Assert.Single(logger.Collector.GetSnapshot(), r => r.Id.Id == 6001);
    }

    [Fact]
    public void Synchronous_disposal_writes_what_is_queued_before_it_returns()
    {
        var log = new InferenceLog(new InferenceLogOptions { Directory = _dir.FullName });
        for (var i = 0; i < 500; i++)
        {
            log.TryLog(Record("r" + i));
        }

        log.Dispose(); // a thread join, bounded: no task blocked on
        Assert.Equal(500, InferenceLogReader.Read(_dir.FullName).Records.Count);
        Assert.False(log.TryLog(Record("late")));
    }

    [Fact]
    public async Task Sampling_logs_the_configured_share()
    {
        await using var log = new InferenceLog(new InferenceLogOptions { Directory = _dir.FullName, SampleRate = 0.25 });
        var logged = Enumerable.Range(0, 20_000).Count(_ => log.ShouldLog());
        Assert.InRange(logged, 4500, 5500); // 5 000 expected; ±7 standard deviations
        Assert.Equal(20_000 - logged, log.Statistics.SampledOut);
    }

    [Fact]
    public void Options_out_of_range_name_the_field()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new InferenceLog(new InferenceLogOptions { Directory = _dir.FullName, SampleRate = 2 }));
        Assert.Contains("InferenceLogOptions.SampleRate", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new InferenceLog(new InferenceLogOptions()));
    }

    private long DiskBytes() => Directory.GetFiles(_dir.FullName).Sum(f => new FileInfo(f).Length);
}
