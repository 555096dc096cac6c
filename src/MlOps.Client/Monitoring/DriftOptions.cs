namespace MlOps.Client.Monitoring;

/// <summary>How a column is tested for drift.</summary>
public enum DriftMethod
{
    /// <summary>
    /// Evidently's default choice: with a reference of at most <see cref="DriftOptions.SmallReference"/> values, numeric
    /// columns of more than 5 distinct values → <see cref="KolmogorovSmirnov"/>, of 3–5 and categorical columns of more
    /// than 2 → <see cref="ChiSquare"/>, binary columns → <see cref="ZTest"/>; with a larger reference, numeric columns of
    /// more than 5 distinct values → <see cref="Wasserstein"/>, the others → <see cref="JensenShannon"/>.
    /// </summary>
    Auto,

    /// <summary>Two-sample Kolmogorov–Smirnov test: drift when p &lt; <see cref="DriftOptions.PValue"/> (Bonferroni-corrected by default).</summary>
    KolmogorovSmirnov,

    /// <summary>Wasserstein distance divided by the reference's standard deviation: drift at ≥ <see cref="DriftOptions.WassersteinThreshold"/>.</summary>
    Wasserstein,

    /// <summary>Pearson's chi-square test of the window's category counts against the reference's shares: drift when p &lt; <see cref="DriftOptions.PValue"/>.</summary>
    ChiSquare,

    /// <summary>Jensen–Shannon distance (natural logarithm) between the category (or decile-bin) shares: drift at ≥ <see cref="DriftOptions.JensenShannonThreshold"/>.</summary>
    JensenShannon,

    /// <summary>Population stability index over the reference's deciles (or categories): drift at ≥ <see cref="DriftOptions.PsiThreshold"/>.</summary>
    PopulationStabilityIndex,

    /// <summary>Two-proportion z-test of a binary column: drift when p &lt; <see cref="DriftOptions.PValue"/>.</summary>
    ZTest,
}

/// <summary>
/// Drift detection's methods and thresholds. The defaults are Evidently's (its <c>DataDriftPreset</c>), with a
/// Bonferroni correction of the p-value tests over the features (so that testing many features does not multiply false
/// alarms) and PSI reported beside every numeric column.
/// </summary>
public sealed class DriftOptions
{
    /// <summary>The significance level of the p-value tests. Default 0.05.</summary>
    public double PValue { get; set; } = 0.05;

    /// <summary>Whether <see cref="PValue"/> is divided by the number of features tested (Bonferroni). Default <see langword="true"/>.</summary>
    public bool Bonferroni { get; set; } = true;

    /// <summary>The normalised Wasserstein distance at which a column drifts. Default 0.1.</summary>
    public double WassersteinThreshold { get; set; } = 0.1;

    /// <summary>The Jensen–Shannon distance at which a column drifts. Default 0.1.</summary>
    public double JensenShannonThreshold { get; set; } = 0.1;

    /// <summary>The PSI at which a column drifts when PSI is its method. Default 0.1 (0.1–0.25: moderate shift; above <see cref="PsiMajorThreshold"/>: major).</summary>
    public double PsiThreshold { get; set; } = 0.1;

    /// <summary>The PSI read as a major shift (reported in <see cref="FeatureDrift.PsiMajor"/>). Default 0.25.</summary>
    public double PsiMajorThreshold { get; set; } = 0.25;

    /// <summary>The largest reference (values of the column) that <see cref="DriftMethod.Auto"/> tests with p-value tests; larger ones get distances. Default 1000.</summary>
    public long SmallReference { get; set; } = 1000;

    /// <summary>The share of drifted features at which the dataset drifts. Default 0.5.</summary>
    public double DatasetDriftShare { get; set; } = 0.5;

    /// <summary>The method for numeric columns without an entry in <see cref="Methods"/>. Default <see cref="DriftMethod.Auto"/>.</summary>
    public DriftMethod NumericMethod { get; set; } = DriftMethod.Auto;

    /// <summary>The method for categorical columns without an entry in <see cref="Methods"/>. Default <see cref="DriftMethod.Auto"/>.</summary>
    public DriftMethod CategoricalMethod { get; set; } = DriftMethod.Auto;

    /// <summary>A method per column name, overriding <see cref="NumericMethod"/> / <see cref="CategoricalMethod"/>.</summary>
    public IDictionary<string, DriftMethod> Methods { get; } = new Dictionary<string, DriftMethod>(StringComparer.Ordinal);

    /// <summary>Checks the values; throws naming the first out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A threshold or share out of its range.</exception>
    public void Validate()
    {
        static void Check(double value, double min, double max, string name)
        {
            if (!(value > min && value <= max))
            {
                throw new ArgumentOutOfRangeException(name, value, $"DriftOptions.{name} is in ({min}, {max}]; got {value}.");
            }
        }

        Check(PValue, 0, 1, nameof(PValue));
        Check(WassersteinThreshold, 0, double.MaxValue, nameof(WassersteinThreshold));
        Check(JensenShannonThreshold, 0, 1, nameof(JensenShannonThreshold));
        Check(PsiThreshold, 0, double.MaxValue, nameof(PsiThreshold));
        Check(PsiMajorThreshold, 0, double.MaxValue, nameof(PsiMajorThreshold));
        Check(DatasetDriftShare, 0, 1, nameof(DatasetDriftShare));
        if (SmallReference < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(SmallReference), SmallReference, "DriftOptions.SmallReference is 0 or more.");
        }
    }

    /// <summary>A copy (the monitor keeps one, so later changes do not race its windows).</summary>
    internal DriftOptions Copy()
    {
        var copy = new DriftOptions
        {
            PValue = PValue,
            Bonferroni = Bonferroni,
            WassersteinThreshold = WassersteinThreshold,
            JensenShannonThreshold = JensenShannonThreshold,
            PsiThreshold = PsiThreshold,
            PsiMajorThreshold = PsiMajorThreshold,
            SmallReference = SmallReference,
            DatasetDriftShare = DatasetDriftShare,
            NumericMethod = NumericMethod,
            CategoricalMethod = CategoricalMethod,
        };
        foreach (var (name, method) in Methods)
        {
            copy.Methods[name] = method;
        }

        return copy;
    }
}
