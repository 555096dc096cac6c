using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Time.Testing;
using MlOps.Cli.Logging;

namespace MlOps.Cli.Tests;

/// <summary>
/// <c>mlops models serve</c>'s console log: the text ASP.NET Core's console logger writes, written in batches (issue V:
/// a line per request handed to the console logger cost a fifth of /ping's rate at one row).
/// </summary>
public sealed class BufferedConsoleLoggerTests
{
    public static TheoryData<LogLevel, int, string, bool> Entries => new()
    {
        { LogLevel.Information, 5001, "POST /invocations → 200, 1 rows, 0.4 ms", false },
        { LogLevel.Warning, 5002, "POST /invocations: the model threw InvalidOperationException; answered 400 BAD_REQUEST", false },
        { LogLevel.Error, 1, "a message" + Environment.NewLine + "on two lines", true },
        { LogLevel.Critical, 2, "", true },
        { LogLevel.Debug, 3, "", false },
        { LogLevel.Trace, 0, "trace", false },
    };

    [Theory]
    [MemberData(nameof(Entries))]
    public void Each_entry_reads_as_the_console_logger_s_simple_format_writes_it(LogLevel level, int eventId, string message, bool withException)
    {
        var exception = withException ? Thrown() : null;
        var expected = new StringWriter();
        using (var services = new ServiceCollection().AddLogging(b => b.AddSimpleConsole(o => o.ColorBehavior = Microsoft.Extensions.Logging.Console.LoggerColorBehavior.Disabled)).BuildServiceProvider())
        {
            var simple = services.GetServices<ConsoleFormatter>().Single(f => f.Name == ConsoleFormatterNames.Simple);
            simple.Write(new LogEntry<string>(level, "MlOps.Client.Serving", new EventId(eventId), message, exception, (s, _) => s), null, expected);
        }

        var output = new StringWriter();
        using (var provider = new BufferedConsoleLoggerProvider(output, colors: false, new FakeTimeProvider()))
        {
            provider.CreateLogger("MlOps.Client.Serving").Log(level, new EventId(eventId), message, exception, (s, _) => s);
        }

        Assert.Equal(expected.ToString(), output.ToString());
    }

    [Fact]
    public void Lines_wait_for_the_interval_a_warning_goes_at_once_with_what_waited_and_disposal_writes_the_rest()
    {
        var time = new FakeTimeProvider();
        var output = new StringWriter();
        var provider = new BufferedConsoleLoggerProvider(output, colors: false, time);
        var logger = provider.CreateLogger("c");
        logger.LogInformation("first");
        Assert.Equal("", output.ToString()); // in memory
        time.Advance(BufferedConsoleLoggerProvider.FlushInterval);
        Assert.Equal(Lines("info", "first"), output.ToString());

        logger.LogInformation("second");
        logger.LogWarning("third");
        Assert.Equal(Lines("info", "first", "info", "second", "warn", "third"), output.ToString()); // in order, at once

        logger.LogInformation("last");
        provider.Dispose();
        Assert.EndsWith(Lines("info", "last"), output.ToString(), StringComparison.Ordinal);
        logger.LogInformation("after disposal"); // still written, at once
        Assert.EndsWith(Lines("info", "after disposal"), output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_burst_beyond_the_pending_limit_is_written_without_waiting()
    {
        var output = new StringWriter();
        using var provider = new BufferedConsoleLoggerProvider(output, colors: false, new FakeTimeProvider());
        var logger = provider.CreateLogger("c");
        var line = new string('x', 1000);
        for (var i = 0; i < 40; i++)
        {
            logger.LogInformation("{Line}", line);
        }

        Assert.True(output.ToString().Length >= BufferedConsoleLoggerProvider.MaxPendingChars, "the pending text was written once over the limit");
    }

    [Fact]
    public async Task Lines_logged_on_many_threads_arrive_whole_and_none_is_lost()
    {
        var output = new StringWriter();
        var provider = new BufferedConsoleLoggerProvider(TextWriter.Synchronized(output), colors: false); // the real clock: the timer flushes meanwhile
        var logger = provider.CreateLogger("c");
        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 2000; i++)
            {
                logger.LogInformation("thread {Thread} line {Line}", t, i);
            }
        })));
        provider.Dispose();

        var lines = output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2 * 8 * 2000, lines.Length);
        for (var i = 0; i < lines.Length; i += 2)
        {
            Assert.Equal("info: c[0]", lines[i]);
            Assert.StartsWith("      thread ", lines[i + 1], StringComparison.Ordinal);
        }

        for (var t = 0; t < 8; t++)
        {
            // Each thread's lines in the order it logged them.
            var mine = lines.Where(l => l.StartsWith($"      thread {t} ", StringComparison.Ordinal)).ToList();
            Assert.Equal(Enumerable.Range(0, 2000).Select(i => $"      thread {t} line {i}"), mine);
        }
    }

    [Fact]
    public void A_console_that_is_gone_does_not_stop_the_logging_code()
    {
        using var provider = new BufferedConsoleLoggerProvider(new BrokenWriter(), colors: false, new FakeTimeProvider());
        var logger = provider.CreateLogger("c");
        logger.LogWarning("written to a closed pipe");
        logger.LogInformation("and again");
        provider.Flush();
    }

    [Fact]
    public void On_a_terminal_the_level_has_the_console_logger_s_colors()
    {
        var output = new StringWriter();
        using (var provider = new BufferedConsoleLoggerProvider(output, colors: true, new FakeTimeProvider()))
        {
            provider.CreateLogger("c").LogInformation("m");
        }

        Assert.Equal("\u001b[40m\u001b[32minfo\u001b[39m\u001b[22m\u001b[49m: c[0]" + Environment.NewLine + "      m" + Environment.NewLine, output.ToString());
    }

    private static string Lines(params string[] levelAndMessage)
    {
        var text = new StringBuilder();
        for (var i = 0; i < levelAndMessage.Length; i += 2)
        {
            text.Append(levelAndMessage[i]).Append(": c[0]").Append(Environment.NewLine).Append("      ").Append(levelAndMessage[i + 1]).Append(Environment.NewLine);
        }

        return text.ToString();
    }

    private static InvalidOperationException Thrown()
    {
        try
        {
            throw new InvalidOperationException("the model failed" + Environment.NewLine + "second line");
        }
        catch (InvalidOperationException e)
        {
            return e;
        }
    }

    private sealed class BrokenWriter : TextWriter
    {
        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value) => throw new IOException("Broken pipe");

        public override void Write(ReadOnlySpan<char> buffer) => throw new IOException("Broken pipe");
    }
}
