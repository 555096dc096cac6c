using System.Runtime.CompilerServices;

namespace MlOps.Client.Testing;

/// <summary>
/// Trackers on a tracking server spool to disk during outages (by default under the user's local application data).
/// Tests — and the child processes they start, which inherit the environment — spool into a temporary folder instead.
/// </summary>
internal static class TestSpoolDirectory
{
#pragma warning disable CA2255 // a test assembly's one-time environment setup
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Initialize()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("MLOPS_SPOOL_DIR")))
        {
            var folder = Path.Combine(Path.GetTempPath(), "mlops-test-spool-" + Environment.ProcessId);
            Environment.SetEnvironmentVariable("MLOPS_SPOOL_DIR", folder);
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                try
                {
                    if (Directory.Exists(folder))
                    {
                        Directory.Delete(folder, recursive: true); // the test run leaves no spool behind
                    }
                }
                catch (IOException)
                {
                }
                catch (UnauthorizedAccessException)
                {
                }
            };
        }
    }
}
