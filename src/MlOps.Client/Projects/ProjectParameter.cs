namespace MlOps.Client.Projects;

/// <summary>
/// A parameter an entry point declares: <c>name: type</c> (required) or <c>name: {type: …, default: …}</c> (required
/// when the default is absent or null). Types as MLflow knows them: <c>string</c>, <c>float</c>, <c>path</c>, <c>uri</c>;
/// like Python MLflow, only <c>path</c> and <c>uri</c> are checked (any other type passes its value through).
/// </summary>
public sealed class ProjectParameter
{
    internal ProjectParameter(string name, string type, string? defaultValue)
    {
        Name = name;
        Type = type;
        Default = defaultValue;
    }

    /// <summary>The name (case-sensitive), as written in <c>{name}</c> in the command.</summary>
    public string Name { get; }

    /// <summary>The declared type (<c>string</c> when not given).</summary>
    public string Type { get; }

    /// <summary>The default as Python reads it (<c>str()</c> of the YAML value: <c>0.1</c>, <c>True</c>, <c>1e-05</c>); <see langword="null"/> when required.</summary>
    public string? Default { get; }

    /// <summary>Whether a value must be given (no default).</summary>
    public bool IsRequired => Default is null;

    /// <inheritdoc/>
    public override string ToString() => Default is null ? $"{Name}: {Type}" : $"{Name}: {Type} = {Default}";
}
