using MlOps.Client.Stores;
using MlOps.Client.Validation;

namespace MlOps.Client.Uploading;

/// <summary>What happened to one request.</summary>
internal enum SendStatus
{
    /// <summary>The server took it.</summary>
    Delivered,

    /// <summary>No answer, a timeout, or a transient status (408, 429, 5xx): the server is (for now) away.</summary>
    Unavailable,

    /// <summary>The server answered with a permanent refusal.</summary>
    Refused,

    /// <summary>The uploader is being stopped.</summary>
    Aborted,
}

/// <summary>The outcome of one request: its status, the error, whether it timed out, and the server's <c>Retry-After</c>.</summary>
internal readonly record struct SendOutcome(SendStatus Status, Exception? Error = null, bool TimedOut = false, TimeSpan? RetryAfter = null)
{
    public static readonly SendOutcome Delivered = new(SendStatus.Delivered);
}

/// <summary>Where the sender reports each batch's fate (implemented by the uploader).</summary>
internal interface IDeliveryReport
{
    void Delivered(Batch batch);

    void Unreachable(Batch batch, in SendOutcome outcome);

    void Refused(Batch batch, MlflowException error);

    void RunLost(Batch batch, MlflowException error);

    void Aborted(Batch batch);
}

/// <summary>
/// Sends the uploader's requests: one attempt each, under <see cref="UploaderOptions.RequestTimeout"/>, with one quick
/// re-send for fast transient failures (<see cref="OutagePolicy"/>), and poison isolation — a refused batch is split
/// until each refused entity stands alone, so a bad entity never costs its neighbours. A refusal that concerns the whole
/// run (deleted, not active, unknown) is reported once as a lost run instead.
/// </summary>
internal sealed class BatchSender(ITrackingStore store, UploaderOptions options, OutagePolicy policy, TimeProvider time)
{
    private readonly IUploadStore? _once = store as IUploadStore;
    private long _requests;

    /// <summary>Requests sent (successful or not).</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Sends <paramref name="batch"/> and reports its fate (after a quick re-send and isolation as needed).</summary>
    public async Task DeliverAsync(Batch batch, IDeliveryReport report, CancellationToken abort, bool quickRetry = true)
    {
        var outcome = await SendOnceAsync(batch, abort).ConfigureAwait(false);
        if (outcome.Status == SendStatus.Unavailable && quickRetry && OutagePolicy.QuickRetryDelay(outcome) is { } delay)
        {
            try
            {
                await Task.Delay(delay, time, abort).ConfigureAwait(false);
                outcome = await SendOnceAsync(batch, abort).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (abort.IsCancellationRequested)
            {
                outcome = new SendOutcome(SendStatus.Aborted);
            }
        }

        switch (outcome.Status)
        {
            case SendStatus.Delivered:
                policy.Succeeded();
                report.Delivered(batch);
                break;
            case SendStatus.Unavailable:
                report.Unreachable(batch, outcome);
                break;
            case SendStatus.Aborted:
                report.Aborted(batch);
                break;
            default:
                var error = (MlflowException)outcome.Error!;
                if (IsRunLevel(error))
                {
                    report.RunLost(batch, error);
                }
                else if (batch.Count > 1)
                {
                    var (left, right) = batch.Split();
                    await DeliverAsync(left, report, abort, quickRetry).ConfigureAwait(false);
                    await DeliverAsync(right, report, abort, quickRetry).ConfigureAwait(false);
                }
                else
                {
                    report.Refused(batch, error);
                }

                break;
        }
    }

    /// <summary>One attempt, classified.</summary>
    public async Task<SendOutcome> SendOnceAsync(Batch batch, CancellationToken abort)
    {
        Interlocked.Increment(ref _requests);
        using var timeout = new CancellationTokenSource(options.RequestTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(abort, timeout.Token);
        try
        {
            if (batch.End is { } end)
            {
                var endTime = DateTimeOffset.FromUnixTimeMilliseconds(end.EndTimeMs);
                await (_once?.EndRunOnceAsync(batch.RunId, end.Status, endTime, linked.Token)
                    ?? store.UpdateRunAsync(batch.RunId, end.Status, endTime, null, linked.Token)).ConfigureAwait(false);
            }
            else
            {
                await (_once?.LogBatchOnceAsync(batch.RunId, batch.Metrics, batch.Params, batch.Tags, linked.Token)
                    ?? store.LogBatchAsync(batch.RunId, batch.Metrics, batch.Params, batch.Tags, linked.Token)).ConfigureAwait(false);
            }

            return SendOutcome.Delivered;
        }
        catch (Exception) when (abort.IsCancellationRequested)
        {
            return new SendOutcome(SendStatus.Aborted);
        }
        catch (Exception ex) when (timeout.IsCancellationRequested)
        {
            return new SendOutcome(SendStatus.Unavailable, new TimeoutException($"The {batch} got no answer within {options.RequestTimeout.TotalSeconds:0.#} s.", ex), TimedOut: true);
        }
        catch (MlflowException ex) when (Transience.IsTransient(ex))
        {
            return new SendOutcome(SendStatus.Unavailable, ex, RetryAfter: ex.RetryAfter);
        }
        catch (MlflowException ex)
        {
            return new SendOutcome(SendStatus.Refused, ex);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or TimeoutException or OperationCanceledException)
        {
            return new SendOutcome(SendStatus.Unavailable, ex, TimedOut: ex is TimeoutException or OperationCanceledException);
        }
    }

    /// <summary>
    /// Whether a refusal concerns the run rather than the entities: the run does not exist (or was deleted for good), or
    /// it is not active (deleted in the UI: MLflow answers <c>INVALID_PARAMETER_VALUE</c> "The run … must be in the
    /// 'active' state"), or <c>INVALID_STATE</c>.
    /// </summary>
    internal static bool IsRunLevel(MlflowException error) =>
        error is not MlflowValidationException
        && (error.ErrorCode is MlflowErrorCodes.ResourceDoesNotExist or MlflowErrorCodes.InvalidState
            || (error.ServerMessage?.Contains("must be in the 'active' state", StringComparison.Ordinal) ?? false));
}
