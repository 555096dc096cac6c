using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace MlOps.Client.XGBoost.Native;

/// <summary>
/// Routes libxgboost's own log (<c>XGBRegisterLogCallback</c>: parameter warnings such as an unknown <c>max_dpeth</c>,
/// evaluation notes) to an <see cref="ILogger"/>: lines with <c>WARNING:</c> as warnings, the rest as information.
/// The callback is process-wide, as in XGBoost; until a logger is set, XGBoost prints to standard error.
/// </summary>
internal static partial class XGBoostLog
{
    private static ILogger? s_logger;
    private static int s_registered;

    public static ILogger? Logger
    {
        get => Volatile.Read(ref s_logger);
        set
        {
            Volatile.Write(ref s_logger, value);
            if (value is not null && Interlocked.Exchange(ref s_registered, 1) == 0)
            {
                Register();
            }
        }
    }

    private static unsafe void Register()
    {
        XGBoostLibrary.EnsureResolver();
        XGBoostLibrary.Check(NativeMethods.XGBRegisterLogCallback(&OnMessage), "XGBRegisterLogCallback");
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnMessage(nint message)
    {
        try
        {
            var text = (Marshal.PtrToStringUTF8(message) ?? "").TrimEnd();
            if (Volatile.Read(ref s_logger) is not { } logger)
            {
                Console.Error.WriteLine(text);
                return;
            }

            if (text.Contains("WARNING:", StringComparison.Ordinal))
            {
                Warning(logger, text);
            }
            else
            {
                Information(logger, text);
            }
        }
#pragma warning disable CA1031 // an exception must never unwind into native code
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    /// <summary>A warning of the binding itself, where XGBoost's own warnings go.</summary>
    public static void Warn(string text)
    {
        if (Logger is { } logger)
        {
            Warning(logger, "WARNING: " + text);
        }
        else
        {
            Console.Error.WriteLine("XGBoost binding WARNING: " + text);
        }
    }

    [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "XGBoost: {Text}")]
    private static partial void Warning(ILogger logger, string text);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Information, Message = "XGBoost: {Text}")]
    private static partial void Information(ILogger logger, string text);
}
