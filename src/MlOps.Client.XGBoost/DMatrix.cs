using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using MlOps.Client.XGBoost.Native;

namespace MlOps.Client.XGBoost;

/// <summary>
/// XGBoost's data matrix (<c>xgboost.DMatrix</c>): dense rows of <see cref="float"/> features with labels, weights, base
/// margins and feature names. The data is copied into XGBoost's own storage; the arrays passed in may be reused.
/// Dispose it when done (it owns native memory).
/// </summary>
public sealed class DMatrix : IDisposable, INativeOwner
{
    private readonly SafeDMatrixHandle _handle;

    /// <summary>Creates a matrix from a rectangular array (rows × columns).</summary>
    /// <param name="data">The features.</param>
    /// <param name="labels">One label per row, or <see langword="null"/>.</param>
    /// <param name="missing">The value that marks a missing feature. Default <see cref="float.NaN"/>.</param>
    public DMatrix(float[,] data, float[]? labels = null, float missing = float.NaN)
        : this(Flatten(data), data.GetLength(0), data.GetLength(1), labels, missing)
    {
    }

    /// <summary>Creates a matrix from rows of equal length.</summary>
    /// <param name="rows">The features, one array per row.</param>
    /// <param name="labels">One label per row, or <see langword="null"/>.</param>
    /// <param name="missing">The value that marks a missing feature. Default <see cref="float.NaN"/>.</param>
    public DMatrix(float[][] rows, float[]? labels = null, float missing = float.NaN)
        : this(Flatten(rows, out var columns), rows.Length, columns, labels, missing)
    {
    }

    /// <summary>Creates a matrix from row-major data.</summary>
    /// <param name="data">The features, row after row; its length must be <paramref name="rows"/> × <paramref name="columns"/>.</param>
    /// <param name="rows">The number of rows.</param>
    /// <param name="columns">The number of features per row.</param>
    /// <param name="labels">One label per row, or <see langword="null"/>.</param>
    /// <param name="missing">The value that marks a missing feature. Default <see cref="float.NaN"/>.</param>
    public DMatrix(ReadOnlySpan<float> data, int rows, int columns, float[]? labels = null, float missing = float.NaN)
        : this(CreateDense(data, rows, columns, labels, missing), rows, columns, missing, ComputeDigest(data, rows, columns), labels, DenseHead(data, rows, columns))
    {
    }

    private DMatrix(SafeDMatrixHandle handle, int rows, int columns, float missing, string digest, float[]? labels, float[][] head)
    {
        _handle = handle;
        HeadRows = head;
        RowCount = rows;
        ColumnCount = columns;
        Missing = missing;
        Digest = digest;
        if (labels is not null)
        {
            SetFloatInfo("label", labels);
        }
    }

