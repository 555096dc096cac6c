using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MlOps.Client.XGBoost.Native;

namespace MlOps.Client.XGBoost;

/// <summary>
/// A gradient-boosted model (<c>xgboost.Booster</c>). Dispose it when done (it owns native memory).
/// </summary>
/// <remarks>
/// Thread safety: <see cref="Predict(DMatrix, PredictionOptions?)"/> may be called from several threads at once on one
/// booster (XGBoost's prediction is thread-safe since 1.4). Everything else — training, evaluation, parameters,
/// attributes, loading — takes the booster exclusively and waits for running predictions. Disposing while another thread
/// uses the booster is safe: the native handle is freed when the last call returns, and later calls throw
/// <see cref="ObjectDisposedException"/>.
/// </remarks>
public sealed class Booster : IDisposable, INativeOwner
{
    private readonly SafeBoosterHandle _handle;
    private readonly ReaderWriterLockSlim _gate = new(LockRecursionPolicy.SupportsRecursion);

    /// <summary>Creates a booster with <paramref name="parameters"/>, caching <paramref name="cache"/> (the training and evaluation matrices).</summary>
    /// <param name="parameters">Booster parameters (see XGBoost's parameter docs); values are formatted with the invariant culture.</param>
    /// <param name="cache">Matrices the booster will train or evaluate on.</param>
    public Booster(IEnumerable<KeyValuePair<string, object?>>? parameters = null, params DMatrix[] cache)
    {
        ArgumentNullException.ThrowIfNull(cache);
        _handle = Create(cache);
        try
        {
            if (cache.Length > 0)
            {
                // XGBoost 1.x counts the features from a cache kept per thread (the creating one): a first Update on
                // another thread would see none ("0 feature is supplied"). Stating the count makes any thread work.
                SetParameter("num_feature", cache.Max(d => d.ColumnCount));
                if (cache[0].FeatureNames is { } names)
                {
                    FeatureNames = names;
                }

                if (cache[0].FeatureTypes is { } types)
                {
                    FeatureTypes = types; // as Python's Booster(cache=...): the model keeps them, so categorical splits work
                }
            }

            SetParameters(parameters ?? []);
        }
        catch
        {
            _handle.Dispose();
            throw;
        }
    }

    private Booster(SafeBoosterHandle handle) => _handle = handle;

