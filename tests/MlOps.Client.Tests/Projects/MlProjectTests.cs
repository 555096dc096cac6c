using MlOps.Client.Projects;

namespace MlOps.Client.Tests.Projects;

/// <summary>
/// MLproject reading, parameters and command lines as Python MLflow's <c>_project_spec.py</c> computes them; the
/// expected values are those of MLflow's own tests (<c>tests/projects/test_entry_point.py</c>, its example project copied
/// into Resources/example_project).
/// </summary>
public sealed class MlProjectTests : IDisposable
{
    private static readonly string ExampleProject = Path.Combine(AppContext.BaseDirectory, "Projects", "Resources", "example_project");
    private readonly string _dir = Directory.CreateTempSubdirectory("mlops-mlproject-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Dictionary<string, string> P(params (string Key, string Value)[] values) => values.ToDictionary(v => v.Key, v => v.Value, StringComparer.Ordinal);

    [Fact]
    public void Reads_mlflows_example_project()
    {
        var project = MlProject.Load(ExampleProject);

        Assert.Null(project.Name);
        Assert.Equal(ProjectEnvironmentKind.Conda, project.Environment);
        Assert.Equal(["main", "greeter", "line_count", "download_uri", "sleep", "test_tracking", "check_conda_env", "test_artifact_path"], project.EntryPoints.Select(e => e.Name));
        var greeter = project.GetEntryPoint("greeter");
        Assert.Equal("python greeter.py {greeting} {name}", greeter.Command);
        Assert.Equal(["greeting: string = hi", "name: string"], greeter.Parameters.Select(p => p.ToString()));
        Assert.True(project.GetEntryPoint("test_artifact_path").Parameters[0].IsRequired); // {type: path} without a default
    }

    [Fact]
    public void Computes_parameters_and_commands_as_mlflows_tests_expect()
    {
        var greeter = MlProject.Load(ExampleProject).GetEntryPoint("greeter");

        var values = greeter.ResolveParameters(P(("name", "friend"), ("excitement", "10")));
        Assert.Equal([new("greeting", "hi"), new("name", "friend")], values.Declared);
        Assert.Equal([new("excitement", "10")], values.Extra);
        Assert.Equal("python greeter.py hi friend --excitement 10", greeter.FormatCommand(values));

        var escaped = greeter.FormatCommand(greeter.ResolveParameters(P(("name", "friend; echo 'hi'"))));
        Assert.Equal("python greeter.py hi 'friend; echo '\"'\"'hi'\"'\"''", escaped);

        var missing = Assert.Throws<ProjectExecutionException>(() => greeter.ResolveParameters(P()));
        Assert.Equal("No value given for missing parameters: 'name'", missing.Message);
    }

    [Fact]
    public void Uri_parameters_need_a_scheme_and_other_types_pass_through_as_in_python()
    {
        var project = MlProject.Load(ExampleProject);
        var error = Assert.Throws<ProjectExecutionException>(() => project.GetEntryPoint("download_uri").ResolveParameters(P(("uri", "data/rows.csv"))));
        Assert.Equal("Expected URI for parameter uri but got data/rows.csv", error.Message);
        Assert.Equal("curl s3://bucket/key | wc -l", project.GetEntryPoint("download_uri").FormatCommand(project.GetEntryPoint("download_uri").ResolveParameters(P(("uri", "s3://bucket/key")))));

        // Python MLflow checks no int/float/bool: the value goes to the command as given (quoted).
        Assert.Equal("sleep 'not a number'", project.GetEntryPoint("sleep").FormatCommand(project.GetEntryPoint("sleep").ResolveParameters(P(("duration", "not a number")))));
    }

    [Fact]
    public void Logged_parameters_are_every_declared_one_then_the_extras_each_shell_quoted()
    {
        var greeter = MlProject.Load(ExampleProject).GetEntryPoint("greeter");
        var logged = ProjectEntryPoint.LoggedParameters(greeter.ResolveParameters(P(("name", "hello world"), ("zeta", "1"), ("alpha", "2"))));

        Assert.Equal([new("greeting", "hi"), new("name", "'hello world'"), new("zeta", "1"), new("alpha", "2")], logged);
    }

    [Fact]
    public void Defaults_are_read_as_pyyaml_reads_them_and_printed_as_python_prints_them()
    {
        File.WriteAllText(Path.Combine(_dir, "MLproject"), """
            name: defaults
            entry_points:
              main:
                parameters:
                  a: {type: float, default: 1.0e-5}
                  b: {type: float, default: 0.10}
                  c: {type: string, default: true}
                  d: {type: int, default: 100}
                  e: {type: string, default: "0.10"}
                  f: {type: float, default: 1e-5}
                  g: {type: int, default: 0x10}
                  h: {default: ''}
                  i: {type: string, default: null}
                command: "run {a} {b} {c} {d} {e} {f} {g} {h} {{literal}}"
            """);
        var main = MlProject.Load(_dir).GetEntryPoint("main");

        Assert.Equal(["1e-05", "0.1", "True", "100", "0.10", "1e-5", "16", "", null], main.Parameters.Select(p => p.Default));
        Assert.Equal("string", main.Parameters[7].Type);
        Assert.True(main.Parameters[8].IsRequired); // default: null is required, as in Python
        Assert.Equal("run 1e-05 0.1 True 100 0.10 1e-5 16 '' {literal}", main.FormatCommand(main.ResolveParameters(P(("i", "x")))));
    }

    [Fact]
    public void Scripts_and_dotnet_projects_are_entry_points_without_an_mlproject()
    {
        var project = MlProject.Load(_dir);

        Assert.Equal("python train.py", project.GetEntryPoint("train.py").Command);
        Assert.Equal("dotnet run --project Train.csproj --", project.GetEntryPoint("Train.csproj").Command);
        Assert.Equal("dotnet run --project Train.csproj -- --alpha 0.5", project.GetEntryPoint("Train.csproj").FormatCommand(project.GetEntryPoint("Train.csproj").ResolveParameters(P(("alpha", "0.5")))));
        var unknown = Assert.Throws<ProjectExecutionException>(() => project.GetEntryPoint("main"));
        Assert.StartsWith("Could not find main among entry points [] or interpret main as a runnable script.", unknown.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("conda_env: conda.yaml\npython_env: python_env.yaml\n", "Project cannot contain multiple environment fields")]
    [InlineData("docker_env: {}\n", "Project configuration (MLproject file) was invalid: Docker environment specified but no image attribute found.")]
    [InlineData("python_env: missing.yaml\n", "Project specified python_env file")]
    [InlineData("entry_points:\n  main: \"echo hi\"\n", "Project configuration (MLproject file) was invalid: entry point 'main' must be a mapping")]
    [InlineData("entry_points:\n  main:\n    parameters: {a: float}\n", "Project configuration (MLproject file) was invalid: entry point 'main' has no 'command'.")]
    [InlineData("entry_points: [1, 2\n", "Project configuration (MLproject file) was invalid:")]
    public void Invalid_mlproject_files_fail_with_one_clear_line(string text, string expected)
    {
        File.WriteAllText(Path.Combine(_dir, "mlproject"), text); // any case of the name, as Python finds it
        File.WriteAllText(Path.Combine(_dir, "conda.yaml"), "name: x\n");
        File.WriteAllText(Path.Combine(_dir, "python_env.yaml"), "python: 3.11\n");

        var error = Assert.Throws<ProjectExecutionException>(() => MlProject.Load(_dir));
        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void A_command_naming_an_undeclared_parameter_is_a_clear_error_not_a_crash()
    {
        File.WriteAllText(Path.Combine(_dir, "MLproject"), "entry_points:\n  main:\n    parameters: {a: float}\n    command: \"run {a} {b}\"\n");
        var main = MlProject.Load(_dir).GetEntryPoint("main");

        var error = Assert.Throws<ProjectExecutionException>(() => main.FormatCommand(main.ResolveParameters(P(("a", "1"), ("b", "2")))));
        Assert.Equal("The command of entry point 'main' uses {b}, which is not one of its parameters (a).", error.Message);
    }

    [Theory]
    [InlineData("", "''")]
    [InlineData("abc-1.5/x_y:z,w@%+=", "abc-1.5/x_y:z,w@%+=")]
    [InlineData("hello world", "'hello world'")]
    [InlineData("it's", "'it'\"'\"'s'")]
    [InlineData("é", "'é'")]
    public void Quotes_as_shlex_quote(string value, string expected) => Assert.Equal(expected, ShellWords.Quote(value));

    [Fact]
    public void Splits_as_shlex_split() =>
        Assert.Equal(["python", "train.py", "--comment", "foo bar", "--comment-bis", "bar foo", "a\"b", "c d"], ShellWords.Split("""python train.py --comment 'foo bar' --comment-bis "bar foo" a\"b "c d" """));
}
