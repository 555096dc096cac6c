using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace MlOps.Client.Testing;

/// <summary>
/// The storage emulators from the npm registry that the artifact-store tests run against on 127.0.0.1: s3rver (S3) and
/// Azurite (Microsoft's Azure Storage emulator), installed into <c>tests/Emulators/node_modules</c> by <c>.ci/run</c>
/// or, the first time, by this class (<c>npm install</c>, under a lock shared by the test assemblies). When Node.js or
/// the registry is missing the tests skip with the reason — except under <c>MLOPS_REQUIRE_EMULATORS=1</c> (set by
/// <c>.ci/run</c>), where they run and fail, so CI never passes by skipping them.
/// </summary>
internal static class Emulators
{
    private static readonly Lazy<string?> Reason = new(Install);

    /// <summary>Why emulator tests are skipped, or <see langword="null"/> when the emulators are installed.</summary>
    public static string? SkipReason => Reason.Value is { } reason && Environment.GetEnvironmentVariable("MLOPS_REQUIRE_EMULATORS") != "1" ? reason : null;

    /// <summary>The folder that holds <c>package.json</c> and <c>node_modules</c>.</summary>
    public static string Folder => Path.Combine(SampleProcess.RepositoryRoot(), "tests", "Emulators");

    /// <summary>The path of a package's script under <c>node_modules</c>.</summary>
    public static string Script(string relative) => Path.Combine(Folder, "node_modules", relative);

    private static bool Installed() =>
        File.Exists(Script("s3rver/bin/s3rver.js")) && File.Exists(Script("azurite/dist/src/blob/main.js"));

    private static string? Install()
    {
        if (Installed())
        {
            return null;
        }

        var npm = FindOnPath("npm");
        if (npm is null || FindOnPath("node") is null)
        {
            return "Node.js and npm are not installed here (Debian/Ubuntu: apt-get install nodejs npm); the S3 and Azure emulators come from the npm registry.";
        }

        try
        {
            using var gate = Lock(TimeSpan.FromMinutes(5));
            if (Installed())
            {
                return null;
            }

            var start = new ProcessStartInfo(npm) { WorkingDirectory = Folder, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "install", "--no-audit", "--no-fund", "--no-package-lock", "--loglevel=error" })
            {
                start.ArgumentList.Add(a);
            }

            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
            {
                process.Kill(entireProcessTree: true);
                return "npm install of the emulators (tests/Emulators) took more than 5 minutes.";
            }

            return process.ExitCode == 0 && Installed() ? null : $"npm install of the emulators (tests/Emulators) failed: {error.Result}{output.Result}".Trim();
        }
        catch (Exception ex) when (ex is IOException or System.ComponentModel.Win32Exception or TimeoutException)
        {
            return "Could not install the emulators (tests/Emulators): " + ex.Message;
        }
    }

    private static FileStream Lock(TimeSpan cap)
    {
        var path = Path.Combine(Folder, ".install.lock");
        var deadline = DateTime.UtcNow + cap;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(200); // another test assembly is installing; its process holds the lock
            }
            catch (IOException)
            {
                throw new TimeoutException("Another process held tests/Emulators/.install.lock for " + cap);
            }
        }
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    /// <summary>A free TCP port on 127.0.0.1.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts an emulator on a free port (another one when the port was taken meanwhile), at most 3 tries.</summary>
    public static async Task<EmulatorProcess> StartOnFreePortAsync(string script, Func<int, string[]> args)
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort();
            try
            {
                return await StartAsync(script, port, args(port));
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                // exited at start (EADDRINUSE: the port went to another process between FreePort and the bind)
            }
        }
    }

    /// <summary>Starts <c>node script args…</c> and waits (at most 60 s) until it accepts connections on <paramref name="port"/>.</summary>
    public static async Task<EmulatorProcess> StartAsync(string script, int port, params string[] args)
    {
        var start = new ProcessStartInfo(FindOnPath("node") ?? "node") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        var process = Process.Start(start)!;
        var log = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var emulator = new EmulatorProcess(process, port, log);
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{Path.GetFileName(script)} exited with {process.ExitCode}: {emulator.Log}");
            }

            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return emulator;
            }
            catch (SocketException) when (deadline.Elapsed < TimeSpan.FromSeconds(60))
            {
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMilliseconds(100)).ContinueWith(_ => { }, TaskScheduler.Default);
            }
            catch (SocketException)
            {
                emulator.Dispose();
                throw new TimeoutException($"{Path.GetFileName(script)} did not listen on 127.0.0.1:{port} within 60 s: {emulator.Log}");
            }
        }
    }
}

/// <summary>A running emulator; disposing stops it.</summary>
internal sealed class EmulatorProcess(Process process, int port, System.Text.StringBuilder log) : IDisposable
{
    /// <summary>The port it listens on at 127.0.0.1.</summary>
    public int Port => port;

    /// <summary>What it printed so far.</summary>
    public string Log
    {
        get
        {
            lock (log)
            {
                return log.ToString();
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        process.Dispose();
    }
}

/// <summary>A fact that needs the npm emulators (skipped with the reason when they cannot be installed).</summary>
public sealed class EmulatorFactAttribute : FactAttribute
{
    public EmulatorFactAttribute() => Skip = Emulators.SkipReason;
}
