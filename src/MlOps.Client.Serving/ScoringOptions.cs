namespace MlOps.Client.Serving;

/// <summary>How a served model answers.</summary>
public sealed class ScoringOptions
{
    /// <summary>The largest request body accepted (413 beyond). Default 16 MiB.</summary>
    public long MaxRequestBodyBytes { get; set; } = 16L << 20;

    /// <summary>The version <c>GET /version</c> reports. Default this package's version.</summary>
    public string Version { get; set; } = typeof(ScoringOptions).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
}
