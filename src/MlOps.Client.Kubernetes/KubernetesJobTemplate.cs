using System.Globalization;
using System.Text;
using k8s;
using MlOps.Client.Configuration;
using k8s.Models;
using MlOps.Client.Projects;

namespace MlOps.Client.Kubernetes;

/// <summary>
/// Renders a project's Job from the user's template as MLflow's <c>_get_kubernetes_job_definition</c> does: the Job is
/// named <c>&lt;project&gt;-&lt;yyyy-MM-dd-HH-mm-ss-ffffff&gt;</c> (made a valid Kubernetes name: lower case, at most 63
/// characters — MLflow leaves it as is); the first container gets the project's name, the image, the command (split and
/// each word quoted again, as MLflow does) and, after the template's own variables, <c>MLFLOW_RUN_ID</c>,
/// <c>MLFLOW_TRACKING_URI</c> (<c>KUBE_MLFLOW_TRACKING_URI</c> when set) and <c>MLFLOW_EXPERIMENT_ID</c>. Nothing else
/// in the template changes.
/// </summary>
public static class KubernetesJobTemplate
{
    /// <summary>Renders the Job.</summary>
    /// <param name="templateYaml">The template (a <c>batch/v1</c> Job).</param>
    /// <param name="projectName">The MLproject's <c>name</c>.</param>
    /// <param name="image">The container image.</param>
    /// <param name="command">The entry point's command line.</param>
    /// <param name="environment">The <c>MLFLOW_*</c> variables, in order.</param>
    /// <param name="now">The local time the name is made of.</param>
    /// <exception cref="ProjectExecutionException">The template is not a Job with a container, or has no <c>metadata.namespace</c>.</exception>
    public static V1Job Render(string templateYaml, string projectName, string image, string command, IEnumerable<KeyValuePair<string, string>> environment, DateTime now)
    {
        ArgumentNullException.ThrowIfNull(templateYaml);
        ArgumentNullException.ThrowIfNull(environment);
        V1Job job;
        try
        {
            job = KubernetesYaml.Deserialize<V1Job>(templateYaml);
        }
        catch (Exception ex) when (ex is YamlDotNet.Core.YamlException or FormatException or InvalidOperationException)
        {
            throw new ProjectExecutionException("The Kubernetes Job template is not valid YAML for a Job: " + ex.Message, ex);
        }

        var container = job?.Spec?.Template?.Spec?.Containers?.FirstOrDefault()
            ?? throw new ProjectExecutionException("The Kubernetes Job template has no container (spec.template.spec.containers[0]).");
        if (string.IsNullOrEmpty(job.Metadata?.NamespaceProperty))
        {
            throw new ProjectExecutionException("The Kubernetes Job template has no metadata.namespace (MLflow's kubernetes backend requires it).");
        }

        job.Metadata.Name = JobName(projectName, now);
        container.Name = ContainerName(projectName);
        container.Image = image;
        container.Command = RunCommand(command);
        container.Env ??= [];
        var trackingOverride = Environment.GetEnvironmentVariable(MlflowEnvironment.KubeTrackingUri);
        foreach (var (key, value) in environment)
        {
            container.Env.Add(new V1EnvVar { Name = key, Value = key == MlflowEnvironment.TrackingUri && !string.IsNullOrEmpty(trackingOverride) ? trackingOverride : value });
        }

        return job;
    }

    /// <summary>MLflow's <c>_get_run_command</c>: the command split as a shell would, each word quoted again (<c>shlex.quote</c>).</summary>
    /// <param name="command">The command line.</param>
    public static IList<string> RunCommand(string command)
    {
        ArgumentNullException.ThrowIfNull(command);
        try
        {
            return [.. ShellWords.Split(command).Select(ShellWords.Quote)];
        }
        catch (FormatException ex)
        {
            throw new ProjectExecutionException("The command cannot be split into words: " + ex.Message, ex);
        }
    }

    /// <summary>The Job's name: <c>&lt;project&gt;-&lt;yyyy-MM-dd-HH-mm-ss-ffffff&gt;</c>, lower case, characters other than <c>a-z 0-9 -</c> as <c>-</c>, at most 63.</summary>
    public static string JobName(string projectName, DateTime now)
    {
        var stamp = now.ToString("yyyy-MM-dd-HH-mm-ss-ffffff", CultureInfo.InvariantCulture);
        var prefix = ContainerName(projectName);
        return (prefix.Length + 1 + stamp.Length > 63 ? prefix[..(63 - 1 - stamp.Length)].TrimEnd('-') : prefix) + "-" + stamp;
    }

    private static string ContainerName(string projectName)
    {
        var text = new StringBuilder(projectName.Length);
        foreach (var c in projectName.ToLowerInvariant())
        {
            text.Append(c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' ? c : '-');
        }

        var name = text.ToString().Trim('-');
        return name.Length == 0 ? "mlflow-project" : name.Length > 63 ? name[..63].TrimEnd('-') : name;
    }
}
