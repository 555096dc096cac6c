using System.Reflection;
using System.Runtime.InteropServices;

namespace MlOps.Client.XGBoost.Native;

/// <summary>
/// Finds and loads <c>libxgboost</c> where users already have it (<see cref="LibrarySearch"/>: <c>XGBOOST_LIBRARY_PATH</c>,
/// the application's runtime folder, a Python environment, Homebrew, vcpkg, the system loader), checks its version and
/// the functions this binding needs, and checks every return code of the C API.
/// </summary>
internal static class XGBoostLibrary
{
    /// <summary>The environment variable naming the library file or its folder.</summary>
    internal const string PathVariable = MlOps.Client.Configuration.MlflowEnvironment.XGBoostLibraryPath;

    private static int s_registered;
    private static nint s_handle;
    private static Version? s_version;
    private static bool s_trainOneIter;

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
            var handle = Load(LibrarySearch.Current, assembly, searchPath);
            s_trainOneIter = NativeLibrary.TryGetExport(handle, "XGBoosterTrainOneIter", out _);
            s_version = ReadVersion(handle);
            s_handle = handle;
        }

        return s_handle;
    }

    /// <summary>Whether the loaded library has <paramref name="function"/> (the binding calls what each version has).</summary>
    internal static bool Has(XGBoostFunction function)
    {
        EnsureResolver();
        if (s_handle == nint.Zero)
        {
            NativeMethods.XGBoostVersion(out _, out _, out _); // loads the library through the resolver
        }

        return function switch
        {
            XGBoostFunction.TrainOneIter => s_trainOneIter,
            _ => false,
        };
    }

    /// <summary>The first XGBoost that neither writes nor reads the legacy binary model format (3.1: only JSON and UBJSON).</summary>
    internal static readonly Version LegacyBinaryDropped = new(3, 1);

    /// <summary>The oldest libxgboost this binding works with (it calls functions added up to 1.7).</summary>
    internal static readonly Version MinimumVersion = new(1, 7, 0);

    /// <summary>Loads the library named by <c>XGBOOST_LIBRARY_PATH</c> (a file or a folder) only, or searches as this process would without it.</summary>
    internal static nint Load(string? configuredPath, Assembly? assembly = null, DllImportSearchPath? searchPath = null)
    {
        var current = LibrarySearch.Current;
        var search = new LibrarySearch
        {
            Os = current.Os,
            Architecture = current.Architecture,
            BaseDirectory = current.BaseDirectory,
            Environment = name => name == PathVariable ? configuredPath : current.Environment(name),
        };
        return Load(search, assembly, searchPath);
    }

    /// <summary>
    /// Loads the first library found that loads and passes <see cref="CheckVersion"/>, or throws
    /// <see cref="XGBoostLibraryNotFoundException"/> naming every place searched with what happened there, including the
    /// loader's own reason (a missing dependency such as libgomp, a wrong architecture) — not only "not found".
    /// </summary>
    internal static nint Load(LibrarySearch search, Assembly? assembly = null, DllImportSearchPath? searchPath = null) =>
        Load(search, out _, assembly, searchPath);

    /// <inheritdoc cref="Load(LibrarySearch, Assembly?, DllImportSearchPath?)"/>
    /// <param name="search">Where to look.</param>
    /// <param name="loadedFrom">The file or name that loaded.</param>
    /// <param name="assembly">The assembly whose load context resolves bare names.</param>
    /// <param name="searchPath">The search path flags for bare names.</param>
    internal static nint Load(LibrarySearch search, out string loadedFrom, Assembly? assembly = null, DllImportSearchPath? searchPath = null)
    {
        var tried = new List<string>();
        var report = new List<string>();
        var configured = search.Environment(PathVariable);
        foreach (var place in search.Places())
        {
            if (place.Skipped is not null)
            {
                report.Add($"{place.Name}: {place.Skipped}");
                continue;
            }

            IEnumerable<string> candidates;
            if (place.File is not null)
            {
                candidates = [place.File];
            }
            else if (place.Folder is not null)
            {
                candidates = search.FileNames.Select(n => Path.Combine(place.Folder, n)).Where(f => place.Final || File.Exists(f)).ToArray();
                if (!candidates.Any())
                {
                    report.Add($"{place.Name}: no {search.FileNames[0]} in {place.Folder}");
                    continue;
                }
            }
            else
            {
                candidates = search.FileNames;
            }

            var reasons = new List<string>();
            foreach (var candidate in candidates)
            {
                tried.Add(candidate);
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

                try
                {
                    CheckVersion(handle, candidate);
                }
                catch (XGBoostLibraryNotFoundException ex) when (!place.Final)
                {
                    reasons.Add(ex.Message); // too old or not libxgboost: a later place may have a good one
                    continue;
                }

                loadedFrom = candidate;
                return handle;
            }

            report.Add($"{place.Name}: {string.Join("; ", reasons)}");
            if (place.Final)
            {
                break;
            }
        }

        throw new XGBoostLibraryNotFoundException(configured, tried, report);
    }

    /// <summary>Refuses a library older than <see cref="MinimumVersion"/> or without the functions this binding calls.</summary>
    internal static void CheckVersion(nint library, string name)
    {
        if (!NativeLibrary.TryGetExport(library, "XGBoostVersion", out _))
        {
            NativeLibrary.Free(library);
            throw new XGBoostLibraryNotFoundException($"'{name}' loaded but has no XGBoostVersion function: it is not libxgboost, or older than {MinimumVersion}.");
        }

        var version = ReadVersion(library);
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

    private static unsafe Version ReadVersion(nint library)
    {
        var function = NativeLibrary.GetExport(library, "XGBoostVersion");
        int major, minor, patch;
        ((delegate* unmanaged[Cdecl]<int*, int*, int*, void>)function)(&major, &minor, &patch);
        return new Version(major, minor, patch);
    }

    /// <summary>Functions whose absence would otherwise surface as an EntryPointNotFoundException in the middle of a training.</summary>
    internal static readonly string[] RequiredExports =
    [
        "XGBoosterPredictFromDMatrix", "XGBoosterPredictFromDense", "XGBoosterSaveModelToBuffer", "XGBoosterSlice",
        "XGBoosterFeatureScore", "XGBRegisterLogCallback", "XGDMatrixCreateFromMat_omp", "XGDMatrixCreateFromCSR",
        "XGDMatrixSetInfoFromInterface", "XGProxyDMatrixCreate",
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
        if (s_version is { } known)
        {
            return known;
        }

        NativeMethods.XGBoostVersion(out var major, out var minor, out var patch);
        return new Version(major, minor, patch);
    }
}

/// <summary>C functions that only some XGBoost versions have; the binding calls the one the loaded library has.</summary>
internal enum XGBoostFunction
{
    /// <summary><c>XGBoosterTrainOneIter</c> (2.1 and later), which replaces the deprecated <c>XGBoosterBoostOneIter</c>.</summary>
    TrainOneIter,
}
