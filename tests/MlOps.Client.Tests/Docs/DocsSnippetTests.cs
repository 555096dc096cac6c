using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MlOps.Client.Tests.Docs;

/// <summary>
/// Every <c>```csharp</c> block of README.md, docs/*.md and src/*/README.md compiles against the packages, as a program
/// of its own (top-level statements). Each file may have a prelude (below): the <c>using</c>s and the objects its
/// prose says the snippets start from ("given a tracker…"). Blocks meant not to compile are fenced as <c>text</c>.
/// </summary>
public sealed partial class DocsSnippetTests
{
    /// <summary>Usings every block gets, as a new console project's implicit usings do.</summary>
    private const string Usings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Net.Http;
        global using System.Threading;
        global using System.Threading.Tasks;

        """;

    /// <summary>
    /// What a file's snippets start from (the objects its prose assumes: "a tracker", "the training matrix"), one
    /// declaration per line; a line is left out of a block that declares that name itself. Types go in <see cref="Types"/>.
    /// </summary>
    private static readonly Dictionary<string, string> Preludes = new(StringComparer.Ordinal)
    {
        ["docs/artifacts-and-models.md"] = """
            MlOps.Client.Tracking.Tracker tracker = null!;
            MlOps.Client.MlflowClient client = null!;
            MlOps.Client.Tracking.RunScope run = null!;
            ScottPlot.Plot plot = new();
            SkiaSharp.SKImage image = null!;
            MlOps.Client.XGBoost.Booster booster = null!;
            MlOps.Client.Models.ModelSignature? signature = null;
            MlOps.Client.Models.LoggedModelInfo info = null!;
            """,
        ["docs/evaluation.md"] = """
            MlOps.Client.Tracking.RunScope run = null!;
            MlOps.Client.XGBoost.Booster booster = null!;
            MlOps.Client.XGBoost.DMatrix dtest = null!;
            """,
        ["src/MlOps.Client.Serving/README.md"] = """
            Microsoft.AspNetCore.Builder.WebApplication app = null!;
            """,
        ["docs/sweeps.md"] = """
            MlOps.Client.Tracking.Tracker tracker = null!;
            System.Func<System.Collections.Generic.IReadOnlyDictionary<string, object>, System.Threading.CancellationToken, System.Threading.Tasks.Task<double>> TrainAndScoreAsync = null!;
            """,
        ["docs/projects.md"] = """
            MlOps.Client.Tracking.Tracker tracker = null!;
            MlOps.Client.Tracking.RunScope run = null!;
            """,
        ["docs/tracing.md"] = """
            MlOps.Client.Tracking.Tracker tracker = null!;
            """,
        ["docs/tracking.md"] = """
            MlOps.Client.Tracking.Tracker tracker = null!;
            """,
        ["docs/configuration.md"] = """
            Microsoft.Extensions.Configuration.IConfiguration configuration = null!;
            Microsoft.Extensions.DependencyInjection.IServiceCollection services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
            """,
        ["docs/error-handling.md"] = """
            MlOps.Client.MlflowClient client = null!;
            """,
        ["docs/mlnet.md"] = """
            Microsoft.ML.IEstimator<Microsoft.ML.ITransformer> pipeline = null!;
            Microsoft.ML.DataOperationsCatalog.TrainTestData split = default;
            string[] species = [];
            MlOps.Client.Tracking.Tracker tracker = null!;
            string runId = "";
            Microsoft.ML.MLContext mlContext = new();
            """,
        ["docs/registry.md"] = """
            MlOps.Client.MlflowClient client = null!;
            MlOps.Client.Tracking.Tracker tracker = null!;
            string runId = "";
            """,
        ["docs/xgboost.md"] = """
            float[][] xTrain = [], xTest = [];
            float[] yTrain = [], yTest = [];
            MlOps.Client.Tracking.Tracker tracker = null!;
            Dictionary<string, object?> parameters = [];
            MlOps.Client.XGBoost.DMatrix dtrain = null!;
            MlOps.Client.XGBoost.DMatrix dvalid = null!;
            """,
        ["src/MlOps.Client.MLNet/README.md"] = """
            Microsoft.ML.MLContext mlContext = new();
            MlOps.Client.Tracking.Tracker tracker = null!;
            Microsoft.ML.IEstimator<Microsoft.ML.ITransformer> pipeline = null!;
            Microsoft.ML.IDataView train = null!;
            Microsoft.ML.IDataView test = null!;
            string runId = "";
            """,
        ["src/MlOps.Client.XGBoost/README.md"] = """
            float[][] features = [];
            float[] labels = [];
            """,
    };

    /// <summary>The user types a file's snippets name (e.g. the input and output classes of an ML.NET prediction engine).</summary>
    private static readonly Dictionary<string, string> Types = new(StringComparer.Ordinal)
    {
        ["docs/mlnet.md"] = """
            class Flower { public float SepalLength { get; set; } }
            class Prediction { public uint PredictedLabel { get; set; } }
            """,
    };

    public static TheoryData<string, int> Snippets()
    {
        var data = new TheoryData<string, int>();
        foreach (var file in Files())
        {
            var count = Blocks(File.ReadAllText(Path.Combine(Root, file))).Count;
            for (var i = 0; i < count; i++)
            {
                data.Add(file, i);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Snippets))]
    public void Compiles(string file, int block)
    {
        var code = Blocks(File.ReadAllText(Path.Combine(Root, file)))[block];
        var withoutComments = LineComment().Replace(code, "");
        Assert.False(withoutComments.Contains("...", StringComparison.Ordinal), $"{file}, C# block {block + 1} has a '...' placeholder:\n{code}");

        // The block's using directives first, then what the file's prose assumes, then the block, then its types.
        var lines = code.Split('\n');
        var usings = lines.Where(l => UsingDirective().IsMatch(l)).ToArray();
        var body = lines.Where(l => !UsingDirective().IsMatch(l));
        var prelude = Preludes.GetValueOrDefault(file, "").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(line => !DeclaredNames(line).Any(name => Regex.IsMatch(withoutComments, $@"(\bvar|\w[\w<>?\[\]]*)\s+{name}\s*=")));
        var source = string.Join("\n", usings.Concat(prelude).Concat(body)) + "\n" + Types.GetValueOrDefault(file, "");
        var program = CSharpSyntaxTree.ParseText(source, Options, path: $"{file}#{block}");
        var compilation = CSharpCompilation.Create(
            "Snippet",
            [CSharpSyntaxTree.ParseText(Usings, Options), program],
            References.Value,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()).ToArray();
        Assert.True(errors.Length == 0, $"{file}, C# block {block + 1}:\n{string.Join("\n", errors)}\n---\n{code}");
    }

    [Fact]
    public void The_documentation_has_csharp_blocks_to_check() =>
        Assert.True(Snippets().Count >= 15, $"only {Snippets().Count} C# blocks found under {Root}");

    private static IEnumerable<string> DeclaredNames(string declaration) =>
        DeclaredName().Matches(declaration).Select(m => m.Groups["name"].Value);

    [GeneratedRegex(@"(?<name>\w+)\s*=")]
    private static partial Regex DeclaredName();

    [GeneratedRegex(@"^\s*using\s+(static\s+)?[\w.]+(\s*=\s*[\w.<>]+)?\s*;\s*(//.*)?$")]
    private static partial Regex UsingDirective();

    [GeneratedRegex(@"//.*$", RegexOptions.Multiline)]
    private static partial Regex LineComment();

    private static readonly CSharpParseOptions Options = new(LanguageVersion.Latest);

    private static readonly Lazy<MetadataReference[]> References = new(() =>
    {
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Concat(Directory.GetFiles(AppContext.BaseDirectory, "*.dll"))
            .GroupBy(Path.GetFileName, StringComparer.OrdinalIgnoreCase)
            .Select(g => g.First())
            .Where(IsManaged);
        return [.. paths.Select(p => MetadataReference.CreateFromFile(p))];
    });

    private static bool IsManaged(string path)
    {
        try
        {
            AssemblyName.GetAssemblyName(path);
            return true;
        }
        catch (BadImageFormatException)
        {
            return false;
        }
    }

    private static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MlOps.Client.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("MlOps.Client.sln not found above " + AppContext.BaseDirectory);
    }

    private static IEnumerable<string> Files() =>
        new[] { "README.md" }
            .Concat(Directory.GetFiles(Path.Combine(Root, "docs"), "*.md").Select(f => Path.GetRelativePath(Root, f)))
            .Concat(Directory.GetDirectories(Path.Combine(Root, "src")).Select(d => Path.Combine(d, "README.md")).Where(File.Exists).Select(f => Path.GetRelativePath(Root, f)))
            .Select(f => f.Replace('\\', '/'))
            .Order(StringComparer.Ordinal);

    private static List<string> Blocks(string markdown) => [.. CSharpBlock().Matches(markdown).Select(m => m.Groups["code"].Value)];

    [GeneratedRegex(@"^```csharp[ \t]*\r?\n(?<code>.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();
}
