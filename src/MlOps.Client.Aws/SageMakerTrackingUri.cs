using MlOps.Client.Authentication;

namespace MlOps.Client.Aws;

/// <summary>
/// <c>arn:aws:sagemaker:&lt;region&gt;:&lt;account&gt;:mlflow-tracking-server/&lt;name&gt;</c> as sagemaker-mlflow reads it:
/// the endpoint <c>https://&lt;region&gt;.experiments.sagemaker.aws</c> (or <c>SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT</c>), every
/// request signed for <c>sagemaker-mlflow</c> in the ARN's region and carrying <c>x-mlflow-sm-tracking-server-arn</c>.
/// </summary>
internal sealed class SageMakerTrackingUri : ITrackingUriResolver
{
    /// <summary>The variable that points the client at another endpoint (a VPC endpoint, tests).</summary>
    internal const string CustomEndpointVariable = "SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT";

    /// <summary>The header SageMaker routes a request to the tracking server by.</summary>
    internal const string ArnHeader = "x-mlflow-sm-tracking-server-arn";

    public (Uri BaseUri, IMlflowAuthProvider Auth) Resolve(string trackingUri, MlflowClientOptions options)
    {
        var (arn, region, partition) = Parse(trackingUri);
        var custom = Environment.GetEnvironmentVariable(CustomEndpointVariable);
        var endpoint = new Uri((string.IsNullOrWhiteSpace(custom) ? $"https://{region}.experiments.sagemaker.{DnsSuffix(partition)}" : custom.Trim()).TrimEnd('/') + "/");
        DatabricksConfiguration.RefuseClearText(endpoint, options, "AWS-signed requests");
        return (endpoint, options.AuthProvider ?? new AwsSigV4AuthProvider(region, "sagemaker-mlflow", headers: new Dictionary<string, string> { [ArnHeader] = arn }, timeProvider: options.TimeProvider));
    }

    /// <summary>The tracking server's ARN, its region and partition; an ARN with <c>#&lt;role ARN&gt;</c> (assume a role first) is refused with what to do instead.</summary>
    internal static (string Arn, string Region, string Partition) Parse(string trackingUri)
    {
        if (trackingUri.Contains('#', StringComparison.Ordinal))
        {
            throw new NotSupportedException(
                $"'{trackingUri}' asks to assume a role first ('#<role ARN>'); assume it with the AWS tooling (AWS_PROFILE with role_arn, or AWS_ROLE_ARN) and use the tracking server's ARN alone.");
        }

        var parts = trackingUri.Split(':');
        if (parts.Length != 6 || parts[0] != "arn" || parts[2] != "sagemaker" || parts[3].Length == 0 || !parts[5].StartsWith("mlflow-tracking-server/", StringComparison.Ordinal)
            || parts[5].Length == "mlflow-tracking-server/".Length)
        {
            throw new ArgumentException(
                $"'{trackingUri}' is not a SageMaker MLflow tracking server ARN: arn:aws:sagemaker:<region>:<account>:mlflow-tracking-server/<name>.", nameof(trackingUri));
        }

        return (trackingUri, parts[3], parts[1]);
    }

    private static string DnsSuffix(string partition) => partition switch
    {
        "aws" or "aws-us-gov" => "aws",
        _ => throw new NotSupportedException($"SageMaker MLflow in the partition '{partition}' is not supported (sagemaker-mlflow knows aws and aws-us-gov)."),
    };
}

/// <summary>An open-source server behind Amazon API Gateway (<c>MLFLOW_TRACKING_AWS_SIGV4=true</c>): requests signed for <c>execute-api</c> in <c>AWS_REGION</c> / <c>AWS_DEFAULT_REGION</c>.</summary>
internal sealed class ApiGatewayTrackingUri : ITrackingUriResolver
{
    public (Uri BaseUri, IMlflowAuthProvider Auth) Resolve(string trackingUri, MlflowClientOptions options)
    {
        var region = Environment.GetEnvironmentVariable(MlOps.Client.Configuration.MlflowEnvironment.AwsRegion) is { Length: > 0 } r ? r
            : Environment.GetEnvironmentVariable(MlOps.Client.Configuration.MlflowEnvironment.AwsDefaultRegion) is { Length: > 0 } d ? d
            : throw new InvalidOperationException("MLFLOW_TRACKING_AWS_SIGV4 signs requests for a region: set AWS_REGION (or AWS_DEFAULT_REGION).");
        var uri = new Uri(trackingUri.TrimEnd('/') + "/");
        DatabricksConfiguration.RefuseClearText(uri, options, "AWS-signed requests");
        return (uri, options.AuthProvider ?? new AwsSigV4AuthProvider(region, "execute-api", timeProvider: options.TimeProvider));
    }
}
