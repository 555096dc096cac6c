using k8s;
using k8s.Models;
using MlOps.Client.Projects;

namespace MlOps.Client.Kubernetes.Tests;

/// <summary>
/// The Job rendering against MLflow's own cases: <c>tests/projects/test_kubernetes.py</c>
/// (<c>test_run_command_creation</c>, <c>test_valid_kubernetes_job_spec</c>) and its example template
/// <c>examples/docker/kubernetes_job_template.yaml</c> (copied into Resources).
/// </summary>
public sealed class KubernetesJobTemplateTests
{
    private static readonly DateTime Now = new(2026, 12, 6, 5, 30, 1, 123, 456, DateTimeKind.Local);

    private static string Normalized(string yaml) => KubernetesYaml.Serialize(KubernetesYaml.Deserialize<V1Job>(yaml));

    [Fact]
    public void The_command_is_split_and_requoted_as_mlflows_get_run_command()
    {
        // MLflow's test: ["python train.py --alpha 0.5 --l1-ratio 0.1", "--comment 'foo bar'", '--comment-bis "bar foo"']
        Assert.Equal(
            ["python", "train.py", "--alpha", "0.5", "--l1-ratio", "0.1", "--comment", "'foo bar'", "--comment-bis", "'bar foo'"],
            KubernetesJobTemplate.RunCommand("python train.py --alpha 0.5 --l1-ratio 0.1 --comment 'foo bar' --comment-bis \"bar foo\""));
    }

    [Fact]
    public void Renders_mlflows_test_template_as_mlflow_does()
    {
        const string template = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: pi-with-ttl\n  namespace: mlflow\nspec:\n  ttlSecondsAfterFinished: 100\n" +
            "  template:\n    spec:\n      containers:\n      - name: pi\n        image: perl\n        command: ['perl',  '-Mbignum=bpi', '-wle']\n        env: \n        - name: DUMMY\n" +
            "          value: \"test_var\"\n      restartPolicy: Never\n";

        var job = KubernetesJobTemplate.Render(template, "mlflow-docker-example", "image_tag@5e74a5a", "mlflow run . --env-manager local -P alpha=0.5", [new("RUN_ID", "1")], Now);

        const string expected = """
            apiVersion: batch/v1
            kind: Job
            metadata:
              name: mlflow-docker-example-2026-12-06-05-30-01-123456
              namespace: mlflow
            spec:
              ttlSecondsAfterFinished: 100
              template:
                spec:
                  containers:
                  - name: mlflow-docker-example
                    image: image_tag@5e74a5a
                    command: [mlflow, run, ., --env-manager, local, -P, alpha=0.5]
                    env:
                    - {name: DUMMY, value: test_var}
                    - {name: RUN_ID, value: "1"}
                  restartPolicy: Never
            """;
        Assert.Equal(Normalized(expected), KubernetesYaml.Serialize(job));
    }

    [Fact]
    public void Renders_mlflows_example_template_keeping_everything_else()
    {
        var template = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Resources", "kubernetes_job_template.yaml"));

        var job = KubernetesJobTemplate.Render(
            template, "docker-example", "username/mlflow-kubernetes-example:5e74a5a", "python train.py --alpha 0.5 --l1-ratio 0.1",
            [new("MLFLOW_RUN_ID", "abc"), new("MLFLOW_TRACKING_URI", "http://mlflow.example:5000"), new("MLFLOW_EXPERIMENT_ID", "3")], Now);

        const string expected = """
            apiVersion: batch/v1
            kind: Job
            metadata:
              name: docker-example-2026-12-06-05-30-01-123456
              namespace: mlflow
            spec:
              ttlSecondsAfterFinished: 100
              backoffLimit: 0
              template:
                spec:
                  containers:
                    - name: docker-example
                      image: username/mlflow-kubernetes-example:5e74a5a
                      command: [python, train.py, --alpha, "0.5", --l1-ratio, "0.1"]
                      resources:
                        limits:
                          memory: 512Mi
                        requests:
                          memory: 256Mi
                      env:
                        - {name: MLFLOW_RUN_ID, value: abc}
                        - {name: MLFLOW_TRACKING_URI, value: "http://mlflow.example:5000"}
                        - {name: MLFLOW_EXPERIMENT_ID, value: "3"}
                  restartPolicy: Never
            """;
        Assert.Equal(Normalized(expected), KubernetesYaml.Serialize(job));
    }

    [Fact]
    public void Job_names_are_valid_kubernetes_names()
    {
        Assert.Equal("my-project-2026-12-06-05-30-01-123456", KubernetesJobTemplate.JobName("My_Project", Now));
        var longName = KubernetesJobTemplate.JobName(new string('a', 80), Now);
        Assert.True(longName.Length <= 63, longName);
        Assert.EndsWith("-2026-12-06-05-30-01-123456", longName, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("apiVersion: batch/v1\nkind: Job\nmetadata: {name: x}\nspec: {template: {spec: {containers: [{name: a, image: b}]}}}\n", "has no metadata.namespace")]
    [InlineData("apiVersion: batch/v1\nkind: Job\nmetadata: {name: x, namespace: y}\nspec: {template: {spec: {containers: []}}}\n", "has no container")]
    public void A_template_mlflow_cannot_render_is_a_clear_error(string template, string expected)
    {
        var error = Assert.Throws<ProjectExecutionException>(() => KubernetesJobTemplate.Render(template, "p", "i", "c", [], Now));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }
}
