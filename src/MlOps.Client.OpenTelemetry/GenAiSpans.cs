using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MlOps.Client.OpenTelemetry;

/// <summary>
/// OpenTelemetry's GenAI spans (Microsoft.Extensions.AI's <c>UseOpenTelemetry()</c>, and any library on the same
/// conventions) as MLflow shows them: <c>mlflow.spanType</c> from <c>gen_ai.operation.name</c> (MLflow's own GenAI
/// translator's table: chat → CHAT_MODEL, embeddings → EMBEDDING, execute_tool → TOOL, invoke_agent/create_agent →
/// AGENT, text_completion/generate_content → LLM), and when the application enabled message capture
/// (<c>EnableSensitiveData</c>), <c>mlflow.spanInputs</c> = <c>{"messages": [{role, content}]}</c> from
/// <c>gen_ai.input.messages</c> and <c>mlflow.spanOutputs</c> = <c>{"choices": [{"message": {role, content},
/// "finish_reason"}]}</c> from <c>gen_ai.output.messages</c> — the chat shapes MLflow's UI and previews read (MLflow's
/// server would keep the conventions' JSON array as one string). Token usage (<c>gen_ai.usage.*</c>) the server reads
/// as it is. Attributes the span already has are left alone.
/// </summary>
internal static class GenAiSpans
{
    public static void Translate(Activity span)
    {
        if (span.GetTagItem("gen_ai.operation.name") is not string operation)
        {
            return;
        }

        if (span.GetTagItem(SpanAttributeKeys.SpanType) is null && TypeOf(operation) is { } type)
        {
            span.SetTag(SpanAttributeKeys.SpanType, type);
        }

        if (span.GetTagItem(SpanAttributeKeys.Inputs) is null && span.GetTagItem("gen_ai.input.messages") is string input && Messages(input) is { } messages)
        {
            span.SetTag(SpanAttributeKeys.Inputs, new JsonObject { ["messages"] = messages }.ToJsonString());
        }

        if (span.GetTagItem(SpanAttributeKeys.Outputs) is null && span.GetTagItem("gen_ai.output.messages") is string output && Messages(output) is { } answers)
        {
            var choices = new JsonArray();
            foreach (var answer in answers)
            {
                var message = answer!.AsObject();
                var finish = message["finish_reason"]?.DeepClone();
                message.Remove("finish_reason");
                choices.Add(new JsonObject { ["message"] = message.DeepClone(), ["finish_reason"] = finish });
            }

            span.SetTag(SpanAttributeKeys.Outputs, new JsonObject { ["choices"] = choices }.ToJsonString());
        }
    }

    private static string? TypeOf(string operation) => operation switch
    {
        "chat" => SpanType.ChatModel,
        "embeddings" => SpanType.Embedding,
        "execute_tool" => SpanType.Tool,
        "invoke_agent" or "create_agent" => SpanType.Agent,
        "text_completion" or "generate_content" or "response" => SpanType.Llm,
        _ => null,
    };

    /// <summary>The conventions' messages (<c>{role, parts: [{type: text, content}…], finish_reason?}</c>) as chat messages (<c>{role, content}</c>; other parts kept as <c>parts</c>).</summary>
    private static JsonArray? Messages(string json)
    {
        JsonNode? parsed;
        try
        {
            parsed = JsonNode.Parse(json);
        }
        catch (JsonException)
        {
            return null;
        }

        if (parsed is not JsonArray array)
        {
            return null;
        }

        var result = new JsonArray();
        foreach (var item in array)
        {
            if (item is not JsonObject message)
            {
                continue;
            }

            var converted = new JsonObject { ["role"] = message["role"]?.DeepClone() };
            var texts = new List<string>();
            var others = new JsonArray();
            foreach (var part in message["parts"] as JsonArray ?? [])
            {
                if (part is JsonObject p && p["type"]?.GetValue<string>() == "text" && p["content"] is JsonValue text && text.TryGetValue<string>(out var s))
                {
                    texts.Add(s);
                }
                else if (part is not null)
                {
                    others.Add(part.DeepClone());
                }
            }

            converted["content"] = string.Join("\n", texts);
            if (others.Count > 0)
            {
                converted["parts"] = others;
            }

            if (message["finish_reason"] is { } finish)
            {
                converted["finish_reason"] = finish.DeepClone();
            }

            result.Add(converted);
        }

        return result;
    }
}
