namespace MlOps.Client.Validation;

/// <summary>
/// MLflow's limits, in one place, as in <c>mlflow/utils/validation.py</c> of MLflow 2.22 and as the recorded
/// server enforces them. The client checks them before any request, with messages naming the field and the limit.
/// </summary>
internal static class MlflowLimits
{
    /// <summary>Metrics in one <c>log-batch</c> request: 1000.</summary>
    public const int MaxMetricsPerBatch = 1000;

    /// <summary>Params in one <c>log-batch</c> request: 100.</summary>
    public const int MaxParamsPerBatch = 100;

    /// <summary>Tags in one <c>log-batch</c> request: 100.</summary>
    public const int MaxTagsPerBatch = 100;

    /// <summary>Metrics, params and tags together in one <c>log-batch</c> request: 1000.</summary>
    public const int MaxEntitiesPerBatch = 1000;

    /// <summary>Size of a <c>log-batch</c> request body: 1,000,000 bytes.</summary>
    public const int MaxBatchRequestBytes = 1_000_000;

    /// <summary>Length of a metric, param or tag key: 250 characters.</summary>
    public const int MaxEntityKeyLength = 250;

    /// <summary>Length of a param value: 6000 characters (the server silently truncates longer values; the client refuses them).</summary>
    public const int MaxParamValueLength = 6000;

    /// <summary>Length of a run tag value: 8000 characters (the server silently truncates longer values; the client refuses them).</summary>
    public const int MaxTagValueLength = 8000;

    /// <summary>Length of an experiment name: 500 characters.</summary>
    public const int MaxExperimentNameLength = 500;

    /// <summary>Length of an experiment tag key: 250 characters.</summary>
    public const int MaxExperimentTagKeyLength = 250;

    /// <summary>Length of an experiment tag value: 5000 characters.</summary>
    public const int MaxExperimentTagValueLength = 5000;

    /// <summary>Length of a registered model or model version tag key: 250 characters.</summary>
    public const int MaxModelRegistryTagKeyLength = 250;

    /// <summary>Length of a registered model or model version tag value: 100,000 characters.</summary>
    public const int MaxModelRegistryTagValueLength = 100_000;

    /// <summary>Length of a registered model alias: 255 characters.</summary>
    public const int MaxRegisteredModelAliasLength = 255;

    /// <summary>Results per page of <c>experiments/search</c> and <c>runs/search</c>: 50,000.</summary>
    public const int MaxResultsPerPage = 50_000;

    /// <summary>Length of a dataset name: 500 characters.</summary>
    public const int MaxDatasetNameLength = 500;

    /// <summary>Length of a dataset digest: 36 characters.</summary>
    public const int MaxDatasetDigestLength = 36;

    /// <summary>Length of a dataset schema (JSON): 1,048,575 characters.</summary>
    public const int MaxDatasetSchemaLength = 1_048_575;

    /// <summary>Length of a dataset source (JSON): 65,535 characters.</summary>
    public const int MaxDatasetSourceLength = 65_535;

    /// <summary>Length of a dataset profile (JSON): 16,777,215 characters.</summary>
    public const int MaxDatasetProfileLength = 16_777_215;

    /// <summary>Length of an input tag key: 255 characters.</summary>
    public const int MaxInputTagKeyLength = 255;

    /// <summary>Length of an input tag value: 500 characters.</summary>
    public const int MaxInputTagValueLength = 500;

    /// <summary>Results per page that <c>metrics/get-history</c> is asked for (as the Python client does): 25,000.</summary>
    public const int MetricHistoryPageSize = 25_000;
}
