using System.Globalization;

namespace MlOps.Client.Configuration;

/// <summary>
/// The <c>MLFLOW_*</c> environment variables this SDK reads, with the names and defaults of MLflow's
/// <c>mlflow/environment_variables.py</c>.
/// </summary>
public static class MlflowEnvironment
{
    /// <summary><c>MLFLOW_TRACKING_URI</c>: the tracking server (<c>http(s)://…</c>) or store (<c>sqlite:///mlflow.db</c>).</summary>
    public const string TrackingUri = "MLFLOW_TRACKING_URI";

    /// <summary><c>MLFLOW_TRACKING_USERNAME</c>: basic authentication user.</summary>
    public const string TrackingUsername = "MLFLOW_TRACKING_USERNAME";

    /// <summary><c>MLFLOW_TRACKING_PASSWORD</c>: basic authentication password.</summary>
    public const string TrackingPassword = "MLFLOW_TRACKING_PASSWORD";

    /// <summary><c>MLFLOW_TRACKING_TOKEN</c>: bearer token (wins over basic authentication, as in Python).</summary>
    public const string TrackingToken = "MLFLOW_TRACKING_TOKEN";

    /// <summary><c>MLFLOW_TRACKING_INSECURE_TLS</c>: <c>true</c> disables TLS certificate verification. Default <c>false</c>.</summary>
    public const string TrackingInsecureTls = "MLFLOW_TRACKING_INSECURE_TLS";

    /// <summary><c>MLFLOW_TRACKING_SERVER_CERT_PATH</c>: a PEM CA bundle to verify the server's certificate with.</summary>
    public const string TrackingServerCertPath = "MLFLOW_TRACKING_SERVER_CERT_PATH";

    /// <summary><c>MLFLOW_TRACKING_CLIENT_CERT_PATH</c>: a PEM client certificate (with its key) for mutual TLS.</summary>
    public const string TrackingClientCertPath = "MLFLOW_TRACKING_CLIENT_CERT_PATH";

    /// <summary><c>MLFLOW_TRACKING_AWS_SIGV4</c>: <c>true</c> signs every request with AWS Signature Version 4 (service <c>execute-api</c>, a server behind Amazon API Gateway; package MlOps.Client.Aws).</summary>
    public const string TrackingAwsSigV4 = "MLFLOW_TRACKING_AWS_SIGV4";

    /// <summary><c>DATABRICKS_HOST</c>: the Databricks workspace a <c>databricks</c> tracking URI goes to.</summary>
    public const string DatabricksHost = "DATABRICKS_HOST";

    /// <summary><c>DATABRICKS_TOKEN</c>: a Databricks personal access token.</summary>
    public const string DatabricksToken = "DATABRICKS_TOKEN";

    /// <summary><c>DATABRICKS_CLIENT_ID</c>: a Databricks service principal (OAuth machine-to-machine).</summary>
    public const string DatabricksClientId = "DATABRICKS_CLIENT_ID";

    /// <summary><c>DATABRICKS_CLIENT_SECRET</c>: the service principal's OAuth secret.</summary>
    public const string DatabricksClientSecret = "DATABRICKS_CLIENT_SECRET";

    /// <summary><c>DATABRICKS_CONFIG_PROFILE</c>: the profile of the Databricks configuration file.</summary>
    public const string DatabricksConfigProfile = "DATABRICKS_CONFIG_PROFILE";

    /// <summary><c>DATABRICKS_CONFIG_FILE</c>: the Databricks configuration file. Default <c>~/.databrickscfg</c>.</summary>
    public const string DatabricksConfigFile = "DATABRICKS_CONFIG_FILE";

    /// <summary><c>MLOPS_ALLOW_HTTP_CREDENTIALS</c>: <c>true</c> lets credentials go to a plain <c>http://</c> host other than the loopback one (they travel in clear).</summary>
    public const string AllowHttpCredentials = "MLOPS_ALLOW_HTTP_CREDENTIALS";

    /// <summary><c>MLFLOW_HTTP_REQUEST_TIMEOUT</c>: seconds per attempt. Default 120.</summary>
    public const string HttpRequestTimeout = "MLFLOW_HTTP_REQUEST_TIMEOUT";

    /// <summary><c>MLFLOW_HTTP_REQUEST_MAX_RETRIES</c>: retries after the first attempt. Default 7.</summary>
    public const string HttpRequestMaxRetries = "MLFLOW_HTTP_REQUEST_MAX_RETRIES";

    /// <summary><c>MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR</c>: the backoff is <c>factor × 2^(retry-1)</c> seconds. Default 2.</summary>
    public const string HttpRequestBackoffFactor = "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR";

    /// <summary><c>MLFLOW_HTTP_REQUEST_BACKOFF_JITTER</c>: up to this many seconds of random jitter per retry. Default 1.0.</summary>
    public const string HttpRequestBackoffJitter = "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER";

