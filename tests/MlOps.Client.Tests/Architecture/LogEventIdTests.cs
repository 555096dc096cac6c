using System.Text.RegularExpressions;

namespace MlOps.Client.Tests.Architecture;

/// <summary>
/// Every <c>[LoggerMessage]</c> event id is unique across the packages (client 1xxx, uploader 2xxx, spool 21xx, tracker
/// 3xxx, system metrics 4001, XGBoost 41xx, ML.NET 42xx, serving 5xxx, monitoring 6xxx, tracing 7xxx): a log filter or an alert on an id means one event.
/// </summary>
public sealed partial class LogEventIdTests
{
    [Fact]
    public void No_two_log_events_share_an_id()
    {
        var root = SourceTree.Root;
        var events = SourceTree.Files()
            .SelectMany(f => EventId().Matches(File.ReadAllText(f)).Select(m => (Id: int.Parse(m.Groups["id"].Value, System.Globalization.CultureInfo.InvariantCulture), File: Path.GetRelativePath(root, f))))
            .ToList();
        Assert.True(events.Count >= 30, $"only {events.Count} log events found: the scan misses them");
        var shared = events.GroupBy(e => e.Id).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(e => e.File))}").ToList();
        Assert.True(shared.Count == 0, "log event ids used twice:\n" + string.Join("\n", shared));
    }

    [GeneratedRegex(@"LoggerMessage\(\s*(EventId\s*=\s*)?(?<id>\d+)")]
    private static partial Regex EventId();
}
