using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace MlOps.Client.Projects;

/// <summary>How a project asks to be run.</summary>
public enum ProjectEnvironmentKind
{
    /// <summary>No environment file: the local environment (Python MLflow would build a virtualenv).</summary>
    None,

    /// <summary><c>python_env</c> (or a <c>python_env.yaml</c> beside the MLproject).</summary>
    Python,

    /// <summary><c>conda_env</c> (or a <c>conda.yaml</c> beside the MLproject).</summary>
    Conda,

    /// <summary><c>docker_env</c>: the image the project runs in.</summary>
    Docker,
}

/// <summary>
/// An MLflow project: a folder and its <c>MLproject</c> file (any case of that name, YAML), read as Python MLflow's
/// <c>mlflow/projects/_project_spec.py</c> reads it — <c>name</c>, <c>entry_points</c> (each a mapping of
/// <c>parameters</c> and <c>command</c>), and at most one of <c>conda_env</c>, <c>python_env</c>, <c>docker_env</c>.
/// A folder without an MLproject is a project whose entry points are its scripts.
/// </summary>
public sealed class MlProject
{
    private static readonly string[] EnvironmentKeys = ["docker_env", "python_env", "conda_env"];
    private readonly Dictionary<string, ProjectEntryPoint> _entryPoints;

    private MlProject(string directory, string? name, Dictionary<string, ProjectEntryPoint> entryPoints, ProjectEnvironmentKind environment, string? environmentFile, string? dockerImage)
    {
        Directory = directory;
        Name = name;
        _entryPoints = entryPoints;
        Environment = environment;
        EnvironmentFile = environmentFile;
        DockerImage = dockerImage;
    }

    /// <summary>The project's folder (the command's working directory).</summary>
    public string Directory { get; }

    /// <summary>The <c>name</c>, when the MLproject gives one.</summary>
    public string? Name { get; }

    /// <summary>The declared entry points, in the file's order.</summary>
    public IReadOnlyCollection<ProjectEntryPoint> EntryPoints => _entryPoints.Values;

    /// <summary>The environment the project declares.</summary>
    public ProjectEnvironmentKind Environment { get; }

    /// <summary>The <c>python_env</c> or <c>conda_env</c> file, when there is one.</summary>
    public string? EnvironmentFile { get; }

    /// <summary><c>docker_env.image</c>.</summary>
    public string? DockerImage { get; }

