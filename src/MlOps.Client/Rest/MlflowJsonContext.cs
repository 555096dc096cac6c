using System.Text.Json;
using System.Text.Json.Serialization;

namespace MlOps.Client.Rest;

/// <summary>
/// Source-generated JSON metadata for every MLflow message. Reading is liberal: int64 and double fields may be
/// numbers or strings, <c>"NaN"</c>/<c>"Infinity"</c>/<c>"-Infinity"</c> are accepted, unknown fields are ignored.
/// Writing sends NaN and infinities as those strings (protobuf JSON), omits nulls, and uses snake_case names.
/// Every request/response type of every REST area is listed here (the generator needs them on one declaration).
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.AllowReadingFromString | JsonNumberHandling.AllowNamedFloatingPointLiterals,
    PropertyNameCaseInsensitive = false,
    ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    Converters = [typeof(UpperSnakeEnumConverter<RunStatus>), typeof(UpperSnakeEnumConverter<ViewType>), typeof(UpperSnakeEnumConverter<ModelVersionStatus>), typeof(UpperSnakeEnumConverter<TraceLocationType>)])]
[JsonSerializable(typeof(MlflowErrorBody))]
[JsonSerializable(typeof(EmptyMessage))]
[JsonSerializable(typeof(Experiment))]
[JsonSerializable(typeof(Run))]
[JsonSerializable(typeof(Metric))]
[JsonSerializable(typeof(Dataset))]
[JsonSerializable(typeof(RegisteredModel))]
[JsonSerializable(typeof(ModelVersion))]
// Tracking (Rest/TrackingMessages.cs)
[JsonSerializable(typeof(DatabricksCredentialsRequest))]
[JsonSerializable(typeof(DatabricksCredentialsResponse))]
[JsonSerializable(typeof(DatabricksCreateMultipartRequest))]
[JsonSerializable(typeof(DatabricksCreateMultipartResponse))]
[JsonSerializable(typeof(DatabricksCompleteMultipartRequest))]
[JsonSerializable(typeof(DatabricksPartUrlRequest))]
[JsonSerializable(typeof(DatabricksPartUrlResponse))]
[JsonSerializable(typeof(CreateExperimentRequest))]
[JsonSerializable(typeof(CreateExperimentResponse))]
[JsonSerializable(typeof(ExperimentResponse))]
[JsonSerializable(typeof(SearchExperimentsRequest))]
[JsonSerializable(typeof(SearchExperimentsResponse))]
[JsonSerializable(typeof(UpdateExperimentRequest))]
[JsonSerializable(typeof(ExperimentIdRequest))]
[JsonSerializable(typeof(SetExperimentTagRequest))]
[JsonSerializable(typeof(CreateRunRequest))]
[JsonSerializable(typeof(RunResponse))]
[JsonSerializable(typeof(UpdateRunRequest))]
[JsonSerializable(typeof(UpdateRunResponse))]
[JsonSerializable(typeof(RunIdRequest))]
[JsonSerializable(typeof(SearchRunsRequest))]
[JsonSerializable(typeof(SearchRunsResponse))]
[JsonSerializable(typeof(LogMetricRequest))]
[JsonSerializable(typeof(LogParamRequest))]
[JsonSerializable(typeof(SetTagRequest))]
[JsonSerializable(typeof(DeleteTagRequest))]
[JsonSerializable(typeof(LogBatchRequest))]
[JsonSerializable(typeof(LogInputsRequest))]
[JsonSerializable(typeof(LogModelRequest))]
[JsonSerializable(typeof(MetricHistoryResponse))]
[JsonSerializable(typeof(ArtifactListing))]
// Registry (Rest/RegistryMessages.cs)
[JsonSerializable(typeof(CreateRegisteredModelRequest))]
[JsonSerializable(typeof(RegisteredModelResponse))]
[JsonSerializable(typeof(RegisteredModelNameRequest))]
[JsonSerializable(typeof(UpdateRegisteredModelRequest))]
[JsonSerializable(typeof(RenameRegisteredModelRequest))]
[JsonSerializable(typeof(SearchRegisteredModelsResponse))]
[JsonSerializable(typeof(SetRegisteredModelTagRequest))]
[JsonSerializable(typeof(DeleteRegisteredModelTagRequest))]
[JsonSerializable(typeof(GetLatestVersionsRequest))]
[JsonSerializable(typeof(ModelVersionsResponse))]
[JsonSerializable(typeof(SetAliasRequest))]
[JsonSerializable(typeof(DeleteAliasRequest))]
[JsonSerializable(typeof(CreateModelVersionRequest))]
[JsonSerializable(typeof(ModelVersionResponse))]
[JsonSerializable(typeof(ModelVersionKeyRequest))]
[JsonSerializable(typeof(UpdateModelVersionRequest))]
[JsonSerializable(typeof(TransitionStageRequest))]
[JsonSerializable(typeof(SetModelVersionTagRequest))]
[JsonSerializable(typeof(DeleteModelVersionTagRequest))]
[JsonSerializable(typeof(DownloadUriResponse))]
// Artifacts (Rest/ArtifactMessages.cs)
[JsonSerializable(typeof(ProxyListResponse))]
[JsonSerializable(typeof(CreateMultipartRequest))]
[JsonSerializable(typeof(CreateMultipartResponse))]
[JsonSerializable(typeof(CompleteMultipartRequest))]
[JsonSerializable(typeof(AbortMultipartRequest))]
// MLflow 3 logged models
[JsonSerializable(typeof(CreateLoggedModelRequest))]
[JsonSerializable(typeof(LoggedModelResponse))]
[JsonSerializable(typeof(SearchTracesRequest))]
[JsonSerializable(typeof(SearchTracesResponse))]
[JsonSerializable(typeof(BatchGetTracesResponse))]
[JsonSerializable(typeof(GetTraceResponse))]
[JsonSerializable(typeof(TraceTagRequest))]
[JsonSerializable(typeof(DeleteTracesRequest))]
[JsonSerializable(typeof(DeleteTracesResponse))]
[JsonSerializable(typeof(AssessmentRequest))]
[JsonSerializable(typeof(AssessmentResponse))]
[JsonSerializable(typeof(StartTraceRequest))]
[JsonSerializable(typeof(FinalizeLoggedModelRequest))]
[JsonSerializable(typeof(SearchLoggedModelsRequest))]
[JsonSerializable(typeof(SearchLoggedModelsResponse))]
[JsonSerializable(typeof(SetLoggedModelTagsRequest))]
[JsonSerializable(typeof(LogOutputsRequest))]
internal sealed partial class MlflowJsonContext : JsonSerializerContext
{
}

/// <summary>Enum names as MLflow writes them: <c>RUNNING</c>, <c>ACTIVE_ONLY</c>, <c>PENDING_REGISTRATION</c>.</summary>
/// <typeparam name="TEnum">The enum.</typeparam>
internal sealed class UpperSnakeEnumConverter<TEnum>() : JsonStringEnumConverter<TEnum>(JsonNamingPolicy.SnakeCaseUpper, allowIntegerValues: true)
    where TEnum : struct, Enum;

/// <summary>An enum value's name as MLflow writes it (the naming of <see cref="UpperSnakeEnumConverter{TEnum}"/>), for text output.</summary>
internal static class MlflowEnumNames
{
    public static string Of<TEnum>(TEnum value)
        where TEnum : struct, Enum => JsonNamingPolicy.SnakeCaseUpper.ConvertName(value.ToString());
}

/// <summary>MLflow's error body: <c>{"error_code": "...", "message": "..."}</c>.</summary>
internal sealed class MlflowErrorBody
{
    public string? ErrorCode { get; set; }

    public string? Message { get; set; }
}

/// <summary>The <c>{}</c> that mutations send back, and the body of requests without fields.</summary>
internal sealed class EmptyMessage
{
    public static readonly EmptyMessage Instance = new();
}
