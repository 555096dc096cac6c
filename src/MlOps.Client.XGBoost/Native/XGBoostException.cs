namespace MlOps.Client.XGBoost;

/// <summary>An XGBoost C API call failed; <see cref="NativeMessage"/> is XGBoost's own explanation (<c>XGBGetLastError</c>).</summary>
public class XGBoostException : Exception
{
    /// <summary>Creates the exception.</summary>
    public XGBoostException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public XGBoostException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public XGBoostException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a failed C API call.</summary>
    /// <param name="function">The C function that failed.</param>
    /// <param name="nativeMessage">XGBoost's error text.</param>
    public XGBoostException(string function, string nativeMessage)
        : base($"XGBoost {function} failed: {nativeMessage.Trim()}")
    {
        Function = function;
        NativeMessage = nativeMessage;
    }

    /// <summary>The C API function that failed, when the error came from XGBoost.</summary>
    public string? Function { get; }

    /// <summary>XGBoost's own error text (<c>XGBGetLastError()</c>), when the error came from XGBoost.</summary>
    public string? NativeMessage { get; }
}

/// <summary><c>libxgboost</c> could not be found or loaded.</summary>
public sealed class XGBoostLibraryNotFoundException : DllNotFoundException
{
    /// <summary>Creates the exception.</summary>
    public XGBoostLibraryNotFoundException()
        : this(null, [])
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public XGBoostLibraryNotFoundException(string message)
        : base(message)
    {
        Tried = [];
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public XGBoostLibraryNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
        Tried = [];
    }

    internal XGBoostLibraryNotFoundException(string? configuredPath, IReadOnlyList<string> tried, IReadOnlyList<string>? places = null)
        : base(BuildMessage(configuredPath, places ?? []))
    {
        Tried = tried;
    }

    /// <summary>The library files or names that were tried, in order.</summary>
    public IReadOnlyList<string> Tried { get; }

    private static string BuildMessage(string? configuredPath, IReadOnlyList<string> places)
    {
        var where = string.IsNullOrWhiteSpace(configuredPath)
            ? "Searched, in order: " + string.Join(" | ", places) + "."
            : $"XGBOOST_LIBRARY_PATH is '{configuredPath}', which does not load, and nothing else is searched when it is set: " + string.Join(" | ", places) + ".";
        return "The XGBoost native library (libxgboost, version 1.7 or later) could not be loaded. " + where +
            " Install it where it is searched (any OS: 'pip install xgboost' in the Python environment that is active, or MLOPS_XGBOOST_PYTHON=1 to ask python3;" +
            " Debian/Ubuntu: 'apt-get install libxgboost0'; macOS: 'brew install xgboost'; Windows: xgboost.dll from the xgboost wheel beside the application)," +
            " or set XGBOOST_LIBRARY_PATH to the library file or its folder.";
    }
}
