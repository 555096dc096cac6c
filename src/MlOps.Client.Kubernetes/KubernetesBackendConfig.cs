using System.Text.Json;

namespace MlOps.Client.Kubernetes;

/// <summary>
/// The kubernetes backend's settings, the keys of MLflow's <c>--backend-config</c> JSON: <c>kube-job-template-path</c>
/// (required), <c>repository-uri</c> (required, as MLflow requires it), <c>kube-context</c> (else the kubeconfig's
/// current context, else the in-cluster configuration); and this SDK's own <c>kubeconfig</c> (a kubeconfig file other
/// than <c>KUBECONFIG</c> / <c>~/.kube/config</c>) and <c>image</c> (the image to run instead of the MLproject's
/// <c>docker_env.image</c>).
/// </summary>
public sealed class KubernetesBackendConfig
{
    /// <summary>The Job template (YAML): its first container gets the image, command and <c>MLFLOW_*</c> variables; <c>metadata.namespace</c> is required.</summary>
    public string JobTemplatePath { get; set; } = string.Empty;

    /// <summary>The image repository (MLflow tags built images there; required by MLflow's configuration).</summary>
    public string RepositoryUri { get; set; } = string.Empty;

    /// <summary>The kubeconfig context; the current one when not set.</summary>
    public string? KubeContext { get; set; }

    /// <summary>A kubeconfig file; else <c>KUBECONFIG</c>, else <c>~/.kube/config</c>, else the in-cluster configuration.</summary>
    public string? KubeConfigPath { get; set; }

    /// <summary>The image the Job runs; the MLproject's <c>docker_env.image</c> when not set.</summary>
    public string? Image { get; set; }

    /// <summary>How often the Job's status is read again when its watch ends.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Reads MLflow's backend configuration JSON (an object of the keys above).</summary>
    /// <param name="json">The configuration.</param>
    /// <exception cref="Projects.ProjectExecutionException">A required key is missing (MLflow's messages).</exception>
    public static KubernetesBackendConfig FromJson(JsonElement json)
    {
        if (json.ValueKind != JsonValueKind.Object)
        {
            throw new Projects.ProjectExecutionException("Backend_config file not found.");
        }

        string? Get(string key) => json.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        var config = new KubernetesBackendConfig
        {
            JobTemplatePath = Get("kube-job-template-path") ?? throw new Projects.ProjectExecutionException("'kube-job-template-path' attribute must be specified in backend_config."),
            RepositoryUri = Get("repository-uri") ?? throw new Projects.ProjectExecutionException("Could not find 'repository-uri' in backend_config."),
            KubeContext = Get("kube-context"),
            KubeConfigPath = Get("kubeconfig"),
            Image = Get("image"),
        };
        if (!File.Exists(config.JobTemplatePath))
        {
            throw new Projects.ProjectExecutionException($"Could not find 'kube-job-template-path': {config.JobTemplatePath}");
        }

        return config;
    }
}
