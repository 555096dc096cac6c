using System.Globalization;
using MlOps.Client.Models;

namespace MlOps.Client.Registry;

/// <summary>Which registered version a <c>models:/&lt;name&gt;/…</c> URI names, as Python resolves it: the one place this is decided.</summary>
internal static class RegisteredVersions
{
    /// <summary>
    /// The version of <c>models:/&lt;name&gt;/&lt;version&gt;</c>, <c>@&lt;alias&gt;</c>, <c>/&lt;stage&gt;</c> or
    /// <c>/latest</c> (Python's <c>_get_latest_model_version</c>: the highest version, in the stage when given, case-insensitive).
    /// </summary>
    public static async Task<ModelVersion> ResolveAsync(IModelRegistryStore registry, ModelsUri uri, CancellationToken cancellationToken)
    {
        var name = uri.Name ?? throw new ArgumentException("A logged-model URI (models:/<model id>) names no registered version.", nameof(uri));
        if (uri.Version is { } version)
        {
            return await registry.GetModelVersionAsync(name, version, cancellationToken).ConfigureAwait(false);
        }

        if (uri.Alias is { } alias)
        {
            try
            {
                return await registry.GetModelVersionByAliasAsync(name, alias, cancellationToken).ConfigureAwait(false);
            }
            catch (MlflowException ex) when (ex.ErrorCode is MlflowErrorCodes.ResourceDoesNotExist or MlflowErrorCodes.InvalidParameterValue)
            {
                // Servers answer a missing model and a missing alias alike ("alias not found"): say which it is.
                RegisteredModel model;
                try
                {
                    model = await registry.GetRegisteredModelAsync(name, cancellationToken).ConfigureAwait(false);
                }
                catch (MlflowException missing) when (missing.ErrorCode == MlflowErrorCodes.ResourceDoesNotExist)
                {
                    throw new MlflowException(404, MlflowErrorCodes.ResourceDoesNotExist, $"No registered model named '{name}' (models:/{name}@{alias}).", missing);
                }

                throw new MlflowException(404, MlflowErrorCodes.ResourceDoesNotExist,
                    $"Registered model '{name}' has no alias '{alias}' (its aliases: {(model.Aliases.Count == 0 ? "none" : string.Join(", ", model.Aliases.Select(a => $"{a.Alias} → v{a.Version}")))}).", ex);
            }
        }

        var versions = await registry.GetModelVersionsAsync(name, cancellationToken).ConfigureAwait(false);
        return versions
            .Where(v => uri.Stage is null || string.Equals(v.CurrentStage, uri.Stage, StringComparison.OrdinalIgnoreCase))
            .MaxBy(v => long.TryParse(v.Version, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : -1)
            ?? throw new MlflowException(0, MlflowErrorCodes.ResourceDoesNotExist, $"No versions of model with name '{name}'{(uri.Stage is null ? "" : $" and stage '{uri.Stage}'")} found");
    }
}
