using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace MlOps.Client.Aws;

/// <summary>
/// AWS Signature Version 4 over a request as botocore's <c>SigV4Auth</c> signs it: the canonical request (method, the
/// URI path with dot segments removed and percent-encoded once more except <c>/~</c>, the query pairs as sent sorted by
/// key then value, the signed headers lower-cased, trimmed and sorted, the payload hash), the string to sign with the
/// credential scope <c>date/region/service/aws4_request</c>, and the HMAC-SHA256 key chain.
/// </summary>
internal static class SigV4
{
    /// <summary>The SHA-256 of an empty body.</summary>
    public const string EmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    /// <summary>The <c>Authorization</c> header value, and the canonical request it signs (for tests and diagnostics).</summary>
    /// <param name="method">The HTTP method.</param>
    /// <param name="uri">The absolute URI as it is sent.</param>
    /// <param name="headers">The headers to sign (<c>host</c> and <c>x-amz-date</c> among them), any case.</param>
    /// <param name="payloadHash">The hex SHA-256 of the body.</param>
    /// <param name="accessKey">The access key id.</param>
    /// <param name="secretKey">The secret access key.</param>
    /// <param name="region">The region, e.g. <c>eu-west-1</c>.</param>
    /// <param name="service">The service, e.g. <c>sagemaker-mlflow</c>.</param>
    /// <param name="time">The signing time (its UTC <c>x-amz-date</c> must be in <paramref name="headers"/>).</param>
    public static (string Authorization, string CanonicalRequest) Authorization(
        string method, Uri uri, IEnumerable<KeyValuePair<string, string>> headers, string payloadHash,
        string accessKey, string secretKey, string region, string service, DateTimeOffset time)
    {
        var canonicalHeaders = headers
            .GroupBy(h => h.Key.ToLowerInvariant(), StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => (Name: g.Key, Value: string.Join(',', g.Select(h => Collapse(h.Value)))))
            .ToList();
        var signedHeaders = string.Join(';', canonicalHeaders.Select(h => h.Name));
        var canonical = string.Join('\n',
            method.ToUpperInvariant(),
            CanonicalPath(uri),
            CanonicalQuery(uri),
            string.Concat(canonicalHeaders.Select(h => h.Name + ":" + h.Value + "\n")),
            signedHeaders,
            payloadHash);
        var utc = time.UtcDateTime;
        var date = utc.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
        var scope = $"{date}/{region}/{service}/aws4_request";
        var stringToSign = string.Join('\n', "AWS4-HMAC-SHA256", utc.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture), scope, Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonical))));
        var key = Hmac(Encoding.UTF8.GetBytes("AWS4" + secretKey), date);
        key = Hmac(key, region);
        key = Hmac(key, service);
        key = Hmac(key, "aws4_request");
        var signature = Hex(Hmac(key, stringToSign));
        return ($"AWS4-HMAC-SHA256 Credential={accessKey}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}", canonical);
    }

    /// <summary>The hex SHA-256 of <paramref name="body"/>.</summary>
    public static string PayloadHash(ReadOnlySpan<byte> body) => body.IsEmpty ? EmptyPayloadHash : Hex(SHA256.HashData(body));

    /// <summary><c>x-amz-date</c>: <c>yyyyMMddTHHmmssZ</c> in UTC.</summary>
    public static string AmzDate(DateTimeOffset time) => time.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

    /// <summary><c>host</c> as botocore puts it: the host, with the port when it is not the scheme's default.</summary>
    public static string Host(Uri uri) => uri.IsDefaultPort ? uri.Host : uri.Host + ":" + uri.Port.ToString(CultureInfo.InvariantCulture);

    private static string CanonicalPath(Uri uri)
    {
        // botocore: quote(normalize_url_path(path), safe='/~') over the path as sent (so %XX becomes %25XX).
        var path = uri.AbsolutePath.Length == 0 ? "/" : uri.AbsolutePath;
        var segments = new List<string>();
        foreach (var segment in path.Split('/'))
        {
            if (segment is "" or ".")
            {
                continue;
            }

            if (segment == "..")
            {
                if (segments.Count > 0)
                {
                    segments.RemoveAt(segments.Count - 1);
                }

                continue;
            }

            segments.Add(segment);
        }

        var normalized = "/" + string.Join('/', segments) + (path.EndsWith('/') && segments.Count > 0 ? "/" : "");
        var sb = new StringBuilder(normalized.Length);
        foreach (var b in Encoding.UTF8.GetBytes(normalized))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~' or '/')
            {
                sb.Append(c);
            }
            else
            {
                sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return sb.ToString();
    }

    private static string CanonicalQuery(Uri uri)
    {
        var query = uri.Query.TrimStart('?');
        if (query.Length == 0)
        {
            return "";
        }

        return string.Join('&', query.Split('&')
            .Select(pair => pair.IndexOf('=', StringComparison.Ordinal) is var i and >= 0 ? (Key: pair[..i], Value: pair[(i + 1)..]) : (Key: pair, Value: ""))
            .OrderBy(p => p.Key, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal)
            .Select(p => p.Key + "=" + p.Value));
    }

    private static string Collapse(string value) => string.Join(' ', value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    private static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));

    private static string Hex(byte[] bytes) => Convert.ToHexString(bytes).ToLowerInvariant();
}
