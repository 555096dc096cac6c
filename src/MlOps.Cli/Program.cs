namespace MlOps.Cli;

/// <summary>The <c>mlops</c> entry point.</summary>
internal static class Program
{
    private static Task<int> Main(string[] args) => Commands.MlopsCommandLine.RunAsync(args, Console.Out, Console.Error);
}
