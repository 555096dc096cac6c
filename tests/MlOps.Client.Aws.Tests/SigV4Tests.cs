using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Amazon.Runtime.Internal.Auth;
using Microsoft.Extensions.Time.Testing;
using MlOps.Client.Stores;
using WireMock;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;
using WireMock.Types;
using WireMock.Util;

namespace MlOps.Client.Aws.Tests;

/// <summary>SigV4 against AWS's published test suite and AWSSDK.Core's own key chain; SageMaker URIs against a fake endpoint that verifies signatures.</summary>
public sealed class SigV4Tests
{
    private const string SuiteKey = "AKIDEXAMPLE";
    private const string SuiteSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    private static readonly DateTimeOffset SuiteTime = new(2015, 8, 30, 12, 36, 0, TimeSpan.Zero);
    private const string Arn = "arn:aws:sagemaker:eu-west-1:123456789012:mlflow-tracking-server/team-tracking";

    /// <summary>aws-sig-v4-test-suite: get-vanilla, get-vanilla-query-order-key-case, post-vanilla (their .authz signatures).</summary>
    [Theory]
    [InlineData("GET", "https://example.amazonaws.com/", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")]
    [InlineData("GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")]
    [InlineData("POST", "https://example.amazonaws.com/", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")]
    public void The_published_test_vectors_pass(string method, string uri, string signature)
    {
        var (authorization, _) = SigV4.Authorization(method, new Uri(uri),
            [new("Host", "example.amazonaws.com"), new("X-Amz-Date", "20150830T123600Z")], SigV4.EmptyPayloadHash,
            SuiteKey, SuiteSecret, "us-east-1", "service", SuiteTime);
        Assert.Equal($"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature={signature}", authorization);
    }

    [Fact]
    public void The_signature_equals_AWSSDK_Core_s_for_the_same_canonical_request()
    {
        var body = """{"experiment_id": "1", "run_name": "a b"}"""u8.ToArray();
        var hash = SigV4.PayloadHash(body);
        var (authorization, canonical) = SigV4.Authorization("POST", new Uri("https://eu-west-1.experiments.sagemaker.aws/api/2.0/mlflow/runs/create"),
            [new("host", "eu-west-1.experiments.sagemaker.aws"), new("x-amz-date", "20261205T120000Z"), new("x-amz-content-sha256", hash), new("content-type", "application/json"), new("x-mlflow-sm-tracking-server-arn", Arn)],
            hash, SuiteKey, SuiteSecret, "eu-west-1", "sagemaker-mlflow", new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));
        var sdk = AWS4Signer.ComputeSignature(SuiteKey, SuiteSecret, "eu-west-1", new DateTime(2026, 12, 5, 12, 0, 0, DateTimeKind.Utc), "sagemaker-mlflow",
            "content-type;host;x-amz-content-sha256;x-amz-date;x-mlflow-sm-tracking-server-arn", canonical);
        Assert.Equal(sdk.ForAuthorizationHeader, authorization); // the whole header, as AWSSDK.Core writes it
        Assert.EndsWith("Signature=" + sdk.Signature, authorization, StringComparison.Ordinal);
        Assert.Contains("SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-mlflow-sm-tracking-server-arn", authorization, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_SageMaker_arn_goes_to_the_region_s_endpoint_signed_and_a_wrong_secret_is_refused()
    {
        // The ARN alone: the endpoint of its region, the routing header.
        Assert.Equal(("eu-west-1", "aws"), (SageMakerTrackingUri.Parse(Arn).Region, SageMakerTrackingUri.Parse(Arn).Partition));
        Assert.Throws<ArgumentException>(() => SageMakerTrackingUri.Parse("arn:aws:sagemaker:eu-west-1:123:notebook-instance/x"));
        Assert.Throws<NotSupportedException>(() => SageMakerTrackingUri.Parse(Arn + "#arn:aws:iam::123:role/r"));

        using var server = WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"], StartAdminInterface = false });
        var verdicts = new List<string>();
        server.Given(Request.Create().WithPath("/api/2.0/mlflow/experiments/get").UsingGet()).RespondWith(Response.Create().WithCallback(request =>
        {
            var verdict = Verify(request, SuiteSecret);
            lock (verdicts)
            {
                verdicts.Add(verdict);
            }

            return verdict == "ok"
                ? Json(200, """{"experiment":{"experiment_id":"1","name":"e","lifecycle_stage":"active"}}""")
                : Json(403, $$"""{"message":"The request signature we calculated does not match the signature you provided. ({{verdict}})"}""");
        }));

        var previous = (Environment.GetEnvironmentVariable(SageMakerTrackingUri.CustomEndpointVariable), Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID"),
            Environment.GetEnvironmentVariable("AWS_SECRET_ACCESS_KEY"), Environment.GetEnvironmentVariable("AWS_SESSION_TOKEN"));
        try
        {
            Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", SuiteKey);
            Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", SuiteSecret);
            Environment.SetEnvironmentVariable("AWS_SESSION_TOKEN", "session-token-1");
            Environment.SetEnvironmentVariable(SageMakerTrackingUri.CustomEndpointVariable, null);
            using (var real = new MlflowClient(Arn))
            {
                Assert.Equal("https://eu-west-1.experiments.sagemaker.aws/", real.BaseUri.ToString());
            }

            Environment.SetEnvironmentVariable(SageMakerTrackingUri.CustomEndpointVariable, server.Url);
            var options = new MlflowClientOptions { TrackingUri = Arn };
            options.Retry.MaxRetries = 0;
            using (var client = new MlflowClient(options))
            {
                await client.GetExperimentAsync("1");
            }

            var sent = Assert.Single(server.LogEntries).RequestMessage!;
            Assert.Equal(Arn, sent.Headers!["x-mlflow-sm-tracking-server-arn"].Single());
            Assert.Equal("session-token-1", sent.Headers!["X-Amz-Security-Token"].Single());
            Assert.Contains("/eu-west-1/sagemaker-mlflow/aws4_request", sent.Headers!["Authorization"].Single(), StringComparison.Ordinal);

            // The same request signed with another secret: refused by the endpoint, the 403 is the caller's.
            Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", "not-the-secret");
            using var wrong = new MlflowClient(options);
            var refused = await Assert.ThrowsAsync<MlflowException>(() => wrong.GetExperimentAsync("1"));
            Assert.Equal(403, refused.Status);
            Assert.DoesNotContain("not-the-secret", refused.ToString(), StringComparison.Ordinal);
            Assert.Equal(["ok", "signature mismatch"], verdicts);

            await using var store = TrackingStores.Open(new MlflowClientOptions { TrackingUri = Arn });
            Assert.IsType<RestTrackingStore>(store);
        }
        finally
        {
            Environment.SetEnvironmentVariable(SageMakerTrackingUri.CustomEndpointVariable, previous.Item1);
            Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", previous.Item2);
            Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", previous.Item3);
            Environment.SetEnvironmentVariable("AWS_SESSION_TOKEN", previous.Item4);
        }
    }

    [Fact]
    public async Task A_plus_in_a_GET_query_is_sent_and_signed_as_percent_20()
    {
        var time = new FakeTimeProvider(SuiteTime);
        var provider = new AwsSigV4AuthProvider("us-east-1", "execute-api", new Amazon.Runtime.BasicAWSCredentials(SuiteKey, SuiteSecret), timeProvider: time);
        using var request = new HttpRequestMessage(HttpMethod.Get, "https://api.example.com/api/2.0/mlflow/experiments/get-by-name?experiment_name=my+experiment");
        await provider.AuthenticateAsync(request, default);
        Assert.Equal("?experiment_name=my%20experiment", request.RequestUri!.Query);
        Assert.Equal("20150830T123600Z", request.Headers.GetValues("X-Amz-Date").Single());
        Assert.Equal(SigV4.EmptyPayloadHash, request.Headers.GetValues("X-Amz-Content-SHA256").Single());
        Assert.DoesNotContain(SuiteSecret, provider.ToString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// The fake endpoint's check, written apart from the SDK's signer: the canonical request from what arrived (the
    /// signed headers the Authorization header names, the body's hash), the key chain from AWSSDK.Core.
    /// </summary>
    private static string Verify(IRequestMessage request, string secret)
    {
        var authorization = request.Headers!["Authorization"].Single();
        var credential = authorization.Split("Credential=")[1].Split(',')[0].Split('/');
        var signedHeaders = authorization.Split("SignedHeaders=")[1].Split(',')[0];
        var signature = authorization.Split("Signature=")[1];
        var body = request.BodyAsBytes ?? [];
        var hash = Convert.ToHexString(SHA256.HashData(body)).ToLowerInvariant();
        if (request.Headers["X-Amz-Content-SHA256"].Single() != hash)
        {
            return "payload hash";
        }

        var uri = new Uri(request.Url);
        var query = string.Join('&', uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
        var headers = new StringBuilder();
        foreach (var name in signedHeaders.Split(';'))
        {
            var value = name == "host" ? uri.Authority : request.Headers.First(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value.Single().Trim();
            headers.Append(name).Append(':').Append(value).Append('\n');
        }

        var canonical = $"{request.Method}\n{uri.AbsolutePath}\n{query}\n{headers}\n{signedHeaders}\n{hash}";
        var signedAt = DateTime.ParseExact(request.Headers["X-Amz-Date"].Single(), "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
        var expected = AWS4Signer.ComputeSignature(credential[0], secret, credential[2], signedAt, credential[3], signedHeaders, canonical);
        return expected.Signature == signature ? "ok" : "signature mismatch";
    }

    private static ResponseMessage Json(int status, string body) => new()
    {
        StatusCode = status,
        BodyData = new BodyData { BodyAsString = body, DetectedBodyType = BodyType.String },
        Headers = new Dictionary<string, WireMockList<string>> { ["Content-Type"] = new("application/json") },
    };
}
