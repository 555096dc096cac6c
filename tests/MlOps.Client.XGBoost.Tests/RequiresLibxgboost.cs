namespace MlOps.Client.XGBoost.Tests;

/// <summary>
/// Whether libxgboost loads here. Tests that need it skip, with the install command, when it does not — except when
/// <c>MLOPS_REQUIRE_XGBOOST=1</c> (set by <c>.ci/run</c>, which installs the library): then they run and fail with the
/// binding's own message, so CI never passes by skipping them.
/// </summary>
internal static class Libxgboost
{
    private static readonly Lazy<string?> Reason = new(() =>
    {
        if (Environment.GetEnvironmentVariable("MLOPS_REQUIRE_XGBOOST") == "1")
        {
            return null;
        }

        try
        {
            _ = Booster.LibraryVersion;
            return null;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return "libxgboost is not installed here (Debian/Ubuntu: apt-get install libxgboost0; or set XGBOOST_LIBRARY_PATH): " + ex.Message;
        }
    });

    /// <summary>Why the tests that need the library are skipped, or <see langword="null"/> when it loads.</summary>
    public static string? SkipReason => Reason.Value;
}

/// <summary>A fact that needs libxgboost (skipped with the install command when it is missing).</summary>
public sealed class XGBoostFactAttribute : FactAttribute
{
    public XGBoostFactAttribute() => Skip = Libxgboost.SkipReason;
}

/// <summary>A theory that needs libxgboost (skipped with the install command when it is missing).</summary>
public sealed class XGBoostTheoryAttribute : TheoryAttribute
{
    public XGBoostTheoryAttribute() => Skip = Libxgboost.SkipReason;
}

/// <summary>A fact that needs libxgboost and Linux (it finds the loaded library's file in /proc/self/maps).</summary>
public sealed class XGBoostOnLinuxFactAttribute : FactAttribute
{
    public XGBoostOnLinuxFactAttribute() => Skip = OperatingSystem.IsLinux() ? Libxgboost.SkipReason : "Linux only: finds the loaded library's file in /proc/self/maps";
}

/// <summary>A fact that runs shell scripts (skipped on Windows, with that reason).</summary>
public sealed class UnixFactAttribute : FactAttribute
{
    public UnixFactAttribute() => Skip = OperatingSystem.IsWindows() ? "runs a shell script" : null;
}
