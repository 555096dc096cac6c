using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;

namespace MlOps.Client.OpenTelemetry.Tests;

/// <summary>A reader of the OTLP messages the tests look at (opentelemetry/proto trace/v1 and common/v1), of their own.</summary>
internal static class OtlpReader
{
    public static IEnumerable<(string Name, Dictionary<string, object?> Attributes)> Spans(byte[] request)
    {
        foreach (var resourceSpans in Fields(request, 1))
        {
            foreach (var scopeSpans in Fields(resourceSpans, 2))
            {
                foreach (var span in Fields(scopeSpans, 2))
                {
                    var name = Encoding.UTF8.GetString(Fields(span, 5).Single());
                    yield return (name, Fields(span, 9).Select(KeyValue).ToDictionary(kv => kv.Key, kv => kv.Value));
                }
            }
        }
    }

    private static (string Key, object? Value) KeyValue(byte[] message) =>
        (Encoding.UTF8.GetString(Fields(message, 1).Single()), Any(Fields(message, 2).SingleOrDefault() ?? []));

    private static object? Any(byte[] message)
    {
        var position = 0;
        if (message.Length == 0)
        {
            return null;
        }

        var tag = Varint(message, ref position);
        return (tag >> 3) switch
        {
            1 => Encoding.UTF8.GetString(Length(message, ref position)),
            2 => Varint(message, ref position) != 0,
            3 => (long)Varint(message, ref position),
            4 => BinaryPrimitives.ReadDoubleLittleEndian(message.AsSpan(position, 8)),
            5 => Fields(Length(message, ref position), 1).Select(Any).ToList(),
            6 => Fields(Length(message, ref position), 1).Select(KeyValue).ToDictionary(kv => kv.Key, kv => kv.Value),
            _ => throw new InvalidDataException($"AnyValue field {tag >> 3}"),
        };
    }

    private static List<byte[]> Fields(byte[] message, int number)
    {
        var found = new List<byte[]>();
        var position = 0;
        while (position < message.Length)
        {
            var tag = Varint(message, ref position);
            switch (tag & 7)
            {
                case 0:
                    Varint(message, ref position);
                    break;
                case 1:
                    position += 8;
                    break;
                case 5:
                    position += 4;
                    break;
                case 2:
                    var body = Length(message, ref position);
                    if ((int)(tag >> 3) == number)
                    {
                        found.Add(body);
                    }

                    break;
                default:
                    throw new InvalidDataException($"wire type {tag & 7}");
            }
        }

        return found;
    }

    private static byte[] Length(byte[] message, ref int position)
    {
        var length = (int)Varint(message, ref position);
        var body = message.AsSpan(position, length).ToArray();
        position += length;
        return body;
    }

    private static ulong Varint(byte[] message, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = message[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }

    /// <summary>A decoded AnyValue as JSON (key-value lists as objects, arrays as arrays), to compare with expected JSON.</summary>
    public static JsonNode? ToJson(object? value) => value switch
    {
        null => null,
        Dictionary<string, object?> pairs => new JsonObject(pairs.Select(p => KeyValuePair.Create(p.Key, ToJson(p.Value)))),
        List<object?> items => new JsonArray([.. items.Select(ToJson)]),
        string text => JsonValue.Create(text),
        bool flag => JsonValue.Create(flag),
        long integer => JsonValue.Create(integer),
        double number => JsonValue.Create(number),
        _ => throw new InvalidDataException(value.GetType().Name),
    };
}
