using System.Diagnostics;
using System.Runtime.InteropServices;

namespace MlOps.Client.XGBoost.Native;

/// <summary>
/// One place <c>libxgboost</c> may be, in the order they are searched: a folder (<see cref="Folder"/>), one file
/// (<see cref="File"/>), or the system loader's own search (both <see langword="null"/>). <see cref="Skipped"/> says why
/// a place was not looked at (a variable not set, another OS), for the error that lists every place.
/// </summary>
/// <param name="Name">What the place is, as the error names it (e.g. <c>VIRTUAL_ENV</c>, <c>Homebrew</c>).</param>
/// <param name="Folder">A folder holding the library under one of <see cref="LibrarySearch.FileNames"/>, or <see langword="null"/>.</param>
/// <param name="File">One library file, or <see langword="null"/>.</param>
/// <param name="Skipped">Why this place was not searched, or <see langword="null"/>.</param>
/// <param name="Final">Whether the search stops here whatever happens (an explicit <c>XGBOOST_LIBRARY_PATH</c> is not second-guessed).</param>
internal sealed record LibraryPlace(string Name, string? Folder = null, string? File = null, string? Skipped = null, bool Final = false)
{
    /// <summary>The system loader's search (LD_LIBRARY_PATH, the ld cache, PATH on Windows, DYLD paths on macOS).</summary>
    public bool IsSystem => Folder is null && File is null && Skipped is null;
}

/// <summary>
/// Where <c>libxgboost</c> is looked for, in order: <c>XGBOOST_LIBRARY_PATH</c>; the application's
/// <c>runtimes/&lt;rid&gt;/native</c> (where a runtime package puts it) and its own folder; a Python environment's
/// <c>xgboost/lib</c> (<c>VIRTUAL_ENV</c>, <c>CONDA_PREFIX</c>; asking <c>python3</c> only when
/// <c>MLOPS_XGBOOST_PYTHON</c> allows it); Homebrew on macOS; vcpkg (<c>VCPKG_ROOT</c>); the system loader. A pure
/// function of its inputs, so each OS's order is tested on any OS.
/// </summary>
internal sealed class LibrarySearch
{
    /// <summary>The variable that lets the search ask a Python interpreter where its <c>xgboost</c> package is: <c>1</c>/<c>true</c> for <c>python3</c> (<c>python</c> on Windows), or an interpreter's path.</summary>
    internal const string PythonVariable = MlOps.Client.Configuration.MlflowEnvironment.XGBoostPython;

    public required OSPlatform Os { get; init; }

    public required Architecture Architecture { get; init; }

    /// <summary>The application's folder (<see cref="AppContext.BaseDirectory"/>).</summary>
    public required string BaseDirectory { get; init; }

    public required Func<string, string?> Environment { get; init; }

    public Func<string, bool> DirectoryExists { get; init; } = Directory.Exists;

    /// <summary>Asks an interpreter for its <c>xgboost</c> package's folder (<see cref="AskPython"/> by default); <see langword="null"/> when it has none.</summary>
    public Func<string, string?> Python { get; init; } = AskPython;

    /// <summary>The search of this process.</summary>
    public static LibrarySearch Current => new()
    {
        Os = OperatingSystem.IsWindows() ? OSPlatform.Windows : OperatingSystem.IsMacOS() ? OSPlatform.OSX : OSPlatform.Linux,
        Architecture = RuntimeInformation.ProcessArchitecture,
        BaseDirectory = AppContext.BaseDirectory,
        Environment = System.Environment.GetEnvironmentVariable,
    };

    /// <summary>The file names of libxgboost on this OS, most usual first (Debian's package ships <c>libxgboost.so.0</c>).</summary>
    public IReadOnlyList<string> FileNames =>
        Os == OSPlatform.Windows ? ["xgboost.dll", "libxgboost.dll"]
        : Os == OSPlatform.OSX ? ["libxgboost.dylib"]
        : ["libxgboost.so", "libxgboost.so.0"];

    /// <summary>The runtime identifier a runtime package uses for this OS and architecture (e.g. <c>linux-x64</c>, <c>osx-arm64</c>).</summary>
    public string RuntimeIdentifier =>
        (Os == OSPlatform.Windows ? "win" : Os == OSPlatform.OSX ? "osx" : "linux") + "-" + Architecture.ToString().ToLowerInvariant();

    /// <summary>The places, in the order searched.</summary>
    public IReadOnlyList<LibraryPlace> Places()
    {
        var places = new List<LibraryPlace>();
        var configured = Environment(XGBoostLibrary.PathVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            // An explicit setting is the only place: a wrong path must say so, not load another library silently.
            places.Add(DirectoryExists(configured)
                ? new LibraryPlace(XGBoostLibrary.PathVariable, Folder: configured, Final: true)
                : new LibraryPlace(XGBoostLibrary.PathVariable, File: configured, Final: true));
            return places;
        }

        places.Add(new LibraryPlace($"{XGBoostLibrary.PathVariable} (not set)", Skipped: "not set"));
        places.Add(new LibraryPlace($"the application's runtimes/{RuntimeIdentifier}/native", Folder: Path.Combine(BaseDirectory, "runtimes", RuntimeIdentifier, "native")));
        places.Add(new LibraryPlace("the application's folder", Folder: BaseDirectory));
        places.AddRange(PythonEnvironment("VIRTUAL_ENV"));
        places.AddRange(PythonEnvironment("CONDA_PREFIX"));
        places.Add(AskedPython());
        places.AddRange(Homebrew());
        places.AddRange(Vcpkg());
        places.Add(new LibraryPlace("the system loader"));
        return places;
    }

