using MlOps.Client.Authentication;

namespace MlOps.Client.Azure;

/// <summary>
/// <c>azureml://&lt;region&gt;.api.azureml.ms/mlflow/v1.0/subscriptions/…/workspaces/&lt;ws&gt;</c> as azureml-mlflow reads it:
/// the same host and path over https, MLflow's <c>api/2.0/mlflow/…</c> below it (the query, e.g. <c>?is-remote=True</c>,
/// is dropped), and Microsoft Entra tokens unless <see cref="MlflowClientOptions.AuthProvider"/> names another provider.
/// </summary>
internal sealed class AzureMlTrackingUri : ITrackingUriResolver
{
    public (Uri BaseUri, IMlflowAuthProvider Auth) Resolve(string trackingUri, MlflowClientOptions options) =>
        (ToHttps(trackingUri), options.AuthProvider ?? new AzureMlAuthProvider(timeProvider: options.TimeProvider));

    /// <summary>The https base URI of an <c>azureml://</c> tracking URI.</summary>
    internal static Uri ToHttps(string trackingUri)
    {
        if (!Uri.TryCreate(trackingUri, UriKind.Absolute, out var uri) || uri.Scheme != "azureml" || string.IsNullOrEmpty(uri.Host)
            || !uri.AbsolutePath.Contains("/workspaces/", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException(
                $"'{trackingUri}' is not an Azure Machine Learning tracking URI: azureml://<region>.api.azureml.ms/mlflow/v1.0/subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.MachineLearningServices/workspaces/<workspace> (the workspace's MLflow tracking URI in Azure ML studio).",
                nameof(trackingUri));
        }

        return new Uri($"https://{uri.Authority}{uri.AbsolutePath.TrimEnd('/')}/");
    }
}
