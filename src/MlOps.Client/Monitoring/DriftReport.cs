using System.Globalization;

namespace MlOps.Client.Monitoring;

/// <summary>One column's drift in a window.</summary>
/// <param name="Name">The column.</param>
/// <param name="Method">The test or distance used.</param>
/// <param name="Score">The p-value (tests) or the distance / PSI.</param>
/// <param name="Threshold">What <paramref name="Score"/> is compared with (the Bonferroni-corrected level for tests).</param>
/// <param name="Drifted">Whether the column drifted: p &lt; threshold (tests), score ≥ threshold (distances).</param>
/// <param name="Statistic">The test's statistic (KS D, chi-square, z) or the distance; equals <paramref name="Score"/> for distances.</param>
/// <param name="Psi">The PSI over the reference's deciles (numeric) or categories, reported for every column.</param>
/// <param name="Values">Values of the column in the window (missing excluded).</param>
/// <param name="Missing">Missing values in the window.</param>
public sealed record FeatureDrift(string Name, DriftMethod Method, double Score, double Threshold, bool Drifted, double Statistic, double Psi, long Values, long Missing)
{
    /// <summary>Whether the PSI reads as a major shift (≥ <see cref="DriftOptions.PsiMajorThreshold"/>, 0.25 by default).</summary>
    public bool PsiMajor { get; init; }

    /// <summary>Whether the column could be tested (it had values in the window); an untested column never drifts.</summary>
    public bool Tested => Values > 0;

    /// <summary>Whether a larger score means more drift (distances) rather than less (p-values).</summary>
    public bool IsDistance => Method is DriftMethod.Wasserstein or DriftMethod.JensenShannon or DriftMethod.PopulationStabilityIndex;

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Name}: {Method} {(IsDistance ? "distance" : "p")} = {Score:G4} (threshold {Threshold:G4}){(Drifted ? " DRIFT" : "")}");
}

/// <summary>What drift detection found in one window of served data.</summary>
public sealed class DriftReport
{
    /// <summary>The window's position (0 first): the step of the monitoring run's metrics.</summary>
    public required long Window { get; init; }

    /// <summary>When the window's first row was served.</summary>
    public required DateTimeOffset Start { get; init; }

    /// <summary>When its last row was served.</summary>
    public required DateTimeOffset End { get; init; }

    /// <summary>Rows in the window.</summary>
    public required long Rows { get; init; }

    /// <summary>Each feature's drift, in the profile's order.</summary>
    public required IReadOnlyList<FeatureDrift> Features { get; init; }

    /// <summary>The drift of each prediction output (not counted in <see cref="DriftedShare"/>).</summary>
    public IReadOnlyList<FeatureDrift> Predictions { get; init; } = [];

    /// <summary>The share of tested features that drifted.</summary>
    public double DriftedShare => Features.Count(f => f.Tested) is var tested and > 0 ? (double)Features.Count(f => f.Drifted) / tested : 0;

    /// <summary>The share at which the dataset drifts (from the options).</summary>
    public required double DatasetDriftShare { get; init; }

    /// <summary>Whether the dataset drifted: at least <see cref="DatasetDriftShare"/> of the tested features drifted.</summary>
    public bool DatasetDrift => Features.Any(f => f.Tested) && DriftedShare >= DatasetDriftShare;

    /// <summary>Whether any feature or prediction drifted.</summary>
    public bool AnyDrift => Features.Any(f => f.Drifted) || Predictions.Any(p => p.Drifted);

    /// <summary>Model metrics over the window's rows whose ground truth arrived (MLflow's evaluation metric names), and how many rows that was.</summary>
    public IReadOnlyList<KeyValuePair<string, double>> Performance { get; init; } = [];

    /// <summary>Rows of the window with ground truth.</summary>
    public long LabeledRows { get; init; }

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"window {Window}: {Rows} rows, {Features.Count(f => f.Drifted)}/{Features.Count(f => f.Tested)} features drifted{(DatasetDrift ? " — dataset drift" : "")}");
}
