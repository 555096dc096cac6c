using MlOps.Client.Stores;

namespace MlOps.Client.Tests.Authentication;

public sealed class ManagedUriTests
{
    [Theory]
    [InlineData("azureml://westeurope.api.azureml.ms/mlflow/v1.0/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w", "MlOps.Client.Azure")]
    [InlineData("arn:aws:sagemaker:eu-west-1:123456789012:mlflow-tracking-server/team", "MlOps.Client.Aws")]
    public void A_managed_service_uri_without_its_package_names_the_package_to_add(string uri, string package)
    {
        // This test project references neither package, as an application that forgot it.
        var client = Assert.Throws<NotSupportedException>(() => new MlflowClient(uri));
        Assert.Contains("dotnet add package " + package, client.Message, StringComparison.Ordinal);
        var store = Assert.Throws<NotSupportedException>(() => TrackingStores.Open(new MlflowClientOptions { TrackingUri = uri }));
        Assert.Contains(package, store.Message, StringComparison.Ordinal);
    }
}
