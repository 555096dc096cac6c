using System.CommandLine;
using System.Text.Json;
using MlOps.Client.Projects;

namespace MlOps.Cli.Commands;

/// <summary><c>mlops run</c>: Python's <c>mlflow run</c> for .NET projects (and any other).</summary>
internal static partial class MlopsCommandLine
{
    /// <summary>A project run that was cancelled (Ctrl+C): the shell's code for SIGINT.</summary>
    public const int Interrupted = 130;

    private static Command RunProject(Func<ParseResult, CliContext> context)
    {
        var uri = new Argument<string>("URI") { Description = "The project: a folder, or a git URL; either with #subdirectory." };
        var entryPoint = new Option<string>("--entry-point", "-e") { Description = "The entry point (declared in MLproject, or a .py/.sh/.csproj/.dll file of the project).", DefaultValueFactory = _ => "main" };
        var version = new Option<string?>("--version", "-v") { Description = "The git branch, tag or commit to run." };
        var parameters = new Option<string[]>("--param-list", "-P") { Description = "A parameter: -P name=value (repeat it); undeclared ones are appended to the command as --name value.", AllowMultipleArgumentsPerToken = false };
        var experimentName = new Option<string?>("--experiment-name") { Description = "The experiment (created if missing). Default: MLFLOW_EXPERIMENT_NAME." };
        var experimentId = new Option<string?>("--experiment-id") { Description = "The experiment by id. Default: MLFLOW_EXPERIMENT_ID, else 0." };
        var runName = new Option<string?>("--run-name") { Description = "The run's name." };
        var backend = new Option<string>("--backend", "-b") { Description = "local (a process here) or kubernetes (a Job; needs --backend-config).", DefaultValueFactory = _ => "local" };
        backend.AcceptOnlyFromAmong("local", "kubernetes");
        var backendConfig = new Option<string?>("--backend-config", "-c") { Description = "The backend's settings: a .json file, or JSON text (kubernetes: kube-context, repository-uri, kube-job-template-path)." };
        var storageDir = new Option<string?>("--storage-dir") { Description = "Where 'path' parameters given as remote URIs are downloaded. Default: MLFLOW_TMP_DIR, else the temporary folder." };
        var noDvc = new Option<bool>("--no-dvc-tags") { Description = "Do not record the digests of the project's DVC-tracked data as tags." };
        var command = new Command("run", "Run an MLflow project (Python's mlflow run): create the run with the project's tags and parameters, start the entry point's command with MLFLOW_RUN_ID, stream its output, end the run FINISHED, FAILED or KILLED.")
        {
            uri, entryPoint, version, parameters, experimentName, experimentId, runName, backend, backendConfig, storageDir, noDvc,
        };
        command.SetAction((parse, ct) => Guard(context(parse), async ctx =>
        {
            if (parse.GetValue(experimentName) is not null && parse.GetValue(experimentId) is not null)
            {
                await ctx.Error.WriteLineAsync("mlops: Specify only one of 'experiment-name' or 'experiment-id' options.").ConfigureAwait(false);
                return Usage;
            }

            var options = new ProjectRunOptions
            {
                Uri = parse.GetValue(uri)!,
                EntryPoint = parse.GetValue(entryPoint)!,
                Version = parse.GetValue(version),
                ExperimentName = parse.GetValue(experimentName),
                ExperimentId = parse.GetValue(experimentId),
                RunName = parse.GetValue(runName),
                StorageDirectory = parse.GetValue(storageDir) ?? (Environment.GetEnvironmentVariable(MlOps.Client.Configuration.MlflowEnvironment.TmpDir) is { Length: > 0 } tmp ? tmp : null),
                RecordDvcDigests = !parse.GetValue(noDvc),
                Messages = ctx.Error,
            };
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in parse.GetValue(parameters) ?? [])
            {
                var eq = p.IndexOf('=', StringComparison.Ordinal);
                if (eq < 0)
                {
                    await ctx.Error.WriteLineAsync($"mlops: Invalid format for -P parameter: '{p}'. Use -P name=value.").ConfigureAwait(false);
                    return Usage;
                }

                if (!seen.Add(p[..eq]))
                {
                    await ctx.Error.WriteLineAsync($"mlops: Repeated parameter: '{p[..eq]}'").ConfigureAwait(false);
                    return Usage;
                }

                options.Parameters.Add(new(p[..eq], p[(eq + 1)..]));
            }

            var config = parse.GetValue(backendConfig);
            if (parse.GetValue(backend) == "kubernetes")
            {
                if (config is null)
                {
                    await ctx.Error.WriteLineAsync("mlops: Specify 'backend_config' when using kubernetes mode.").ConfigureAwait(false);
                    return Usage;
                }

                options.Backend = MlOps.Client.Kubernetes.KubernetesProjectBackend.FromConfig(ReadBackendConfig(config));
            }
            else
            {
                options.Backend = ReferenceEquals(ctx.Output, Console.Out) ? new LocalProjectBackend() : new LocalProjectBackend(ctx.Output, ctx.Error);
            }

            await using var runner = new ProjectRunner(ctx.ClientOptions());
            ProjectRunResult result;
            try
            {
                result = await runner.RunAsync(options, ct).ConfigureAwait(false);
            }
            catch (ProjectExecutionException ex)
            {
                await ctx.Error.WriteLineAsync($"=== {ex.Message} ===").ConfigureAwait(false);
                return Error;
            }

            await ctx.Output.WriteLineAsync($"run {result.RunId} (experiment {result.ExperimentId}): {result.Status.ToString().ToUpperInvariant()}").ConfigureAwait(false);
            return result.Status switch
            {
                MlOps.Client.RunStatus.Finished => Ok,
                MlOps.Client.RunStatus.Killed => Interrupted,
                _ => Error,
            };
        }));
        return command;
    }

    /// <summary>Python's rule: a value ending in <c>.json</c> is a file, anything else JSON text.</summary>
    private static JsonElement ReadBackendConfig(string value)
    {
        try
        {
            var text = value.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? File.ReadAllText(value) : value;
            using var document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new FormatException("Invalid backend config JSON. Parse error: " + ex.Message, ex);
        }
    }
}
