namespace MlOps.Client;

/// <summary>MLflow's span types (<c>mlflow.entities.SpanType</c>, the TypeScript SDK's <c>SpanType</c>); any other string is allowed too.</summary>
public static class SpanType
{
    /// <summary>A completion model call.</summary>
    public const string Llm = "LLM";

    /// <summary>A chat model call.</summary>
    public const string ChatModel = "CHAT_MODEL";

    /// <summary>A sequence of steps.</summary>
    public const string Chain = "CHAIN";

    /// <summary>An agent's step.</summary>
    public const string Agent = "AGENT";

    /// <summary>A tool call.</summary>
    public const string Tool = "TOOL";

    /// <summary>A retrieval of documents.</summary>
    public const string Retriever = "RETRIEVER";

    /// <summary>An embedding call.</summary>
    public const string Embedding = "EMBEDDING";

    /// <summary>Parsing of a model's output.</summary>
    public const string Parser = "PARSER";

    /// <summary>Re-ranking of retrieved documents.</summary>
    public const string Reranker = "RERANKER";

    /// <summary>An agent's memory access.</summary>
    public const string Memory = "MEMORY";

    /// <summary>An evaluation (a judge).</summary>
    public const string Evaluator = "EVALUATOR";

    /// <summary>No type given.</summary>
    public const string Unknown = "UNKNOWN";
}

/// <summary>The span attributes MLflow reads (<c>mlflow/tracing/constant.py</c> <c>SpanAttributeKey</c>); values are JSON text.</summary>
public static class SpanAttributeKeys
{
    /// <summary><c>mlflow.traceRequestId</c>: the MLflow trace id the span belongs to.</summary>
    public const string TraceRequestId = "mlflow.traceRequestId";

    /// <summary><c>mlflow.spanType</c>.</summary>
    public const string SpanType = "mlflow.spanType";

    /// <summary><c>mlflow.spanInputs</c>: the inputs, as JSON.</summary>
    public const string Inputs = "mlflow.spanInputs";

    /// <summary><c>mlflow.spanOutputs</c>: the outputs, as JSON.</summary>
    public const string Outputs = "mlflow.spanOutputs";

    /// <summary><c>mlflow.spanFunctionName</c>: the function traced.</summary>
    public const string FunctionName = "mlflow.spanFunctionName";

    /// <summary><c>mlflow.chat.tokenUsage</c>: <c>{"input_tokens", "output_tokens", "total_tokens"}</c>.</summary>
    public const string ChatTokenUsage = "mlflow.chat.tokenUsage";
}

/// <summary>The trace metadata MLflow reads (<c>TraceMetadataKey</c>): fixed once the trace is written.</summary>
public static class TraceMetadataKeys
{
    /// <summary><c>mlflow.sourceRun</c>: the run the trace was produced in.</summary>
    public const string SourceRun = "mlflow.sourceRun";

    /// <summary><c>mlflow.modelId</c>: the logged model that served it.</summary>
    public const string ModelId = "mlflow.modelId";

    /// <summary><c>mlflow.trace.user</c>: the application's user.</summary>
    public const string User = "mlflow.trace.user";

    /// <summary><c>mlflow.trace.session</c>: the conversation or session.</summary>
    public const string Session = "mlflow.trace.session";

    /// <summary><c>mlflow.trace.tokenUsage</c>: the trace's tokens in all, as JSON.</summary>
    public const string TokenUsage = "mlflow.trace.tokenUsage";

    /// <summary><c>mlflow.traceInputs</c>: the root span's inputs.</summary>
    public const string Inputs = "mlflow.traceInputs";

    /// <summary><c>mlflow.traceOutputs</c>: the root span's outputs.</summary>
    public const string Outputs = "mlflow.traceOutputs";

    /// <summary><c>mlflow.trace_schema.version</c>: 3.</summary>
    public const string SchemaVersion = "mlflow.trace_schema.version";
}

/// <summary>Trace tags MLflow sets.</summary>
public static class TraceTagKeys
{
    /// <summary><c>mlflow.traceName</c>: the root span's name.</summary>
    public const string TraceName = "mlflow.traceName";
}
