using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using MlOps.Client.Projects;

namespace MlOps.Client.Kubernetes;

/// <summary>A submitted Job: watched to its end, its pod's log streamed, deleted when cancelled.</summary>
internal sealed class KubernetesSubmittedRun(string runId, IKubernetes client, string name, string @namespace, string image, TextWriter messages, TimeSpan pollInterval, TimeProvider time)
    : ISubmittedProjectRun
{
    private Task? _logs;

    public string RunId => runId;

    /// <summary>The image the Job runs (recorded as <c>mlflow.docker.image.uri</c>).</summary>
    public string Image => image;

    public async Task<bool> WaitAsync(CancellationToken cancellationToken)
    {
        using var stopLogs = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            while (true)
            {
                // Watch the Job; when the watch ends without an outcome (server timeout, dropped connection) read it
                // again after the poll interval and watch again.
                var outcome = await WatchAsync(stopLogs.Token, cancellationToken).ConfigureAwait(false);
                if (outcome is { } done)
                {
                    if (_logs is not null)
                    {
                        // The log stream ends with the container; do not wait for a stuck one for ever.
                        await Task.WhenAny(_logs, Task.Delay(TimeSpan.FromSeconds(30), time, cancellationToken)).ConfigureAwait(false);
                    }

                    return done;
                }

                await Task.Delay(pollInterval, time, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            await stopLogs.CancelAsync().ConfigureAwait(false);
        }
    }

    public async Task CancelAsync(CancellationToken cancellationToken)
    {
        try
        {
            await client.BatchV1.DeleteNamespacedJobAsync(name, @namespace, new V1DeleteOptions { PropagationPolicy = "Background" }, cancellationToken: cancellationToken).ConfigureAwait(false);
            await messages.WriteLineAsync($"=== Job {name} deleted ===").ConfigureAwait(false);
        }
        catch (HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.NotFound)
        {
            // Already gone.
        }
    }

    public ValueTask DisposeAsync()
    {
        client.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>One watch of the Job: true/false at a Complete/Failed condition, null when the watch ended first.</summary>
    private async Task<bool?> WatchAsync(CancellationToken logsToken, CancellationToken cancellationToken)
    {
        var events = client.BatchV1.WatchListNamespacedJobAsync(@namespace, fieldSelector: "metadata.name=" + name, cancellationToken: cancellationToken);
        await foreach (var (type, job) in events.ConfigureAwait(false))
        {
            if (type == WatchEventType.Deleted)
            {
                await messages.WriteLineAsync($"=== Job {name} was deleted ===").ConfigureAwait(false);
                return false;
            }

            if (_logs is null && (job.Status?.StartTime is not null || job.Status?.Active > 0))
            {
                await messages.WriteLineAsync($"=== Job {name} started ===").ConfigureAwait(false);
                _logs = FollowLogsAsync(logsToken);
            }

            foreach (var condition in job.Status?.Conditions ?? [])
            {
                if (condition.Status != "True" || condition.Type is not ("Complete" or "Failed"))
                {
                    continue;
                }

                if (!string.IsNullOrEmpty(condition.Message))
                {
                    await messages.WriteLineAsync(condition.Message).ConfigureAwait(false);
                }

                _logs ??= FollowLogsAsync(logsToken); // a Job that ended before it was seen running: its log is still there
                return condition.Type == "Complete";
            }
        }

        return null;
    }

    /// <summary>Streams the Job's pod's log (the pod found by the <c>job-name</c> label) to the messages, retrying while the container starts.</summary>
    private async Task FollowLogsAsync(CancellationToken cancellationToken)
    {
        try
        {
            for (var attempt = 0; attempt < 60; attempt++)
            {
                var pods = await client.CoreV1.ListNamespacedPodAsync(@namespace, labelSelector: "job-name=" + name, cancellationToken: cancellationToken).ConfigureAwait(false);
                var pod = pods.Items.OrderBy(p => p.Metadata.CreationTimestamp).LastOrDefault();
                if (pod is not null)
                {
                    try
                    {
                        using var log = await client.CoreV1.ReadNamespacedPodLogAsync(pod.Metadata.Name, @namespace, follow: true, cancellationToken: cancellationToken).ConfigureAwait(false);
                        using var reader = new StreamReader(log);
                        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
                        {
                            await messages.WriteLineAsync(line).ConfigureAwait(false);
                        }

                        return;
                    }
                    catch (HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.BadRequest)
                    {
                        // "ContainerCreating": not yet.
                    }
                }

                await Task.Delay(TimeSpan.FromSeconds(1), time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // The Job ended, or the wait was cancelled.
        }
        catch (Exception ex) when (ex is HttpOperationException or HttpRequestException or IOException)
        {
            await messages.WriteLineAsync($"=== The log of Job {name} could not be read: {KubernetesProjectBackend.FirstLine(ex.Message)} ===").ConfigureAwait(false);
        }
    }
}
