using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MlOps.Client.Configuration;

namespace MlOps.Client.Diagnostics;

/// <summary>
/// What the SDK logs when the application configured no logging: warnings and errors (retries, an unreachable server, the
/// spool) on standard error, one line each, as Python MLflow's own logger prints them
/// (<c>2026/12/05 14:00:00 WARNING mlops.client: …</c>). <c>MLFLOW_LOGGING_LEVEL</c> (DEBUG, INFO, WARNING, ERROR,
/// CRITICAL) sets the level — WARNING by default, where Python's is INFO: this SDK prints no per-run "view run at" lines;
/// <c>MLFLOW_CONFIGURE_LOGGING=false</c> turns it off. An <see cref="ILoggerFactory"/> given to the client, the tracker
/// or the container replaces it.
/// </summary>
internal static class ConsoleLogging
{
    private static readonly Lazy<ILoggerFactory> s_default = new(() => Create(Environment.GetEnvironmentVariable, Console.Error));

    /// <summary>The factory used when none is given.</summary>
    public static ILoggerFactory Default => s_default.Value;

    /// <summary><paramref name="factory"/>, or the default console one.</summary>
    public static ILoggerFactory Or(ILoggerFactory? factory) => factory ?? Default;

    internal static ILoggerFactory Create(Func<string, string?> environment, TextWriter output)
    {
        if (environment(MlflowEnvironment.ConfigureLogging) is { } configure
            && (configure.Equals("false", StringComparison.OrdinalIgnoreCase) || configure == "0"))
        {
            return NullLoggerFactory.Instance;
        }

        var level = environment(MlflowEnvironment.LoggingLevel)?.Trim().ToUpperInvariant() switch
        {
            null or "" => LogLevel.Warning,
            "DEBUG" or "NOTSET" => LogLevel.Debug,
            "INFO" => LogLevel.Information,
            "WARNING" or "WARN" => LogLevel.Warning,
            "ERROR" => LogLevel.Error,
            "CRITICAL" or "FATAL" => LogLevel.Critical,
            var other => throw new ArgumentException(
                $"Invalid log level: {other} ({MlflowEnvironment.LoggingLevel} is one of DEBUG, INFO, WARNING, ERROR, CRITICAL)."),
        };
        return new Factory(level, output);
    }

    private sealed class Factory(LogLevel minimum, TextWriter output) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) => new Logger(minimum, output, categoryName.ToLowerInvariant());

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }
    }

    private sealed class Logger(LogLevel minimum, TextWriter output, string name) : ILogger
    {
        private static readonly object s_gate = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var level = logLevel switch
            {
                LogLevel.Trace or LogLevel.Debug => "DEBUG",
                LogLevel.Information => "INFO",
                LogLevel.Warning => "WARNING",
                LogLevel.Error => "ERROR",
                _ => "CRITICAL",
            };
            var line = string.Create(CultureInfo.InvariantCulture, $"{DateTime.Now:yyyy/MM/dd HH:mm:ss} {level} {name}: {formatter(state, exception)}");
            if (exception is not null && minimum <= LogLevel.Debug)
            {
                line += Environment.NewLine + exception; // the stack only when asked for (DEBUG), as a message is enough otherwise
            }

            lock (s_gate)
            {
                output.WriteLine(line);
            }
        }
    }
}
