using MlOps.Client;
using MlOps.Client.Stores;
using Spectre.Console;

namespace MlOps.Cli.Commands;

/// <summary>What every command works with: the tracking URI, the output writers, the terminal.</summary>
internal sealed class CliContext(TextWriter output, TextWriter error, string? trackingUri)
{
    public TextWriter Output { get; } = output;

    public TextWriter Error { get; } = error;

    /// <summary>
    /// Tables and progress for a person at a terminal; plain text when the output is redirected, as wide as
    /// <c>COLUMNS</c> says when set (as shells export it), else 80.
    /// </summary>
    public IAnsiConsole Console { get; } = WithColumns(AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(output),
        Ansi = ReferenceEquals(output, System.Console.Out) && !System.Console.IsOutputRedirected ? AnsiSupport.Detect : AnsiSupport.No,
        ColorSystem = ReferenceEquals(output, System.Console.Out) && !System.Console.IsOutputRedirected ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
        Interactive = ReferenceEquals(output, System.Console.Out) && !System.Console.IsOutputRedirected ? InteractionSupport.Detect : InteractionSupport.No,
    }), output);

    private static IAnsiConsole WithColumns(IAnsiConsole console, TextWriter output)
    {
        if ((System.Console.IsOutputRedirected || !ReferenceEquals(output, System.Console.Out))
            && int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var columns) && columns > 0)
        {
            console.Profile.Width = columns;
        }

        return console;
    }

    /// <summary>Whether progress may be drawn (standard error is a terminal).</summary>
    public bool ShowProgress => ReferenceEquals(Error, System.Console.Error) && !System.Console.IsErrorRedirected;

    /// <summary>The options a store is opened with: <c>--tracking-uri</c>, else the <c>MLFLOW_*</c> environment (credentials included).</summary>
    public MlflowClientOptions ClientOptions()
    {
        var options = MlflowClientOptions.FromEnvironment();
        if (!string.IsNullOrWhiteSpace(trackingUri))
        {
            options.TrackingUri = trackingUri;
        }

        return options;
    }

    /// <summary>Opens the store: a tracking server, or the embedded <c>mlflow.db</c> when nothing is set (as the library).</summary>
    public ITrackingStore OpenStore() => TrackingStores.Open(ClientOptions());
}
