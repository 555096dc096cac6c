namespace MlOps.Client.Rest;

#pragma warning disable CA1812 // instantiated by the JSON source generator
internal sealed record CreateExperimentRequest(string Name, string? ArtifactLocation, IReadOnlyList<ExperimentTag>? Tags);
internal sealed record CreateExperimentResponse(string ExperimentId);
internal sealed record ExperimentResponse(Experiment? Experiment);
internal sealed record SearchExperimentsRequest(int MaxResults, string? PageToken, string? Filter, IReadOnlyList<string>? OrderBy, ViewType? ViewType);
internal sealed record SearchExperimentsResponse(IReadOnlyList<Experiment>? Experiments, string? NextPageToken);
internal sealed record UpdateExperimentRequest(string ExperimentId, string NewName);
internal sealed record ExperimentIdRequest(string ExperimentId);
internal sealed record SetExperimentTagRequest(string ExperimentId, string Key, string Value);

internal sealed record CreateRunRequest(string ExperimentId, string? UserId, string? RunName, long? StartTime, IReadOnlyList<RunTag>? Tags);
internal sealed record RunResponse(Run? Run);
internal sealed record UpdateRunRequest(string RunId, string RunUuid, RunStatus? Status, long? EndTime, string? RunName);
internal sealed record UpdateRunResponse(RunInfo? RunInfo);
internal sealed record RunIdRequest(string RunId);
internal sealed record SearchRunsRequest(IReadOnlyList<string> ExperimentIds, string? Filter, ViewType? RunViewType, int MaxResults, IReadOnlyList<string>? OrderBy, string? PageToken);
internal sealed record SearchRunsResponse(IReadOnlyList<Run>? Runs, string? NextPageToken);
internal sealed record LogMetricRequest(string RunId, string RunUuid, string Key, double Value, long Timestamp, long Step, string? ModelId = null, string? DatasetName = null, string? DatasetDigest = null);
internal sealed record LogParamRequest(string RunId, string RunUuid, string Key, string Value);
internal sealed record SetTagRequest(string RunId, string RunUuid, string Key, string Value);
internal sealed record DeleteTagRequest(string RunId, string Key);
internal sealed record LogBatchRequest(string RunId, IReadOnlyList<Metric>? Metrics, IReadOnlyList<Param>? Params, IReadOnlyList<RunTag>? Tags);
internal sealed record LogInputsRequest(string RunId, IReadOnlyList<DatasetInput> Datasets);
internal sealed record LogModelRequest(string RunId, string ModelJson);
internal sealed record MetricHistoryResponse(IReadOnlyList<Metric>? Metrics, string? NextPageToken);
#pragma warning restore CA1812

#pragma warning disable CA1812 // instantiated by the JSON source generator
internal sealed record CreateLoggedModelRequest(string ExperimentId, string? Name, string? ModelType, string? SourceRunId, IReadOnlyList<Param>? Params, IReadOnlyList<RunTag>? Tags);
internal sealed record LoggedModelData(IReadOnlyList<Param>? Params, IReadOnlyList<Metric>? Metrics);
internal sealed record LoggedModelInfoHolder(LoggedModel? Info, LoggedModelData? Data)
{
    /// <summary>The info with the data's params and metrics, as one entity (Python's <c>LoggedModel</c>).</summary>
    public LoggedModel? ToEntity() => Info is null ? null : new LoggedModel
    {
        ModelId = Info.ModelId, ExperimentId = Info.ExperimentId, Name = Info.Name, ArtifactUri = Info.ArtifactUri, Status = Info.Status,
        ModelType = Info.ModelType, SourceRunId = Info.SourceRunId, CreationTimestampMs = Info.CreationTimestampMs,
        LastUpdatedTimestampMs = Info.LastUpdatedTimestampMs, Tags = Info.Tags, Params = Data?.Params ?? [], Metrics = Data?.Metrics ?? [],
    };
}

internal sealed record LoggedModelResponse(LoggedModelInfoHolder? Model);
internal sealed record LoggedModelDatasetFilter(string DatasetName, string? DatasetDigest);
internal sealed record LoggedModelOrderByWire(string FieldName, bool? Ascending, string? DatasetName, string? DatasetDigest);
internal sealed record SearchLoggedModelsRequest(IReadOnlyList<string> ExperimentIds, string? Filter, IReadOnlyList<LoggedModelDatasetFilter>? Datasets, int MaxResults, IReadOnlyList<LoggedModelOrderByWire>? OrderBy, string? PageToken);
internal sealed record SearchLoggedModelsResponse(IReadOnlyList<LoggedModelInfoHolder>? Models, string? NextPageToken);
internal sealed record SetLoggedModelTagsRequest(IReadOnlyList<LoggedModelTag> Tags); // the id is in the path; Python sends only the tags
internal sealed record FinalizeLoggedModelRequest(string ModelId, string Status);
internal sealed record LogOutputsRequest(string RunId, IReadOnlyList<LoggedModelOutput> Models);
#pragma warning restore CA1812