    /// <summary>
    /// Creates a matrix from compressed sparse rows (CSR, as scipy's <c>csr_matrix((values, columnIndices, rowOffsets))</c>):
    /// the features of row <c>i</c> are <c>values[rowOffsets[i]..rowOffsets[i+1]]</c> at columns
    /// <c>columnIndices[rowOffsets[i]..rowOffsets[i+1]]</c>; absent entries are missing.
    /// </summary>
    /// <param name="rowOffsets">One offset per row plus the end: starts at 0, never decreases, ends at the number of values.</param>
    /// <param name="columnIndices">The column of each value, each in [0, <paramref name="columns"/>).</param>
    /// <param name="values">The values present.</param>
    /// <param name="columns">The number of features per row.</param>
    /// <param name="labels">One label per row, or <see langword="null"/>.</param>
    public static DMatrix FromCsr(ReadOnlySpan<long> rowOffsets, ReadOnlySpan<int> columnIndices, ReadOnlySpan<float> values, int columns, float[]? labels = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        if (rowOffsets.IsEmpty || rowOffsets[0] != 0 || rowOffsets[^1] != values.Length)
        {
            throw new ArgumentException($"rowOffsets must start at 0 and end at the {values.Length} values (one offset per row plus one); it has {rowOffsets.Length} offsets.", nameof(rowOffsets));
        }

        if (columnIndices.Length != values.Length)
        {
            throw new ArgumentException($"columnIndices has {columnIndices.Length} entries but there are {values.Length} values.", nameof(columnIndices));
        }

        var rows = checked(rowOffsets.Length - 1);
        var offsets = new ulong[rowOffsets.Length];
        for (var i = 0; i < rowOffsets.Length; i++)
        {
            if (i > 0 && rowOffsets[i] < rowOffsets[i - 1])
            {
                throw new ArgumentException($"rowOffsets[{i}] ({rowOffsets[i]}) is smaller than rowOffsets[{i - 1}] ({rowOffsets[i - 1]}); offsets never decrease.", nameof(rowOffsets));
            }

            offsets[i] = (ulong)rowOffsets[i];
        }

        var indices = new uint[columnIndices.Length];
        for (var i = 0; i < indices.Length; i++)
        {
            if ((uint)columnIndices[i] >= (uint)columns)
            {
                throw new ArgumentException($"columnIndices[{i}] is {columnIndices[i]}; columns are 0 … {columns - 1}.", nameof(columnIndices));
            }

            indices[i] = (uint)columnIndices[i];
        }

        if (labels is not null)
        {
            ValidateLabels(labels, rows, nameof(labels));
        }

        SafeDMatrixHandle handle;
        unsafe
        {
            fixed (ulong* o = offsets)
            fixed (uint* c = indices)
            fixed (float* v = values)
            {
                // numpy's __array_interface__, as Python's xgboost passes a scipy CSR matrix (XGBoost copies during the call).
                XGBoostLibrary.Check(
                    NativeMethods.XGDMatrixCreateFromCSR(
                        ArrayInterface.Vector(o, offsets.Length, "<u8"), ArrayInterface.Vector(c, indices.Length, "<u4"), ArrayInterface.Vector(v, values.Length, "<f4"),
                        (ulong)columns, """{"missing": NaN, "nthread": 0}""", out handle),
                    "XGDMatrixCreateFromCSR");
            }
        }

        handle.SetPressure(((long)values.Length * 8) + ((long)rows * 8));
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        md5.AppendData(MemoryMarshal.AsBytes(values[..Math.Min(values.Length, 10_000)]));
        md5.AppendData(MemoryMarshal.AsBytes(columnIndices[..Math.Min(columnIndices.Length, 10_000)]));
        Span<long> shape = [rows, columns];
        md5.AppendData(MemoryMarshal.AsBytes(shape));
        var digest = Convert.ToHexString(md5.GetHashAndReset())[..8].ToLowerInvariant();
        try
        {
            var head = new float[Math.Min(rows, ExampleRowCount)][];
            for (var r = 0; r < head.Length; r++)
            {
                head[r] = new float[columns];
                Array.Fill(head[r], float.NaN);
                for (var k = rowOffsets[r]; k < rowOffsets[r + 1]; k++)
                {
                    head[r][columnIndices[(int)k]] = values[(int)k];
                }
            }

            return new DMatrix(handle, rows, columns, float.NaN, digest, labels, head);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static SafeDMatrixHandle CreateDense(ReadOnlySpan<float> data, int rows, int columns, float[]? labels, float missing)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        if ((long)rows * columns != data.Length)
        {
            throw new ArgumentException($"data has {data.Length} values but rows × columns = {rows} × {columns} = {(long)rows * columns}.", nameof(data));
        }

        if (labels is not null)
        {
            ValidateLabels(labels, rows, nameof(labels));
        }

        SafeDMatrixHandle handle;
        unsafe
        {
            fixed (float* p = data)
            {
                XGBoostLibrary.Check(NativeMethods.XGDMatrixCreateFromMat_omp(p, (ulong)rows, (ulong)columns, missing, out handle, 0), "XGDMatrixCreateFromMat");
            }
        }

        // XGBoost keeps each value as an 8-byte entry (index, value) plus an 8-byte offset per row.
        handle.SetPressure(((long)rows * columns * 8) + ((long)rows * 8));
        return handle;
    }

    /// <summary>The number of rows.</summary>
    public int RowCount { get; }

    /// <summary>The number of features per row.</summary>
    public int ColumnCount { get; }

    /// <summary>The value that marks a missing feature.</summary>
    public float Missing { get; }

    /// <summary>
    /// A short digest of the content (MD5 over the first 10,000 values and the shape, 8 hex digits, like the digest MLflow
    /// gives numpy datasets): used to identify the dataset in logged dataset inputs.
    /// </summary>
    public string Digest { get; }

    /// <summary>Whether the matrix has been disposed.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    private int _disposed;

    /// <summary>The labels (empty when none were set). Setting checks one finite label per row.</summary>
    public float[] Labels
    {
        get => GetFloatInfo("label");
        set
        {
            ValidateLabels(value, RowCount, nameof(Labels));
            SetFloatInfo("label", value);
        }
    }

    /// <summary>
    /// Sets labels with several targets per row (multi-output regression, XGBoost's <c>multi_strategy</c>): row-major,
    /// <paramref name="targets"/> values per row. <see cref="Labels"/> then reads them back flattened.
    /// </summary>
    /// <param name="labels">Row after row, <paramref name="targets"/> finite values each.</param>
    /// <param name="targets">The number of targets per row (at least 1).</param>
    public void SetLabels(float[] labels, int targets)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(targets);
        if (targets == 1)
        {
            Labels = labels;
            return;
        }

        if (labels.LongLength != (long)RowCount * targets)
        {
            throw new ArgumentException($"labels has {labels.Length} values but the matrix has {RowCount} rows × {targets} targets = {(long)RowCount * targets}.", nameof(labels));
        }

        var bad = Array.FindIndex(labels, l => !float.IsFinite(l));
        if (bad >= 0)
        {
            throw new ArgumentException($"labels[{bad}] is {labels[bad]}; labels must be finite numbers.", nameof(labels));
        }

        SetFromInterface("label", labels, RowCount, targets);
    }

