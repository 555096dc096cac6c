namespace MlOps.Client.Tracking;

/// <summary>Logging ScottPlot figures as PNG artifacts (like Python's <c>mlflow.log_figure</c>).</summary>
public static class RunScopeFigureExtensions
{
    /// <summary>Renders <paramref name="plot"/> to PNG and logs it as <paramref name="artifactFile"/>; the run end waits for the upload.</summary>
    /// <param name="run">The run.</param>
    /// <param name="plot">The figure.</param>
    /// <param name="artifactFile">The artifact file path, ending in <c>.png</c>.</param>
    /// <param name="width">Width in pixels. Default 800.</param>
    /// <param name="height">Height in pixels. Default 600.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    public static Task LogFigureAsync(this RunScope run, ScottPlot.Plot plot, string artifactFile, int width = 800, int height = 600, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(plot);
        if (!artifactFile.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"LogFigureAsync writes PNG files; '{artifactFile}' does not end in .png.", nameof(artifactFile));
        }

        return RunScopeArtifactExtensions.LogBytesAsync(run, plot.GetImageBytes(width, height, ScottPlot.ImageFormat.Png), artifactFile, cancellationToken);
    }
}
