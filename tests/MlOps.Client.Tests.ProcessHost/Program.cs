// Usage: MlOps.Client.Tests.ProcessHost <wait|exit> <metric count>
// Logs to MLFLOW_TRACKING_URI. "wait" prints READY and blocks until a signal arrives; "exit" returns from Main
// without ending the run or flushing, so the process-exit hook must deliver and end the run.
using System.Globalization;
using MlOps.Client.Tracking;

var mode = args[0];
var count = int.Parse(args[1], CultureInfo.InvariantCulture);
var tracker = Tracker.FromEnvironment(new TrackerOptions { SetSystemTags = false });
var run = tracker.StartRun("child-process");
for (var i = 0; i < count; i++)
{
    run.LogMetric("m", i, i);
}

Console.WriteLine("READY " + run.RunId);
Console.Out.Flush();
if (mode == "wait")
{
    Thread.Sleep(Timeout.Infinite);
}

return 0;
