using System.Text.Json;

namespace MlOps.Client.Monitoring;

/// <summary>
/// The inference log's numbers, each in the shortest decimal that reads back as the value: a double as a double, a
/// float32 (a model's output, a signature's <c>float</c> column) as that float32 — <c>0.94821525</c>, not the double
/// expansion <c>0.9482152462005615</c>. Short decimals (a request's features as the client typed them, probabilities)
/// are written with integer arithmetic; anything else goes to <see cref="Utf8JsonWriter"/>'s own formatter. The writer's
/// thread spends most of its time here: this is what keeps it cheap (measured in docs/performance.md).
/// </summary>
internal static class LogNumbers
{
    // Up to 10⁹: every power is exact in a double, and a float32 never needs more than 9 significant digits.
    private static readonly double[] Powers = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

    /// <summary>Writes <paramref name="value"/> (JSON <c>null</c> when it is not finite).</summary>
    public static void Write(Utf8JsonWriter json, double value) => Write(json, value, single: false);

    /// <summary>Writes a float32 as the shortest decimal that reads back as it (JSON <c>null</c> when it is not finite).</summary>
    public static void Write(Utf8JsonWriter json, float value) => Write(json, value, single: true);

    private static void Write(Utf8JsonWriter json, double value, bool single)
    {
        if (!double.IsFinite(value))
        {
            json.WriteNullValue();
            return;
        }

        Span<byte> text = stackalloc byte[24];
        var length = ShortDecimal(value, single, text);
        if (length > 0)
        {
            json.WriteRawValue(text[..length], skipInputValidation: true);
        }
        else if (single)
        {
            json.WriteNumberValue((float)value);
        }
        else
        {
            json.WriteNumberValue(value);
        }
    }

    /// <summary>
    /// Writes <paramref name="value"/> as <c>m·10⁻ᵏ</c> with the smallest k ≤ 9 for which that decimal reads back as the
    /// value; the length written, or 0 when there is none (then the general formatter writes it).
    /// </summary>
    /// <remarks>
    /// m and 10ᵏ are exact doubles, so <c>m / 10ᵏ</c> is the correctly rounded value of the decimal — what a reader
    /// parsing it gets: when it equals the value, the decimal reads back exactly. The smallest such k gives the fewest
    /// digits, as the shortest round-trip formatter does.
    /// </remarks>
    internal static int ShortDecimal(double value, bool single, Span<byte> text)
    {
        var magnitude = Math.Abs(value);
        if (value == 0)
        {
            if (double.IsNegative(value))
            {
                return 0; // -0: the general formatter keeps its sign
            }

            text[0] = (byte)'0';
            return 1;
        }

        // Above 10⁷ (near 2²⁴) a float32's shortest form drops integer digits; a double's stays exact below 10⁹.
        if (magnitude < 1e-6 || magnitude >= (single ? 1e7 : 1e9))
        {
            return 0;
        }

        for (var k = 0; k < Powers.Length; k++)
        {
            var scaled = Math.Round(magnitude * Powers[k]);
            if (scaled >= 9e15)
            {
                return 0; // past 2⁵³ m's own digits are no longer the decimal's
            }

            var back = scaled / Powers[k];
            if (single ? (float)back != (float)magnitude : back != magnitude)
            {
                continue;
            }

            var position = 0;
            if (value < 0)
            {
                text[position++] = (byte)'-';
            }

            var digits = (long)scaled;
            var power = (long)Powers[k];
            (digits / power).TryFormat(text[position..], out var written, default, System.Globalization.CultureInfo.InvariantCulture);
            position += written;
            if (k > 0)
            {
                text[position] = (byte)'.';
                var fraction = digits % power;
                for (var i = k; i > 0; i--)
                {
                    text[position + i] = (byte)('0' + (fraction % 10));
                    fraction /= 10;
                }

                position += k + 1;
            }

            return position;
        }

        return 0;
    }
}
