using System.Reflection;
using System.Runtime.InteropServices;

namespace MlOps.Client.XGBoost.Native;

/// <summary>
/// Finds and loads <c>libxgboost</c>: <c>XGBOOST_LIBRARY_PATH</c> (a file, or a folder holding the library) first, then the
/// usual names on the system's search path. Checks every return code of the C API.
/// </summary>
internal static class XGBoostLibrary
{
    /// <summary>The environment variable naming the library file or its folder.</summary>
    internal const string PathVariable = "XGBOOST_LIBRARY_PATH";

    /// <summary>The file names tried, in order, on the search path and inside <see cref="PathVariable"/> when it names a folder.</summary>
    internal static readonly string[] FileNames =
    [
        "libxgboost.so", "libxgboost.so.0", "libxgboost.so.2", "libxgboost.so.1", "xgboost.dll", "libxgboost.dll", "libxgboost.dylib",
    ];

    private static int s_registered;
    private static nint s_handle;

    internal static void EnsureResolver()
    {
        if (Interlocked.Exchange(ref s_registered, 1) == 0)
        {
            NativeLibrary.SetDllImportResolver(typeof(XGBoostLibrary).Assembly, Resolve);
        }
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != NativeMethods.LibraryName)
        {
            return nint.Zero;
        }

        if (s_handle == nint.Zero)
        {
            s_handle = Load(Environment.GetEnvironmentVariable(PathVariable), assembly, searchPath);
        }

        return s_handle;
    }

    /// <summary>The candidates tried for a given <c>XGBOOST_LIBRARY_PATH</c> value, in order.</summary>
    internal static IReadOnlyList<string> Candidates(string? configuredPath)
    {
        var list = new List<string>();
        if (!string.IsNullOrWhiteSpace(configuredPath))
        {
            if (Directory.Exists(configuredPath))
            {
                list.AddRange(FileNames.Select(n => Path.Combine(configuredPath, n)));
            }
            else
            {
                list.Add(configuredPath);
            }

            return list; // an explicit setting is not second-guessed by the search path
        }

        list.AddRange(FileNames);
        return list;
    }

    /// <summary>Loads the first candidate that loads, or throws <see cref="XGBoostLibraryNotFoundException"/> naming them all.</summary>
    internal static nint Load(string? configuredPath, Assembly? assembly = null, DllImportSearchPath? searchPath = null)
    {
        var tried = Candidates(configuredPath);
        foreach (var candidate in tried)
        {
            var loaded = Path.IsPathRooted(candidate)
                ? NativeLibrary.TryLoad(candidate, out var handle)
                : NativeLibrary.TryLoad(candidate, assembly ?? typeof(XGBoostLibrary).Assembly, searchPath, out handle);
            if (loaded)
            {
                return handle;
            }
        }

        throw new XGBoostLibraryNotFoundException(configuredPath, tried);
    }

    /// <summary>Throws an <see cref="XGBoostException"/> carrying <c>XGBGetLastError()</c> when <paramref name="result"/> is not 0.</summary>
    internal static void Check(int result, string function)
    {
        if (result != 0)
        {
            throw new XGBoostException(function, LastError());
        }
    }

    internal static string LastError() => Marshal.PtrToStringUTF8(NativeMethods.XGBGetLastError()) ?? "(no message)";

    /// <summary>The loaded library's version.</summary>
    internal static Version Version()
    {
        NativeMethods.XGBoostVersion(out var major, out var minor, out var patch);
        return new Version(major, minor, patch);
    }
}