    /// <summary>
    /// Loads a model file written by <see cref="Save(string)"/> or by any XGBoost binding. JSON and UBJSON models are
    /// checked before XGBoost reads them (a corrupt or hostile file is an <see cref="InvalidDataException"/>, not a crash);
    /// XGBoost's legacy binary format cannot be checked and is refused unless <paramref name="allowLegacyBinary"/>.
    /// </summary>
    /// <param name="path">The model file.</param>
    /// <param name="allowLegacyBinary">Load legacy binary models (what XGBoost 1.x writes for names other than <c>.json</c>/<c>.ubj</c>): only for files you trust.</param>
    public static Booster Load(string path, bool allowLegacyBinary = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"No XGBoost model file at '{path}'.", path);
        }

        // Read once, check, and hand XGBoost the very bytes checked (no second read of a file that could change).
        return LoadFromBuffer(File.ReadAllBytes(path), allowLegacyBinary);
    }

    /// <summary>
    /// Loads a model from bytes written by <see cref="SaveToBuffer(ModelFormat)"/> (JSON, UBJSON, or legacy binary when
    /// <paramref name="allowLegacyBinary"/>), checked as <see cref="Load(string, bool)"/> checks files.
    /// </summary>
    /// <param name="buffer">The model bytes.</param>
    /// <param name="allowLegacyBinary">Load legacy binary models: only for bytes you trust.</param>
    public static Booster LoadFromBuffer(ReadOnlySpan<byte> buffer, bool allowLegacyBinary = false)
    {
        if (buffer.IsEmpty)
        {
            throw new ArgumentException("The model buffer is empty.", nameof(buffer));
        }

        ModelValidation.Validate(buffer, allowLegacyBinary);
        var booster = new Booster(Create([]));
        try
        {
            booster.LoadModel(buffer, validated: true);
            return booster;
        }
        catch
        {
            booster.Dispose();
            throw;
        }
    }

    /// <summary>Replaces this booster's model with the one in <paramref name="buffer"/>, keeping its data cache.</summary>
    internal unsafe void LoadModel(ReadOnlySpan<byte> buffer, bool validated = false)
    {
        if (!validated)
        {
            ModelValidation.Validate(buffer, allowLegacyBinary: false);
        }

        fixed (byte* p = buffer)
        {
            var length = (ulong)buffer.Length;
            var address = p;
            Exclusive(() =>
            {
                XGBoostLibrary.Check(NativeMethods.XGBoosterLoadModelFromBuffer(Handle, address, length), "XGBoosterLoadModelFromBuffer");
                return 0;
            });
        }

        _handle.SetPressure((long)buffer.Length * 2); // trees in memory take about what their serialised form does, plus the copy XGBoost parses
    }

    /// <summary>Reports the trained model's size to the GC (its UBJSON size), so undisposed boosters stay bounded too.</summary>
    internal unsafe void ReportModelSize() => Exclusive(() =>
    {
        XGBoostLibrary.Check(NativeMethods.XGBoosterSaveModelToBuffer(Handle, "{\"format\": \"ubj\"}", out var length, out _), "XGBoosterSaveModelToBuffer");
        _handle.SetPressure((long)length);
        return 0;
    });

    /// <summary>The version of the loaded <c>libxgboost</c>.</summary>
    public static Version LibraryVersion => XGBoostLibrary.Version();

    /// <summary>Whether the booster has been disposed.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    private int _disposed;

    /// <summary>The number of boosting rounds done so far.</summary>
    public int BoostedRounds => Exclusive(() =>
    {
        XGBoostLibrary.Check(NativeMethods.XGBoosterBoostedRounds(Handle, out var rounds), "XGBoosterBoostedRounds");
        return rounds;
    });

    /// <summary>The number of features the model was trained on.</summary>
    public long FeatureCount => Exclusive(() =>
    {
        XGBoostLibrary.Check(NativeMethods.XGBoosterGetNumFeature(Handle, out var n), "XGBoosterGetNumFeature");
        return (long)n;
    });

    /// <summary>The best iteration found by early stopping (attribute <c>best_iteration</c>), or <see langword="null"/>.</summary>
    public int? BestIteration => GetAttribute("best_iteration") is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : null;

    /// <summary>The score at <see cref="BestIteration"/> (attribute <c>best_score</c>), or <see langword="null"/>.</summary>
    public double? BestScore => GetAttribute("best_score") is { } s ? double.Parse(s, CultureInfo.InvariantCulture) : null;

    /// <summary>Feature names stored in the model, or <see langword="null"/>.</summary>
    public unsafe IReadOnlyList<string>? FeatureNames
    {
        get => Exclusive(() =>
        {
            XGBoostLibrary.Check(NativeMethods.XGBoosterGetStrFeatureInfo(Handle, "feature_name", out var size, out var p), "XGBoosterGetStrFeatureInfo");
            return size == 0 ? null : (IReadOnlyList<string>)Utf8.ReadArray(p, size);
        });
        set => SetStrings("feature_name", value, nameof(FeatureNames));
    }

    /// <summary>Feature types stored in the model (<c>q</c>, <c>i</c>, <c>int</c>, <c>float</c>, <c>c</c>), or <see langword="null"/>.</summary>
    public unsafe IReadOnlyList<string>? FeatureTypes
    {
        get => Exclusive(() =>
        {
            XGBoostLibrary.Check(NativeMethods.XGBoosterGetStrFeatureInfo(Handle, "feature_type", out var size, out var p), "XGBoosterGetStrFeatureInfo");
            return size == 0 ? null : (IReadOnlyList<string>)Utf8.ReadArray(p, size);
        });
        set => SetStrings("feature_type", value, nameof(FeatureTypes));
    }

    private unsafe void SetStrings(string field, IReadOnlyList<string>? values, string name)
    {
        for (var i = 0; i < (values?.Count ?? 0); i++)
        {
            if (string.IsNullOrEmpty(values![i]) || values[i].Contains('\0', StringComparison.Ordinal))
            {
                throw new ArgumentException($"{name}[{i}] is null, empty or holds a NUL character; every entry must be a non-empty string without NUL.", name);
            }
        }

        Exclusive(() =>
        {
            using var native = new Utf8.StringArray(values ?? []);
            XGBoostLibrary.Check(NativeMethods.XGBoosterSetStrFeatureInfo(Handle, field, native.Pointer, (ulong)(values?.Count ?? 0)), "XGBoosterSetStrFeatureInfo");
            return 0;
        });
    }

    internal SafeBoosterHandle Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            return _handle;
        }
    }

    /// <summary>Sets one parameter (<c>XGBoosterSetParam</c>); XGBoost rejects unknown values with its own message.</summary>
    /// <param name="name">The parameter name.</param>
    /// <param name="value">The value, formatted with the invariant culture (booleans as <c>true</c>/<c>false</c>).</param>
    public void SetParameter(string name, object? value)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var text = FormatParameter(value);
        RejectNul(name, nameof(name));
        RejectNul(text, nameof(value));
        if (name is "subsample" or "colsample_bytree" or "colsample_bylevel" or "colsample_bynode")
        {
            _samples |= !double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var fraction) || fraction < 1;
        }

        Exclusive(() =>
        {
            XGBoostLibrary.Check(NativeMethods.XGBoosterSetParam(Handle, name, text), $"XGBoosterSetParam({name})");
            return 0;
        });
    }

    /// <summary>Sets several parameters, in order.</summary>
    /// <param name="parameters">The parameters.</param>
    public void SetParameters(IEnumerable<KeyValuePair<string, object?>> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        foreach (var (name, value) in parameters)
        {
            if (value is System.Collections.IEnumerable list and not string)
            {
                foreach (var item in list)
                {
                    SetParameter(name, item); // e.g. several eval_metric values
                }
            }
            else
            {
                SetParameter(name, value);
            }
        }
    }

    /// <summary>Runs one boosting iteration on <paramref name="dtrain"/> (<c>XGBoosterUpdateOneIter</c>).</summary>
    /// <param name="dtrain">The training data (with labels).</param>
    /// <param name="iteration">The iteration number (0-based).</param>
    public void Update(DMatrix dtrain, int iteration)
    {
        ArgumentNullException.ThrowIfNull(dtrain);
        ArgumentOutOfRangeException.ThrowIfNegative(iteration);
        CheckTrainingData(dtrain);
        Exclusive(() =>
        {
            NoteTrainingThread();
            using var data = dtrain.Lease();
            lock (dtrain.TrainingGate) // XGBoost builds training pages inside the matrix: one booster at a time
            {
                XGBoostLibrary.Check(NativeMethods.XGBoosterUpdateOneIter(Handle, iteration, data.Handle), "XGBoosterUpdateOneIter");
            }

            return 0;
        });
    }

    /// <summary>Boosts one iteration with a custom objective's gradient and hessian (<c>XGBoosterTrainOneIter</c>, or <c>XGBoosterBoostOneIter</c> before XGBoost 2.1).</summary>
    /// <param name="dtrain">The training data.</param>
    /// <param name="gradient">First-order gradients, one per row (and output group).</param>
    /// <param name="hessian">Second-order gradients, same length.</param>
    public unsafe void Boost(DMatrix dtrain, float[] gradient, float[] hessian)
    {
        ArgumentNullException.ThrowIfNull(dtrain);
        ArgumentNullException.ThrowIfNull(gradient);
        ArgumentNullException.ThrowIfNull(hessian);
        if (gradient.Length != hessian.Length || gradient.Length == 0 || gradient.Length % Math.Max(1, dtrain.RowCount) != 0)
        {
            throw new ArgumentException($"gradient ({gradient.Length}) and hessian ({hessian.Length}) need the same length, a multiple of the {dtrain.RowCount} rows.", nameof(gradient));
        }

        CheckTrainingData(dtrain);
        Exclusive(() =>
        {
            NoteTrainingThread();
            using var data = dtrain.Lease();
            lock (dtrain.TrainingGate)
            {
                fixed (float* g = gradient)
                fixed (float* h = hessian)
                {
                    if (XGBoostLibrary.Has(XGBoostFunction.TrainOneIter))
                    {
                        // XGBoost ≥ 2.1: the gradient as a (rows, groups) array, as Python's xgboost passes it.
                        var groups = gradient.Length / Math.Max(1, dtrain.RowCount);
                        XGBoostLibrary.Check(NativeMethods.XGBoosterBoostedRounds(Handle, out var round), "XGBoosterBoostedRounds");
                        XGBoostLibrary.Check(
                            NativeMethods.XGBoosterTrainOneIter(Handle, data.Handle, round, ArrayInterface.Matrix(g, gradient.Length / groups, groups), ArrayInterface.Matrix(h, hessian.Length / groups, groups)),
                            "XGBoosterTrainOneIter");
                    }
                    else
                    {
                        XGBoostLibrary.Check(NativeMethods.XGBoosterBoostOneIter(Handle, data.Handle, g, h, (ulong)gradient.Length), "XGBoosterBoostOneIter");
                    }
                }
            }

            return 0;
        });
    }

    /// <summary>Evaluates the configured metrics on <paramref name="evals"/> (<c>XGBoosterEvalOneIter</c>), e.g. <c>[3]\ttrain-rmse:0.25</c>.</summary>
    /// <param name="iteration">The iteration number, printed in the result.</param>
    /// <param name="evals">The matrices and their names.</param>
    public unsafe string EvaluateRaw(int iteration, IReadOnlyList<(DMatrix Data, string Name)> evals)
    {
        ArgumentNullException.ThrowIfNull(evals);
        if (evals.Count == 0)
        {
            return $"[{iteration}]";
        }

        var handles = new SafeDMatrixHandle[evals.Count];
        var refs = new bool[evals.Count];
        var pointers = new nint[evals.Count];
        try
        {
            for (var i = 0; i < evals.Count; i++)
            {
                handles[i] = evals[i].Data.HandleForCall();
                handles[i].DangerousAddRef(ref refs[i]);
                pointers[i] = handles[i].DangerousGetHandle();
            }

            using var names = new Utf8.StringArray([.. evals.Select(e => e.Name)]);
            var gates = evals.Select(e => e.Data).Distinct().OrderBy(d => d.Id).ToArray(); // one order for every booster: no deadlock
            return Exclusive(() =>
            {
                var taken = 0;
                try
                {
                    for (; taken < gates.Length; taken++)
                    {
                        Monitor.Enter(gates[taken].TrainingGate);
                    }

                    fixed (nint* d = pointers)
                    {
                        XGBoostLibrary.Check(NativeMethods.XGBoosterEvalOneIter(Handle, iteration, d, names.Pointer, (ulong)evals.Count, out var result), "XGBoosterEvalOneIter");
                        return Marshal.PtrToStringUTF8(result) ?? ""; // copied while the booster is leased
                    }
                }
                finally
                {
                    for (var i = taken - 1; i >= 0; i--)
                    {
                        Monitor.Exit(gates[i].TrainingGate);
                    }
                }
            });
        }
        finally
        {
            for (var i = 0; i < evals.Count; i++)
            {
                if (refs[i])
                {
                    handles[i].DangerousRelease();
                }
            }
        }
    }

    /// <summary>Evaluates the configured metrics on <paramref name="evals"/>: one result per data set and metric, in XGBoost's order.</summary>
    /// <param name="iteration">The iteration number.</param>
    /// <param name="evals">The matrices and their names.</param>
    public IReadOnlyList<EvalSetMetric> Evaluate(int iteration, IReadOnlyList<(DMatrix Data, string Name)> evals) =>
        EvalSetMetric.Parse(EvaluateRaw(iteration, evals), [.. evals.Select(e => e.Name)]);

    /// <summary>Predicts on <paramref name="data"/>; values in row-major order (see <see cref="PredictWithShape"/> for the shape).</summary>
    /// <param name="data">The rows to predict.</param>
    /// <param name="options">What to predict; probabilities/values with all trees when <see langword="null"/>.</param>
    public float[] Predict(DMatrix data, PredictionOptions? options = null) => PredictWithShape(data, options).Values;

    /// <summary>Predicts on <paramref name="data"/> (<c>XGBoosterPredictFromDMatrix</c>) and returns the values with their shape.</summary>
    /// <param name="data">The rows to predict.</param>
    /// <param name="options">What to predict; probabilities/values with all trees when <see langword="null"/>.</param>
    public unsafe Prediction PredictWithShape(DMatrix data, PredictionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        options ??= PredictionOptions.Default;
        var config = options.ToConfig();
        using var self = Lease(); // XGBoost's result buffer belongs to the booster: alive until copied
        using var matrix = data.Lease();
        _gate.EnterReadLock();
        try
        {
            XGBoostLibrary.Check(NativeMethods.XGBoosterGetNumFeature(self.Handle, out var features), "XGBoosterGetNumFeature");
            if (features > 0 && (ulong)data.ColumnCount != features)
            {
                // Python's Booster.predict(validate_features=True) refuses this too; XGBoost would answer wrong values.
                throw new ArgumentException(
                    $"data has {data.ColumnCount} features but the model was trained on {features}: the columns must be the model's, in its order.", nameof(data));
            }

            if (data.KnownFeatureNames is { } dataNames)
            {
                XGBoostLibrary.Check(NativeMethods.XGBoosterGetStrFeatureInfo(self.Handle, "feature_name", out var size, out var names), "XGBoosterGetStrFeatureInfo");
                var modelNames = size == 0 ? null : Utf8.ReadArray(names, size);
                if (modelNames is not null && !modelNames.SequenceEqual(dataNames, StringComparer.Ordinal))
                {
                    var at = Enumerable.Range(0, Math.Min(modelNames.Length, dataNames.Length)).FirstOrDefault(i => modelNames[i] != dataNames[i]);
                    throw new ArgumentException(
                        $"feature_names mismatch (as Python's validate_features): the model has '{modelNames[at]}' at column {at}, the data '{dataNames[at]}'.", nameof(data));
                }
            }

            XGBoostLibrary.Check(NativeMethods.XGBoosterPredictFromDMatrix(self.Handle, matrix.Handle, config, out var shape, out var dimension, out var result), "XGBoosterPredictFromDMatrix");
            return CopyPrediction(shape, dimension, result);
        }
        finally
        {
            _gate.ExitReadLock();
        }
    }

    /// <summary>
    /// Predicts straight from row-major dense data without building a <see cref="DMatrix"/> (<c>XGBoosterPredictFromDense</c>,
    /// Python's <c>inplace_predict</c>): the fast path for serving. Thread-safe like <see cref="PredictWithShape"/>.
    /// </summary>
    /// <param name="data">The features, row after row.</param>
    /// <param name="rows">The number of rows.</param>
    /// <param name="columns">The number of features per row: the model's.</param>
    /// <param name="options">Values or margins and the iteration range; other prediction types need a <see cref="DMatrix"/>.</param>
    /// <param name="missing">The value that marks a missing feature. Default <see cref="float.NaN"/>.</param>
    public unsafe Prediction InplacePredict(ReadOnlySpan<float> data, int rows, int columns, PredictionOptions? options = null, float missing = float.NaN)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        if ((long)rows * columns != data.Length)
        {
            throw new ArgumentException($"data has {data.Length} values but rows × columns = {rows} × {columns} = {(long)rows * columns}.", nameof(data));
        }

        options ??= PredictionOptions.Default;
        if (options.Type is not (PredictionType.Value or PredictionType.Margin))
        {
            throw new ArgumentException($"InplacePredict gives values or margins (as Python's inplace_predict); {options.Type} needs Predict with a DMatrix.", nameof(options));
        }

        if (rows == 0)
        {
            return new Prediction([], [0]);
        }

        var config = ReferenceEquals(options, PredictionOptions.Default) && float.IsNaN(missing)
            ? DefaultInplaceConfig // the serving path's: made once
            : options.ToConfig()[..^1] + ", \"missing\": " + MissingText(missing) + ", \"cache_id\": 0}";
        using var self = Lease();
        _gate.EnterReadLock();
        try
        {
            XGBoostLibrary.Check(NativeMethods.XGBoosterGetNumFeature(self.Handle, out var features), "XGBoosterGetNumFeature");
            if (features > 0 && (ulong)columns != features)
            {
                throw new ArgumentException($"data has {columns} features but the model was trained on {features}: the columns must be the model's, in its order.", nameof(data));
            }

            fixed (float* p = data)
            {
                var array = ArrayInterface.Matrix(p, rows, columns); // XGBoost reads the pinned values during the call
                var proxy = ThreadProxy();
                XGBoostLibrary.Check(NativeMethods.XGBoosterPredictFromDense(self.Handle, array, config, proxy?.DangerousGetHandle() ?? 0, out var shape, out var dimension, out var result), "XGBoosterPredictFromDense");
                GC.KeepAlive(proxy);
                return CopyPrediction(shape, dimension, result);
            }
        }
        finally
        {
            _gate.ExitReadLock();
        }
    }

    /// <summary>
    /// This thread's proxy DMatrix for <see cref="InplacePredict"/>, made once (<c>XGProxyDMatrixCreate</c>) and freed with the
    /// thread (its handle's finalizer); <see langword="null"/> when the library has none (XGBoost then makes one per call).
    /// Without it every in-place prediction builds a new proxy, whose context reads the cgroup CPU quota files
    /// (<c>GetCfsCPUCount</c>: two file opens per call, XGBoost 1.7 to 3.x) — a seventh of a 1-row scoring request's CPU.
    /// The proxy only points at the data during a call, and one thread makes one call at a time.
    /// </summary>
    private static SafeDMatrixHandle? ThreadProxy()
    {
        if (t_proxy is { IsInvalid: false } proxy || s_noProxy)
        {
            return t_proxy;
        }

        try
        {
            XGBoostLibrary.Check(NativeMethods.XGProxyDMatrixCreate(out proxy), "XGProxyDMatrixCreate");
            return t_proxy = proxy;
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or XGBoostException)
        {
            s_noProxy = true;
            return null;
        }
    }

    private static readonly string DefaultInplaceConfig = PredictionOptions.Default.ToConfig()[..^1] + ", \"missing\": " + MissingText(float.NaN) + ", \"cache_id\": 0}";

    /// <summary>The missing-value marker as XGBoost's JSON config reads it.</summary>
    private static string MissingText(float missing) => float.IsNaN(missing) ? "NaN" : float.IsPositiveInfinity(missing) ? "Infinity"
        : float.IsNegativeInfinity(missing) ? "-Infinity" : missing.ToString("R", CultureInfo.InvariantCulture);

    [ThreadStatic]
    private static SafeDMatrixHandle? t_proxy;

    private static bool s_noProxy;

    /// <summary>Copies XGBoost's result: it lives in a thread-local buffer of XGBoost, overwritten by the next call on this thread.</summary>
    private static unsafe Prediction CopyPrediction(ulong* shape, ulong dimension, float* result)
    {
        var dims = new long[checked((int)dimension)];
        long total = 1;
        for (var i = 0; i < dims.Length; i++)
        {
            dims[i] = (long)shape[i];
            total *= dims[i];
        }

        return new Prediction(new ReadOnlySpan<float>(result, checked((int)total)).ToArray(), dims);
    }

    /// <summary>Saves the model to <paramref name="path"/>; the format follows the extension as in XGBoost: <c>.json</c> JSON, <c>.ubj</c> UBJSON, otherwise XGBoost's default for that version (legacy binary in 1.x).</summary>
    /// <param name="path">The file to write.</param>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Exclusive(() =>
        {
            XGBoostLibrary.Check(NativeMethods.XGBoosterSaveModel(Handle, path), "XGBoosterSaveModel");
            return 0;
        });
    }

    /// <summary>Serialises the model (<c>XGBoosterSaveModelToBuffer</c>).</summary>
    /// <param name="format">The format. Default JSON.</param>
    /// <exception cref="NotSupportedException"><see cref="ModelFormat.Legacy"/> with XGBoost 3.1 or later, which no longer writes it.</exception>
    public unsafe byte[] SaveToBuffer(ModelFormat format = ModelFormat.Json)
    {
        if (format == ModelFormat.Legacy && LibraryVersion >= XGBoostLibrary.LegacyBinaryDropped)
        {
            throw new NotSupportedException(
                $"libxgboost {LibraryVersion} no longer writes the legacy binary format (dropped in XGBoost {XGBoostLibrary.LegacyBinaryDropped.ToString(2)}): use ModelFormat.Ubj or ModelFormat.Json.");
        }

        var config = format switch
        {
            ModelFormat.Json => "{\"format\": \"json\"}",
            ModelFormat.Ubj => "{\"format\": \"ubj\"}",
            ModelFormat.Legacy => "{\"format\": \"deprecated\"}",
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown model format."),
        };
        return Exclusive(() =>
        {
            XGBoostLibrary.Check(NativeMethods.XGBoosterSaveModelToBuffer(Handle, config, out var length, out var p), "XGBoosterSaveModelToBuffer");
            return new ReadOnlySpan<byte>(p, checked((int)length)).ToArray();
        });
    }

    /// <summary>The booster's whole configuration as JSON (<c>XGBoosterSaveJsonConfig</c>): every effective parameter, defaults included.</summary>
    public string SaveConfig() => Exclusive(() =>
    {
        XGBoostLibrary.Check(NativeMethods.XGBoosterSaveJsonConfig(Handle, out var length, out var p), "XGBoosterSaveJsonConfig");
        return Marshal.PtrToStringUTF8(p, checked((int)length));
    });

    /// <summary>Loads a configuration written by <see cref="SaveConfig"/>.</summary>
    /// <param name="json">The configuration JSON.</param>
    public void LoadConfig(string json)
    {
        ArgumentException.ThrowIfNullOrEmpty(json);
        Exclusive(() =>
        {
            XGBoostLibrary.Check(NativeMethods.XGBoosterLoadJsonConfig(Handle, json), "XGBoosterLoadJsonConfig");
            return 0;
        });
    }

    /// <summary>Reads an attribute stored in the model (e.g. <c>best_iteration</c>), or <see langword="null"/>.</summary>
    /// <param name="key">The attribute name.</param>
    public string? GetAttribute(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return Exclusive(() =>
        {
            XGBoostLibrary.Check(NativeMethods.XGBoosterGetAttr(Handle, key, out var value, out var success), "XGBoosterGetAttr");
            return success == 0 ? null : Marshal.PtrToStringUTF8(value);
        });
    }

    /// <summary>Stores an attribute in the model; <see langword="null"/> removes it.</summary>
    /// <param name="key">The attribute name.</param>
    /// <param name="value">The value.</param>
    public void SetAttribute(string key, string? value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        Exclusive(() =>
        {
            XGBoostLibrary.Check(NativeMethods.XGBoosterSetAttr(Handle, key, value), "XGBoosterSetAttr");
            return 0;
        });
    }

    /// <summary>
    /// Feature importance (<c>XGBoosterFeatureScore</c>, like Python's <c>get_score</c>): one value per feature that
    /// the model uses, or one per output group for multi-output linear models. Features never used are absent.
    /// </summary>
    /// <param name="importanceType">The importance type.</param>
    public unsafe FeatureScores GetScores(ImportanceType importanceType = ImportanceType.Weight)
    {
        var names = FeatureNames;
        var config = new JsonObject
        {
            ["importance_type"] = importanceType.ToXGBoostName(),
            ["feature_map"] = "",
            ["feature_names"] = names is null ? null : new JsonArray([.. names.Select(n => (JsonNode)n)]),
            ["feature_types"] = null,
        }.ToJsonString();
        return Exclusive(() =>
        {
            XGBoostLibrary.Check(NativeMethods.XGBoosterFeatureScore(Handle, config, out var count, out var features, out var dimension, out var shape, out var scores), "XGBoosterFeatureScore");
            var featureNames = Utf8.ReadArray(features, count);
            long total = 1;
            var dims = new long[checked((int)dimension)];
            for (var i = 0; i < dims.Length; i++)
            {
                dims[i] = (long)shape[i];
                total *= dims[i];
            }

            var values = new ReadOnlySpan<float>(scores, checked((int)total)).ToArray();
            var perFeature = featureNames.Length == 0 ? 0 : (int)(total / featureNames.Length);
            var result = new Dictionary<string, double[]>(StringComparer.Ordinal);
            for (var i = 0; i < featureNames.Length; i++)
            {
                result[featureNames[i]] = [.. values.AsSpan(i * perFeature, perFeature).ToArray().Select(v => (double)v)];
            }

            return new FeatureScores(importanceType, featureNames, result);
        });
    }

    /// <summary>Dumps the trees as text, JSON or Graphviz dot (<c>XGBoosterDumpModelEx</c>), one string per tree.</summary>
    /// <param name="format"><c>text</c>, <c>json</c> or <c>dot</c>.</param>
    /// <param name="withStats">Include split gain and cover.</param>
    /// <param name="featureMap">An optional feature-map file.</param>
    public unsafe IReadOnlyList<string> Dump(string format = "text", bool withStats = false, string featureMap = "")
    {
        if (format is not ("text" or "json" or "dot"))
        {
            throw new ArgumentException($"format must be text, json or dot, not '{format}'.", nameof(format));
        }

        return Exclusive(() =>
        {
            XGBoostLibrary.Check(NativeMethods.XGBoosterDumpModelEx(Handle, featureMap ?? "", withStats ? 1 : 0, format, out var length, out var dump), "XGBoosterDumpModelEx");
            return (IReadOnlyList<string>)Utf8.ReadArray(dump, length);
        });
    }

    /// <summary>A new booster with the trees of layers [<paramref name="begin"/>, <paramref name="end"/>) (<c>XGBoosterSlice</c>).</summary>
    /// <param name="begin">The first iteration kept.</param>
    /// <param name="end">The iteration after the last kept (0 = all).</param>
    /// <param name="step">Keep every <paramref name="step"/>-th iteration.</param>
    public Booster Slice(int begin, int end, int step = 1) => Exclusive(() =>
    {
        var rounds = BoostedRounds;
        if (begin < 0 || step < 1 || end < 0 || (end != 0 && end <= begin) || (end == 0 ? begin >= rounds : end > rounds))
        {
            throw new ArgumentOutOfRangeException(nameof(begin),
                $"Slice({begin}, {end}, {step}) is out of range: the booster has {rounds} rounds; need 0 <= begin < end <= {rounds} (end 0 = all) and step >= 1.");
        }

        XGBoostLibrary.Check(NativeMethods.XGBoosterSlice(Handle, begin, end, step, out var sliced), "XGBoosterSlice");
        return new Booster(sliced);
    });

    /// <summary>
    /// Frees the native booster: <see cref="IsDisposed"/> is true at once and later calls throw
    /// <see cref="ObjectDisposedException"/>; calls already running (predictions on other threads) finish and copy their
    /// results first, then the memory is freed.
    /// </summary>
    public void Dispose()
    {
        Volatile.Write(ref _disposed, 1); // no call starts after this
        _handle.Dispose();                // freed when the calls already running end
    }

    /// <inheritdoc/>
    public override string ToString() => IsDisposed ? "Booster (disposed)" : $"Booster ({BoostedRounds} rounds)";

    private static void CheckTrainingData(DMatrix dtrain)
    {
        if (dtrain.RowCount == 0)
        {
            throw new ArgumentException("dtrain has no rows: there is nothing to train on.", nameof(dtrain));
        }
    }

    private static void RejectNul(string text, string name)
    {
        if (text.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"The {name} holds a NUL character, which XGBoost's C API would cut the text at.", name);
        }
    }

    private bool _samples;
    private int _trainingThread;
    private int _hopWarned;

    /// <summary>
    /// XGBoost 1.x keeps its random generator per OS thread, seeded when a booster is configured (its first iteration):
    /// iterations that move to another thread draw from that thread's generator, so seeded subsampling stops being
    /// reproducible. Says so once per booster when it happens with sampling on.
    /// </summary>
    private void NoteTrainingThread()
    {
        var thread = Environment.CurrentManagedThreadId;
        var previous = _trainingThread;
        _trainingThread = thread;
        if (previous != 0 && previous != thread && _samples && Interlocked.Exchange(ref _hopWarned, 1) == 0)
        {
            XGBoostLog.Warn(
                "this booster's training moved to another thread; XGBoost keeps its random generator per thread, so seeded subsampling " +
                "(subsample/colsample below 1) will not be reproducible. Train each booster from one thread, as XGBoost.Train does.");
        }
    }

    /// <summary>Formats a parameter value as XGBoost expects it: invariant culture, booleans in lower case.</summary>
    internal static string FormatParameter(object? value) => value switch
    {
        null => "",
        bool b => b ? "true" : "false",
        string s => s,
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static unsafe SafeBoosterHandle Create(DMatrix[] cache)
    {
        var handles = new SafeDMatrixHandle[cache.Length];
        var refs = new bool[cache.Length];
        var pointers = new nint[Math.Max(1, cache.Length)];
        try
        {
            for (var i = 0; i < cache.Length; i++)
            {
                ArgumentNullException.ThrowIfNull(cache[i], nameof(cache));
                handles[i] = cache[i].HandleForCall();
                handles[i].DangerousAddRef(ref refs[i]);
                pointers[i] = handles[i].DangerousGetHandle();
            }

            fixed (nint* p = pointers)
            {
                XGBoostLibrary.Check(NativeMethods.XGBoosterCreate(p, (ulong)cache.Length, out var booster), "XGBoosterCreate");
                return booster;
            }
        }
        finally
        {
            for (var i = 0; i < cache.Length; i++)
            {
                if (refs[i])
                {
                    handles[i].DangerousRelease();
                }
            }
        }
    }

    /// <summary>Runs <paramref name="action"/> alone on this booster, with the native booster kept alive until it returns (results copied).</summary>
    private T Exclusive<T>(Func<T> action)
    {
        using var self = Lease();
        _gate.EnterWriteLock();
        try
        {
            return action();
        }
        finally
        {
            _gate.ExitWriteLock();
        }
    }

    /// <summary>Keeps the native booster alive across a call and the copy of its result (see <see cref="HandleLease{T}"/>).</summary>
    private HandleLease<SafeBoosterHandle> Lease() => new(_handle, this);
}

