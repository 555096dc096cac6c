using System.Runtime.InteropServices;

namespace MlOps.Client.XGBoost.Native;

/// <summary>
/// The subset of XGBoost's C API (<c>c_api.h</c>, XGBoost ≥ 1.7) this package uses. Every function returns 0 on success
/// and −1 on failure with the reason in <see cref="XGBGetLastError"/>; callers go through <see cref="XGBoostLibrary.Check"/>.
/// Handles are passed as <see cref="SafeHandle"/>s so that a handle cannot be freed while a call is using it.
/// </summary>
internal static unsafe partial class NativeMethods
{
    internal const string LibraryName = "xgboost";

    static NativeMethods() => XGBoostLibrary.EnsureResolver();

    [LibraryImport(LibraryName)]
    internal static partial nint XGBGetLastError();

    [LibraryImport(LibraryName)]
    internal static partial void XGBoostVersion(out int major, out int minor, out int patch);

    [LibraryImport(LibraryName)]
    internal static partial int XGBuildInfo(out nint outJson);

    [LibraryImport(LibraryName)]
    internal static partial int XGBRegisterLogCallback(delegate* unmanaged[Cdecl]<nint, void> callback);

    [LibraryImport(LibraryName)]
    internal static partial int XGBSetGlobalConfig([MarshalAs(UnmanagedType.LPUTF8Str)] string json);

    [LibraryImport(LibraryName)]
    internal static partial int XGDMatrixCreateFromMat_omp(float* data, ulong nrow, ulong ncol, float missing, out SafeDMatrixHandle handle, int nthread);

    /// <summary>A matrix from CSR arrays described by numpy array-interface JSON (XGBoost ≥ 1.7; the older <c>XGDMatrixCreateFromCSREx</c> is gone from 3.1).</summary>
    [LibraryImport(LibraryName)]
    internal static partial int XGDMatrixCreateFromCSR([MarshalAs(UnmanagedType.LPUTF8Str)] string indptr, [MarshalAs(UnmanagedType.LPUTF8Str)] string indices, [MarshalAs(UnmanagedType.LPUTF8Str)] string data, ulong columns, [MarshalAs(UnmanagedType.LPUTF8Str)] string config, out SafeDMatrixHandle handle);

    [LibraryImport(LibraryName)]
    internal static partial int XGDMatrixSetInfoFromInterface(SafeDMatrixHandle handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string field, [MarshalAs(UnmanagedType.LPUTF8Str)] string arrayInterface);

    [LibraryImport(LibraryName)]
    internal static partial int XGDMatrixFree(nint handle);

    [LibraryImport(LibraryName)]
    internal static partial int XGDMatrixNumRow(SafeDMatrixHandle handle, out ulong rows);

    [LibraryImport(LibraryName)]
    internal static partial int XGDMatrixNumCol(SafeDMatrixHandle handle, out ulong columns);

    /// <summary>Since XGBoost 1.7.</summary>
    [LibraryImport(LibraryName)]
    internal static partial int XGDMatrixNumNonMissing(SafeDMatrixHandle handle, out ulong count);

    /// <summary>Since XGBoost 1.7: the caller allocates the three buffers (rows + 1, non-missing, non-missing).</summary>
    [LibraryImport(LibraryName)]
    internal static partial int XGDMatrixGetDataAsCSR(SafeDMatrixHandle handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string config, ulong* indptr, uint* indices, float* data);

    [LibraryImport(LibraryName)]
    internal static partial int XGDMatrixSetFloatInfo(SafeDMatrixHandle handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string field, float* array, ulong length);

    [LibraryImport(LibraryName)]
    internal static partial int XGDMatrixGetFloatInfo(SafeDMatrixHandle handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string field, out ulong length, out float* array);

    [LibraryImport(LibraryName)]
    internal static partial int XGDMatrixSetUIntInfo(SafeDMatrixHandle handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string field, uint* array, ulong length);

    [LibraryImport(LibraryName)]
    internal static partial int XGDMatrixSetStrFeatureInfo(SafeDMatrixHandle handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string field, nint* features, ulong size);

    [LibraryImport(LibraryName)]
    internal static partial int XGDMatrixGetStrFeatureInfo(SafeDMatrixHandle handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string field, out ulong size, out nint* features);

    [LibraryImport(LibraryName)]
    internal static partial int XGBoosterCreate(nint* dmats, ulong length, out SafeBoosterHandle handle);

    [LibraryImport(LibraryName)]
    internal static partial int XGBoosterFree(nint handle);

    [LibraryImport(LibraryName)]
    internal static partial int XGBoosterSetParam(SafeBoosterHandle handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value);

