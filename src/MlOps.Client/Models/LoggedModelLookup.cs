using MlOps.Client.Artifacts;

namespace MlOps.Client.Models;

/// <summary>
/// How a <c>runs:/&lt;run id&gt;/&lt;name&gt;</c> URI reaches an MLflow 3 logged model, as Python's
/// <c>RunsArtifactRepository</c> and <c>_register_model</c> do: the run's own files first; when the run has no
/// <c>MLmodel</c> at that path, the logged model called <c>&lt;name&gt;</c> whose source run is the run.
/// </summary>
internal static class LoggedModelLookup
{
    /// <summary>A delegate fetching one page of a logged-model search.</summary>
    public delegate Task<MlflowPage<LoggedModel>> SearchPage(SearchLoggedModelsOptions query, string? pageToken, CancellationToken cancellationToken);

    /// <summary>
    /// The logged model that <c>runs:/&lt;run&gt;/&lt;path&gt;</c> stands for, or <see langword="null"/> when the run's
    /// artifacts hold the model themselves (an <c>MLmodel</c> in the folder named by the path's first segment: MLflow 2.x
    /// logging) or no such logged model exists. When several match (a
    /// name logged twice in one run), the one linked to the run at the highest step wins, then the newest.
    /// </summary>
    public static async Task<LoggedModel?> FindForRunPathAsync(Run run, string path, IArtifactRepository runArtifacts, SearchPage search, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (path.Length == 0)
        {
            return null;
        }

        var name = path.Split('/')[0];
        var files = await runArtifacts.ListAsync(name, cancellationToken).ConfigureAwait(false);
        if (files.Any(f => !f.IsDir && (f.Path == MlflowModel.FileName || f.Path.EndsWith("/" + MlflowModel.FileName, StringComparison.Ordinal))))
        {
            return null;
        }

        if (name.Contains('\'', StringComparison.Ordinal))
        {
            return null; // not expressible in a filter string (Python's lookup cannot find it either)
        }

        var query = new SearchLoggedModelsOptions { Filter = $"name = '{name}'", PageSize = 50 };
        query.ExperimentIds.Add(run.Info.ExperimentId);
        var steps = run.Outputs.ModelOutputs.ToDictionary(o => o.ModelId, o => o.Step, StringComparer.Ordinal);
        LoggedModel? best = null;
        string? token = null;
        do
        {
            var page = await search(query, token, cancellationToken).ConfigureAwait(false);
            foreach (var model in page.Values.Where(m => string.Equals(m.SourceRunId, run.Info.RunId, StringComparison.Ordinal)))
            {
                if (best is null || Rank(model).CompareTo(Rank(best)) > 0)
                {
                    best = model;
                }
            }

            token = page.NextPageToken;
        }
        while (token is not null);
        return best;

        (long Step, long Created) Rank(LoggedModel m) => (steps.GetValueOrDefault(m.ModelId, -1), m.CreationTimestampMs ?? 0);
    }
}