/// <summary>The serialisation formats of <see cref="Booster.SaveToBuffer(ModelFormat)"/>.</summary>
public enum ModelFormat
{
    /// <summary>JSON.</summary>
    Json,

    /// <summary>Universal Binary JSON.</summary>
    Ubj,

    /// <summary>XGBoost's legacy binary format (what 1.x writes for <c>.xgb</c> files; XGBoost 3.1 and later neither write nor read it).</summary>
    Legacy,
}

/// <summary>A prediction: values in row-major order and their shape.</summary>
/// <param name="Values">The values.</param>
/// <param name="Shape">The shape, e.g. [rows] or [rows, classes].</param>
public sealed record Prediction(float[] Values, IReadOnlyList<long> Shape)
{
    /// <summary>The values of row <paramref name="row"/>.</summary>
    /// <param name="row">The row.</param>
    public ReadOnlySpan<float> Row(int row)
    {
        var width = Shape.Count <= 1 ? 1 : (int)(Values.LongLength / Shape[0]);
        return Values.AsSpan(row * width, width);
    }
}

/// <summary>Feature importance of one type, per feature and output group.</summary>
/// <param name="Type">The importance type.</param>
/// <param name="Features">The features that have a score, in XGBoost's order.</param>
/// <param name="Scores">Per feature, one score per output group (a single one for tree models).</param>
public sealed record FeatureScores(ImportanceType Type, IReadOnlyList<string> Features, IReadOnlyDictionary<string, double[]> Scores)
{
    /// <summary>The first (for tree models: the only) score of each feature.</summary>
    public IReadOnlyDictionary<string, double> ToDictionary() => Features.ToDictionary(f => f, f => Scores[f][0], StringComparer.Ordinal);

