namespace MlOps.Client.Projects;

/// <summary>
/// A project that cannot be run as asked — no such entry point, a required parameter without a value, a value of the
/// wrong type, an invalid <c>MLproject</c>, a git version that does not exist — or a run that failed (Python MLflow's
/// <c>ExecutionException</c>, with its messages). The message is one line a user can act on.
/// </summary>
public sealed class ProjectExecutionException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ProjectExecutionException()
        : this("The project could not be run.")
    {
    }

    /// <summary>Creates the exception with its message.</summary>
    /// <param name="message">What is wrong, in one line.</param>
    public ProjectExecutionException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its message and cause.</summary>
    /// <param name="message">What is wrong, in one line.</param>
    /// <param name="innerException">The cause.</param>
    public ProjectExecutionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
