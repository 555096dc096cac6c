using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using MlOps.Client.Tracing;

namespace MlOps.Client.OpenTelemetry;

/// <summary>
/// Gives a span's inputs and outputs the OTLP value types Python MLflow sends them with. An <see cref="System.Diagnostics.Activity"/>
/// tag holds a string, so <see cref="MlflowSpan.SetInputs"/> keeps JSON text, and OpenTelemetry's exporter sends it as a
/// string; Python's client sends the decoded value — an object as a key-value list, a list as an array, a number as an
/// int or a double (<c>_set_otel_proto_anyvalue</c>) — and the server keeps what it is sent: a list sent as text would read
/// back in Python as a string. This rewrites, in the serialised <c>ExportTraceServiceRequest</c>, the string value of
/// each <c>mlflow.spanInputs</c> / <c>mlflow.spanOutputs</c> attribute into the AnyValue of its JSON, and copies every
/// other byte as it is: OpenTelemetry's exporter still writes the request; this touches only those values.
/// </summary>
internal static class OtlpJsonAttributes
{
    // Field numbers of opentelemetry/proto (trace/v1, common/v1).
    private const int RequestResourceSpans = 1, ResourceSpansScopeSpans = 2, ScopeSpansSpans = 2, SpanAttributes = 9;
    private const int KeyValueKey = 1, KeyValueValue = 2;
    private const int AnyString = 1, AnyBool = 2, AnyInt = 3, AnyDouble = 4, AnyArray = 5, AnyKeyValueList = 6;
    private const int ListValues = 1;
    private const int WireVarint = 0, WireFixed64 = 1, WireLength = 2, WireFixed32 = 5;
    private const int MaxDepth = 64;

    private static readonly byte[][] Keys = [Encoding.UTF8.GetBytes(SpanAttributeKeys.Inputs), Encoding.UTF8.GetBytes(SpanAttributeKeys.Outputs)];

    /// <summary>The request with its inputs and outputs typed; <see langword="null"/> when it holds none (or is not what it should be: then it goes as it is).</summary>
    public static byte[]? Rewrite(ReadOnlySpan<byte> request)
    {
        if (request.IndexOf(Keys[0]) < 0 && request.IndexOf(Keys[1]) < 0)
        {
            return null;
        }

        try
        {
            var output = new ArrayBufferWriter<byte>(request.Length + 256);
            var changed = RewriteMessage(request, output, Level.Request);
            return changed ? output.WrittenSpan.ToArray() : null;
        }
        catch (FormatException)
        {
            return null; // not the protobuf we expect: sent unchanged, the server says what it thinks of it
        }
    }

    private enum Level
    {
        Request,
        ResourceSpans,
        ScopeSpans,
        Span,
    }

    /// <summary>Copies a message, rewriting the fields on the way to the span attributes; whether anything changed.</summary>
    private static bool RewriteMessage(ReadOnlySpan<byte> message, IBufferWriter<byte> output, Level level)
    {
        var changed = false;
        var position = 0;
        while (position < message.Length)
        {
            var start = position;
            var tag = ReadVarint(message, ref position);
            var field = (int)(tag >> 3);
            var wire = (int)(tag & 7);
            if (wire != WireLength)
            {
                Skip(message, ref position, wire);
                output.Write(message[start..position]);
                continue;
            }

            var body = ReadLengthDelimited(message, ref position);
            var child = (level, field) switch
            {
                (Level.Request, RequestResourceSpans) => Level.ResourceSpans,
                (Level.ResourceSpans, ResourceSpansScopeSpans) => Level.ScopeSpans,
                (Level.ScopeSpans, ScopeSpansSpans) => Level.Span,
                _ => (Level?)null,
            };
            byte[]? rewritten = null;
            if (child is { } next)
            {
                var inner = new ArrayBufferWriter<byte>(body.Length + 64);
                if (RewriteMessage(body, inner, next))
                {
                    rewritten = inner.WrittenSpan.ToArray();
                }
            }
            else if (level == Level.Span && field == SpanAttributes)
            {
                rewritten = RewriteAttribute(body);
            }

            if (rewritten is null)
            {
                output.Write(message[start..position]);
                continue;
            }

            changed = true;
            WriteVarint(output, tag);
            WriteVarint(output, (ulong)rewritten.Length);
            output.Write(rewritten);
        }

        return changed;
    }

    /// <summary>A KeyValue whose key is an input or output key and whose value is JSON text: the key and the typed value.</summary>
    private static byte[]? RewriteAttribute(ReadOnlySpan<byte> keyValue)
    {
        ReadOnlySpan<byte> key = default, value = default;
        var position = 0;
        while (position < keyValue.Length)
        {
            var tag = ReadVarint(keyValue, ref position);
            if ((tag & 7) != WireLength)
            {
                Skip(keyValue, ref position, (int)(tag & 7));
                continue;
            }

            var body = ReadLengthDelimited(keyValue, ref position);
            switch ((int)(tag >> 3))
            {
                case KeyValueKey:
                    key = body;
                    break;
                case KeyValueValue:
                    value = body;
                    break;
            }
        }

        if (!key.SequenceEqual(Keys[0]) && !key.SequenceEqual(Keys[1]))
        {
            return null;
        }

        // The value must be a string_value alone (field 1, length-delimited) holding JSON.
        position = 0;
        if (value.IsEmpty || ReadVarint(value, ref position) != ((AnyString << 3) | WireLength))
        {
            return null;
        }

        var textLength = checked((int)ReadVarint(value, ref position));
        if (position + textLength != value.Length)
        {
            return null;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(value.Slice(position, textLength).ToArray(), new JsonDocumentOptions { MaxDepth = MaxDepth });
        }
        catch (JsonException)
        {
            return null; // text that is not JSON (set by other code on the activity): a string, as it was
        }

        using (document)
        {
            var output = new ArrayBufferWriter<byte>(keyValue.Length + 64);
            WriteLengthField(output, KeyValueKey, key);
            var any = new ArrayBufferWriter<byte>(textLength + 32);
            WriteAnyValue(any, document.RootElement);
            WriteLengthField(output, KeyValueValue, any.WrittenSpan);
            return output.WrittenSpan.ToArray();
        }
    }

