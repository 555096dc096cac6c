using System.Collections.Concurrent;
using MlOps.Client.Stores;

namespace MlOps.Client.Tests.Fixtures;

/// <summary>
/// An in-memory store with the server's semantics: identical metrics stored once, params immutable, tags
/// overwritten. Faults can be injected per call; every call is recorded in order.
/// </summary>
public sealed class FakeTrackingStore : ITrackingStore
{
    private readonly object _gate = new();
    private readonly Dictionary<string, Run> _runs = new();
    private readonly Dictionary<string, HashSet<(string Key, long Ts, long Step, double Value)>> _metricSet = new();
    private readonly Dictionary<string, List<Metric>> _metrics = new();
    private readonly Dictionary<string, Dictionary<string, string>> _params = new();
    private readonly Dictionary<string, Dictionary<string, string>> _tags = new();
    private readonly Dictionary<string, List<DatasetInput>> _inputs = new();
    private readonly Dictionary<string, Experiment> _experiments = new() { ["0"] = new Experiment { ExperimentId = "0", Name = "Default" } };
    private int _nextRun;

    public string Uri => "fake://store";

    public ConcurrentQueue<string> Calls { get; } = new();

    public ConcurrentQueue<int> BatchSizes { get; } = new();

    /// <summary>Called before each log-batch; return an exception to fail the call.</summary>
    public Func<string, IReadOnlyList<Metric>, IReadOnlyList<Param>, IReadOnlyList<RunTag>, Exception?>? BatchFault { get; set; }

    /// <summary>Awaited before each log-batch (to hold the uploader).</summary>
    public Func<Task>? BatchGate { get; set; }

    public int MetricCount(string runId)
    {
        lock (_gate)
        {
            return _metrics.TryGetValue(runId, out var l) ? l.Count : 0;
        }
    }

    /// <summary>Every run, as <see cref="GetRunAsync"/> returns it.</summary>
    public IReadOnlyList<Run> AllRuns()
    {
        List<string> ids;
        lock (_gate)
        {
            ids = [.. _runs.Keys];
        }

        return [.. ids.Select(id => GetRunAsync(id, default).GetAwaiter().GetResult())];
    }

    public IReadOnlyList<Metric> Metrics(string runId)
    {
        lock (_gate)
        {
            return _metrics.TryGetValue(runId, out var l) ? [.. l] : [];
        }
    }

    public IReadOnlyDictionary<string, string> Params(string runId)
    {
        lock (_gate)
        {
            return _params.TryGetValue(runId, out var d) ? new Dictionary<string, string>(d) : new Dictionary<string, string>();
        }
    }

    public IReadOnlyDictionary<string, string> Tags(string runId)
    {
        lock (_gate)
        {
            return _tags.TryGetValue(runId, out var d) ? new Dictionary<string, string>(d) : new Dictionary<string, string>();
        }
    }

    public IReadOnlyList<DatasetInput> Inputs(string runId)
    {
        lock (_gate)
        {
            return _inputs.TryGetValue(runId, out var l) ? [.. l] : [];
        }
    }

    public RunInfo Info(string runId)
    {
        lock (_gate)
        {
            return _runs[runId].Info;
        }
    }

    public Task<string> CreateExperimentAsync(string name, string? artifactLocation, IReadOnlyDictionary<string, string>? tags, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_experiments.Values.Any(e => e.Name == name))
            {
                throw new MlflowException(400, MlflowErrorCodes.ResourceAlreadyExists, $"Experiment '{name}' already exists.");
            }