    /// <summary>
    /// Lower bounds of the labels for survival objectives (<c>survival:aft</c>): one per row, finite and not negative
    /// (Python's <c>label_lower_bound</c>; empty when none were set).
    /// </summary>
    public float[] LabelLowerBound
    {
        get => GetFloatInfo("label_lower_bound");
        set
        {
            ValidateBounds(value, nameof(LabelLowerBound), allowInfinity: false);
            SetFloatInfo("label_lower_bound", value);
        }
    }

    /// <summary>
    /// Upper bounds of the labels for survival objectives (<c>survival:aft</c>): one per row, not negative;
    /// <see cref="float.PositiveInfinity"/> marks a right-censored row (Python's <c>label_upper_bound</c>; empty when none were set).
    /// </summary>
    public float[] LabelUpperBound
    {
        get => GetFloatInfo("label_upper_bound");
        set
        {
            ValidateBounds(value, nameof(LabelUpperBound), allowInfinity: true);
            SetFloatInfo("label_upper_bound", value);
        }
    }

    /// <summary>
    /// Per-row weights, or — for ranking data with groups (<see cref="SetGroups"/>) — one weight per group, as XGBoost
    /// expects (empty when none were set).
    /// </summary>
    public float[] Weights
    {
        get => GetFloatInfo("weight");
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            if (!(_groupCount > 0 && value.Length == _groupCount))
            {
                if (_groupCount > 0 && value.Length != RowCount)
                {
                    throw new ArgumentException($"Weights has {value.Length} values; with {_groupCount} groups it needs one per group ({_groupCount}) or one per row ({RowCount}).", nameof(Weights));
                }

                CheckLength(value.Length, RowCount, nameof(Weights));
            }

            if (Array.FindIndex(value, w => !float.IsFinite(w) || w < 0) is var bad and >= 0)
            {
                throw new ArgumentException($"Weights[{bad}] is {value[bad]}; weights must be finite and not negative.", nameof(Weights));
            }

            SetFloatInfo("weight", value);
        }
    }

    /// <summary>Per-row base margins (empty when none were set): one per row, or one per row and output group.</summary>
    public float[] BaseMargin
    {
        get => GetFloatInfo("base_margin");
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            if (RowCount > 0 && (value.Length == 0 || value.Length % RowCount != 0))
            {
                throw new ArgumentException($"BaseMargin has {value.Length} values; it needs a multiple of the {RowCount} rows.", nameof(BaseMargin));
            }

            SetFloatInfo("base_margin", value);
        }
    }

    /// <summary>Group sizes for ranking objectives (their sum must be the number of rows).</summary>
    /// <param name="groupSizes">The size of each query group, in row order.</param>
    public void SetGroups(uint[] groupSizes)
    {
        ArgumentNullException.ThrowIfNull(groupSizes);
        if (groupSizes.Sum(g => (long)g) != RowCount)
        {
            throw new ArgumentException($"The group sizes add up to {groupSizes.Sum(g => (long)g)}, not to the {RowCount} rows.", nameof(groupSizes));
        }

        unsafe
        {
            using var lease = Lease();
            lock (TrainingGate)
            {
                fixed (uint* p = groupSizes)
                {
                    XGBoostLibrary.Check(NativeMethods.XGDMatrixSetUIntInfo(lease.Handle, "group", p, (ulong)groupSizes.Length), "XGDMatrixSetUIntInfo");
                }
            }
        }

        _groupCount = groupSizes.Length;
    }

    private int _groupCount;

    /// <summary>The feature names, or <see langword="null"/> when none were set (XGBoost then calls them f0, f1, …).</summary>
    public IReadOnlyList<string>? FeatureNames
    {
        get => GetStrings("feature_name");
        set
        {
            SetStrings("feature_name", value, nameof(FeatureNames));
            _featureNames = value is null ? null : [.. value];
        }
    }

    /// <summary>The feature types (<c>q</c> quantitative, <c>i</c> indicator, <c>int</c>, <c>float</c>, <c>c</c> categorical), or <see langword="null"/>.</summary>
    public IReadOnlyList<string>? FeatureTypes
    {
        get => GetStrings("feature_type");
        set => SetStrings("feature_type", value, nameof(FeatureTypes));
    }

    /// <summary>The feature names set on this matrix (a managed copy, for prediction checks), or <see langword="null"/>.</summary>
    internal string[]? KnownFeatureNames => Volatile.Read(ref _featureNames);

    /// <summary>How many rows are kept for an input example (Python's <c>INPUT_EXAMPLE_SAMPLE_ROWS</c>).</summary>
    internal const int ExampleRowCount = 5;

    /// <summary>
    /// The first rows of the data (at most <see cref="ExampleRowCount"/>, absent sparse entries as NaN), kept as Python's
    /// autologging keeps them on the DMatrix: XGBoost cannot give the data back, and an input example is made of them.
    /// </summary>
    internal float[][] HeadRows { get; }

    private string[]? _featureNames;

    /// <summary>Held by boosters while they train or evaluate on this matrix: XGBoost builds and caches training pages inside it, which is not thread-safe.</summary>
    internal object TrainingGate { get; } = new();

    /// <summary>A unique, increasing number: boosters that lock several matrices lock them in this order.</summary>
    internal long Id { get; } = Interlocked.Increment(ref s_lastId);

    private static long s_lastId;

    /// <summary>The handle, for callers that add their own reference (<c>DangerousAddRef</c>) before using it.</summary>
    internal SafeDMatrixHandle HandleForCall()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return _handle;
    }

    /// <summary>Keeps the native matrix alive across a call and the copy of its result (see <see cref="HandleLease{T}"/>).</summary>
    internal HandleLease<SafeDMatrixHandle> Lease() => new(_handle, this);

    /// <summary>
    /// Frees the native matrix: <see cref="IsDisposed"/> is true at once and later calls throw
    /// <see cref="ObjectDisposedException"/>; calls already running finish first (the memory is freed after them).
    /// Boosters created with it stay usable.
    /// </summary>
    public void Dispose()
    {
        Volatile.Write(ref _disposed, 1); // no call starts after this
        _handle.Dispose();                // freed when the calls already running end
    }

    /// <inheritdoc/>
    public override string ToString() => $"DMatrix {RowCount} × {ColumnCount}";

    private static void ValidateLabels(float[] labels, int rows, string name)
    {
        ArgumentNullException.ThrowIfNull(labels, name);
        CheckLength(labels.Length, rows, name);
        var bad = Array.FindIndex(labels, l => !float.IsFinite(l));
        if (bad >= 0)
        {
            throw new ArgumentException($"{name}[{bad}] is {labels[bad]}; labels must be finite numbers.", name);
        }
    }

    private static void CheckLength(int length, int rows, string name)
    {
        if (length != rows)
        {
            throw new ArgumentException($"{name} has {length} values but the matrix has {rows} rows.", name);
        }
    }

    private void ValidateBounds(float[] values, string name, bool allowInfinity)
    {
        ArgumentNullException.ThrowIfNull(values, name);
        CheckLength(values.Length, RowCount, name);
        var bad = Array.FindIndex(values, v => float.IsNaN(v) || v < 0 || (float.IsPositiveInfinity(v) && !allowInfinity));
        if (bad >= 0)
        {
            throw new ArgumentException(
                $"{name}[{bad}] is {values[bad]}; bounds must be numbers ≥ 0{(allowInfinity ? " (+∞ for a right-censored row)" : " and finite")}.", name);
        }
    }

    private unsafe void SetFromInterface(string field, float[] values, int rows, int columns)
    {
        using var lease = Lease();
        lock (TrainingGate)
        {
            fixed (float* p = values)
            {
                var json = ArrayInterface.Matrix(p, rows, columns); // XGBoost copies the values during the call
                XGBoostLibrary.Check(NativeMethods.XGDMatrixSetInfoFromInterface(lease.Handle, field, json), "XGDMatrixSetInfoFromInterface");
            }
        }
    }

    private unsafe void SetFloatInfo(string field, float[] values)
    {
        using var lease = Lease();
        lock (TrainingGate)
        {
            fixed (float* p = values)
            {
                XGBoostLibrary.Check(NativeMethods.XGDMatrixSetFloatInfo(lease.Handle, field, p, (ulong)values.Length), "XGDMatrixSetFloatInfo");
            }
        }
    }

    /// <summary>
    /// The matrix's values as XGBoost holds them (CSR: row offsets, column indices, values; missing values absent), copied
    /// out in one call (XGBoost ≥ 1.7's <c>XGDMatrixGetDataAsCSR</c>).
    /// </summary>
    /// <exception cref="NotSupportedException">The library is older than 1.7.</exception>
    internal unsafe (ulong[] RowOffsets, uint[] Columns, float[] Values) ReadCsr()
    {
        using var lease = Lease();
        try
        {
            XGBoostLibrary.Check(NativeMethods.XGDMatrixNumNonMissing(lease.Handle, out var count), "XGDMatrixNumNonMissing");
            var offsets = new ulong[RowCount + 1];
            var columns = new uint[checked((int)count)];
            var values = new float[columns.Length];
            fixed (ulong* o = offsets)
            fixed (uint* c = columns)
            fixed (float* v = values)
            {
                XGBoostLibrary.Check(NativeMethods.XGDMatrixGetDataAsCSR(lease.Handle, "{}", o, c, v), "XGDMatrixGetDataAsCSR");
            }

            return (offsets, columns, values);
        }
        catch (EntryPointNotFoundException)
        {
            throw new NotSupportedException("Reading a DMatrix's values needs XGBoost 1.7 or later (XGDMatrixGetDataAsCSR).");
        }
    }

    private unsafe float[] GetFloatInfo(string field)
    {
        using var lease = Lease(); // the buffer belongs to the matrix: alive until copied
        XGBoostLibrary.Check(NativeMethods.XGDMatrixGetFloatInfo(lease.Handle, field, out var length, out var p), "XGDMatrixGetFloatInfo");
        return new ReadOnlySpan<float>(p, checked((int)length)).ToArray();
    }

    private unsafe string[]? GetStrings(string field)
    {
        using var lease = Lease(); // the strings belong to the matrix (a per-thread buffer): alive until copied
        XGBoostLibrary.Check(NativeMethods.XGDMatrixGetStrFeatureInfo(lease.Handle, field, out var size, out var p), "XGDMatrixGetStrFeatureInfo");
        return size == 0 ? null : Utf8.ReadArray(p, size);
    }

    private unsafe void SetStrings(string field, IReadOnlyList<string>? values, string name)
    {
        if (values is not null)
        {
            CheckLength(values.Count, ColumnCount, name);
            for (var i = 0; i < values.Count; i++)
            {
                var v = values[i];
                if (string.IsNullOrEmpty(v) || v.Contains('\0', StringComparison.Ordinal))
                {
                    throw new ArgumentException($"{name}[{i}] is {(v is null ? "null" : v.Length == 0 ? "empty" : "a string with a NUL character")}; every entry must be a non-empty string without NUL.", name);
                }

                if (field == "feature_name" && v.AsSpan().IndexOfAny("[]<") >= 0)
                {
                    throw new ArgumentException($"{name}[{i}] is '{v}'; feature names may not contain [, ] or < (as in Python's xgboost).", name);
                }

                if (field == "feature_type" && v is not ("q" or "i" or "int" or "float" or "c"))
                {
                    throw new ArgumentException($"{name}[{i}] is '{v}'; feature types are q, i, int, float or c.", name);
                }
            }

            if (field == "feature_name" && values.Distinct(StringComparer.Ordinal).Count() != values.Count)
            {
                throw new ArgumentException($"{name} must be unique.", name);
            }
        }

        using var native = new Utf8.StringArray(values ?? []);
        using var lease = Lease();
        lock (TrainingGate)
        {
            XGBoostLibrary.Check(NativeMethods.XGDMatrixSetStrFeatureInfo(lease.Handle, field, native.Pointer, (ulong)(values?.Count ?? 0)), "XGDMatrixSetStrFeatureInfo");
        }
    }

    private static float[] Flatten(float[,] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<byte, float>(ref MemoryMarshal.GetArrayDataReference((Array)data)), data.Length).ToArray();
    }

    /// <summary>Rows of equal length as one row-major array (checked: no null row, no ragged row).</summary>
    private static float[][] DenseHead(ReadOnlySpan<float> data, int rows, int columns)
    {
        var head = new float[Math.Clamp(rows, 0, ExampleRowCount)][];
        for (var r = 0; r < head.Length && (r + 1) * columns <= data.Length; r++)
        {
            head[r] = data.Slice(r * columns, columns).ToArray();
        }

        return head;
    }

    internal static float[] Flatten(float[][] rows, out int columns)
    {
        ArgumentNullException.ThrowIfNull(rows);
        columns = rows.Length == 0 ? 1 : rows[0]?.Length ?? throw new ArgumentException("rows[0] is null.", nameof(rows));
        var flat = new float[(long)rows.Length * columns];
        for (var i = 0; i < rows.Length; i++)
        {
            var row = rows[i] ?? throw new ArgumentException($"rows[{i}] is null.", nameof(rows));
            if (row.Length != columns)
            {
                throw new ArgumentException($"rows[{i}] has {row.Length} values but rows[0] has {columns}; every row needs the same number of features.", nameof(rows));
            }

            row.CopyTo(flat, (long)i * columns);
        }

        return flat;
    }

    private static string ComputeDigest(ReadOnlySpan<float> data, int rows, int columns)
    {
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        md5.AppendData(MemoryMarshal.AsBytes(data[..Math.Min(data.Length, 10_000)]));
        Span<long> shape = [rows, columns];
        md5.AppendData(MemoryMarshal.AsBytes(shape));
        return Convert.ToHexString(md5.GetHashAndReset())[..8].ToLowerInvariant();
    }
}
