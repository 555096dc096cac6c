using System.Globalization;

namespace MlOps.Client.SystemMetrics;

/// <summary>
/// How system metrics are sampled (Python's <c>SystemMetricsMonitor</c>): every <see cref="SamplingInterval"/> a
/// sample is taken; every <see cref="SamplesBeforeLogging"/> samples their mean is logged as <c>system/…</c> metrics at
/// the next step (0, 1, 2…).
/// </summary>
public sealed class SystemMetricsOptions
{
    /// <summary>Log system metrics for every run (<c>MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING</c>). Default false; <see cref="Tracking.StartRunOptions.LogSystemMetrics"/> decides per run.</summary>
    public bool Enabled { get; set; }

    /// <summary>Time between samples (<c>MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL</c>, seconds). Default 10 s, as Python.</summary>
    public TimeSpan SamplingInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Samples averaged into one logged value (<c>MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING</c>). Default 1, as Python.</summary>
    public int SamplesBeforeLogging { get; set; } = 1;

    /// <summary>A node id put in the names, <c>system/&lt;node id&gt;/cpu_utilization_percentage</c> (<c>MLFLOW_SYSTEM_METRICS_NODE_ID</c>). Default none.</summary>
    public string? NodeId { get; set; }

    /// <summary>Also log the .NET process's figures (<c>system/dotnet_…</c>: GC heap, GC pause time, thread-pool queue, working set, CPU). Default true.</summary>
    public bool IncludeDotNet { get; set; } = true;

    /// <summary>Reads the <c>MLFLOW_*</c> variables above from <paramref name="getVariable"/> (the process environment when null).</summary>
    /// <param name="getVariable">A variable reader.</param>
    public static SystemMetricsOptions FromEnvironment(Func<string, string?>? getVariable = null)
    {
        getVariable ??= Environment.GetEnvironmentVariable;
        var options = new SystemMetricsOptions();
        if (getVariable(Configuration.MlflowEnvironment.EnableSystemMetricsLogging) is { Length: > 0 } enabled)
        {
            options.Enabled = enabled.Trim().ToLowerInvariant() is "true" or "1";
        }

        if (getVariable(Configuration.MlflowEnvironment.SystemMetricsSamplingInterval) is { Length: > 0 } interval)
        {
            var seconds = double.TryParse(interval, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s > 0 && s <= 86_400
                ? s : throw new MlflowValidationException(Configuration.MlflowEnvironment.SystemMetricsSamplingInterval, $"MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL = '{interval}': not a number of seconds in (0, 86400].");
            options.SamplingInterval = TimeSpan.FromSeconds(seconds);
        }

        if (getVariable(Configuration.MlflowEnvironment.SystemMetricsSamplesBeforeLogging) is { Length: > 0 } samples)
        {
            options.SamplesBeforeLogging = int.TryParse(samples, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 1
                ? n : throw new MlflowValidationException(Configuration.MlflowEnvironment.SystemMetricsSamplesBeforeLogging, $"MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING = '{samples}': not a whole number ≥ 1.");
        }

        if (getVariable(Configuration.MlflowEnvironment.SystemMetricsNodeId) is { Length: > 0 } node)
        {
            options.NodeId = node;
        }

        return options;
    }

    /// <summary>A copy.</summary>
    internal SystemMetricsOptions Copy() => (SystemMetricsOptions)MemberwiseClone();
}