    /// <summary>The scores as Python's <c>json.dump(booster.get_score(...))</c> writes them, e.g. <c>{"f0": 10.0}</c>.</summary>
    public string ToJson()
    {
        var sb = new StringBuilder("{");
        for (var i = 0; i < Features.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }

            sb.Append(JsonSerializer.Serialize(Features[i], FeatureScoresJsonContext.Default.String)).Append(": ");
            var values = Scores[Features[i]];
            if (values.Length == 1)
            {
                sb.Append(PythonFloat(values[0]));
            }
            else
            {
                sb.Append('[').AppendJoin(", ", values.Select(PythonFloat)).Append(']');
            }
        }

        return sb.Append('}').ToString();
    }

    /// <summary>A double as Python's <c>repr</c> prints it (the SDK's one Python formatter).</summary>
    internal static string PythonFloat(double value) => MlOps.Client.Formatting.PythonFormat.Float(value);

}

/// <summary>Feature importance types of <see cref="Booster.GetScores(ImportanceType)"/>.</summary>
public enum ImportanceType
{
    /// <summary>How many times a feature is used to split.</summary>
    Weight,

    /// <summary>Average gain of the splits that use the feature.</summary>
    Gain,

    /// <summary>Average coverage of the splits that use the feature.</summary>
    Cover,

    /// <summary>Total gain of the splits that use the feature.</summary>
    TotalGain,

    /// <summary>Total coverage of the splits that use the feature.</summary>
    TotalCover,
}

/// <summary>Names of <see cref="ImportanceType"/> values as XGBoost spells them.</summary>
public static class ImportanceTypeNames
{
    /// <summary>XGBoost's name of the importance type: <c>weight</c>, <c>gain</c>, <c>cover</c>, <c>total_gain</c>, <c>total_cover</c>.</summary>
    /// <param name="type">The type.</param>
    public static string ToXGBoostName(this ImportanceType type) => type switch
    {
        ImportanceType.Weight => "weight",
        ImportanceType.Gain => "gain",
        ImportanceType.Cover => "cover",
        ImportanceType.TotalGain => "total_gain",
        ImportanceType.TotalCover => "total_cover",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown importance type."),
    };
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class FeatureScoresJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
