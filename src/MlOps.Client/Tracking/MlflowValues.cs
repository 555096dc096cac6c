using System.Diagnostics.CodeAnalysis;
using System.Reflection;

namespace MlOps.Client.Tracking;

/// <summary>Turns objects into the key → value dictionaries the logging calls take.</summary>
public static class MlflowValues
{
    /// <summary>
    /// The public properties of <paramref name="values"/> as a dictionary, in declaration order — for anonymous objects
    /// and POCOs: <c>run.LogParams(MlflowValues.From(new { lr = 0.1, depth = 6 }))</c>, like Python's
    /// <c>log_params(dict(lr=0.1, depth=6))</c>. Dictionaries pass through unchanged.
    /// </summary>
    /// <param name="values">An object whose public instance properties are the entries.</param>
    [RequiresUnreferencedCode("Reads the object's public properties by reflection; with trimming, pass a dictionary instead.")]
    public static IReadOnlyDictionary<string, object?> From(object values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values is IEnumerable<KeyValuePair<string, object?>> pairs)
        {
            return pairs.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        }

        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var property in values.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length == 0 && property.CanRead)
            {
                result[property.Name] = property.GetValue(values);
            }
        }

        return result;
    }
}
