using System.Globalization;
using System.Text;

namespace MlOps.Client.Rest;

/// <summary>Builds an escaped query string; repeated keys are allowed (<c>stages=a&amp;stages=b</c>).</summary>
internal sealed class QueryString
{
    private readonly StringBuilder _sb = new();

    public QueryString Add(string key, string? value)
    {
        if (value is null)
        {
            return this;
        }

        _sb.Append(_sb.Length == 0 ? '?' : '&').Append(Uri.EscapeDataString(key)).Append('=').Append(Uri.EscapeDataString(value));
        return this;
    }

    public QueryString Add(string key, long? value) =>
        value is null ? this : Add(key, value.Value.ToString(CultureInfo.InvariantCulture));

    public QueryString AddAll(string key, IEnumerable<string>? values)
    {
        if (values is not null)
        {
            foreach (var v in values)
            {
                Add(key, v);
            }
        }

        return this;
    }

    public override string ToString() => _sb.ToString();
}