    [LibraryImport(LibraryName)]
    internal static partial int XGBoosterUpdateOneIter(SafeBoosterHandle handle, int iteration, SafeDMatrixHandle dtrain);

    /// <summary>A boosting round from a custom objective's gradient (XGBoost 1.x–2.0; deprecated in 2.1, where it logs a warning).</summary>
    [LibraryImport(LibraryName)]
    internal static partial int XGBoosterBoostOneIter(SafeBoosterHandle handle, SafeDMatrixHandle dtrain, float* gradient, float* hessian, ulong length);

    /// <summary>A boosting round from a custom objective's gradient as array-interface JSON (XGBoost ≥ 2.1).</summary>
    [LibraryImport(LibraryName)]
    internal static partial int XGBoosterTrainOneIter(SafeBoosterHandle handle, SafeDMatrixHandle dtrain, int iteration, [MarshalAs(UnmanagedType.LPUTF8Str)] string gradient, [MarshalAs(UnmanagedType.LPUTF8Str)] string hessian);

    [LibraryImport(LibraryName)]
    internal static partial int XGBoosterEvalOneIter(SafeBoosterHandle handle, int iteration, nint* dmats, nint* names, ulong length, out nint result);

    [LibraryImport(LibraryName)]
    internal static partial int XGBoosterPredictFromDMatrix(SafeBoosterHandle handle, SafeDMatrixHandle dmat, [MarshalAs(UnmanagedType.LPUTF8Str)] string config, out ulong* shape, out ulong dimension, out float* result);

    /// <summary>An empty proxy DMatrix: what <see cref="XGBoosterPredictFromDense"/> points at a caller's data (XGBoost ≥ 1.5).</summary>
    [LibraryImport(LibraryName)]
    internal static partial int XGProxyDMatrixCreate(out SafeDMatrixHandle handle);

    [LibraryImport(LibraryName)]
    internal static partial int XGBoosterPredictFromDense(SafeBoosterHandle handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string arrayInterface, [MarshalAs(UnmanagedType.LPUTF8Str)] string config, nint proxy, out ulong* shape, out ulong dimension, out float* result);

    [LibraryImport(LibraryName)]
    internal static partial int XGBoosterSaveModel(SafeBoosterHandle handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string fileName);

    [LibraryImport(LibraryName)]
    internal static partial int XGBoosterLoadModel(SafeBoosterHandle handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string fileName);

    [LibraryImport(LibraryName)]
    internal static partial int XGBoosterSaveModelToBuffer(SafeBoosterHandle handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string config, out ulong length, out byte* buffer);

    [LibraryImport(LibraryName)]
    internal static partial int XGBoosterLoadModelFromBuffer(SafeBoosterHandle handle, byte* buffer, ulong length);

    [LibraryImport(LibraryName)]
    internal static partial int XGBoosterSaveJsonConfig(SafeBoosterHandle handle, out ulong length, out nint json);

    [LibraryImport(LibraryName)]
    internal static partial int XGBoosterLoadJsonConfig(SafeBoosterHandle handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string json);

    [LibraryImport(LibraryName)]
    internal static partial int XGBoosterBoostedRounds(SafeBoosterHandle handle, out int rounds);

    [LibraryImport(LibraryName)]
    internal static partial int XGBoosterGetNumFeature(SafeBoosterHandle handle, out ulong features);

    [LibraryImport(LibraryName)]
    internal static partial int XGBoosterSetAttr(SafeBoosterHandle handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string key, [MarshalAs(UnmanagedType.LPUTF8Str)] string? value);

    [LibraryImport(LibraryName)]
    internal static partial int XGBoosterGetAttr(SafeBoosterHandle handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string key, out nint value, out int success);

    [LibraryImport(LibraryName)]
    internal static partial int XGBoosterSetStrFeatureInfo(SafeBoosterHandle handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string field, nint* features, ulong size);

    [LibraryImport(LibraryName)]
    internal static partial int XGBoosterGetStrFeatureInfo(SafeBoosterHandle handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string field, out ulong size, out nint* features);

    [LibraryImport(LibraryName)]
    internal static partial int XGBoosterFeatureScore(SafeBoosterHandle handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string config, out ulong featureCount, out nint* features, out ulong dimension, out ulong* shape, out float* scores);

    [LibraryImport(LibraryName)]
    internal static partial int XGBoosterDumpModelEx(SafeBoosterHandle handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string featureMap, int withStats, [MarshalAs(UnmanagedType.LPUTF8Str)] string format, out ulong length, out nint* dump);

    [LibraryImport(LibraryName)]
    internal static partial int XGBoosterSlice(SafeBoosterHandle handle, int beginLayer, int endLayer, int step, out SafeBoosterHandle sliced);
}