    private IEnumerable<LibraryPlace> PythonEnvironment(string variable)
    {
        var prefix = Environment(variable);
        if (string.IsNullOrWhiteSpace(prefix))
        {
            yield return new LibraryPlace(variable, Skipped: "not set");
            yield break;
        }

        // pip's wheel: <site-packages>/xgboost/lib; Windows keeps site-packages in Lib, the others in lib/pythonX.Y.
        var sitePackages = new List<string>();
        if (Os == OSPlatform.Windows)
        {
            sitePackages.Add(Path.Combine(prefix, "Lib", "site-packages"));
        }
        else
        {
            var lib = Path.Combine(prefix, "lib");
            if (DirectoryExists(lib))
            {
                try
                {
                    sitePackages.AddRange(Directory.EnumerateDirectories(lib, "python3*").Order(StringComparer.Ordinal).Reverse().Select(d => Path.Combine(d, "site-packages")));
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    // an unreadable prefix is reported below as a folder without the library
                }
            }

            if (sitePackages.Count == 0)
            {
                sitePackages.Add(Path.Combine(lib, "python3", "site-packages"));
            }
        }

        foreach (var site in sitePackages)
        {
            yield return new LibraryPlace($"{variable} (pip's xgboost)", Folder: Path.Combine(site, "xgboost", "lib"));
        }

        if (variable == "CONDA_PREFIX")
        {
            // conda-forge's libxgboost package puts the library beside the environment's other native libraries.
            yield return new LibraryPlace($"{variable} (conda's libxgboost)", Folder: Os == OSPlatform.Windows ? Path.Combine(prefix, "Library", "bin") : Path.Combine(prefix, "lib"));
        }
    }

    private LibraryPlace AskedPython()
    {
        var setting = Environment(PythonVariable);
        if (string.IsNullOrWhiteSpace(setting) || setting is "0" || setting.Equals("false", StringComparison.OrdinalIgnoreCase))
        {
            return new LibraryPlace("a Python interpreter", Skipped: $"not asked (set {PythonVariable}=1 to let it ask python3 where its xgboost is)");
        }

        var interpreter = setting is "1" || setting.Equals("true", StringComparison.OrdinalIgnoreCase)
            ? (Os == OSPlatform.Windows ? "python" : "python3")
            : setting;
        var package = Python(interpreter);
        return package is null
            ? new LibraryPlace($"{interpreter} ({PythonVariable})", Skipped: "it has no xgboost package, or did not answer")
            : new LibraryPlace($"{interpreter} ({PythonVariable})", Folder: Path.Combine(package, "lib"));
    }

    private IEnumerable<LibraryPlace> Homebrew()
    {
        if (Os != OSPlatform.OSX)
        {
            yield return new LibraryPlace("Homebrew", Skipped: "macOS only");
            yield break;
        }

        var prefix = Environment("HOMEBREW_PREFIX");
        var prefixes = new List<string>();
        if (!string.IsNullOrWhiteSpace(prefix))
        {
            prefixes.Add(prefix);
        }

        prefixes.Add("/opt/homebrew"); // Apple silicon
        prefixes.Add("/usr/local"); // Intel
        foreach (var p in prefixes.Distinct(StringComparer.Ordinal))
        {
            yield return new LibraryPlace("Homebrew (brew install xgboost)", Folder: Path.Combine(p, "opt", "xgboost", "lib"));
        }
    }

    private IEnumerable<LibraryPlace> Vcpkg()
    {
        var root = Environment("VCPKG_ROOT") is { Length: > 0 } r ? r : Environment("VCPKG_INSTALLATION_ROOT");
        if (string.IsNullOrWhiteSpace(root))
        {
            yield return new LibraryPlace("vcpkg", Skipped: "VCPKG_ROOT not set");
            yield break;
        }

        var triplet = Architecture.ToString().ToLowerInvariant() + "-" + (Os == OSPlatform.Windows ? "windows" : Os == OSPlatform.OSX ? "osx" : "linux");
        var installed = Path.Combine(root, "installed", triplet);
        yield return new LibraryPlace($"vcpkg ({triplet})", Folder: Path.Combine(installed, Os == OSPlatform.Windows ? "bin" : "lib"));
    }

    /// <summary>
    /// Asks <paramref name="interpreter"/> where its <c>xgboost</c> package is without importing it (importlib's
    /// <c>find_spec</c> reads no native code); 10 seconds at most. <see langword="null"/> when it has none or fails.
    /// </summary>
    internal static string? AskPython(string interpreter)
    {
        var start = new ProcessStartInfo(interpreter)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            CreateNoWindow = true,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("import importlib.util, os; s = importlib.util.find_spec('xgboost'); print(os.path.dirname(s.origin) if s and s.origin else '')");
        try
        {
            using var process = Process.Start(start);
            if (process is null)
            {
                return null;
            }

            process.ErrorDataReceived += static (_, _) => { }; // drained, so a chatty interpreter never blocks on it
            process.BeginErrorReadLine();
            // The loader's resolver is synchronous by nature; the answer is one line, well within the pipe's buffer.
            if (!process.WaitForExit(10_000))
            {
                process.Kill(entireProcessTree: true);
                return null;
            }

            var output = process.StandardOutput.ReadToEnd().Trim();
            return process.ExitCode == 0 && output.Length > 0 ? output : null;
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            return null;
        }
    }
}
