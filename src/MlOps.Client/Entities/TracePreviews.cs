using System.Text.Json;

namespace MlOps.Client;

/// <summary>The request and response previews of a trace's info, as MLflow makes them (<c>mlflow/tracing/utils/truncation.py</c>).</summary>
internal static class TracePreviews
{
    /// <summary>A preview's length at most (MLflow's <c>request_preview</c> / <c>response_preview</c> columns).</summary>
    public const int PreviewLimit = 1000;

    /// <summary>
    /// A preview as Python's <c>_get_truncated_preview</c> makes one: a chat's last message of the role
    /// (<c>{"messages": [...]}</c>, <c>{"choices": [{"message"}]}</c>), else the text; cut at 1000 characters.
    /// </summary>
    public static string Preview(string json, string role)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                if (root.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array)
                {
                    foreach (var message in messages.EnumerateArray().Reverse())
                    {
                        if (message.ValueKind == JsonValueKind.Object && message.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String && r.GetString() == role
                            && message.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String)
                        {
                            return Cut(content.GetString()!, PreviewLimit);
                        }
                    }
                }

                if (root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0
                    && choices[0].ValueKind == JsonValueKind.Object && choices[0].TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.Object
                    && m.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String)
                {
                    return Cut(c.GetString()!, PreviewLimit);
                }
            }
            else if (root.ValueKind == JsonValueKind.String)
            {
                return Cut(root.GetString()!, PreviewLimit);
            }
        }
        catch (JsonException)
        {
            // Not JSON: the text itself.
        }

        return Cut(json, PreviewLimit);
    }

    /// <summary>The text, cut to <paramref name="limit"/> characters with "..." when longer.</summary>
    public static string Cut(string text, int limit) => text.Length <= limit ? text : text[..(limit - 3)] + "...";
}