    /// <summary>Reads the project in <paramref name="directory"/>.</summary>
    /// <param name="directory">The project's folder.</param>
    /// <exception cref="ProjectExecutionException">The MLproject is not valid (the message says where).</exception>
    /// <exception cref="DirectoryNotFoundException">No such folder.</exception>
    public static MlProject Load(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        directory = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"The project folder {directory} does not exist.");
        }

        var file = System.IO.Directory.EnumerateFiles(directory).FirstOrDefault(f => Path.GetFileName(f).Equals("MLproject", StringComparison.OrdinalIgnoreCase));
        YamlMappingNode root;
        if (file is null)
        {
            root = new YamlMappingNode();
        }
        else
        {
            try
            {
                var stream = new YamlStream();
                using (var reader = new StreamReader(file))
                {
                    stream.Load(reader);
                }

                root = stream.Documents.Count == 0 ? new YamlMappingNode() : stream.Documents[0].RootNode as YamlMappingNode
                    ?? throw new ProjectExecutionException($"Project configuration (MLproject file) was invalid: {file} is not a mapping of keys to values.");
            }
            catch (YamlException ex)
            {
                throw new ProjectExecutionException($"Project configuration (MLproject file) was invalid: {file}, line {ex.Start.Line}: {ex.Message}", ex);
            }
        }

        return Parse(directory, root);
    }

    /// <summary>The entry point: a declared one, else a script run by its interpreter (<c>.py</c> → python, <c>.sh</c> → <c>$SHELL</c>, <c>.R</c> → Rscript, as Python MLflow) or, for .NET, a project (<c>.csproj</c> → <c>dotnet run --project</c>) or an assembly (<c>.dll</c> → <c>dotnet</c>).</summary>
    /// <param name="name">The entry point's name (<c>-e</c>).</param>
    /// <exception cref="ProjectExecutionException">Neither a declared entry point nor a runnable file name (Python's message).</exception>
    public ProjectEntryPoint GetEntryPoint(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_entryPoints.TryGetValue(name, out var declared))
        {
            return declared;
        }

        var quoted = ShellWords.Quote(name);
        var command = Path.GetExtension(name) switch
        {
            ".py" => "python " + quoted,
            ".sh" => (System.Environment.GetEnvironmentVariable("SHELL") ?? "bash") + " " + quoted,
            ".R" => $"Rscript -e \"mlflow::mlflow_source('{quoted}')\" --args",
            ".csproj" => $"dotnet run --project {quoted} --",
            ".dll" => "dotnet " + quoted,
            _ => null,
        };
        return command is null
            ? throw new ProjectExecutionException(
                $"Could not find {name} among entry points [{string.Join(", ", _entryPoints.Keys.Select(k => $"'{k}'"))}] or interpret {name} as a runnable script. " +
                "Supported script file extensions: ['.py', '.sh', '.R', '.csproj', '.dll']")
            : new ProjectEntryPoint(name, [], command);
    }

    private static MlProject Parse(string directory, YamlMappingNode root)
    {
        string? Scalar(YamlMappingNode map, string key) =>
            map.Children.TryGetValue(new YamlScalarNode(key), out var node) ? node is YamlScalarNode s ? s.Value : throw Invalid($"'{key}' must be a single value.") : null;

        var envKeys = EnvironmentKeys.Where(k => root.Children.ContainsKey(new YamlScalarNode(k))).ToList();
        if (envKeys.Count > 1)
        {
            throw new ProjectExecutionException($"Project cannot contain multiple environment fields: {{{string.Join(", ", envKeys.Select(k => $"'{k}'"))}}}");
        }

        var kind = ProjectEnvironmentKind.None;
        string? envFile = null, image = null;
        if (root.Children.TryGetValue(new YamlScalarNode("docker_env"), out var docker))
        {
            kind = ProjectEnvironmentKind.Docker;
            image = docker is YamlMappingNode d ? Scalar(d, "image") : null;
            if (string.IsNullOrEmpty(image))
            {
                throw Invalid("Docker environment specified but no image attribute found.");
            }
        }
        else if (Scalar(root, "python_env") is { } python)
        {
            (kind, envFile) = (ProjectEnvironmentKind.Python, Path.Combine(directory, python));
            if (!File.Exists(envFile))
            {
                throw new ProjectExecutionException($"Project specified python_env file {envFile}, but no such file was found.");
            }
        }
        else if (Scalar(root, "conda_env") is { } conda)
        {
            (kind, envFile) = (ProjectEnvironmentKind.Conda, Path.Combine(directory, conda));
            if (!File.Exists(envFile))
            {
                throw new ProjectExecutionException($"Project specified conda environment file {envFile}, but no such file was found.");
            }
        }
        else if (File.Exists(Path.Combine(directory, "python_env.yaml")))
        {
            (kind, envFile) = (ProjectEnvironmentKind.Python, Path.Combine(directory, "python_env.yaml"));
        }
        else if (File.Exists(Path.Combine(directory, "conda.yaml")))
        {
            (kind, envFile) = (ProjectEnvironmentKind.Conda, Path.Combine(directory, "conda.yaml"));
        }

        var entryPoints = new Dictionary<string, ProjectEntryPoint>(StringComparer.Ordinal);
        if (root.Children.TryGetValue(new YamlScalarNode("entry_points"), out var eps))
        {
            if (eps is not YamlMappingNode epMap)
            {
                throw Invalid("'entry_points' must be a mapping of entry point names to {parameters, command}.");
            }

            foreach (var (key, value) in epMap.Children)
            {
                var name = ((YamlScalarNode)key).Value ?? string.Empty;
                if (value is not YamlMappingNode ep)
                {
                    throw Invalid($"entry point '{name}' must be a mapping with 'command' (and optionally 'parameters').");
                }

                var command = Scalar(ep, "command") ?? throw Invalid($"entry point '{name}' has no 'command'.");
                var parameters = new List<ProjectParameter>();
                if (ep.Children.TryGetValue(new YamlScalarNode("parameters"), out var ps) && ps is not YamlScalarNode { Value: null or "" })
                {
                    if (ps is not YamlMappingNode psMap)
                    {
                        throw Invalid($"the parameters of entry point '{name}' must be a mapping of names to a type or {{type, default}}.");
                    }

                    foreach (var (pKey, pValue) in psMap.Children)
                    {
                        var pName = ((YamlScalarNode)pKey).Value ?? string.Empty;
                        parameters.Add(pValue switch
                        {
                            YamlScalarNode type => new ProjectParameter(pName, type.Value ?? "string", null),
                            YamlMappingNode spec => new ProjectParameter(
                                pName,
                                Scalar(spec, "type") ?? "string",
                                spec.Children.TryGetValue(new YamlScalarNode("default"), out var dflt) ? Default(name, pName, dflt) : null),
                            _ => throw Invalid($"parameter '{pName}' of entry point '{name}' must be a type or {{type, default}}."),
                        });
                    }
                }

                entryPoints[name] = new ProjectEntryPoint(name, parameters, command);
            }
        }

        return new MlProject(directory, Scalar(root, "name"), entryPoints, kind, envFile, image);
    }

    private static string? Default(string entryPoint, string parameter, YamlNode node)
    {
        try
        {
            return YamlScalars.PythonString(node);
        }
        catch (FormatException ex)
        {
            throw Invalid($"the default of parameter '{parameter}' of entry point '{entryPoint}': {ex.Message}");
        }
    }

    private static ProjectExecutionException Invalid(string what) => new("Project configuration (MLproject file) was invalid: " + what);
}
