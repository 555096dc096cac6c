using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using MlOps.Client.Models;
using MlOps.Client.Serving;
using MlOps.Client.Stores;
using MlOps.Client.XGBoost;
using MlOps.Client.XGBoost.Models;
using MlOps.Client.XGBoost.Tests;
using OpenTelemetry.Metrics;
using XGBoostIris;

namespace MlOps.Client.Serving.Tests;

/// <summary>The iris XGBoost model (the seed example) served from .NET, against Python's scoring server's recorded answers for the same model.</summary>
public sealed class ScoringServerTests : IAsyncLifetime
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-serving-");
    private ServingHost? _host;

    private ServedModel Model => _host!.Model;

    private HttpClient Http => _host!.Http;

    private static JsonObject Recorded(string name) =>
        JsonNode.Parse(File.ReadAllText(Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Recorded", "scoring"), name + "-*.json").Single()))!.AsObject();

    public async Task InitializeAsync()
    {
        if (Libxgboost.SkipReason is not null)
        {
            return;
        }

        // The model samples/XGBoostIris logs: the seed example's booster, with its tensor signature float32 [-1, 4] → [-1, 3].
        using var booster = SeedModel.Load();
        var (folder, _) = await SeedModel.SaveServableAsync(booster, _dir.FullName);
        _host = await ServingHost.StartAsync(folder, new ScoringOptions { Version = "2.22.1.dev0", MaxRequestBodyBytes = 1 << 20 });
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        _dir.Delete(recursive: true);
    }

    private async Task<(HttpStatusCode Status, string Body, string? ContentType)> SendAsync(JsonObject exchange)
    {
        var request = exchange["request"]!;
        var message = new HttpRequestMessage(new HttpMethod(request["method"]!.GetValue<string>()), request["path"]!.GetValue<string>());
        var body = request["body"]?.GetValue<string>() ?? "";
        var contentType = request["headers"]!["Content-Type"]?.GetValue<string>();
        message.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        if (contentType is not null)
        {
            message.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        using var response = await Http.SendAsync(message);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response.Content.Headers.ContentType?.MediaType);
    }

    [XGBoostTheory]
    [InlineData("004")]
    [InlineData("005")]
    [InlineData("006")]
    [InlineData("007")]
    [InlineData("008")]
    [InlineData("016")]
    [InlineData("022")]
    public async Task Every_payload_format_predicts_what_Pythons_server_predicted(string exchange)
    {
        var recorded = Recorded(exchange);
        var (status, body, contentType) = await SendAsync(recorded);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("application/json", contentType);
        Assert.True(JsonNode.DeepEquals(recorded["response"]!["json"], JsonNode.Parse(body)), body[..Math.Min(300, body.Length)]);
    }

    [XGBoostFact]
    public async Task CSV_is_accepted_where_Pythons_server_refused_it_for_a_tensor_model()
    {
        var (status, body, _) = await SendAsync(Recorded("009"));
        Assert.Equal(400, (int)Recorded("009")["response"]!["status"]!);
        Assert.Equal(HttpStatusCode.OK, status); // better than Python: the columns convert, so the rows are scored
        Assert.True(JsonNode.DeepEquals(Recorded("004")["response"]!["json"], JsonNode.Parse(body)));
    }

    [XGBoostTheory]
    [InlineData("010")]
    [InlineData("011")]
    [InlineData("012")]
    [InlineData("013")]
    [InlineData("014")]
    [InlineData("021")]
    [InlineData("023")]
    public async Task Bad_input_gets_the_status_and_error_code_Pythons_server_gave(string exchange)
    {
        var recorded = Recorded(exchange);
        var (status, body, contentType) = await SendAsync(recorded);
        Assert.Equal(recorded["response"]!["status"]!.GetValue<int>(), (int)status);
        Assert.Equal("application/json", contentType);
        var error = JsonNode.Parse(body)!;
        Assert.Equal(recorded["response"]!["json"]!["error_code"]!.GetValue<string>(), error["error_code"]!.GetValue<string>());
        Assert.False(string.IsNullOrWhiteSpace(error["message"]!.GetValue<string>()));
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal); // no stack trace
    }

    [XGBoostTheory]
    [InlineData("015")]
    [InlineData("017")]
    [InlineData("018")]
    [InlineData("019")]
    public async Task Unsupported_or_missing_content_types_get_415_with_the_error_JSON(string exchange)
    {
        var (status, body, _) = await SendAsync(Recorded(exchange));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, status); // 017: Python answers a plain-text 500 here
        Assert.Equal("BAD_REQUEST", JsonNode.Parse(body)!["error_code"]!.GetValue<string>());
    }

    public static TheoryData<string, string> Hostile => new()
    {
        { "application/json", "{\"inputs\": " + new string('[', 5000) + new string(']', 5000) + "}" },
        { "application/json", """{"dataframe_split": {"columns": ["a"], "data": [[1, 2]]}}""" },
        { "application/json", """{"dataframe_split": {"columns": 5, "data": 7}}""" },
        { "application/json", """{"dataframe_records": [1, 2]}""" },
        { "application/json", """{"inputs": []}""" },
        { "application/json", """{"inputs": [[1, 2, 3, 4], [1, 2]]}""" },
        { "application/json", """{"instances": "abc"}""" },
        { "application/json", """{"inputs": {"a": [1, 2], "b": [1]}}""" },
        { "application/json", """{"inputs": [[{"a": 1}, 1, 1, 1]]}""" },
        { "application/json", """{"inputs": [[1, 2, 3, 4]]} trailing""" },
        { "application/json", """{"dataframe_split": {"index": [0, 1, 2], "columns": ["a", "b", "c", "d"], "data": [[1, 2, 3, 4]]}}""" },
        { "text/csv", "a;b;c;d\n1;2;3;4\n" },
        { "application/json", "null" },
        { "application/json", "[]" },
        { "application/json", "\"x\"" },
        { "application/json", "{\"inputs\": [[\"\udcff\", 1, 1, 1]]}" },
        { "text/csv", "a,b,c,d\n1,2,3\n" },
        { "text/csv", "\"abc,1,2,3\n" },
        { "text/csv", "1,2,3,4,5,6\n" },
    };

    [XGBoostFact]
    public async Task A_number_beyond_float64_is_infinity_as_Pythons_json_reads_it()
    {
        using var content = new StringContent("""{"inputs": [[1e400, 1, 1, 1]]}""", Encoding.UTF8, "application/json");
        using var response = await Http.PostAsync("/invocations", content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["predictions"]![0]!.AsArray().Count);
    }

    [XGBoostTheory]
    [InlineData("""{"instances": [[5.1, 3.5, 1.4, 0.2], [5.1, 3.5]]}""")]
    [InlineData("""{"inputs": [[5.1, 3.5, 1.4, 0.2], 1.0]}""")]
    [InlineData("""{"dataframe_split": {"data": [[5.1, 3.5, 1.4, 0.2], [5.1, 3.5, 1.4]]}}""")]
    public async Task Positional_rows_of_different_widths_are_refused_naming_the_problem(string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await Http.PostAsync("/invocations", content);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("Invalid input. The rows have different numbers of values.", error["message"]!.GetValue<string>());
    }

    [XGBoostTheory]
    [InlineData("instances")]
    [InlineData("dataframe_split")]
    [InlineData("csv")]
    public async Task A_wide_first_row_before_many_short_ones_is_refused_without_making_room_for_them_all(string format)
    {
        // 5,000 values, then 200,000 rows of one: a table of 10⁹ values if it were made before the widths are checked.
        var wide = string.Join(",", Enumerable.Repeat("1", 5000));
        var body = format switch
        {
            "instances" => "{\"instances\": [[" + wide + "]" + string.Concat(Enumerable.Repeat(",[1]", 200_000)) + "]}",
            "dataframe_split" => "{\"dataframe_split\": {\"columns\": [" + string.Join(",", Enumerable.Range(0, 5000).Select(i => $"\"c{i}\"")) + "], \"data\": [[" + wide + "]" + string.Concat(Enumerable.Repeat(",[1]", 200_000)) + "]}}",
            _ => wide + "\n" + wide + "\n" + string.Concat(Enumerable.Repeat("1\n", 200_000)),
        };
        using var content = new StringContent(body, Encoding.UTF8, format == "csv" ? "text/csv" : "application/json");
        using var response = await Http.PostAsync("/invocations", content);
        var message = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["message"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(format switch { "instances" => "different numbers of values", "dataframe_split" => "row 1 has 1 values for 5000 columns", _ => "Expected 5000 fields in line 3, saw 1" }, message, StringComparison.Ordinal);
    }

    [XGBoostFact]
    public async Task Every_table_shape_reads_the_same_rows()
    {
        // The same two rows as positional lists, records (keys in another order), split, and
        // a body whose format key comes twice (the last value counts, as Python's dict keeps it): the same predictions.
        string[] bodies =
        [
            """{"instances": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}""",
            """{"dataframe_records": [{"a": 5.1, "b": 3.5, "c": 1.4, "d": 0.2}, {"d": 2.3, "c": 5.2, "b": 3.0, "a": 6.7}]}""",
            """{"dataframe_split": {"columns": ["a", "b", "c", "d"], "data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}}""",
            """{"inputs": [[0, 0, 0, 0]], "inputs": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}""",
        ];
        var answers = new List<JsonNode>();
        foreach (var body in bodies)
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var response = await Http.PostAsync("/invocations", content);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, body + " → " + text);
            answers.Add(JsonNode.Parse(text)!);
        }

        Assert.Equal(2, answers[0]["predictions"]!.AsArray().Count);
        Assert.All(answers, a => Assert.True(JsonNode.DeepEquals(answers[0], a), a.ToJsonString()));
    }

    [XGBoostTheory]
    [MemberData(nameof(Hostile))]
    public async Task Hostile_bodies_get_a_4xx_with_the_error_JSON_and_the_server_keeps_serving(string contentType, string body)
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        using var response = await Http.PostAsync("/invocations", content);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode is >= 400 and < 500, $"{(int)response.StatusCode}: {text}");
        var error = JsonNode.Parse(text)!;
        Assert.Contains(error["error_code"]!.GetValue<string>(), new[] { "BAD_REQUEST", "INVALID_PARAMETER_VALUE" });
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
        Assert.Null(error["stack_trace"]);

        var (status, answer, _) = await SendAsync(Recorded("005"));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(JsonNode.DeepEquals(Recorded("005")["response"]!["json"], JsonNode.Parse(answer)));
    }

    [XGBoostTheory]
    [InlineData("{\"dataframe_split\": {\"columns\": [\"a\",\"b\",\"c\",\"d\"], \"data\": [[5.1,3.5,1.4,0.2]]}, \"note\": \"\u00FF\"}", "application/json")] // in a value nobody reads
    [InlineData("{\"dataframe_split\": {\"columns\": [\"a\",\"b\",\"c\",\"\u00FF\"], \"data\": [[5.1,3.5,1.4,0.2]]}}", "application/json")] // in a column name
    [InlineData("{\"\u00FFinputs\": [[5.1,3.5,1.4,0.2]]}", "application/json")] // in a key
    [InlineData("a,b,c,d\n5.1,3.5,1.4,\u00FF\n", "text/csv")]
    public async Task A_body_that_is_not_UTF8_is_refused_the_same_way_wherever_the_bad_byte_is(string template, string contentType)
    {
        // U+00FF stands for one raw 0xFF byte, which no UTF-8 text contains.
        var bytes = Encoding.Latin1.GetBytes(template);
        using var content = new ByteArrayContent(bytes);
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        using var response = await Http.PostAsync("/invocations", content);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonNode.Parse(text)!;
        Assert.Equal("BAD_REQUEST", error["error_code"]!.GetValue<string>());
        Assert.Contains("not valid UTF-8", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains($"at byte {Array.IndexOf(bytes, (byte)0xFF)}", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [XGBoostFact]
    public async Task The_scoring_client_gets_Pythons_predictions_in_every_format_and_its_error_codes()
    {
        using var client = new MlOps.Client.Scoring.MlflowScoringClient(Http.BaseAddress!.ToString(), o => o.Retry.MaxRetries = 0);
        Assert.True(await client.PingAsync());
        Assert.Equal("2.22.1.dev0", await client.GetVersionAsync());

        var expected = Recorded("004")["response"]!["json"]!["predictions"]!.AsArray().Select(r => r!.AsArray().Select(v => v!.GetValue<double>()).ToArray()).ToArray();
        var split = JsonNode.Parse(Recorded("004")["request"]!["body"]!.GetValue<string>())!["dataframe_split"]!;
        var columns = split["columns"]!.AsArray().Select(c => c!.GetValue<string>()).ToList();
        var rows = split["data"]!.AsArray().Select(r => (IReadOnlyList<object?>)[.. r!.AsArray().Select(v => (object?)v!.GetValue<double>())]).ToList();

        Assert.Equal(expected, (await client.PredictDataFrameSplitAsync(columns, rows)).AsRows());
        Assert.Equal(expected, (await client.PredictDataFrameRecordsAsync(rows.Select(r => (IReadOnlyDictionary<string, object?>)columns.Zip(r).ToDictionary(p => p.First, p => p.Second)))).AsRows());
        Assert.Equal(expected, (await client.PredictInstancesAsync(JsonNode.Parse(split["data"]!.ToJsonString())!.AsArray())).AsRows());
        Assert.Equal(expected, (await client.PredictInputsAsync(JsonNode.Parse(split["data"]!.ToJsonString())!)).AsRows());

        var refused = await Assert.ThrowsAsync<MlflowException>(() => client.PredictDataFrameSplitAsync(["a", "b", "c"], [[1.0, 2.0, 3.0]]));
        Assert.Equal(400, refused.Status);
        Assert.Equal("INVALID_PARAMETER_VALUE", refused.ErrorCode);
        refused = await Assert.ThrowsAsync<MlflowException>(() => client.PredictInstancesAsync([new JsonArray("abc", 3.5, 1.4, 0.2)]));
        Assert.Equal("BAD_REQUEST", refused.ErrorCode);
    }

    [XGBoostFact]
    public async Task Ping_health_and_version_answer_as_Pythons_server()
    {
        foreach (var (name, path) in new[] { ("001", "/ping"), ("002", "/health"), ("003", "/version") })
        {
            var recorded = Recorded(name)["response"]!;
            using var response = await Http.GetAsync(path);
            Assert.Equal(recorded["status"]!.GetValue<int>(), (int)response.StatusCode);
            Assert.Equal(recorded["body"]!.GetValue<string>(), await response.Content.ReadAsStringAsync());
        }
    }

    [XGBoostFact]
    public async Task A_body_over_the_limit_is_refused_and_concurrent_requests_share_the_model()
    {
        using var big = new StringContent("{\"inputs\": [" + string.Join(",", Enumerable.Repeat("[5.2, 3.4, 1.4, 0.2]", 60_000)) + "]}", Encoding.UTF8, "application/json");
        // Expect: 100-continue, as clients sending large bodies do: the server refuses on the declared length before the
        // body is sent (without it, the 413 can race the upload and the connection be reset under the client).
        using var request = new HttpRequestMessage(HttpMethod.Post, "/invocations") { Content = big };
        request.Headers.ExpectContinue = true;
        using var refused = await Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);

        // Each of the 45 recorded rows in a request of its own, all at once: each answer is its own row's (Python's) prediction.
        var rows = JsonNode.Parse(Recorded("004")["request"]!["body"]!.GetValue<string>())!["dataframe_split"]!["data"]!.AsArray();
        var expected = Recorded("004")["response"]!["json"]!["predictions"]!.AsArray();
        var answers = await Task.WhenAll(rows.Select(async row =>
        {
            using var content = new StringContent(new JsonObject { ["instances"] = new JsonArray(row!.DeepClone()) }.ToJsonString(), Encoding.UTF8, "application/json");
            using var response = await Http.PostAsync("/invocations", content);
            return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["predictions"]![0];
        }));
        for (var i = 0; i < rows.Count; i++)
        {
            Assert.True(JsonNode.DeepEquals(expected[i], answers[i]), $"row {i}");
        }
    }

    [XGBoostFact]
    public async Task Pythons_JSON_constants_a_byte_order_mark_and_a_repeated_format_key_are_read_as_Python_reads_them()
    {
        async Task<(int Status, JsonNode? Json)> PostAsync(byte[] body, string contentType = "application/json")
        {
            using var content = new ByteArrayContent(body);
            content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            using var response = await Http.PostAsync("/invocations", content);
            return ((int)response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync()));
        }

        // json.dumps writes NaN and Infinity: NaN is a missing value (as null), Infinity is infinite.
        var (status, withConstants) = await PostAsync(Encoding.UTF8.GetBytes("""{"inputs": [[NaN, 3.5, 1.4, Infinity], [-Infinity, 3.5, 1.4, 0.2]], "note": "NaN in a string stays"}"""));
        Assert.Equal(200, status);
        var (_, withNulls) = await PostAsync(Encoding.UTF8.GetBytes("""{"inputs": [[null, 3.5, 1.4, 1e999], [-1e999, 3.5, 1.4, 0.2]]}"""));
        Assert.True(JsonNode.DeepEquals(withNulls, withConstants));

        var recorded = Recorded("005");
        var body = Encoding.UTF8.GetBytes(recorded["request"]!["body"]!.GetValue<string>());
        (status, var answer) = await PostAsync([0xEF, 0xBB, 0xBF, .. body]);
        Assert.Equal(200, status);
        Assert.True(JsonNode.DeepEquals(recorded["response"]!["json"], answer));

        // A key sent twice: Python's dict keeps the last.
        (status, answer) = await PostAsync(Encoding.UTF8.GetBytes("""{"inputs": [[1, 1, 1, 1]], "inputs": [[5.2, 3.4, 1.4, 0.2]]}"""));
        Assert.Equal(200, status);
        Assert.True(JsonNode.DeepEquals(recorded["response"]!["json"], answer));
    }

    [XGBoostFact]
    public async Task CSV_without_a_header_or_with_pandas_0_1_2_header_is_scored_where_Python_refused_it()
    {
        var recorded = Recorded("024");
        Assert.Equal(400, recorded["response"]!["status"]!.GetValue<int>());
        var (status, body, _) = await SendAsync(recorded);
        Assert.Equal(HttpStatusCode.OK, status);
        var headerless = JsonNode.Parse(body)!["predictions"]!.AsArray();
        Assert.Equal(2, headerless.Count);

        // pd.DataFrame(X).to_csv(index=False) names the columns 0,1,2,3: a header, not a row.
        using var content = new StringContent("0,1,2,3\n" + recorded["request"]!["body"]!.GetValue<string>(), Encoding.UTF8, "text/csv");
        using var response = await Http.PostAsync("/invocations", content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(JsonNode.DeepEquals(headerless, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["predictions"]));
    }

    [XGBoostFact]
    public async Task Another_method_on_invocations_gets_405_in_FastAPIs_shape()
    {
        var recorded = Recorded("020")["response"]!;
        using var response = await Http.GetAsync("/invocations");
        Assert.Equal(recorded["status"]!.GetValue<int>(), (int)response.StatusCode);
        Assert.Equal(recorded["body"]!.GetValue<string>(), await response.Content.ReadAsStringAsync());
    }

    [XGBoostFact]
    public async Task Records_with_keys_of_their_own_are_refused_before_they_make_a_huge_table()
    {
        var records = string.Join(", ", Enumerable.Range(0, 3000).Select(i => $$"""{"k{{i}}": 1}"""));
        using var content = new StringContent($$"""{"dataframe_records": [{{records}}]}""", Encoding.UTF8, "application/json");
        using var response = await Http.PostAsync("/invocations", content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("BAD_REQUEST", error["error_code"]!.GetValue<string>());
        Assert.Contains("3000 records with 3000 distinct keys make a table of 9000000 values for 3000 sent; at most 1000000 are accepted", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [XGBoostFact]
    public async Task Requests_errors_by_code_rows_latency_and_prediction_summaries_are_measured()
    {
        var measurements = new List<(string Name, double Value, Dictionary<string, string?> Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == ScoringMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var map = new Dictionary<string, string?>();
            foreach (var t in tags)
            {
                map[t.Key] = t.Value?.ToString();
            }

            lock (measurements)
            {
                measurements.Add((instrument.Name, value, map));
            }
        }

        listener.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
        listener.SetMeasurementEventCallback<double>((i, v, t, _) => Record(i, v, t));
        listener.Start();
        await SendAsync(Recorded("004"));
        await SendAsync(Recorded("011"));
        await SendAsync(Recorded("012"));
        listener.Dispose();

        // Python's argmax of the recorded probabilities: the class counts the meter must report.
        var expected = Recorded("004")["response"]!["json"]!["predictions"]!.AsArray()
            .Select(r => r!.AsArray().Select(v => v!.GetValue<double>()).ToList()).Select(p => p.IndexOf(p.Max())).GroupBy(c => c).ToDictionary(g => g.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), g => g.Count());
        lock (measurements)
        {
            var mine = measurements.Where(m => m.Tags.GetValueOrDefault("model") == Model.ModelUri).ToList();
            Assert.Contains(mine, m => m.Name == "mlops.serving.requests" && m.Tags.GetValueOrDefault("http.response.status_code") == "200");
            Assert.Contains(mine, m => m.Name == "mlops.serving.requests" && m.Tags.GetValueOrDefault("http.response.status_code") == "400" && m.Tags.GetValueOrDefault("error_code") == "BAD_REQUEST");
            Assert.Equal(1, mine.Where(m => m.Name == "mlops.serving.errors" && m.Tags.GetValueOrDefault("error_code") == "BAD_REQUEST").Sum(m => m.Value));
            Assert.Equal(1, mine.Where(m => m.Name == "mlops.serving.errors" && m.Tags.GetValueOrDefault("error_code") == "INVALID_PARAMETER_VALUE").Sum(m => m.Value));
            Assert.Equal([45.0], mine.Where(m => m.Name == "mlops.serving.rows").Select(m => m.Value));
            Assert.Equal(3, mine.Count(m => m.Name == "mlops.serving.request.duration" && m.Value > 0));

            // Per output: the count, mean, min and max come from the histogram of each class probability.
            var predictions = mine.Where(m => m.Name == "mlops.serving.prediction").ToList();
            Assert.Equal(["0", "1", "2"], predictions.Select(m => m.Tags["output"]).Distinct().Order());
            Assert.All(predictions.GroupBy(m => m.Tags["output"]), g => Assert.Equal(45, g.Count()));
            var classes = mine.Where(m => m.Name == "mlops.serving.predicted_class").ToDictionary(m => m.Tags["class"]!, m => (int)m.Value);
            Assert.Equal(expected.OrderBy(p => p.Key), classes.OrderBy(p => p.Key));
        }
    }

    [XGBoostFact]
    public async Task The_metrics_export_through_OpenTelemetry_with_each_outputs_count_min_and_max()
    {
        var exported = new List<OpenTelemetry.Metrics.Metric>();
        using var provider = OpenTelemetry.Sdk.CreateMeterProviderBuilder().AddMeter(ScoringMetrics.MeterName).AddInMemoryExporter(exported).Build();
        await SendAsync(Recorded("004"));
        await SendAsync(Recorded("010"));
        provider.ForceFlush();

        var recorded = Recorded("004")["response"]!["json"]!["predictions"]!.AsArray().Select(r => r!.AsArray().Select(v => v!.GetValue<double>()).ToArray()).ToList();
        var outputs = new Dictionary<string, (long Count, double Min, double Max)>();
        var requests = new Dictionary<string, long>();
        foreach (var metric in exported)
        {
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                var tags = new Dictionary<string, string?>();
                foreach (var tag in point.Tags)
                {
                    tags[tag.Key] = tag.Value?.ToString();
                }

                if (tags.GetValueOrDefault("model") != Model.ModelUri)
                {
                    continue;
                }

                if (metric.Name == "mlops.serving.prediction" && point.TryGetHistogramMinMaxValues(out var min, out var max))
                {
                    outputs[tags["output"]!] = (point.GetHistogramCount(), min, max);
                }
                else if (metric.Name == "mlops.serving.requests")
                {
                    requests[tags["http.response.status_code"] + " " + tags.GetValueOrDefault("error_code")] = point.GetSumLong();
                }
            }
        }

        for (var o = 0; o < 3; o++)
        {
            var (count, min, max) = outputs[o.ToString(System.Globalization.CultureInfo.InvariantCulture)];
            Assert.Equal(45, count);
            Assert.Equal(recorded.Min(r => r[o]), min, 1e-9);
            Assert.Equal(recorded.Max(r => r[o]), max, 1e-9);
        }

        Assert.Equal(1, requests["200 "]);
        Assert.Equal(1, requests["400 BAD_REQUEST"]);

        // The latency histogram's buckets come from the instrument's advice: sub-millisecond answers land in buckets of their own.
        var duration = exported.First(m => m.Name == "mlops.serving.request.duration");
        var bounds = new List<double>();
        foreach (ref readonly var point in duration.GetMetricPoints())
        {
            foreach (var bucket in point.GetHistogramBuckets())
            {
                bounds.Add(bucket.ExplicitBound);
            }

            break;
        }

        Assert.Equal([.. ScoringMetrics.DurationBuckets, double.PositiveInfinity], bounds);
    }

    [XGBoostFact]
    public async Task The_request_log_line_has_status_rows_and_time_but_no_payload()
    {
        var lines = new List<string>();
        await using var host = await ServingHost.StartAsync(Model, null, lines, ownsModel: false);
        var http = host.Http;
        using var ok = await http.PostAsync("/invocations", new StringContent("""{"inputs": [[5.123456, 3.5, 1.4, 0.2]]}""", Encoding.UTF8, "application/json"));
        using var bad = await http.PostAsync("/invocations", new StringContent("""{"inputs": [["secret-value", 3.5, 1.4, 0.2]]}""", Encoding.UTF8, "application/json"));
        lock (lines)
        {
            var served = lines.Where(l => l.StartsWith("POST /invocations →", StringComparison.Ordinal)).ToList();
            Assert.Equal(2, served.Count);
            Assert.Contains(served, l => l.StartsWith("POST /invocations → 200, 1 rows,", StringComparison.Ordinal)); // no stray space before the comma
            Assert.Contains(served, l => l.StartsWith("POST /invocations → 400 BAD_REQUEST, 0 rows,", StringComparison.Ordinal));
            Assert.DoesNotContain(lines, l => l.Contains("5.123456", StringComparison.Ordinal) || l.Contains("secret-value", StringComparison.Ordinal));
        }
    }

    [XGBoostFact]
    public async Task A_model_without_a_servable_flavor_is_refused_at_start_naming_its_flavors()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_dir.FullName, "other")).FullName;
        var description = MlflowModel.Create("model", "run");
        description.Flavors["sklearn"] = new JsonObject { ["pickled_model"] = "model.pkl" };
        description.Save(folder);
        await using var store = SqliteTrackingStore.Open("sqlite:///" + Path.Combine(_dir.FullName, "other.db"));
        var error = await Assert.ThrowsAsync<NotSupportedException>(() => ServedModel.LoadAsync(store, folder));
        Assert.Contains("sklearn", error.Message, StringComparison.Ordinal);
    }
}
