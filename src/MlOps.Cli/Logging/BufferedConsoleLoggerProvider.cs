using System.Text;
using Microsoft.Extensions.Logging;

namespace MlOps.Cli.Logging;

/// <summary>
/// The console log of <c>mlops models serve</c>: the text ASP.NET Core's simple console formatter writes (<c>info:
/// Category[event]</c>, then the message indented by six spaces, level colors on a terminal), gathered in memory and
/// written in one piece every <see cref="FlushInterval"/> — at once for a warning or worse, when
/// <see cref="MaxPendingChars"/> wait, and when disposed. ASP.NET Core's console logger hands every line to its writer
/// thread and writes it with a system call of its own: at one line per request that was the largest cost of a 1-row
/// prediction (issue V: 0.52 → 0.73 of <c>/ping</c> with the line turned off); here a line costs its formatting and a
/// copy. A line can reach the console up to <see cref="FlushInterval"/> after it was logged, and a process that is
/// killed loses at most that much.
/// </summary>
internal sealed class BufferedConsoleLoggerProvider : ILoggerProvider
{
    /// <summary>How long a line may wait in memory.</summary>
    public static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>Characters waiting beyond which the text is written at once.</summary>
    public const int MaxPendingChars = 32 * 1024;

    private const string Padding = "      ";

    private readonly TextWriter _output;
    private readonly bool _colors;
    private readonly ITimer _timer;
    private readonly Lock _gate = new();
    private readonly Lock _writeGate = new();
    private StringBuilder _pending = new();
    private StringBuilder _spare = new();
    private bool _disposed;

    /// <summary>Writes to <paramref name="output"/>, with level colors when <paramref name="colors"/>.</summary>
    public BufferedConsoleLoggerProvider(TextWriter output, bool colors, TimeProvider? time = null)
    {
        _output = output;
        _colors = colors;
        _timer = (time ?? TimeProvider.System).CreateTimer(static s => ((BufferedConsoleLoggerProvider)s!).Flush(), this, FlushInterval, FlushInterval);
    }

    /// <summary>The console, with colors as ASP.NET Core's console logger chooses them (not when the output is redirected).</summary>
    public static BufferedConsoleLoggerProvider ForConsole() => new(Console.Out, colors: !Console.IsOutputRedirected);

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>Makes this the only provider of <paramref name="logging"/> (its filters stay).</summary>
    public void ReplaceProviders(ILoggingBuilder logging) => logging.ClearProviders().AddProvider(this);

    /// <summary>Writes what waits now.</summary>
    public void Flush()
    {
        lock (_writeGate)
        {
            StringBuilder chunk;
            lock (_gate)
            {
                if (_pending.Length == 0)
                {
                    return;
                }

                chunk = _pending;
                _pending = _spare;
                _spare = chunk;
            }

            // Outside the gate: loggers go on filling the other buffer. The write gate keeps the chunks in order.
            try
            {
                foreach (var part in chunk.GetChunks())
                {
                    _output.Write(part.Span);
                }

                _output.Flush();
            }
            catch (IOException)
            {
                // The console is gone (a closed pipe): the log has nowhere to go, and must not stop the server.
            }
            catch (ObjectDisposedException)
            {
            }
            finally
            {
                chunk.Clear();
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
        }

        _timer.Dispose();
        Flush();
    }

    private void Append(LogLevel level, string category, int eventId, string? message, Exception? exception)
    {
        bool now;
        lock (_gate)
        {
            var text = _pending;
            WriteLevel(text, level);
            text.Append(": ").Append(category).Append('[').Append(eventId).Append(']').Append(Environment.NewLine);
            if (!string.IsNullOrEmpty(message))
            {
                WriteIndented(text, message);
            }

            if (exception is not null)
            {
                WriteIndented(text, exception.ToString());
            }

            now = _disposed || level >= LogLevel.Warning || text.Length >= MaxPendingChars;
        }

        if (now)
        {
            Flush();
        }
    }

    private void WriteLevel(StringBuilder text, LogLevel level)
    {
        var name = level switch
        {
            LogLevel.Trace => "trce",
            LogLevel.Debug => "dbug",
            LogLevel.Information => "info",
            LogLevel.Warning => "warn",
            LogLevel.Error => "fail",
            _ => "crit",
        };
        if (!_colors)
        {
            text.Append(name);
            return;
        }

        // The simple console formatter's colors: background, foreground, the name, then both reset.
        var (background, foreground) = level switch
        {
            LogLevel.Information => ("\u001b[40m", "\u001b[32m"), // black, dark green
            LogLevel.Warning => ("\u001b[40m", "\u001b[1m\u001b[33m"), // black, yellow
            LogLevel.Error => ("\u001b[41m", "\u001b[30m"), // dark red, black
            LogLevel.Critical => ("\u001b[41m", "\u001b[1m\u001b[37m"), // dark red, white
            _ => ("\u001b[40m", "\u001b[37m"), // black, gray
        };
        text.Append(background).Append(foreground).Append(name).Append("\u001b[39m\u001b[22m").Append("\u001b[49m");
    }

    private static void WriteIndented(StringBuilder text, string message)
    {
        text.Append(Padding);
        if (message.Contains(Environment.NewLine, StringComparison.Ordinal))
        {
            text.Append(message.Replace(Environment.NewLine, Environment.NewLine + Padding, StringComparison.Ordinal));
        }
        else
        {
            text.Append(message);
        }

        text.Append(Environment.NewLine);
    }

    private sealed class Logger(BufferedConsoleLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null; // the simple formatter leaves scopes out by default

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var message = formatter(state, exception);
            if (message is null && exception is null)
            {
                return; // as the console formatter: nothing to say
            }

            provider.Append(logLevel, category, eventId.Id, message, exception);
        }
    }
}
