using MlOps.Client.Tests.Fixtures;

namespace MlOps.Client.Tests;

public class RecordedFixtureTests
{
    [Fact]
    public async Task Serves_a_recorded_answer_and_keeps_the_request()
    {
        using var server = new RecordedServer();
        var recorded = server.Serve("014-experiments-get");
        using var client = server.CreateClient();

        var experiment = await client.GetExperimentAsync("1");

        Assert.Equal("tour-experiment", experiment.Name);
        Assert.Equal("mlflow-artifacts:/1", experiment.ArtifactLocation);
        var request = server.SingleRequest();
        Assert.Equal("GET", request.Method);
        Assert.Equal(recorded.Path, request.Path);
        Assert.Equal("1", request.Query!["experiment_id"].Single());
    }
}
