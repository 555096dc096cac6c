using System.Net;
using MlOps.Client.Tests.Fixtures;

namespace MlOps.Client.Tests.Rest;

public class ErrorMappingTests
{
    [Theory]
    [InlineData("011-experiments-create-duplicate-name", 400, "RESOURCE_ALREADY_EXISTS")]
    [InlineData("012-experiments-create-missing-name", 400, "INVALID_PARAMETER_VALUE")]
    [InlineData("015-experiments-get-missing", 404, "RESOURCE_DOES_NOT_EXIST")]
    [InlineData("018-experiments-get-by-name-missing", 404, "RESOURCE_DOES_NOT_EXIST")]
    [InlineData("023-experiments-search-no-max-results", 400, "INVALID_PARAMETER_VALUE")]
    [InlineData("024-experiments-search-bad-filter", 400, "INVALID_PARAMETER_VALUE")]
    [InlineData("031-experiments-create-run-in-deleted", 400, "INVALID_PARAMETER_VALUE")]
    [InlineData("042-runs-create-missing-experiment", 404, "RESOURCE_DOES_NOT_EXIST")]
    [InlineData("044-runs-get-missing", 404, "RESOURCE_DOES_NOT_EXIST")]
    [InlineData("059-runs-log-metric-unknown-run", 404, "RESOURCE_DOES_NOT_EXIST")]
    [InlineData("062-runs-log-parameter-change-value", 400, "INVALID_PARAMETER_VALUE")]
    [InlineData("066-runs-delete-tag-missing", 404, "RESOURCE_DOES_NOT_EXIST")]
    [InlineData("087-runs-log-batch-duplicate-param-in-batch", 400, "INVALID_PARAMETER_VALUE")]
    [InlineData("088-runs-log-batch-change-param", 400, "INVALID_PARAMETER_VALUE")]
    [InlineData("091-runs-log-batch-missing-run-id", 400, "INVALID_PARAMETER_VALUE")]
    [InlineData("123-runs-search-bad-filter", 400, "INVALID_PARAMETER_VALUE")]
    [InlineData("144-runs-log-model-bad-json", 400, "INVALID_PARAMETER_VALUE")]
    [InlineData("150-error-invalid-json", 400, "INVALID_PARAMETER_VALUE")]
    [InlineData("156-error-text-plain-body", 400, "INVALID_PARAMETER_VALUE")]
    [InlineData("157-error-empty-body", 400, "INVALID_PARAMETER_VALUE")]
    [InlineData("206-artifacts-get-missing", 500, "INTERNAL_ERROR")]
    [InlineData("210-artifacts-list-proxy-traversal", 400, "INVALID_PARAMETER_VALUE")]
    [InlineData("214-artifacts-list-run-traversal", 400, "INVALID_PARAMETER_VALUE")]
    [InlineData("401-experiments-delete-missing", 404, "RESOURCE_DOES_NOT_EXIST")]
    public async Task Recorded_json_errors_carry_status_code_and_message(string exchange, int status, string code)
    {
        using var server = new RecordedServer();
        var recorded = server.Serve(exchange);
        using var client = server.CreateClient();

        var ex = await Assert.ThrowsAsync<MlflowException>(() => SendAsRecorded(client, recorded));

        Assert.Equal(status, ex.Status);
        Assert.Equal(code, ex.ErrorCode);
        var message = recorded.ResponseJson!["message"]!.GetValue<string>();
        Assert.Equal(message, ex.ServerMessage);
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
        Assert.Contains(status.ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Message, StringComparison.Ordinal);
        Assert.Equal(status >= 500 && status != 501, ex.IsTransient);
    }

