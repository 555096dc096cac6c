namespace MlOps.Client;

/// <summary>A registered model of the model registry.</summary>
public sealed class RegisteredModel
{
    /// <summary>The unique model name.</summary>
    public string Name { get; init => field = value ?? ""; } = "";

    /// <summary>Creation time in milliseconds since the Unix epoch.</summary>
    public long? CreationTimestamp { get; init; }

    /// <summary>Last update time in milliseconds since the Unix epoch.</summary>
    public long? LastUpdatedTimestamp { get; init; }

    /// <summary>The description.</summary>
    public string? Description { get; init; }

    /// <summary>The latest version in each stage (legacy stages).</summary>
    public IReadOnlyList<ModelVersion> LatestVersions { get; init => field = value ?? []; } = [];

    /// <summary>The model's tags.</summary>
    public IReadOnlyList<RegisteredModelTag> Tags { get; init => field = value ?? []; } = [];

    /// <summary>Aliases pointing at versions, e.g. <c>champion</c> → <c>2</c>.</summary>
    public IReadOnlyList<RegisteredModelAlias> Aliases { get; init => field = value ?? []; } = [];

    /// <inheritdoc />
    public override string ToString() => $"RegisteredModel '{Name}'";
}

/// <summary>A version of a registered model.</summary>
public sealed class ModelVersion
{
    /// <summary>The registered model's name.</summary>
    public string Name { get; init => field = value ?? ""; } = "";

    /// <summary>The version number, as a string (<c>"1"</c>).</summary>
    public string Version { get; init => field = value ?? ""; } = "";

    /// <summary>Creation time in milliseconds since the Unix epoch.</summary>
    public long? CreationTimestamp { get; init; }

    /// <summary>Last update time in milliseconds since the Unix epoch.</summary>
    public long? LastUpdatedTimestamp { get; init; }

    /// <summary>The stage: <c>None</c>, <c>Staging</c>, <c>Production</c> or <c>Archived</c>.</summary>
    public string? CurrentStage { get; init; }

    /// <summary>The description.</summary>
    public string? Description { get; init; }

    /// <summary>Where the model files are, e.g. <c>runs:/&lt;run id&gt;/model</c>.</summary>
    public string? Source { get; init; }

    /// <summary>The run that produced the model, if any.</summary>
    public string? RunId { get; init; }

    /// <summary>The registration status.</summary>
    public ModelVersionStatus Status { get; init; } = ModelVersionStatus.Ready;

    /// <summary>Details when the status is <see cref="ModelVersionStatus.FailedRegistration"/>.</summary>
    public string? StatusMessage { get; init; }

    /// <summary>The version's tags.</summary>
    public IReadOnlyList<ModelVersionTag> Tags { get; init => field = value ?? []; } = [];

    /// <summary>A link to the run (when the run lives on another server).</summary>
    public string? RunLink { get; init; }

    /// <summary>Aliases pointing at this version.</summary>
    public IReadOnlyList<string> Aliases { get; init => field = value ?? []; } = [];

    /// <inheritdoc />
    public override string ToString() => $"ModelVersion '{Name}' v{Version} ({Status}, {CurrentStage})";
}

/// <summary>The registration status of a model version.</summary>
public enum ModelVersionStatus
{
    /// <summary>Registration is in progress.</summary>
    PendingRegistration,

    /// <summary>Registration failed.</summary>
    FailedRegistration,

    /// <summary>The version is ready for use.</summary>
    Ready,
}

/// <summary>A tag on a registered model.</summary>
/// <param name="Key">The tag key.</param>
/// <param name="Value">The tag value.</param>
public sealed record RegisteredModelTag(string Key, string Value);

/// <summary>A tag on a model version.</summary>
/// <param name="Key">The tag key.</param>
/// <param name="Value">The tag value.</param>
public sealed record ModelVersionTag(string Key, string Value);

/// <summary>An alias of a registered model pointing at a version.</summary>
/// <param name="Alias">The alias, e.g. <c>champion</c>.</param>
/// <param name="Version">The version it points at.</param>
public sealed record RegisteredModelAlias(string Alias, string Version);

/// <summary>The legacy model version stages.</summary>
public static class ModelStages
{
    /// <summary><c>None</c>.</summary>
    public const string None = "None";

    /// <summary><c>Staging</c>.</summary>
    public const string Staging = "Staging";

    /// <summary><c>Production</c>.</summary>
    public const string Production = "Production";

    /// <summary><c>Archived</c>.</summary>
    public const string Archived = "Archived";
}