    /// <summary><c>MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER</c>: honour <c>Retry-After</c>. Default <c>true</c>.</summary>
    public const string HttpRespectRetryAfterHeader = "MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER";

    /// <summary><c>MLFLOW_EXPERIMENT_NAME</c>: the experiment runs go to (created if missing).</summary>
    public const string ExperimentName = "MLFLOW_EXPERIMENT_NAME";

    /// <summary><c>MLFLOW_EXPERIMENT_ID</c>: the experiment runs go to, by id.</summary>
    public const string ExperimentId = "MLFLOW_EXPERIMENT_ID";

    /// <summary><c>MLFLOW_RUN_ID</c>: resume this run instead of creating one.</summary>
    public const string RunId = "MLFLOW_RUN_ID";

    /// <summary><c>MLFLOW_TMP_DIR</c>: where <c>mlops run</c> downloads remote <c>path</c> parameters (Python's <c>--storage-dir</c> default).</summary>
    public const string TmpDir = "MLFLOW_TMP_DIR";

    /// <summary><c>KUBE_MLFLOW_TRACKING_URI</c>: the tracking URI a Kubernetes Job gets instead of the launcher's (as in MLflow's kubernetes backend).</summary>
    public const string KubeTrackingUri = "KUBE_MLFLOW_TRACKING_URI";

    /// <summary>The level of what the SDK prints when the application configured no logging (DEBUG … CRITICAL; WARNING by default).</summary>
    public const string LoggingLevel = "MLFLOW_LOGGING_LEVEL";

    /// <summary><c>false</c>: the SDK prints nothing when the application configured no logging.</summary>
    public const string ConfigureLogging = "MLFLOW_CONFIGURE_LOGGING";

    /// <summary>The endpoint of an S3-compatible store for <c>s3://</c> artifacts (MinIO, an emulator…); AWS's own when unset.</summary>
    public const string S3EndpointUrl = "MLFLOW_S3_ENDPOINT_URL";

    /// <summary><c>true</c>: <c>s3://</c> artifact transfers accept any TLS certificate of the endpoint.</summary>
    public const string S3IgnoreTls = "MLFLOW_S3_IGNORE_TLS";

    /// <summary>A JSON object of extra arguments of every <c>s3://</c> upload, as boto3 names them (e.g. <c>{"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "…"}</c>).</summary>
    public const string S3UploadExtraArgs = "MLFLOW_S3_UPLOAD_EXTRA_ARGS";

    /// <summary>How buckets are addressed: <c>path</c>, <c>virtual</c> or <c>auto</c> (default).</summary>
    public const string BotoClientAddressingStyle = "MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE";

    /// <summary><c>unsigned</c>: read public buckets without credentials; <c>s3v4</c> (default) signs requests.</summary>
    public const string S3SignatureVersion = "MLFLOW_EXPERIMENTAL_S3_SIGNATURE_VERSION";

    /// <summary>Seconds an artifact upload or download to an object store may take (Azure Blob: 600 by default; <c>-1</c>: no limit).</summary>
    public const string ArtifactUploadDownloadTimeout = "MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT";

    /// <summary>The chunk size in bytes of <c>gs://</c> uploads (resumable uploads in chunks of this size).</summary>
    public const string GcsUploadChunkSize = "MLFLOW_GCS_UPLOAD_CHUNK_SIZE";

    /// <summary>The chunk size in bytes of <c>gs://</c> downloads.</summary>
    public const string GcsDownloadChunkSize = "MLFLOW_GCS_DOWNLOAD_CHUNK_SIZE";

    /// <summary>Deprecated name of <see cref="ArtifactUploadDownloadTimeout"/> for <c>gs://</c>, still read.</summary>
    public const string GcsDefaultTimeout = "MLFLOW_GCS_DEFAULT_TIMEOUT";

    /// <summary>Files at least this large (bytes) go through the tracking server's multipart upload (500 MiB by default).</summary>
    public const string MultipartUploadMinimumFileSize = "MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE";

    /// <summary>The part size (bytes) of multipart uploads through the tracking server (10 MiB by default).</summary>
    public const string MultipartUploadChunkSize = "MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE";

    /// <summary><c>false</c> turns off the uploader's on-disk spool; <c>true</c> uses it for any store.</summary>
    public const string Spool = "MLOPS_SPOOL";

    /// <summary>The spool's root folder (one folder per tracking URI inside).</summary>
    public const string SpoolDirectory = "MLOPS_SPOOL_DIR";

    /// <summary><c>true</c>: every run logs system metrics (CPU, memory, disk, network, GPU).</summary>
    public const string EnableSystemMetricsLogging = "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING";

    /// <summary>Seconds between system-metric samples.</summary>
    public const string SystemMetricsSamplingInterval = "MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL";

