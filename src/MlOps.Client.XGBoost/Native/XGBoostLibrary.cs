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
    internal const string PathVariable = MlOps.Client.Configuration.MlflowEnvironment.XGBoostLibraryPath;

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

    /// <summary>The oldest libxgboost this binding works with (it calls functions added up to 1.7).</summary>
    internal static readonly Version MinimumVersion = new(1, 7, 0);

    /// <summary>
    /// Loads the first candidate that loads and checks its version at once, or throws
    /// <see cref="XGBoostLibraryNotFoundException"/> naming every candidate with the loader's own reason
    /// (e.g. a missing dependency such as libgomp, or a wrong architecture) — not only "not found".
    /// </summary>
    internal static nint Load(string? configuredPath, Assembly? assembly = null, DllImportSearchPath? searchPath = null)
    {
        var tried = Candidates(configuredPath);
        var reasons = new List<string>(tried.Count);
        foreach (var candidate in tried)
        {
            nint handle;
            try
            {
                handle = Path.IsPathRooted(candidate)
                    ? NativeLibrary.Load(candidate)
                    : NativeLibrary.Load(candidate, assembly ?? typeof(XGBoostLibrary).Assembly, searchPath);
            }
            catch (Exception ex) when (ex is DllNotFoundException or BadImageFormatException)
            {
                reasons.Add($"{candidate}: {LoaderReason(ex.Message, candidate)}");
                continue;
            }

            CheckVersion(handle, candidate);
            return handle;
        }

        throw new XGBoostLibraryNotFoundException(configuredPath, tried, reasons);
    }

    /// <summary>Refuses a library older than <see cref="MinimumVersion"/> or without the functions this binding calls.</summary>
    internal static unsafe void CheckVersion(nint library, string name)
    {
        if (!NativeLibrary.TryGetExport(library, "XGBoostVersion", out var versionFunction))
        {
            NativeLibrary.Free(library);
            throw new XGBoostLibraryNotFoundException($"'{name}' loaded but has no XGBoostVersion function: it is not libxgboost, or older than {MinimumVersion}.");
        }

        int major, minor, patch;
        ((delegate* unmanaged[Cdecl]<int*, int*, int*, void>)versionFunction)(&major, &minor, &patch);
        var version = new Version(major, minor, patch);
        var missing = RequiredExports.Where(f => !NativeLibrary.TryGetExport(library, f, out _)).ToArray();
        if (version < MinimumVersion || missing.Length > 0)
        {
            NativeLibrary.Free(library);
            throw new XGBoostLibraryNotFoundException(
                $"'{name}' is libxgboost {version}; this package needs {MinimumVersion} or later" +
                (missing.Length > 0 ? $" (missing: {string.Join(", ", missing)})." : ".") +
                " Install a newer one (pip's xgboost wheel ships libxgboost), or set XGBOOST_LIBRARY_PATH to it.");
        }
    }

    /// <summary>Functions whose absence would otherwise surface as an EntryPointNotFoundException in the middle of a training.</summary>
    internal static readonly string[] RequiredExports =
    [
        "XGBoosterPredictFromDMatrix", "XGBoosterPredictFromDense", "XGBoosterSaveModelToBuffer", "XGBoosterSlice",
        "XGBoosterFeatureScore", "XGBRegisterLogCallback", "XGDMatrixCreateFromMat_omp", "XGDMatrixCreateFromCSREx",
        "XGDMatrixSetInfoFromInterface",
    ];

    /// <summary>The loader's own words (dlerror/LoadLibrary), which .NET puts after its generic first line.</summary>
    private static string LoaderReason(string message, string candidate)
    {
        var lines = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var own = lines.Skip(1).Select(l => l.StartsWith(candidate + ":", StringComparison.Ordinal) ? l[(candidate.Length + 1)..].Trim() : l).ToArray();
        return own.Length > 0 ? string.Join("; ", own) : lines.FirstOrDefault() ?? message;
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
