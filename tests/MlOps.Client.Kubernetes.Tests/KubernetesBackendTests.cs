using System.Text.Json;
using MlOps.Client.Projects;
using MlOps.Client.Stores;
using WireMock.Server;
using WireMock.Settings;
using Request = WireMock.RequestBuilders.Request;
using Response = WireMock.ResponseBuilders.Response;

namespace MlOps.Client.Kubernetes.Tests;

/// <summary>
/// A project run on the Kubernetes backend against a fake API server (WireMock on 127.0.0.1 answering as the Kubernetes
/// API does): the Job is created from the template, watched to its outcome, its pod's log streamed, and the run ends
/// with the Job's outcome. No cluster is reachable here; docs/projects.md says what was and was not tried.
/// </summary>
public sealed class KubernetesBackendTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mlops-k8s-").FullName;
    private readonly WireMockServer _api = WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"], StartAdminInterface = false });
    private ITrackingStore _store = null!;

    public Task InitializeAsync()
    {
        _store = TrackingStores.Open(new MlflowClientOptions { TrackingUri = "sqlite:///" + Path.Combine(_dir, "mlflow.db") });
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Resources", "MLproject"), Path.Combine(_dir, "MLproject"));
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Resources", "kubernetes_job_template.yaml"), Path.Combine(_dir, "job.yaml"));
        File.WriteAllText(Path.Combine(_dir, "kubeconfig"), $$"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster: {server: "{{_api.Url}}"}
            contexts:
            - name: fake
              context: {cluster: fake, user: fake}
            - name: other
              context: {cluster: fake, user: fake}
            current-context: other
            users:
            - name: fake
              user: {token: kube-token}
            """);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _api.Stop();
        await _store.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private KubernetesProjectBackend Backend() => KubernetesProjectBackend.FromConfig(JsonDocument.Parse($$"""
        {"kube-context": "fake", "kube-job-template-path": {{JsonSerializer.Serialize(Path.Combine(_dir, "job.yaml"))}},
         "repository-uri": "username/mlflow-kubernetes-example", "kubeconfig": {{JsonSerializer.Serialize(Path.Combine(_dir, "kubeconfig"))}}}
        """).RootElement);

    private void Api(string outcome)
    {
        const string jobs = "/apis/batch/v1/namespaces/mlflow/jobs";
        _api.Given(Request.Create().WithPath(jobs).UsingPost())
            .RespondWith(Response.Create().WithStatusCode(201).WithHeader("Content-Type", "application/json").WithCallback(r => new WireMock.ResponseMessage
            {
                StatusCode = 201,
                BodyData = new WireMock.Util.BodyData { BodyAsString = r.Body, DetectedBodyType = WireMock.Types.BodyType.String },
            }));
        var started = """{"type":"ADDED","object":{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"j","namespace":"mlflow"},"status":{"active":1,"startTime":"2026-12-06T05:30:02Z"}}}""";
        var ended = """{"type":"MODIFIED","object":{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"j","namespace":"mlflow"},"status":{"conditions":[{"type":"OUTCOME","status":"True","message":"Job OUTCOME."}]}}}""".Replace("OUTCOME", outcome, StringComparison.Ordinal);
        _api.Given(Request.Create().WithPath(jobs).UsingGet().WithParam("watch", "true"))
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody(started + "\n" + ended + "\n"));
        _api.Given(Request.Create().WithPath("/api/v1/namespaces/mlflow/pods").UsingGet())
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody("""{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[{"metadata":{"name":"pod-1","namespace":"mlflow"}}]}"""));
        _api.Given(Request.Create().WithPath("/api/v1/namespaces/mlflow/pods/pod-1/log").UsingGet())
            .RespondWith(Response.Create().WithHeader("Content-Type", "text/plain").WithBody("epoch 1 loss 0.5\nepoch 2 loss 0.25\n"));
        _api.Given(Request.Create().WithPath(new WireMock.Matchers.WildcardMatcher(jobs + "/*")).UsingDelete())
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody("""{"kind":"Status","apiVersion":"v1","status":"Success"}"""));
    }

    private async Task<ProjectRunResult> RunAsync(StringWriter messages)
    {
        // The Job gets the tracking server's URI (the store here is the test's embedded one).
        await using var runner = new ProjectRunner(new MlflowClientOptions { TrackingUri = "http://mlflow.example:5000" }, _store);
        var options = new ProjectRunOptions { Uri = _dir, ExperimentName = "k8s", Backend = Backend(), Messages = messages, RecordDvcDigests = false };
        options.Parameters.Add(new("alpha", "0.5"));
        return await runner.RunAsync(options).WaitAsync(TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task The_api_server_sees_create_then_watch_then_logs_and_the_run_ends_with_the_jobs_outcome()
    {
        Api("Complete");
        var messages = new StringWriter();

        var result = await RunAsync(messages);

        Assert.Equal(RunStatus.Finished, result.Status);
        var requests = _api.LogEntries.Select(e => e.RequestMessage!).ToList();
        Assert.Equal(
            ["POST /apis/batch/v1/namespaces/mlflow/jobs", "GET /apis/batch/v1/namespaces/mlflow/jobs", "GET /api/v1/namespaces/mlflow/pods", "GET /api/v1/namespaces/mlflow/pods/pod-1/log"],
            requests.Select(r => r.Method + " " + r.Path));
        Assert.All(requests, r => Assert.Equal("Bearer kube-token", r.Headers!["Authorization"].Single())); // the kube-context's user
        var jobName = JsonDocument.Parse(requests[0].Body!).RootElement.GetProperty("metadata").GetProperty("name").GetString()!;
        Assert.StartsWith("docker-example-", jobName, StringComparison.Ordinal);
        Assert.Equal("metadata.name=" + jobName, requests[1].Query!["fieldSelector"].Single());
        Assert.Equal("job-name=" + jobName, requests[2].Query!["labelSelector"].Single());
        Assert.Equal("true", requests[3].Query!["follow"].Single());

        using var job = JsonDocument.Parse(requests[0].Body!);
        var container = job.RootElement.GetProperty("spec").GetProperty("template").GetProperty("spec").GetProperty("containers")[0];
        Assert.Equal("mlflow-docker-example", container.GetProperty("image").GetString()); // the MLproject's docker_env image
        Assert.Equal(["python", "train.py", "--alpha", "0.5", "--l1-ratio", "0.1"], container.GetProperty("command").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(
            [("MLFLOW_RUN_ID", result.RunId), ("MLFLOW_TRACKING_URI", "http://mlflow.example:5000"), ("MLFLOW_EXPERIMENT_ID", result.ExperimentId)],
            container.GetProperty("env").EnumerateArray().Select(e => (e.GetProperty("name").GetString(), e.GetProperty("value").GetString())));
        Assert.Contains("epoch 2 loss 0.25", messages.ToString(), StringComparison.Ordinal);
        Assert.Contains("Job Complete.", messages.ToString(), StringComparison.Ordinal);

        var tags = (await _store.GetRunAsync(result.RunId, CancellationToken.None)).Data.Tags.ToDictionary(t => t.Key, t => t.Value);
        Assert.Equal("kubernetes", tags["mlflow.project.backend"]);
        Assert.Equal("docker", tags["mlflow.project.env"]);
        Assert.Equal("mlflow-docker-example", tags["mlflow.docker.image.uri"]);
        Assert.Equal("PROJECT", tags["mlflow.source.type"]);
    }

    [Fact]
    public async Task A_failed_job_fails_the_run()
    {
        Api("Failed");

        var result = await RunAsync(new StringWriter());

        Assert.Equal(RunStatus.Failed, result.Status);
        Assert.Equal(RunStatus.Failed, (await _store.GetRunAsync(result.RunId, CancellationToken.None)).Info.Status);
    }

    [Fact]
    public async Task Cancelling_deletes_the_job()
    {
        Api("Complete");
        await using var runner = new ProjectRunner(new MlflowClientOptions { TrackingUri = "http://mlflow.example:5000" }, _store);
        var project = MlProject.Load(_dir);
        var launch = new ProjectLaunch(project, project.GetEntryPoint("main"), "python train.py", "run-1", "0",
            new Dictionary<string, string> { ["MLFLOW_RUN_ID"] = "run-1", ["MLFLOW_TRACKING_URI"] = "http://mlflow.example:5000", ["MLFLOW_EXPERIMENT_ID"] = "0" })
        { Messages = new StringWriter() };

        await using var submitted = await Backend().SubmitAsync(launch, CancellationToken.None);
        await submitted.CancelAsync(CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(1));

        var delete = Assert.Single(_api.LogEntries, e => e.RequestMessage!.Method == "DELETE");
        Assert.StartsWith("/apis/batch/v1/namespaces/mlflow/jobs/docker-example-", delete.RequestMessage!.Path, StringComparison.Ordinal);
    }

    [Fact]
    public void Mlflows_backend_config_rules_hold()
    {
        Assert.Equal("'kube-job-template-path' attribute must be specified in backend_config.",
            Assert.Throws<ProjectExecutionException>(() => KubernetesProjectBackend.FromConfig(JsonDocument.Parse("{\"repository-uri\": \"r\"}").RootElement)).Message);
        Assert.Equal("Could not find 'repository-uri' in backend_config.",
            Assert.Throws<ProjectExecutionException>(() => KubernetesProjectBackend.FromConfig(JsonDocument.Parse("{\"kube-job-template-path\": \"t.yaml\"}").RootElement)).Message);
        Assert.Equal("Could not find 'kube-job-template-path': missing.yaml",
            Assert.Throws<ProjectExecutionException>(() => KubernetesProjectBackend.FromConfig(JsonDocument.Parse("{\"kube-job-template-path\": \"missing.yaml\", \"repository-uri\": \"r\"}").RootElement)).Message);
    }

    [Fact]
    public async Task A_job_cannot_be_given_a_store_only_this_machine_reaches()
    {
        var project = MlProject.Load(_dir);
        var launch = new ProjectLaunch(project, project.GetEntryPoint("main"), "python train.py", "run-1", "0",
            new Dictionary<string, string> { ["MLFLOW_TRACKING_URI"] = "sqlite:///" + Path.Combine(_dir, "mlflow.db") });

        var error = await Assert.ThrowsAsync<ProjectExecutionException>(() => Backend().SubmitAsync(launch, CancellationToken.None));
        Assert.Contains("KUBE_MLFLOW_TRACKING_URI", error.Message, StringComparison.Ordinal);
    }
}
