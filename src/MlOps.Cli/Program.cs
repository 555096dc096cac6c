using MlOps.Cli.Commands;

return await MlopsCommandLine.RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);
