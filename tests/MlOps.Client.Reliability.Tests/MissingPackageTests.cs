using MlOps.Client.Artifacts;
using MlOps.Client.Stores;

namespace MlOps.Client.Reliability.Tests;

/// <summary>
/// An application that lacks the package a URI needs is told which one to add. This test project references none of the
/// cloud packages (MlOps.Client.Aws, MlOps.Client.Azure, MlOps.Client.GoogleCloud), as such an application; the other
/// test projects reach them through the mlops tool, which carries them.
/// </summary>
public sealed class MissingPackageTests
{
    [Fact]
    public void This_project_has_none_of_the_cloud_packages()
    {
        foreach (var package in new[] { "MlOps.Client.Aws", "MlOps.Client.Azure", "MlOps.Client.GoogleCloud" })
        {
            Assert.False(File.Exists(Path.Combine(AppContext.BaseDirectory, package + ".dll")), package + " is beside the tests: the tests below would not test its absence");
        }
    }

    [Theory]
    [InlineData("azureml://westeurope.api.azureml.ms/mlflow/v1.0/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w", "MlOps.Client.Azure")]
    [InlineData("arn:aws:sagemaker:eu-west-1:123456789012:mlflow-tracking-server/team", "MlOps.Client.Aws")]
    public void A_managed_service_uri_without_its_package_names_the_package_to_add(string uri, string package)
    {
        var client = Assert.Throws<NotSupportedException>(() => new MlflowClient(uri));
        Assert.Contains("dotnet add package " + package, client.Message, StringComparison.Ordinal);
        var store = Assert.Throws<NotSupportedException>(() => TrackingStores.Open(new MlflowClientOptions { TrackingUri = uri }));
        Assert.Contains(package, store.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("s3://bucket/1/run/artifacts", "MlOps.Client.Aws")]
    [InlineData("gs://b/x", "MlOps.Client.GoogleCloud")]
    [InlineData("wasbs://c@a.blob.core.windows.net/x", "MlOps.Client.Azure")]
    public void An_object_store_artifact_uri_without_its_package_names_the_package_to_add(string uri, string package)
    {
        var ex = Assert.Throws<NotSupportedException>(() => ArtifactRepositories.ForUri(uri, null));
        Assert.Contains("dotnet add package " + package, ex.Message, StringComparison.Ordinal);
    }
}
