namespace MlOps.Client.Serving;

/// <summary>A refused scoring request: the HTTP status and MLflow's error JSON (<c>error_code</c>, <c>message</c>).</summary>
/// <param name="Status">The HTTP status.</param>
/// <param name="ErrorCode">MLflow's error code, e.g. <c>BAD_REQUEST</c>.</param>
/// <param name="Message">What is wrong, for the caller (never the request's values beyond the one refused).</param>
public sealed record ScoringError(int Status, string ErrorCode, string Message);
