using System.Runtime.InteropServices;
using MlOps.Client.XGBoost.Native;

namespace MlOps.Client.XGBoost.Tests;

/// <summary>Where libxgboost is looked for (issue X), per OS, and what the error says when it is nowhere.</summary>
[Collection(XGBoostCollection.Name)]
public sealed class LibrarySearchTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-xgb-search-");

    public void Dispose() => _dir.Delete(recursive: true);

    private static LibrarySearch Search(OSPlatform os, Architecture arch, string baseDirectory, Dictionary<string, string> environment, Func<string, string?>? python = null) => new()
    {
        Os = os,
        Architecture = arch,
        BaseDirectory = baseDirectory,
        Environment = name => environment.GetValueOrDefault(name),
        Python = python ?? (_ => throw new InvalidOperationException("python was asked without being allowed")),
    };

    [Fact]
    public void Linux_searches_the_apps_runtime_folder_then_Python_environments_then_vcpkg_then_the_system()
    {
        var search = Search(OSPlatform.Linux, Architecture.X64, "/app", []);
        var places = search.Places();
        Assert.Equal(
            ["XGBOOST_LIBRARY_PATH (not set)", "the application's runtimes/linux-x64/native", "the application's folder", "VIRTUAL_ENV", "CONDA_PREFIX", "a Python interpreter", "Homebrew", "vcpkg", "the system loader"],
            places.Select(p => p.Name));
        Assert.Equal(Path.Combine("/app", "runtimes", "linux-x64", "native"), places[1].Folder);
        Assert.Equal("not set", places[3].Skipped);
        Assert.Contains("MLOPS_XGBOOST_PYTHON=1", places[5].Skipped, StringComparison.Ordinal);
        Assert.Equal("macOS only", places[6].Skipped);
        Assert.True(places[^1].IsSystem);
        Assert.Equal(["libxgboost.so", "libxgboost.so.0"], search.FileNames);
    }

    [Fact]
    public void A_virtual_environment_and_a_conda_prefix_are_searched_where_pip_and_conda_put_the_library()
    {
        var venv = Directory.CreateDirectory(Path.Combine(_dir.FullName, "venv", "lib", "python3.12")).Parent!.Parent!.FullName;
        var search = Search(OSPlatform.Linux, Architecture.Arm64, "/app", new() { ["VIRTUAL_ENV"] = venv, ["CONDA_PREFIX"] = "/opt/conda/envs/ml" });
        var places = search.Places();
        Assert.Contains(places, p => p.Folder == Path.Combine(venv, "lib", "python3.12", "site-packages", "xgboost", "lib"));
        Assert.Contains(places, p => p.Folder == Path.Combine("/opt/conda/envs/ml", "lib", "python3", "site-packages", "xgboost", "lib"));
        Assert.Contains(places, p => p.Name == "CONDA_PREFIX (conda's libxgboost)" && p.Folder == Path.Combine("/opt/conda/envs/ml", "lib"));
        Assert.Equal(Path.Combine("/app", "runtimes", "linux-arm64", "native"), places[1].Folder);
    }

    [Fact]
    public void Windows_searches_xgboost_dll_in_the_wheels_Lib_folder_condas_Library_bin_and_vcpkgs_bin()
    {
        var search = Search(OSPlatform.Windows, Architecture.X64, "C:/app", new() { ["VIRTUAL_ENV"] = "C:/venv", ["CONDA_PREFIX"] = "C:/conda", ["VCPKG_ROOT"] = "C:/vcpkg" });
        var places = search.Places();
        Assert.Equal(["xgboost.dll", "libxgboost.dll"], search.FileNames);
        Assert.Equal("win-x64", search.RuntimeIdentifier);
        Assert.Contains(places, p => p.Folder == Path.Combine("C:/venv", "Lib", "site-packages", "xgboost", "lib"));
        Assert.Contains(places, p => p.Folder == Path.Combine("C:/conda", "Library", "bin"));
        Assert.Contains(places, p => p.Name == "vcpkg (x64-windows)" && p.Folder == Path.Combine("C:/vcpkg", "installed", "x64-windows", "bin"));
    }

    [Fact]
    public void MacOS_searches_Homebrew_on_Apple_silicon_and_Intel()
    {
        var search = Search(OSPlatform.OSX, Architecture.Arm64, "/Applications/app", []);
        var places = search.Places();
        Assert.Equal(["libxgboost.dylib"], search.FileNames);
        Assert.Equal("osx-arm64", search.RuntimeIdentifier);
        Assert.Equal(
            [Path.Combine("/opt/homebrew", "opt", "xgboost", "lib"), Path.Combine("/usr/local", "opt", "xgboost", "lib")],
            places.Where(p => p.Name.StartsWith("Homebrew", StringComparison.Ordinal)).Select(p => p.Folder));
    }

    [Fact]
    public void Python_is_asked_only_when_allowed_and_its_packages_lib_folder_is_searched()
    {
        var asked = new List<string>();
        string? Answer(string interpreter)
        {
            asked.Add(interpreter);
            return "/srv/env/site-packages/xgboost";
        }

        Search(OSPlatform.Linux, Architecture.X64, "/app", [], Answer).Places();
        Assert.Empty(asked);

        var places = Search(OSPlatform.Linux, Architecture.X64, "/app", new() { ["MLOPS_XGBOOST_PYTHON"] = "1" }, Answer).Places();
        Assert.Equal(["python3"], asked);
        Assert.Contains(places, p => p.Name == "python3 (MLOPS_XGBOOST_PYTHON)" && p.Folder == Path.Combine("/srv/env/site-packages/xgboost", "lib"));

        Search(OSPlatform.Windows, Architecture.X64, "C:/app", new() { ["MLOPS_XGBOOST_PYTHON"] = "true" }, Answer).Places();
        Search(OSPlatform.Linux, Architecture.X64, "/app", new() { ["MLOPS_XGBOOST_PYTHON"] = "/opt/py/bin/python" }, Answer).Places();
        Assert.Equal(["python3", "python", "/opt/py/bin/python"], asked);

        var none = Search(OSPlatform.Linux, Architecture.X64, "/app", new() { ["MLOPS_XGBOOST_PYTHON"] = "1" }, _ => null).Places();
        Assert.Contains(none, p => p.Name == "python3 (MLOPS_XGBOOST_PYTHON)" && p.Skipped is not null);
    }

    [UnixFact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Asking_python_runs_the_interpreter_and_reads_its_one_line_answer()
    {
        var script = Path.Combine(_dir.FullName, "fake-python");
        File.WriteAllText(script, "#!/bin/sh\n[ \"$1\" = \"-c\" ] || exit 3\necho noise >&2\necho /srv/env/site-packages/xgboost\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Assert.Equal("/srv/env/site-packages/xgboost", LibrarySearch.AskPython(script));

        var failing = Path.Combine(_dir.FullName, "failing-python");
        File.WriteAllText(failing, "#!/bin/sh\nexit 1\n");
        File.SetUnixFileMode(failing, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Assert.Null(LibrarySearch.AskPython(failing));
        Assert.Null(LibrarySearch.AskPython(Path.Combine(_dir.FullName, "no-such-python")));
    }

    [Fact]
    public void When_the_library_is_nowhere_the_error_names_every_place_in_order_with_what_happened_there()
    {
        // Windows' file names on this machine: nothing loads anywhere, whatever is installed here.
        var search = Search(OSPlatform.Windows, Architecture.X64, _dir.FullName, new() { ["VIRTUAL_ENV"] = Path.Combine(_dir.FullName, "venv") });
        var error = Assert.Throws<XGBoostLibraryNotFoundException>(() => XGBoostLibrary.Load(search));
        var message = error.Message;
        string[] inOrder =
        [
            "XGBOOST_LIBRARY_PATH (not set): not set",
            $"the application's runtimes/win-x64/native: no xgboost.dll in {Path.Combine(_dir.FullName, "runtimes", "win-x64", "native")}",
            $"the application's folder: no xgboost.dll in {_dir.FullName}",
            "VIRTUAL_ENV (pip's xgboost): no xgboost.dll in",
            "CONDA_PREFIX: not set",
            "a Python interpreter: not asked",
            "Homebrew: macOS only",
            "vcpkg: VCPKG_ROOT not set",
            "the system loader: xgboost.dll:",
        ];
        var at = 0;
        foreach (var part in inOrder)
        {
            var found = message.IndexOf(part, at, StringComparison.Ordinal);
            Assert.True(found >= 0, $"'{part}' not found in order in: {message}");
            at = found + part.Length;
        }

        Assert.Equal(["xgboost.dll", "libxgboost.dll"], error.Tried);
    }

    [XGBoostOnLinuxFact]
    public void A_library_in_a_virtual_environment_loads_from_there()
    {
        var real = LoadedLibraryFile();
        var venv = Path.Combine(_dir.FullName, "venv");
        var lib = Directory.CreateDirectory(Path.Combine(venv, "lib", "python3.11", "site-packages", "xgboost", "lib"));
        var copy = Path.Combine(lib.FullName, "libxgboost.so");
        File.Copy(real, copy);

        var handle = XGBoostLibrary.Load(Search(OSPlatform.Linux, RuntimeInformation.ProcessArchitecture, _dir.FullName, new() { ["VIRTUAL_ENV"] = venv }), out var from);
        Assert.NotEqual(nint.Zero, handle);
        Assert.Equal(copy, from);
    }

    [XGBoostOnLinuxFact]
    public void A_library_that_is_not_libxgboost_in_an_earlier_place_is_reported_and_a_later_one_used()
    {
        var real = LoadedLibraryFile();
        var runtime = Directory.CreateDirectory(Path.Combine(_dir.FullName, "runtimes", "linux-" + RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant(), "native"));
        File.Copy(LoadedFile("libm.so"), Path.Combine(runtime.FullName, "libxgboost.so"));
        File.Copy(real, Path.Combine(_dir.FullName, "libxgboost.so"));

        var handle = XGBoostLibrary.Load(Search(OSPlatform.Linux, RuntimeInformation.ProcessArchitecture, _dir.FullName, []), out var from);
        Assert.NotEqual(nint.Zero, handle);
        Assert.Equal(Path.Combine(_dir.FullName, "libxgboost.so"), from);
    }

    /// <summary>The file the binding loaded libxgboost from (Linux: /proc/self/maps), so the tests copy the real thing.</summary>
    private static string LoadedLibraryFile()
    {
        _ = Booster.LibraryVersion;
        return LoadedFile("libxgboost");
    }

    private static string LoadedFile(string namePart)
    {
        if (namePart == "libm.so")
        {
            NativeLibrary.Load("libm.so.6");
        }

        // Not a copy these tests loaded from their temporary folders (it may be deleted by now).
        var line = File.ReadLines("/proc/self/maps").FirstOrDefault(l =>
            l.Contains('/' + namePart, StringComparison.Ordinal) && !l.Contains("/mlops-xgb", StringComparison.Ordinal) && !l.EndsWith("(deleted)", StringComparison.Ordinal));
        Assert.True(line is not null, $"{namePart} is not mapped in this process");
        return line[line.IndexOf('/', StringComparison.Ordinal)..].Trim();
    }
}
