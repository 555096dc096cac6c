using System.Text.Json;
using k8s;
using MlOps.Client.Configuration;
using k8s.Autorest;
using k8s.Models;
using MlOps.Client.Projects;

namespace MlOps.Client.Kubernetes;

/// <summary>
/// Runs a project as a Kubernetes Job, as MLflow's kubernetes backend does (<c>mlflow/projects/kubernetes.py</c>): the
/// Job is rendered from the template (<see cref="KubernetesJobTemplate"/>) with the project's image — the MLproject's
/// <c>docker_env.image</c> or <see cref="KubernetesBackendConfig.Image"/>, which must already be in a registry the
/// cluster pulls from (no image is built or pushed here) — created with the official Kubernetes client; then its status
/// is watched (read again every <see cref="KubernetesBackendConfig.PollInterval"/> when a watch ends) until a
/// <c>Complete</c> or <c>Failed</c> condition, and its pod's log is streamed to <see cref="ProjectLaunch.Messages"/>
/// (MLflow reads no logs). Cancelling deletes the Job (and its pods).
/// </summary>
public sealed class KubernetesProjectBackend : IProjectBackend
{
    private readonly KubernetesBackendConfig _config;
    private readonly Func<IKubernetes> _client;
    private readonly TimeProvider _time;

    /// <summary>A backend with these settings, talking to the cluster the kubeconfig (or the pod's service account) names.</summary>
    /// <param name="config">The settings.</param>
    public KubernetesProjectBackend(KubernetesBackendConfig config)
        : this(config, null, null)
    {
    }

    internal KubernetesProjectBackend(KubernetesBackendConfig config, Func<IKubernetes>? client, TimeProvider? timeProvider)
    {
        _config = config ?? throw new ArgumentNullException(nameof(config));
        _client = client ?? (() => new k8s.Kubernetes(ClientConfiguration(config)));
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>A backend from MLflow's backend configuration JSON (<c>--backend-config</c>).</summary>
    /// <param name="json">The configuration object.</param>
    public static KubernetesProjectBackend FromConfig(JsonElement json) => new(KubernetesBackendConfig.FromJson(json));

    /// <inheritdoc/>
    public string Name => "kubernetes";

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, string> RunTags(MlProject project)
    {
        ArgumentNullException.ThrowIfNull(project);
        var tags = new Dictionary<string, string>(StringComparer.Ordinal) { [ProjectTags.Environment] = "docker" };
        if ((_config.Image ?? project.DockerImage) is { } image)
        {
            tags[ProjectTags.DockerImageUri] = image;
        }

        return tags;
    }

    /// <inheritdoc/>
    public void Validate(MlProject project)
    {
        ArgumentNullException.ThrowIfNull(project);
        if (string.IsNullOrEmpty(project.Name))
        {
            throw new ProjectExecutionException("Project name in MLProject must be specified when using docker for image tagging.");
        }

        if (_config.Image is null && project.DockerImage is null)
        {
            throw new ProjectExecutionException("Project with docker environment must specify the docker image to use via an 'image' field under the 'docker_env' field.");
        }
    }

    /// <inheritdoc/>
    public async Task<ISubmittedProjectRun> SubmitAsync(ProjectLaunch launch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(launch);
        var tracking = launch.Environment.TryGetValue(MlflowEnvironment.TrackingUri, out var t) ? t : string.Empty;
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(MlflowEnvironment.KubeTrackingUri)) && !tracking.StartsWith("http", StringComparison.OrdinalIgnoreCase) && !tracking.StartsWith("databricks", StringComparison.OrdinalIgnoreCase))
        {
            throw new ProjectExecutionException(
                $"A Kubernetes Job cannot reach the tracking store {tracking}: use a tracking server (http://…), or set KUBE_MLFLOW_TRACKING_URI to the URI the cluster reaches it at.");
        }

        var image = _config.Image ?? launch.Project.DockerImage!;
        var job = KubernetesJobTemplate.Render(
            await File.ReadAllTextAsync(_config.JobTemplatePath, cancellationToken).ConfigureAwait(false),
            launch.Project.Name!, image, launch.Command, launch.Environment, _time.GetLocalNow().DateTime);
        var client = _client();
        var messages = launch.Messages ?? Console.Error;
        await messages.WriteLineAsync($"=== Creating Job {job.Metadata.Name} ===").ConfigureAwait(false);
        try
        {
            await client.BatchV1.CreateNamespacedJobAsync(job, job.Metadata.NamespaceProperty, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex)
        {
            client.Dispose();
            throw new ProjectExecutionException($"The Kubernetes API refused the Job {job.Metadata.Name} ({(int)ex.Response.StatusCode}): {FirstLine(ex.Response.Content)}", ex);
        }

        return new KubernetesSubmittedRun(launch.RunId, client, job.Metadata.Name, job.Metadata.NamespaceProperty, image, messages, _config.PollInterval, _time);
    }

    private static KubernetesClientConfiguration ClientConfiguration(KubernetesBackendConfig config)
    {
        var path = config.KubeConfigPath ?? Environment.GetEnvironmentVariable("KUBECONFIG")?.Split(Path.PathSeparator)[0];
        if (path is not null || File.Exists(KubernetesClientConfiguration.KubeConfigDefaultLocation))
        {
            return KubernetesClientConfiguration.BuildConfigFromConfigFile(path ?? KubernetesClientConfiguration.KubeConfigDefaultLocation, config.KubeContext);
        }

        // No kubeconfig: inside a pod, its service account (MLflow's fallback).
        return KubernetesClientConfiguration.InClusterConfig();
    }

    internal static string FirstLine(string? text) => (text ?? string.Empty).Split('\n')[0].Trim();
}
