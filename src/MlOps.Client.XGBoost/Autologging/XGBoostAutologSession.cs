using MlOps.Client.Monitoring;
using MlOps.Client.XGBoost.Monitoring;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using MlOps.Client.Models;
using MlOps.Client.Tracking;
using MlOps.Client.XGBoost.Models;

namespace MlOps.Client.XGBoost.Autologging;

/// <summary>
/// An enabled XGBoost autologging session (as ML.NET's <c>MLNetAutologSession</c>): logs every <see cref="XGBoost.Train"/>
/// and <c>Fit</c> the way <c>mlflow.xgboost.autolog()</c> does. Dispose it (or call <see cref="XGBoostAutolog.Disable"/>) to stop.
/// </summary>
public sealed partial class XGBoostAutologSession : IDisposable, ITrainInterceptor
{
    internal XGBoostAutologSession(Tracker tracker, XGBoostAutologOptions options)
    {
        Tracker = tracker;
        Options = options;
    }

    private static readonly System.Text.Json.JsonSerializerOptions Json = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The tracker runs are logged with.</summary>
    public Tracker Tracker { get; }

    /// <summary>What is logged.</summary>
    public XGBoostAutologOptions Options { get; }

    /// <summary>Stops this session (a later session stays on).</summary>
    public void Dispose() => XGBoostAutolog.Clear(this);

    /// <inheritdoc/>
    Booster ITrainInterceptor.Train(TrainRequest request, CancellationToken cancellationToken) => Train(request, cancellationToken);

    internal Booster Train(TrainRequest request, CancellationToken cancellationToken)
    {
        // A run started here ends FINISHED, or FAILED when training throws; a failed artifact upload at its end is
        // reported, not thrown (as Python's safe_patch).
        return ActiveOrNewRun.Run(Tracker, null, run => TrainLogged(run, request, cancellationToken),
            endFailed: (_, ex) =>
            {
                if (Options.Logger is { } logger)
                {
                    LogFailure(logger, "run end (artifact uploads)", ex);
                }
            });
    }

    private Booster TrainLogged(RunScope run, TrainRequest request, CancellationToken cancellationToken)
    {
        Safely("tags", () => run.SetTags(Options.ExtraTags));
        Safely("params", () => run.LogParams(Parameters(request)));
        if (Options.LogDatasets)
        {
            Safely("datasets", () => LogDatasets(run, request));
        }

        var recorder = new MetricRecorder(run, Options.LogEveryNIterations, request.NumBoostRound);
        var logged = request with { Callbacks = [.. request.Callbacks, recorder] };
        Booster booster;
        var suppressed = TrainInterception.Suppressed;
        TrainInterception.Suppressed = true;
        try
        {
            booster = XGBoost.TrainCore(logged, cancellationToken);
        }
        finally
        {
            TrainInterception.Suppressed = suppressed;
        }

        Safely("metrics", recorder.LogLastIteration);
        if (Options.LogModels)
        {
            Task<ReferenceProfile?>? profile = null;
            if (Options.LogReferenceProfile)
            {
                Safely("reference profile", () => profile = StartProfile(booster, request.DTrain));
            }

            Safely("model", () => _ = run.LogModelAsync(booster, new LogModelOptions
            {
                Name = "model",
                Signature = Options.LogModelSignatures ? Signature(booster, request.DTrain) : null,
                InputExample = Options.LogInputExamples ? InputExample(request.DTrain) : null,
                PendingReferenceProfile = profile,
            }, new XGBoostFlavor(Options.ModelFormat)));
        }

        if (request.EarlyStoppingRounds is > 0)
        {
            Safely("early stopping metrics", () =>
            {
                var extraStep = recorder.Results.Count;
                run.LogMetric("stopped_iteration", extraStep - 1, 0);
                if (booster.BestIteration is { } best)
                {
                    run.LogMetric("best_iteration", best, 0);
                    if (best < recorder.Results.Count)
                    {
                        foreach (var r in recorder.Results[best])
                        {
                            run.LogMetric(MetricKey(r), r.Value, extraStep);
                        }
                    }
                }
            });
        }

        foreach (var type in Options.ImportanceTypes.Distinct())
        {
            Safely($"feature importance ({type.ToXGBoostName()})", () => FeatureImportance.Log(run, booster, type, Options.FeatureImportancePlot));
        }

        return booster;
    }

