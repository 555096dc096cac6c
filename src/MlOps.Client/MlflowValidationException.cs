namespace MlOps.Client;

/// <summary>A value refused by client-side validation before any request was sent.</summary>
public sealed class MlflowValidationException : MlflowException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="field">The field that failed validation.</param>
    /// <param name="message">What is wrong, with the limit.</param>
    public MlflowValidationException(string field, string message)
        : base(0, MlflowErrorCodes.InvalidParameterValue, message)
    {
        Field = field;
    }

    /// <summary>The field that failed validation, e.g. <c>Param value</c> or <c>metrics</c>.</summary>
    public string Field { get; }
}