    /// <summary>An AnyValue's fields for a JSON value, as Python's <c>_set_otel_proto_anyvalue</c> sets them for <c>json.loads</c> of it.</summary>
    private static void WriteAnyValue(IBufferWriter<byte> output, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                WriteLengthField(output, AnyString, Encoding.UTF8.GetBytes(value.GetString()!));
                break;
            case JsonValueKind.True or JsonValueKind.False:
                WriteVarint(output, (AnyBool << 3) | WireVarint);
                WriteVarint(output, value.ValueKind == JsonValueKind.True ? 1UL : 0UL);
                break;
            case JsonValueKind.Number when IsIntegerLiteral(value) && value.TryGetInt64(out var integer):
                WriteVarint(output, (AnyInt << 3) | WireVarint);
                WriteVarint(output, unchecked((ulong)integer));
                break;
            case JsonValueKind.Number:
                WriteVarint(output, (AnyDouble << 3) | WireFixed64);
                Span<byte> bits = stackalloc byte[8];
                BinaryPrimitives.WriteDoubleLittleEndian(bits, value.GetDouble());
                output.Write(bits);
                break;
            case JsonValueKind.Array:
            {
                var list = new ArrayBufferWriter<byte>();
                foreach (var item in value.EnumerateArray())
                {
                    var any = new ArrayBufferWriter<byte>();
                    WriteAnyValue(any, item);
                    WriteLengthField(list, ListValues, any.WrittenSpan);
                }

                WriteLengthField(output, AnyArray, list.WrittenSpan);
                break;
            }

            case JsonValueKind.Object:
            {
                var list = new ArrayBufferWriter<byte>();
                foreach (var property in value.EnumerateObject())
                {
                    var pair = new ArrayBufferWriter<byte>();
                    WriteLengthField(pair, KeyValueKey, Encoding.UTF8.GetBytes(property.Name));
                    var any = new ArrayBufferWriter<byte>();
                    WriteAnyValue(any, property.Value);
                    WriteLengthField(pair, KeyValueValue, any.WrittenSpan);
                    WriteLengthField(list, ListValues, pair.WrittenSpan);
                }

                WriteLengthField(output, AnyKeyValueList, list.WrittenSpan);
                break;
            }

            default:
                break; // null: an AnyValue with no value set, as Python leaves it for None
        }
    }

    /// <summary>Python's <c>json.loads</c> makes an int of <c>10</c> and a float of <c>10.0</c> or <c>1e3</c>.</summary>
    private static bool IsIntegerLiteral(JsonElement number) => number.GetRawText().AsSpan().IndexOfAny(".eE") < 0;

    private static void WriteLengthField(IBufferWriter<byte> output, int field, ReadOnlySpan<byte> body)
    {
        WriteVarint(output, ((ulong)field << 3) | WireLength);
        WriteVarint(output, (ulong)body.Length);
        output.Write(body);
    }

    /// <summary>A length-delimited field's bytes (its length read first).</summary>
    private static ReadOnlySpan<byte> ReadLengthDelimited(ReadOnlySpan<byte> data, scoped ref int position)
    {
        var length = checked((int)ReadVarint(data, ref position));
        if (length < 0 || position + length > data.Length)
        {
            throw new FormatException("A length past the end of the message.");
        }

        var body = data.Slice(position, length);
        position += length;
        return body;
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> data, ref int position)
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (position >= data.Length)
            {
                throw new FormatException("A varint past the end of the message.");
            }

            var b = data[position++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return result;
            }
        }

        throw new FormatException("A varint longer than 10 bytes.");
    }

    private static void WriteVarint(IBufferWriter<byte> output, ulong value)
    {
        var span = output.GetSpan(10);
        var written = 0;
        while (value >= 0x80)
        {
            span[written++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[written++] = (byte)value;
        output.Advance(written);
    }

    private static void Skip(ReadOnlySpan<byte> data, ref int position, int wire)
    {
        switch (wire)
        {
            case WireVarint:
                ReadVarint(data, ref position);
                break;
            case WireFixed64:
                position += 8;
                break;
            case WireFixed32:
                position += 4;
                break;
            case WireLength:
                position += checked((int)ReadVarint(data, ref position));
                break;
            default:
                throw new FormatException($"Wire type {wire} is not one OTLP uses.");
        }

        if (position > data.Length)
        {
            throw new FormatException("A field past the end of the message.");
        }
    }
}
