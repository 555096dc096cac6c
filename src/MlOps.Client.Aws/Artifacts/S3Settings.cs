using System.Text.Json;
using Amazon.S3;
using Amazon.S3.Model;
using MlOps.Client.Configuration;

namespace MlOps.Client.Aws;

/// <summary>
/// How <c>s3://</c> artifacts are reached, read from the variables Python's <c>S3ArtifactRepository</c> reads:
/// <c>MLFLOW_S3_ENDPOINT_URL</c>, <c>MLFLOW_S3_IGNORE_TLS</c>, <c>MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE</c>,
/// <c>MLFLOW_EXPERIMENTAL_S3_SIGNATURE_VERSION</c>, <c>MLFLOW_S3_UPLOAD_EXTRA_ARGS</c>, and the region from
/// <c>AWS_REGION</c> / <c>AWS_DEFAULT_REGION</c>. Credentials come from the standard AWS chain (environment, profile,
/// web identity, container and instance roles), as boto3's.
/// </summary>
internal sealed record S3Settings(
    string? EndpointUrl, bool IgnoreTls, string AddressingStyle, bool Unsigned, string? Region, IReadOnlyDictionary<string, JsonElement> UploadExtraArgs)
{
    /// <summary>boto3's <c>TransferConfig</c> defaults, which Python's <c>upload_file</c>/<c>download_file</c> use: 8 MiB threshold and parts, 10 at once.</summary>
    public const long MultipartThreshold = 8L * 1024 * 1024;

    /// <inheritdoc cref="MultipartThreshold"/>
    public const long PartSize = 8L * 1024 * 1024;

    /// <inheritdoc cref="MultipartThreshold"/>
    public const int MaxConcurrency = 10;

    /// <summary>The settings the process environment gives.</summary>
    public static S3Settings FromEnvironment(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        string? Get(string name) => environment(name) is { Length: > 0 } v ? v : null;

        var style = (Get(MlflowEnvironment.BotoClientAddressingStyle) ?? "auto").Trim().ToLowerInvariant();
        if (style is not ("auto" or "path" or "virtual"))
        {
            throw new FormatException($"{MlflowEnvironment.BotoClientAddressingStyle} must be 'auto', 'path' or 'virtual'; got '{style}'.");
        }

        var signature = (Get(MlflowEnvironment.S3SignatureVersion) ?? "s3v4").Trim();
        if (!signature.Equals("s3v4", StringComparison.OrdinalIgnoreCase) && !signature.Equals("unsigned", StringComparison.OrdinalIgnoreCase))
        {
            throw new FormatException($"{MlflowEnvironment.S3SignatureVersion} must be 's3v4' or 'unsigned'; got '{signature}'.");
        }

        var endpoint = Get(MlflowEnvironment.S3EndpointUrl);
        if (endpoint is not null && (!Uri.TryCreate(endpoint, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https")))
        {
            throw new FormatException($"{MlflowEnvironment.S3EndpointUrl} must be an absolute URL such as http://127.0.0.1:9000; got '{endpoint}'.");
        }

        return new S3Settings(
            endpoint,
            Get(MlflowEnvironment.S3IgnoreTls) is { } tls && MlflowEnvironment.ParseBool(MlflowEnvironment.S3IgnoreTls, tls),
            style,
            signature.Equals("unsigned", StringComparison.OrdinalIgnoreCase),
            Get(MlflowEnvironment.AwsRegion) ?? Get(MlflowEnvironment.AwsDefaultRegion),
            ParseExtraArgs(Get(MlflowEnvironment.S3UploadExtraArgs)))
        {
            ChecksumsFromEnvironment = Get(MlflowEnvironment.AwsRequestChecksumCalculation) is not null,
            Profile = Get(MlflowEnvironment.AwsProfile),
        };
    }

    /// <summary>Whether <c>AWS_REQUEST_CHECKSUM_CALCULATION</c> is set (then the SDK's own reading of it stands).</summary>
    public bool ChecksumsFromEnvironment { get; init; }

    /// <summary><c>AWS_PROFILE</c>, whose region applies when no variable names one.</summary>
    public string? Profile { get; init; }

    /// <summary>What distinguishes one client from another (not the upload arguments).</summary>
    public string ClientKey() => $"{EndpointUrl}|{IgnoreTls}|{AddressingStyle}|{Unsigned}|{Region}";

    /// <summary>The client configuration: the endpoint (path-style addressing when one is set and the style is <c>auto</c>, as MinIO and emulators need), the region, TLS.</summary>
    public AmazonS3Config ClientConfig()
    {
        var config = new AmazonS3Config();
        if (EndpointUrl is not null)
        {
            config.ServiceURL = EndpointUrl;
            config.AuthenticationRegion = Region ?? "us-east-1";
            config.ForcePathStyle = AddressingStyle != "virtual";
            if (!ChecksumsFromEnvironment)
            {
                // S3-compatible stores (MinIO before 2025, Ceph, emulators) store the aws-chunked framing of the SDK's
                // default trailing checksums as content: send checksums only where an operation requires them.
                config.RequestChecksumCalculation = Amazon.Runtime.RequestChecksumCalculation.WHEN_REQUIRED;
                config.ResponseChecksumValidation = Amazon.Runtime.ResponseChecksumValidation.WHEN_REQUIRED;
            }
        }
        else
        {
            config.ForcePathStyle = AddressingStyle == "path";
            // boto3's order: the variables, the profile's region, else us-east-1 (the global endpoint, which redirects).
            config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(Region ?? ProfileRegion() ?? "us-east-1");
        }

        if (IgnoreTls)
        {
            config.HttpClientFactory = new InsecureHttpClientFactory();
        }

        return config;
    }

    private string? ProfileRegion()
    {
        try
        {
            return new Amazon.Runtime.CredentialManagement.CredentialProfileStoreChain().TryGetProfile(Profile ?? "default", out var profile)
                ? profile.Region?.SystemName
                : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException or FormatException)
        {
            return null; // an unreadable ~/.aws/config leaves the region to the default
        }
    }

    /// <summary>boto3's <c>ALLOWED_UPLOAD_ARGS</c> that an S3 upload request carries here.</summary>
    internal static readonly string[] AllowedUploadArgs =
    [
        "ACL", "CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "ContentType", "ExpectedBucketOwner",
        "Expires", "GrantFullControl", "GrantRead", "GrantReadACP", "GrantWriteACP", "Metadata", "ObjectLockLegalHoldStatus",
        "ObjectLockMode", "ObjectLockRetainUntilDate", "RequestPayer", "ServerSideEncryption", "StorageClass", "SSECustomerAlgorithm",
        "SSECustomerKey", "SSECustomerKeyMD5", "SSEKMSKeyId", "SSEKMSEncryptionContext", "Tagging", "WebsiteRedirectLocation",
        "BucketKeyEnabled", "ChecksumAlgorithm",
    ];

    private static Dictionary<string, JsonElement> ParseExtraArgs(string? json)
    {
        if (json is null)
        {
            return [];
        }

        Dictionary<string, JsonElement>? args;
        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException($"{MlflowEnvironment.S3UploadExtraArgs} must be a JSON object such as {{\"ServerSideEncryption\": \"aws:kms\"}}.");
            }

            args = document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone(), StringComparer.Ordinal);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"{MlflowEnvironment.S3UploadExtraArgs} is not valid JSON: {ex.Message}", ex);
        }

        foreach (var key in args.Keys)
        {
            if (!AllowedUploadArgs.Contains(key, StringComparer.Ordinal))
            {
                throw new FormatException($"{MlflowEnvironment.S3UploadExtraArgs}: invalid extra_args key '{key}', must be one of: {string.Join(", ", AllowedUploadArgs)}.");
            }
        }

        return args;
    }

    /// <summary>Applies the content type Python guesses and the extra arguments (which win, as in Python) to an upload.</summary>
    public void Apply(PutObjectRequest request, string localFile)
    {
        var (type, encoding) = MlOps.Client.Artifacts.ContentTypes.Guess(localFile);
        if (type is not null)
        {
            request.ContentType = type;
        }

        if (encoding is not null)
        {
            request.Headers.ContentEncoding = encoding;
        }

        foreach (var (key, value) in UploadExtraArgs)
        {
            var text = value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();
            switch (key)
            {
                case "ACL": request.CannedACL = S3CannedACL.FindValue(text); break;
                case "CacheControl": request.Headers.CacheControl = text; break;
                case "ContentDisposition": request.Headers.ContentDisposition = text; break;
                case "ContentEncoding": request.Headers.ContentEncoding = text; break;
                case "ContentLanguage": request.Headers["Content-Language"] = text; break;
                case "ContentType": request.ContentType = text; break;
                case "ExpectedBucketOwner": request.ExpectedBucketOwner = text; break;
                case "Expires": request.Headers.Expires = DateTime.Parse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal); break;
                case "Metadata":
                    if (value.ValueKind != JsonValueKind.Object)
                    {
                        throw new FormatException($"{MlflowEnvironment.S3UploadExtraArgs}: 'Metadata' must be a JSON object of strings.");
                    }

                    foreach (var m in value.EnumerateObject())
                    {
                        request.Metadata[m.Name] = m.Value.ToString();
                    }

                    break;
                case "ObjectLockLegalHoldStatus": request.ObjectLockLegalHoldStatus = ObjectLockLegalHoldStatus.FindValue(text); break;
                case "ObjectLockMode": request.ObjectLockMode = ObjectLockMode.FindValue(text); break;
                case "ObjectLockRetainUntilDate": request.ObjectLockRetainUntilDate = DateTime.Parse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal); break;
                case "RequestPayer": request.RequestPayer = RequestPayer.FindValue(text); break;
                case "ServerSideEncryption": request.ServerSideEncryptionMethod = ServerSideEncryptionMethod.FindValue(text); break;
                case "StorageClass": request.StorageClass = S3StorageClass.FindValue(text); break;
                case "SSECustomerAlgorithm": request.ServerSideEncryptionCustomerMethod = ServerSideEncryptionCustomerMethod.FindValue(text); break;
                case "SSECustomerKey": request.ServerSideEncryptionCustomerProvidedKey = text; break;
                case "SSECustomerKeyMD5": request.Headers["x-amz-server-side-encryption-customer-key-MD5"] = text; break;
                case "SSEKMSKeyId": request.ServerSideEncryptionKeyManagementServiceKeyId = text; break;
                case "SSEKMSEncryptionContext": request.ServerSideEncryptionKeyManagementServiceEncryptionContext = text; break;
                case "Tagging":
                    request.TagSet = [.. text.Split('&', StringSplitOptions.RemoveEmptyEntries).Select(pair => pair.Split('=', 2)).Select(kv => new Tag
                    {
                        Key = Uri.UnescapeDataString(kv[0]),
                        Value = kv.Length > 1 ? Uri.UnescapeDataString(kv[1]) : "",
                    })];
                    break;
                case "WebsiteRedirectLocation": request.WebsiteRedirectLocation = text; break;
                case "BucketKeyEnabled": request.BucketKeyEnabled = value.ValueKind == JsonValueKind.True || text.Equals("true", StringComparison.OrdinalIgnoreCase); break;
                case "ChecksumAlgorithm": request.ChecksumAlgorithm = ChecksumAlgorithm.FindValue(text); break;
                default: request.Headers[GrantHeader(key)] = text; break; // GrantFullControl, GrantRead, GrantReadACP, GrantWriteACP
            }
        }
    }

    /// <summary>The multipart upload of what <paramref name="template"/> (a request <see cref="Apply"/> prepared) would put in one request.</summary>
    public static InitiateMultipartUploadRequest Initiate(PutObjectRequest template)
    {
        var initiate = new InitiateMultipartUploadRequest
        {
            BucketName = template.BucketName,
            Key = template.Key,
            ContentType = template.ContentType,
            CannedACL = template.CannedACL,
            ExpectedBucketOwner = template.ExpectedBucketOwner,
            ObjectLockLegalHoldStatus = template.ObjectLockLegalHoldStatus,
            ObjectLockMode = template.ObjectLockMode,
            ObjectLockRetainUntilDate = template.ObjectLockRetainUntilDate,
            RequestPayer = template.RequestPayer,
            ServerSideEncryptionMethod = template.ServerSideEncryptionMethod,
            StorageClass = template.StorageClass,
            ServerSideEncryptionCustomerMethod = template.ServerSideEncryptionCustomerMethod,
            ServerSideEncryptionCustomerProvidedKey = template.ServerSideEncryptionCustomerProvidedKey,
            ServerSideEncryptionKeyManagementServiceKeyId = template.ServerSideEncryptionKeyManagementServiceKeyId,
            ServerSideEncryptionKeyManagementServiceEncryptionContext = template.ServerSideEncryptionKeyManagementServiceEncryptionContext,
            TagSet = template.TagSet,
            WebsiteRedirectLocation = template.WebsiteRedirectLocation,
            BucketKeyEnabled = template.BucketKeyEnabled,
            ChecksumAlgorithm = template.ChecksumAlgorithm,
        };
        foreach (var key in template.Metadata.Keys)
        {
            initiate.Metadata[key] = template.Metadata[key];
        }

        foreach (var key in template.Headers.Keys)
        {
            initiate.Headers[key] = template.Headers[key];
        }

        return initiate;
    }

    private static string GrantHeader(string key) => key switch
    {
        "GrantFullControl" => "x-amz-grant-full-control",
        "GrantRead" => "x-amz-grant-read",
        "GrantReadACP" => "x-amz-grant-read-acp",
        _ => "x-amz-grant-write-acp",
    };

    /// <summary>Never prints the extra arguments' values (an SSE-C key may be among them).</summary>
    public override string ToString() =>
        $"S3Settings {{ EndpointUrl = {EndpointUrl ?? "(AWS)"}, IgnoreTls = {IgnoreTls}, AddressingStyle = {AddressingStyle}, Unsigned = {Unsigned}, Region = {Region ?? "(chain)"}, UploadExtraArgs = [{string.Join(", ", UploadExtraArgs.Keys)}] }}";

    private sealed class InsecureHttpClientFactory : Amazon.Runtime.HttpClientFactory
    {
        public override HttpClient CreateHttpClient(Amazon.Runtime.IClientConfig clientConfig) =>
            new(new SocketsHttpHandler
            {
#pragma warning disable CA5359 // Only when the user set MLFLOW_S3_IGNORE_TLS=true explicitly, as Python MLflow does.
                SslOptions = { RemoteCertificateValidationCallback = static (_, _, _, _) => true },
#pragma warning restore CA5359
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            });
    }
}