    /// <summary>Samples averaged into one logged system-metric value.</summary>
    public const string SystemMetricsSamplesBeforeLogging = "MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING";

    /// <summary>A node id that prefixes system-metric names (multi-node training).</summary>
    public const string SystemMetricsNodeId = "MLFLOW_SYSTEM_METRICS_NODE_ID";

    /// <summary>The <c>libxgboost</c> file or folder for MlOps.Client.XGBoost.</summary>
    public const string XGBoostLibraryPath = "XGBOOST_LIBRARY_PATH";

    /// <summary>
    /// Lets MlOps.Client.XGBoost ask a Python interpreter where its <c>xgboost</c> package (and the libxgboost it ships)
    /// is: <c>1</c> for <c>python3</c> (<c>python</c> on Windows), or an interpreter's path. Off by default.
    /// </summary>
    public const string XGBoostPython = "MLOPS_XGBOOST_PYTHON";

    /// <summary>The AWS region (SageMaker, API Gateway, S3).</summary>
    public const string AwsRegion = "AWS_REGION";

    /// <summary>The AWS region when <see cref="AwsRegion"/> is unset (boto3's variable).</summary>
    public const string AwsDefaultRegion = "AWS_DEFAULT_REGION";

    /// <summary>The AWS profile whose region applies when no variable names one.</summary>
    public const string AwsProfile = "AWS_PROFILE";

    /// <summary>The AWS SDK's own checksum setting; when set, <c>s3://</c> transfers leave it to the SDK.</summary>
    public const string AwsRequestChecksumCalculation = "AWS_REQUEST_CHECKSUM_CALCULATION";

    /// <summary>The connection string of <c>wasbs://</c> artifact stores (first in Python's order).</summary>
    public const string AzureStorageConnectionString = "AZURE_STORAGE_CONNECTION_STRING";

    /// <summary>The account key of <c>wasbs://</c> artifact stores (second in Python's order).</summary>
    public const string AzureStorageAccessKey = "AZURE_STORAGE_ACCESS_KEY";

    /// <summary>Default of <see cref="HttpRequestTimeout"/>: 120 seconds.</summary>
    public static readonly TimeSpan DefaultRequestTimeout = TimeSpan.FromSeconds(120);

    /// <summary>Default of <see cref="HttpRequestMaxRetries"/>: 7.</summary>
    public const int DefaultMaxRetries = 7;

    /// <summary>Default of <see cref="HttpRequestBackoffFactor"/>: 2.</summary>
    public const double DefaultBackoffFactor = 2;

    /// <summary>Default of <see cref="HttpRequestBackoffJitter"/>: 1.0.</summary>
    public const double DefaultBackoffJitter = 1.0;

    /// <summary>The longest single backoff (urllib3's <c>BACKOFF_MAX</c>, which Python MLflow inherits): 120 seconds.</summary>
    public static readonly TimeSpan DefaultMaxBackoff = TimeSpan.FromSeconds(120);

    internal static bool ParseBool(string name, string value)
    {
        var v = value.Trim();
        if (v.Equals("true", StringComparison.OrdinalIgnoreCase) || v == "1")
        {
            return true;
        }

        if (v.Equals("false", StringComparison.OrdinalIgnoreCase) || v == "0")
        {
            return false;
        }

        throw new FormatException($"{name} must be one of 'true', 'false', '1', '0' (case insensitive); got '{Excerpt(value)}'.");
    }

    internal static int ParseInt(string name, string value, int min)
    {
        if (!int.TryParse(value.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var result) || result < min)
        {
            throw new FormatException($"{name} must be an integer >= {min}; got '{Excerpt(value)}'.");
        }

        return result;
    }

    /// <summary>A timeout in whole seconds as MLflow's artifact variables give it: <c>-1</c> for none, 0 refused.</summary>
    internal static TimeSpan ParseTimeoutSeconds(string name, string value) =>
        ParseInt(name, value, -1) switch
        {
            -1 => System.Threading.Timeout.InfiniteTimeSpan,
            0 => throw new FormatException($"{name} must be a number of seconds > 0, or -1 for no limit; got 0."),
            var seconds => TimeSpan.FromSeconds(seconds),
        };

    internal static long ParseLong(string name, string value, long min)
    {
        if (!long.TryParse(value.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var result) || result < min)
        {
            throw new FormatException($"{name} must be an integer >= {min}; got '{Excerpt(value)}'.");
        }

        return result;
    }

    internal static double ParseDouble(string name, string value, double min)
    {
        if (!double.TryParse(value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var result)
            || double.IsNaN(result) || result < min)
        {
            throw new FormatException($"{name} must be a number >= {min.ToString(CultureInfo.InvariantCulture)}; got '{Excerpt(value)}'.");
        }

        return result;
    }

    private static string Excerpt(string value) => value.Length <= 40 ? value : value[..40] + "…";
}
