using System.Globalization;

namespace MlOps.Client.XGBoost.Native;

/// <summary>
/// numpy's <c>__array_interface__</c> (version 3) as JSON: how XGBoost's newer C functions take arrays, as Python's
/// xgboost passes them. The memory must stay pinned for the call; XGBoost copies what it keeps.
/// </summary>
internal static class ArrayInterface
{
    /// <summary>A one-dimensional array of <paramref name="length"/> items of <paramref name="typestr"/> (e.g. <c>&lt;f4</c>) at <paramref name="data"/>.</summary>
    public static unsafe string Vector(void* data, long length, string typestr) =>
        string.Create(CultureInfo.InvariantCulture, $"{{\"data\": [{(nint)data}, true], \"shape\": [{length}], \"typestr\": \"{typestr}\", \"version\": 3}}");

    /// <summary>A row-major <paramref name="rows"/> × <paramref name="columns"/> array of float32 at <paramref name="data"/>.</summary>
    public static unsafe string Matrix(float* data, long rows, long columns) =>
        string.Create(CultureInfo.InvariantCulture, $"{{\"data\": [{(nint)data}, true], \"shape\": [{rows}, {columns}], \"typestr\": \"<f4\", \"version\": 3}}");
}