    [Theory]
    [InlineData("153-error-wrong-method", 405, "Method Not Allowed")]
    [InlineData("154-error-unknown-endpoint", 404, "Not Found")]
    [InlineData("155-error-unknown-endpoint-post", 404, "Not Found")]
    public async Task Html_error_pages_give_the_status_and_a_short_excerpt(string exchange, int status, string excerpt)
    {
        using var server = new RecordedServer();
        var recorded = server.Serve(exchange);
        using var client = server.CreateClient();

        var ex = await Assert.ThrowsAsync<MlflowException>(() => SendAsRecorded(client, recorded));

        Assert.Equal(status, ex.Status);
        Assert.Null(ex.ErrorCode);
        Assert.Contains(excerpt, ex.BodyExcerpt, StringComparison.Ordinal);
        Assert.Contains("text/html", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.True(ex.Message.Length < 400);
    }

    [Theory]
    [InlineData(0, null, true)]                                    // no answer: the server or store unreachable, a timeout
    [InlineData(0, MlflowErrorCodes.TemporarilyUnavailable, true)]
    [InlineData(0, MlflowErrorCodes.InvalidState, false)]          // a local state that a retry does not change
    [InlineData(0, MlflowErrorCodes.ResourceDoesNotExist, false)]
    [InlineData(503, null, true)]
    [InlineData(501, null, false)]
    [InlineData(404, MlflowErrorCodes.ResourceDoesNotExist, false)]
    public void The_public_IsTransient_is_the_rule_the_retries_and_the_uploader_use(int status, string? code, bool transient)
    {
        var ex = new MlflowException(status, code, "m");
        Assert.Equal(transient, ex.IsTransient);
        Assert.Equal(transient, Transience.IsTransient(ex));
        Assert.False(new MlflowValidationException("metric key", "too long").IsTransient);
    }

    [Fact]
    public void Retry_After_is_read_once_for_the_client_and_the_pipeline_as_seconds_or_a_date_never_negative()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));
        using var seconds = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) { Headers = { RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(7)) } };
        using var date = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) { Headers = { RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(time.GetUtcNow().AddSeconds(30)) } };
        using var past = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) { Headers = { RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(time.GetUtcNow().AddSeconds(-30)) } };
        using var none = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
        Assert.Equal(TimeSpan.FromSeconds(7), Transience.RetryAfter(seconds, time));
        Assert.Equal(TimeSpan.FromSeconds(30), Transience.RetryAfter(date, time));
        Assert.Equal(TimeSpan.Zero, Transience.RetryAfter(past, time));
        Assert.Null(Transience.RetryAfter(none, time));
    }

    [Fact]
    public async Task An_empty_error_body_still_gives_a_clear_message()
    {
        using var server = new RecordedServer();
        server.ServeStatus("GET", "/api/2.0/mlflow/runs/get", 502, "", "text/plain");
        using var client = server.CreateClient();
        var ex = await Assert.ThrowsAsync<MlflowException>(() => client.GetRunAsync("r"));
        Assert.Equal(502, ex.Status);
        Assert.Contains("empty body", ex.Message, StringComparison.Ordinal);
        Assert.True(ex.IsTransient);
    }

    [Fact]
    public async Task A_refused_connection_is_an_MlflowException_with_status_0()
    {
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = "http://127.0.0.1:1" }.WithNoRetries());
        var ex = await Assert.ThrowsAsync<MlflowException>(() => client.GetRunAsync("r"));
        Assert.Equal(0, ex.Status);
        Assert.Contains("127.0.0.1:1", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>Replays the recorded request through the raw pipeline (the typed methods validate some of these away).</summary>
    private static async Task SendAsRecorded(MlflowClient client, RecordedExchange recorded)
    {
        var query = string.Join("&", recorded.Query.Select(kv => Uri.EscapeDataString(kv.Key) + "=" + Uri.EscapeDataString(kv.Value)));
        using var request = new HttpRequestMessage(new HttpMethod(recorded.Method), new Uri(client.BaseUri, recorded.Path.TrimStart('/') + (query.Length > 0 ? "?" + query : "")));
        if (recorded.RequestJson is { } json)
        {
            request.Content = new StringContent(json.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
        }

        using var response = await client.SendRawAsync(request, CancellationToken.None);
    }
}

internal static class OptionsExtensions
{
    public static MlflowClientOptions WithNoRetries(this MlflowClientOptions options)
    {
        options.Retry.MaxRetries = 0;
        return options;
    }
}