    /// <summary>The params Python's autolog logs: the booster params, then the other <c>train()</c> arguments.</summary>
    internal static List<KeyValuePair<string, object?>> Parameters(TrainRequest request)
    {
        var result = new List<KeyValuePair<string, object?>>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, value) in request.Parameters)
        {
            if (seen.Add(key))
            {
                result.Add(new(key, value)); // lists are formatted as Python prints them, e.g. ['mlogloss', 'merror']
            }
        }

        result.Add(new("num_boost_round", request.NumBoostRound));
        result.Add(new("maximize", request.Maximize));
        result.Add(new("early_stopping_rounds", request.EarlyStoppingRounds));
        result.Add(new("verbose_eval", request.VerboseEval switch { 0 => false, 1 => true, var n => (object)n }));
        // Python logs str(custom_metric): None, or the function; C# logs None or the delegate's method name.
        result.Add(new("custom_metric", request.CustomMetric is { } metric ? metric.Method.Name : null));
        return result;
    }

    /// <summary>MLflow accepts letters, digits, '_', '-', '.', ' ', ':' and '/' in metric keys; others (e.g. the '@' of ndcg@5) become '_'.</summary>
    internal static string MetricKey(EvalSetMetric result) =>
        string.Create(result.Key.Length, result.Key, (span, key) =>
        {
            for (var i = 0; i < key.Length; i++)
            {
                var c = key[i];
                span[i] = char.IsLetterOrDigit(c) || c is '_' or '-' or '.' or ' ' or ':' or '/' ? c : '_';
            }
        });

    private static void LogDatasets(RunScope run, TrainRequest request)
    {
        var source = new JsonObject { ["tags"] = SourceTags(run) }.ToJsonString(Json);
        run.LogInput(DatasetFor(request.DTrain, "dataset", source), "train");
        foreach (var (data, name) in request.Evals)
        {
            run.LogInput(DatasetFor(data, name, source), "eval");
        }
    }

    private static JsonObject SourceTags(RunScope run)
    {
        var tags = new JsonObject();
        foreach (var tag in run.Run.Data.Tags.Where(t => t.Key is "mlflow.user" or "mlflow.source.name" or "mlflow.source.type" or "mlflow.source.git.commit"))
        {
            tags[tag.Key] = tag.Value;
        }

        return tags;
    }

    private static Dataset DatasetFor(DMatrix data, string name, string source)
    {
        var features = new JsonArray(new JsonObject
        {
            ["type"] = "tensor",
            ["tensor-spec"] = new JsonObject { ["dtype"] = "float32", ["shape"] = new JsonArray(-1, data.ColumnCount) },
        }).ToJsonString(Json);
        return new Dataset
        {
            Name = name,
            Digest = data.Digest,
            SourceType = "code",
            Source = source,
            Schema = new JsonObject { ["mlflow_tensorspec"] = new JsonObject { ["features"] = features, ["targets"] = null } }.ToJsonString(Json),
            Profile = new JsonObject
            {
                ["features_shape"] = new JsonArray(data.RowCount, data.ColumnCount),
                ["features_size"] = (long)data.RowCount * data.ColumnCount,
                ["features_nbytes"] = (long)data.RowCount * data.ColumnCount * sizeof(float),
            }.ToJsonString(Json),
        };
    }

    /// <summary>
    /// The signature a Python colleague's <c>pyfunc.predict(DataFrame)</c> works with: named input columns (the
    /// matrix's feature names, else XGBoost's own <c>f0</c>, <c>f1</c>…) of type <c>double</c> — pandas' default, which
    /// MLflow's schema enforcement accepts, where a float32 tensor without names refused every DataFrame — and the
    /// prediction's float32 tensor shape out, read from the learner's configuration.
    /// </summary>
    internal static ModelSignature Signature(Booster booster, DMatrix dtrain)
    {
        var config = JsonNode.Parse(booster.SaveConfig())!;
        var learner = config["learner"]!;
        var objective = learner["objective"]?["name"]?.GetValue<string>() ?? "";
        var numClass = int.Parse(learner["learner_model_param"]?["num_class"]?.GetValue<string>() ?? "0", CultureInfo.InvariantCulture);
        var numTarget = int.Parse(learner["learner_model_param"]?["num_target"]?.GetValue<string>() ?? "1", CultureInfo.InvariantCulture);
        IReadOnlyList<long> output = objective == "multi:softprob" && numClass > 1 ? [-1, numClass]
            : numTarget > 1 ? [-1, numTarget]
            : [-1];
        return ModelSignature.FromColumns(ColumnNames(dtrain).Select(n => (n, "double"))) with { Outputs = ModelSignature.FromTensors("float32", output).Inputs };
    }

    /// <summary>
    /// Python's autolog input example: the first rows of the training data (kept on the DMatrix, as Python keeps them), as a
    /// data frame with the signature's column names, so that it is also a valid body for the served model.
    /// </summary>
    internal static ModelInputExample InputExample(DMatrix dtrain) =>
        ModelInputExample.FromRows(ColumnNames(dtrain), dtrain.HeadRows.Select(r => (IReadOnlyList<object?>)[.. r.Select(v => (object?)v)]));

    private static IReadOnlyList<string> ColumnNames(DMatrix dtrain) => MatrixProfile.ColumnNames(dtrain);

    /// <summary>
    /// Copies what the profile needs while the caller's matrix and booster are alive — the values (one native copy), the
    /// labels, the booster's predictions on the training matrix (from its prediction cache) — and builds the profile on
    /// the thread pool. A failure there costs the profile only (said, the model is logged without it).
    /// </summary>
    private Task<ReferenceProfile?> StartProfile(Booster booster, DMatrix dtrain)
    {
        var snapshot = MatrixProfile.Capture(booster, dtrain, ColumnNames(dtrain));
        return Task.Run(() =>
        {
            try
            {
                return (ReferenceProfile?)snapshot.Build();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                if (Options.Logger is { } logger)
                {
                    LogFailure(logger, "reference profile", ex);
                }

                return null;
            }
        });
    }

    private void Safely(string what, Action action)
    {
        try
        {
            action();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // As in Python's safe_patch: a logging failure never fails the user's training.
            if (Options.Logger is { } logger)
            {
                LogFailure(logger, what, ex);
            }
        }
    }

    [LoggerMessage(EventId = 4103, Level = LogLevel.Warning, Message = "XGBoost autologging could not log the {What}; training goes on.")]
    private static partial void LogFailure(ILogger logger, string what, Exception exception);

    /// <summary>Logs <c>{eval}-{metric}</c> at step = iteration through the run's batched uploader (no I/O on the training thread).</summary>
    private sealed class MetricRecorder(RunScope run, int every, int rounds) : TrainingCallback
    {
        private int _lastLogged = -1;
        private int _lastSeen = -1;

        public List<IReadOnlyList<EvalSetMetric>> Results { get; } = [];

        public override bool AfterIteration(Booster model, int iteration, EvaluationLog log)
        {
            Results.Add(log.Latest);
            _lastSeen = iteration;
            if (iteration % every == 0 || iteration == rounds - 1)
            {
                Log(iteration, log.Latest);
            }

            return false;
        }

        public void LogLastIteration()
        {
            if (_lastSeen >= 0 && _lastLogged != _lastSeen)
            {
                Log(_lastSeen, Results[^1]);
            }
        }

        private void Log(int iteration, IReadOnlyList<EvalSetMetric> results)
        {
            foreach (var r in results)
            {
                run.LogMetric(MetricKey(r), r.Value, iteration);
            }

            _lastLogged = iteration;
        }
    }
}