            var id = _experiments.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            _experiments[id] = new Experiment { ExperimentId = id, Name = name, LifecycleStage = "active" };
            Calls.Enqueue("create-experiment " + name);
            return Task.FromResult(id);
        }
    }

    /// <summary>Marks an experiment deleted, as the MLflow UI does (it stays findable by name and id).</summary>
    public void DeleteExperiment(string experimentId)
    {
        lock (_gate)
        {
            var old = _experiments[experimentId];
            _experiments[experimentId] = new Experiment { ExperimentId = old.ExperimentId, Name = old.Name, LifecycleStage = "deleted" };
        }
    }

    public Task<Experiment> GetExperimentAsync(string experimentId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return _experiments.TryGetValue(experimentId, out var e)
                ? Task.FromResult(e)
                : throw new MlflowException(404, MlflowErrorCodes.ResourceDoesNotExist, $"No experiment {experimentId}");
        }
    }

    public Task<Experiment?> FindExperimentByNameAsync(string name, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_experiments.Values.FirstOrDefault(e => e.Name == name));
        }
    }

    public Task<MlflowPage<Experiment>> SearchExperimentsPageAsync(SearchExperimentsOptions query, string? pageToken, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(new MlflowPage<Experiment>([.. _experiments.Values], null));
        }
    }

    public Task<Run> CreateRunAsync(string experimentId, CreateRunOptions options, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var id = $"run{_nextRun++:D4}" + new string('0', 25);
            var name = options.RunName ?? "generated-name-" + _nextRun;
            var tags = new Dictionary<string, string>(options.Tags) { [MlflowTags.RunName] = name };
            var run = new Run
            {
                Info = new RunInfo
                {
                    RunId = id, ExperimentId = experimentId, RunName = name, Status = RunStatus.Running, UserId = options.UserId,
                    StartTime = options.StartTime?.ToUnixTimeMilliseconds(), ArtifactUri = $"mlflow-artifacts:/{experimentId}/{id}/artifacts", LifecycleStage = "active",
                },
                Data = new RunData { Tags = [.. tags.Select(t => new RunTag(t.Key, t.Value))] },
            };
            _runs[id] = run;
            _tags[id] = tags;
            _params[id] = new();
            _metrics[id] = new();
            _metricSet[id] = new();
            Calls.Enqueue("create-run " + id);
            return Task.FromResult(run);
        }
    }

    public Task<Run> GetRunAsync(string runId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return _runs.TryGetValue(runId, out var r)
                ? Task.FromResult(r)
                : throw new MlflowException(404, MlflowErrorCodes.ResourceDoesNotExist, $"Run '{runId}' not found");
        }
    }

    /// <summary>When set and returning an exception, runs/update throws it (the server is away, or refuses).</summary>
    public Func<string, Exception?>? UpdateFault { get; set; }

    public Task<RunInfo> UpdateRunAsync(string runId, RunStatus? status, DateTimeOffset? endTime, string? runName, CancellationToken cancellationToken)
    {
        if (UpdateFault?.Invoke(runId) is { } fault)
        {
            Calls.Enqueue($"update-run-failed {runId}");
            return Task.FromException<RunInfo>(fault);
        }

        lock (_gate)
        {
            var old = _runs[runId];
            var info = new RunInfo
            {
                RunId = runId, ExperimentId = old.Info.ExperimentId, RunName = runName ?? old.Info.RunName, Status = status ?? old.Info.Status,
                StartTime = old.Info.StartTime, EndTime = endTime?.ToUnixTimeMilliseconds() ?? old.Info.EndTime, ArtifactUri = old.Info.ArtifactUri, LifecycleStage = "active",
            };
            _runs[runId] = new Run { Info = info, Data = old.Data };
            Calls.Enqueue($"update-run {runId} {info.Status}");
            return Task.FromResult(info);
        }
    }

    public async Task LogBatchAsync(string runId, IReadOnlyList<Metric> metrics, IReadOnlyList<Param> parameters, IReadOnlyList<RunTag> tags, CancellationToken cancellationToken)
    {
        if (BatchGate is { } gate)
        {
            await gate();
        }

        if (BatchFault?.Invoke(runId, metrics, parameters, tags) is { } fault)
        {
            Calls.Enqueue($"log-batch-failed {runId} {metrics.Count + parameters.Count + tags.Count}");
            throw fault;
        }

        lock (_gate)
        {
            if (!_runs.ContainsKey(runId))
            {
                throw new MlflowException(404, MlflowErrorCodes.ResourceDoesNotExist, $"Run '{runId}' not found");
            }

            if (metrics.Count > 1000 || parameters.Count > 100 || tags.Count > 100 || metrics.Count + parameters.Count + tags.Count > 1000)
            {
                throw new MlflowException(400, MlflowErrorCodes.InvalidParameterValue, "A batch logging request exceeded the limits.");
            }

            var ps = _params[runId];
            foreach (var p in parameters)
            {
                if (ps.TryGetValue(p.Key, out var v) && v != p.Value)
                {
                    throw new MlflowException(400, MlflowErrorCodes.InvalidParameterValue, $"Changing param values is not allowed. Param with key='{p.Key}'");
                }
            }

            foreach (var p in parameters)
            {
                ps[p.Key] = p.Value;
            }

            foreach (var m in metrics)
            {
                if (_metricSet[runId].Add((m.Key, m.Timestamp, m.Step, m.Value)))
                {
                    _metrics[runId].Add(m);
                }
            }

            foreach (var t in tags)
            {
                _tags[runId][t.Key] = t.Value;
            }

            BatchSizes.Enqueue(metrics.Count + parameters.Count + tags.Count);
            Calls.Enqueue($"log-batch {runId} {metrics.Count}/{parameters.Count}/{tags.Count}");
        }
    }

    public async Task LogInputsAsync(string runId, IReadOnlyList<DatasetInput> datasets, CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _inputsInFlight) > 1)
        {
            ConcurrentInputs = true;
        }

        try
        {
            if (InputGate is { } gate)
            {
                await gate().ConfigureAwait(false);
            }

            lock (_gate)
            {
                _inputs.TryAdd(runId, new());
                _inputs[runId].AddRange(datasets);
                Calls.Enqueue("log-inputs " + runId);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _inputsInFlight);
        }
    }

    private int _inputsInFlight;

    /// <summary>The dataset inputs received for <paramref name="runId"/>, in arrival order.</summary>
    public IReadOnlyList<DatasetInput> InputsOf(string runId)
    {
        lock (_gate)
        {
            return _inputs.TryGetValue(runId, out var list) ? [.. list] : [];
        }
    }

    /// <summary>Awaited by every log-inputs call before it records (e.g. a delay that would let a second call overtake).</summary>
    public Func<Task>? InputGate { get; set; }

    /// <summary>Whether two log-inputs calls ever ran at once.</summary>
    public bool ConcurrentInputs { get; private set; }

    public Task<IReadOnlyList<Metric>> GetMetricHistoryAsync(string runId, string metricKey, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<Metric>>(Metrics(runId).Where(m => m.Key == metricKey).OrderBy(m => m.Step).ThenBy(m => m.Timestamp).ToList());

    public Task<MlflowPage<Run>> SearchRunsPageAsync(SearchRunsOptions query, string? pageToken, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(new MlflowPage<Run>([.. _runs.Values.Where(r => query.ExperimentIds.Contains(r.Info.ExperimentId))], null));
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
