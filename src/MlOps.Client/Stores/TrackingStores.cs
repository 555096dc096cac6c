namespace MlOps.Client.Stores;

/// <summary>Opens the <see cref="ITrackingStore"/> a tracking URI names.</summary>
public static class TrackingStores
{
    /// <summary>The embedded store used when no tracking URI is configured: <c>sqlite:///mlflow.db</c>, as MLflow's own default.</summary>
    public const string DefaultUri = "sqlite:///mlflow.db";

    /// <summary>
    /// Opens the store for <see cref="MlflowClientOptions.TrackingUri"/>: <c>http(s)://…</c> → a tracking server,
    /// <c>databricks</c> / <c>databricks://&lt;profile&gt;</c> → a Databricks workspace's MLflow, <c>azureml://…</c> and
    /// <c>arn:aws:sagemaker:…</c> → Azure Machine Learning's and SageMaker's (with their packages),
    /// <c>sqlite:///…</c> → the embedded store, nothing → <see cref="DefaultUri"/>. Other schemes are refused with
    /// the list of supported ones.
    /// </summary>
    /// <param name="options">The client options.</param>
    public static ITrackingStore Open(MlflowClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var uri = string.IsNullOrWhiteSpace(options.TrackingUri) ? DefaultUri : options.TrackingUri.Trim();
        if (uri.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || uri.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
            || MlOps.Client.Authentication.DatabricksConfiguration.IsDatabricksUri(uri) || MlOps.Client.Authentication.TrackingUriResolvers.IsManaged(uri))
        {
            return new RestTrackingStore(new MlflowClient(options), ownsClient: true);
        }

        if (uri.StartsWith("sqlite:", StringComparison.OrdinalIgnoreCase))
        {
            return SqliteTrackingStore.Open(uri);
        }

        throw new NotSupportedException(
            $"Tracking URI '{MlOps.Client.Configuration.UriRedaction.Redact(uri)}' is not supported. Supported: http:// or https:// (an MLflow tracking server) " +
            $"and sqlite:///path/to/mlflow.db (the embedded store; the default is {DefaultUri}). " +
            "databricks or databricks://<profile> (a Databricks workspace), azureml://… (package MlOps.Client.Azure), arn:aws:sagemaker:… (package MlOps.Client.Aws). For file stores (./mlruns) and databases other than SQLite, run 'mlflow server' against them and use its http URI.");
    }
}
