// Usage: MlOps.Client.Tests.ProcessHost <wait|exit|spool|spool-on-signal|replay|construct|inference-log> <metric count>, or objective <x|fail>
// "paced" logs <count> metrics per second until killed, printing LOGGED <n> every 100 ms.
// "construct" starts and disposes <count> trackers (each replays on start) and prints CONSTRUCTED <count>.
// "spool-on-signal" prints READY <run id> once the run exists, logs after a line arrives on stdin (the test stops the
// server in between), then behaves as "spool".
// "spool" (with MLOPS_SPOOL=true, the server down) prints SPOOLED <run id> once every metric is in the spool, then
// blocks (the test kills it with SIGKILL); "replay" replays the spool left behind and prints REPLAYED <ok>.
// Logs to MLFLOW_TRACKING_URI. "wait" prints READY and blocks until a signal arrives; "exit" returns from Main
// without ending the run or flushing, so the process-exit hook must deliver and end the run.
using System.Globalization;
using MlOps.Client.Monitoring;
using MlOps.Client.Tracking;

var mode = args[0];
if (mode == "objective")
{
    // A project's entry point (mlops run / sweeps): attaches to MLFLOW_RUN_ID, logs objective = (x - 2)² and returns
    // (the process-exit hook delivers it and ends the run); "fail" as x exits with code 3 without logging.
    if (args[1] == "fail")
    {
        return 3;
    }

    var x = double.Parse(args[1], CultureInfo.InvariantCulture);
    var projectTracker = Tracker.FromEnvironment(new TrackerOptions { SetSystemTags = false });
    var projectRun = projectTracker.StartRun();
    projectRun.LogMetric("objective", (x - 2) * (x - 2));
    Console.WriteLine("ATTACHED " + projectRun.RunId);
    return 0;
}

var count = int.Parse(args[1], CultureInfo.InvariantCulture);
if (mode == "inference-log")
{
    // Logs records of <count> rows into MLOPS_INFERENCE_LOG_DIR without end, printing LOGGED <n> each time n records
    // are with the operating system, until the test kills the process (SIGKILL: no disposal, no flush).
    var log = new InferenceLog(new InferenceLogOptions { Directory = Environment.GetEnvironmentVariable("MLOPS_INFERENCE_LOG_DIR")!, MaxFileBytes = 16 * 1024 });
    for (var n = 1; ; n++)
    {
        log.TryLog(new InferenceRecord
        {
            RequestId = "r" + n.ToString(CultureInfo.InvariantCulture),
            Timestamp = DateTimeOffset.UtcNow,
            Rows = count,
            Inputs = [new InferenceColumn("x", [.. Enumerable.Range(0, count).Select(i => (object?)(double)i)])],
            Predictions = [new InferenceColumn("prediction", [.. Enumerable.Range(0, count).Select(i => (object?)(i * 0.5))])],
        });
        if (n % 50 == 0)
        {
            await log.FlushAsync();
            Console.WriteLine("LOGGED " + n.ToString(CultureInfo.InvariantCulture));
        }
    }
}

if (mode == "construct")
{
    // Starts (and disposes) trackers one after another while other processes replay the same spool folder.
    for (var i = 0; i < count; i++)
    {
        await using var t = Tracker.FromEnvironment(new TrackerOptions { SetSystemTags = false, HandleProcessExit = false });
        _ = t.Counters;
    }

    Console.WriteLine("CONSTRUCTED " + count.ToString(CultureInfo.InvariantCulture));
    return 0;
}

var tracker = Tracker.FromEnvironment(new TrackerOptions { SetSystemTags = false, HandleProcessExit = !mode.StartsWith("spool", StringComparison.Ordinal) });
if (mode == "replay")
{
    var ok = await tracker.ReplaySpoolAsync();
    Console.WriteLine("REPLAYED " + ok);
    Console.WriteLine("COUNTERS " + tracker.Counters.ReplayedFromOtherProcesses.ToString(CultureInfo.InvariantCulture) + " " + tracker.Counters.Sent.ToString(CultureInfo.InvariantCulture));
    await tracker.DisposeAsync();
    return 0;
}

var run = tracker.StartRun("child-process");
if (mode == "paced")
{
    // Training at a steady pace: <count> metrics per second, 1/10 of them every 100 ms, until killed. Prints
    // LOGGED <n> after each tick (every metric below n is logged).
    Console.WriteLine("READY " + run.RunId);
    var clock = System.Diagnostics.Stopwatch.StartNew();
    var perTick = count / 10;
    for (var tick = 0; ; tick++)
    {
        for (var i = tick * perTick; i < (tick + 1) * perTick; i++)
        {
            run.LogMetric("m", i, i);
        }

        Console.WriteLine("LOGGED " + ((tick + 1) * perTick).ToString(CultureInfo.InvariantCulture));
        Console.Out.Flush();
        var next = TimeSpan.FromMilliseconds((tick + 1) * 100);
        if (next > clock.Elapsed)
        {
            Thread.Sleep(next - clock.Elapsed);
        }
    }
}

if (mode == "spool-on-signal")
{
    Console.WriteLine("READY " + run.RunId);
    Console.Out.Flush();
    await Console.In.ReadLineAsync();
    mode = "spool";
}

var logging = System.Diagnostics.Stopwatch.StartNew();
for (var i = 0; i < count; i++)
{
    run.LogMetric("m", i, i);
}

if (mode == "spool")
{
    while (tracker.Counters.Spooled < count)
    {
        await Task.Delay(20);
    }

    Console.WriteLine("SPOOL_MS " + logging.ElapsedMilliseconds.ToString(CultureInfo.InvariantCulture)); // from the first metric to all of them on disk
    Console.WriteLine("SPOOLED " + run.RunId);
    Console.Out.Flush();
    Thread.Sleep(Timeout.Infinite);
}

Console.WriteLine("READY " + run.RunId);
Console.Out.Flush();
if (mode == "wait")
{
    Thread.Sleep(Timeout.Infinite);
}

return 0;
