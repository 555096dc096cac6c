using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using MlOps.Client.Rest;
using OpenTelemetry;
using OpenTelemetry.Exporter;

namespace MlOps.Client.OpenTelemetry;

/// <summary>
/// OpenTelemetry's OTLP exporter pointed at MLflow (<c>/v1/traces</c>, the experiment header, the SDK's credentials),
/// counting what it could not deliver; after a batch is in, the infos of the traces whose root it held are written
/// (<c>POST /api/3.0/mlflow/traces</c>) by an async loop of its own.
/// </summary>
internal sealed partial class MlflowTraceExporter : BaseExporter<Activity>
{
    private readonly MlflowTraceExporterOptions _options;
    private readonly MlflowClient _client;
    private readonly OtlpTraceExporter _otlp;
    private readonly ILogger _logger;
    private readonly Lazy<Task<string>> _experimentId;
    private readonly TraceInfoCapture _capture = new();
    private readonly Channel<TraceInfoWire> _infos = Channel.CreateBounded<TraceInfoWire>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly Task _writer;
    private int _failing, _infoFailing;
    private long _infosInFlight; // queued or being written

    public MlflowTraceExporter(MlflowTraceExporterOptions options)
    {
        _options = options;
        var clientOptions = options.Client ?? MlflowClientOptions.FromEnvironment();
        _client = new MlflowClient(clientOptions);
        _logger = MlflowHttpPipeline.CreateLogger(clientOptions);
        _experimentId = new Lazy<Task<string>>(() => ResolveExperimentAsync(CancellationToken.None));
        var (server, auth) = MlflowClient.ResolveShared(clientOptions);
        var handler = new OtlpHandler(this, server, auth) { InnerHandler = MlflowHttpPipeline.CreateTransport(clientOptions) };
        _otlp = new OtlpTraceExporter(new OtlpExporterOptions
        {
            Endpoint = new Uri(server, "v1/traces"),
            Protocol = OtlpExportProtocol.HttpProtobuf,
            TimeoutMilliseconds = (int)options.ExportTimeout.TotalMilliseconds,
            HttpClientFactory = () => new HttpClient(handler, disposeHandler: false) { Timeout = options.ExportTimeout },
        });
        _writer = Task.Run(WriteInfosAsync);
    }

    public override ExportResult Export(in Batch<Activity> batch)
    {
        // A batch from the batch processor drains its buffer as it is enumerated: take it once, hand on a copy. The
        // traces' infos are built here, on the exporter's thread, before the spans are serialised.
        var spans = new List<Activity>();
        var infos = new List<TraceInfoWire>();
        foreach (var activity in batch)
        {
            spans.Add(activity);
            if (_capture.Process(activity) is { } info)
            {
                infos.Add(info);
            }
        }

        long count = spans.Count;
        var result = _otlp.Export(new Batch<Activity>([.. spans], spans.Count));
        if (result == ExportResult.Success)
        {
            _options.Statistics.Exported(count);
            if (Interlocked.Exchange(ref _failing, 0) == 1)
            {
                Log.Recovered(_logger);
            }

            foreach (var info in infos)
            {
                Interlocked.Increment(ref _infosInFlight);
                if (!_infos.Writer.TryWrite(info))
                {
                    Interlocked.Decrement(ref _infosInFlight);
                    _options.Statistics.TraceInfoFailure();
                }
            }
        }
        else
        {
            _options.Statistics.Failed(count); // and no info for traces whose spans are not there

            if (Interlocked.Exchange(ref _failing, 1) == 0)
            {
                Log.ExportFailed(_logger, count, _otlp.GetType().Name);
            }
        }

        return result;
    }

    protected override bool OnForceFlush(int timeoutMilliseconds)
    {
        var flushed = _otlp.ForceFlush(timeoutMilliseconds);
        var until = Stopwatch.StartNew();
        while (Interlocked.Read(ref _infosInFlight) > 0 && (timeoutMilliseconds < 0 || until.ElapsedMilliseconds < timeoutMilliseconds))
        {
            Thread.Sleep(10); // OpenTelemetry's flush is synchronous: wait (bounded) for the infos the async loop writes
        }

        return flushed && Interlocked.Read(ref _infosInFlight) == 0;
    }

    protected override bool OnShutdown(int timeoutMilliseconds)
    {
        var shut = _otlp.Shutdown(timeoutMilliseconds);
        _infos.Writer.TryComplete();
        var done = _writer.Wait(timeoutMilliseconds < 0 ? TimeSpan.FromSeconds(30) : TimeSpan.FromMilliseconds(timeoutMilliseconds)); // synchronous by OpenTelemetry's contract
        return shut && done;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _otlp.Dispose();
            _client.Dispose();
        }

        base.Dispose(disposing);
    }

    private async Task WriteInfosAsync()
    {
        await foreach (var info in _infos.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                using var timeout = new CancellationTokenSource(_options.ExportTimeout * 3);
                var experiment = await _experimentId.Value.ConfigureAwait(false);
                await _client.StartTraceAsync(info with { TraceLocation = TraceLocationWire.Experiment(experiment) }, timeout.Token).ConfigureAwait(false);
                _options.Statistics.TraceWritten();
                Interlocked.Exchange(ref _infoFailing, 0);
            }
#pragma warning disable CA1031 // a trace's info is best effort after its spans: counted and said once, the loop goes on
            catch (Exception ex)
#pragma warning restore CA1031
            {
                _options.Statistics.TraceInfoFailure();
                if (Interlocked.Exchange(ref _infoFailing, 1) == 0)
                {
                    Log.InfoFailed(_logger, info.TraceId ?? "", ex.Message.Split('\n')[0]);
                }
            }
            finally
            {
                Interlocked.Decrement(ref _infosInFlight);
            }
        }
    }

    internal Task<string> ExperimentIdAsync() => _experimentId.Value;

    private Task<string> ResolveExperimentAsync(CancellationToken cancellationToken) =>
        Tracking.ExperimentChoice.ResolveAsync(
            _options.ExperimentId, _options.ExperimentName,
            async (name, ct) => (await _client.FindExperimentByNameAsync(name, ct).ConfigureAwait(false))?.ExperimentId,
            (name, ct) => _client.CreateExperimentAsync(name, cancellationToken: ct), null, cancellationToken);

    /// <summary>Adds the experiment header and the credentials to OTLP requests (which OpenTelemetry sends synchronously on its exporter thread).</summary>
    private sealed class OtlpHandler(MlflowTraceExporter exporter, Uri server, IMlflowAuthProvider? auth) : DelegatingHandler
    {
        protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            // OpenTelemetry's exporter API is synchronous: on its own thread, wait for what is not ready yet (the
            // experiment's id once; a token being renewed). Static credentials and a known experiment never wait.
            var experiment = exporter.ExperimentIdAsync();
            request.Headers.TryAddWithoutValidation(TraceHeaders.ExperimentId, experiment.IsCompletedSuccessfully ? experiment.Result : experiment.GetAwaiter().GetResult());
            if (auth is not null && SameOrigin(request))
            {
                var authenticating = auth.AuthenticateAsync(request, cancellationToken);
                if (!authenticating.IsCompletedSuccessfully)
                {
                    authenticating.AsTask().GetAwaiter().GetResult();
                }
            }

            if (request.Content is { } content)
            {
                using var body = new MemoryStream();
                content.CopyTo(body, null, cancellationToken);
                TypeJsonAttributes(request, content, body.GetBuffer().AsSpan(0, (int)body.Length));
            }

            return base.Send(request, cancellationToken);
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.TryAddWithoutValidation(TraceHeaders.ExperimentId, await exporter.ExperimentIdAsync().ConfigureAwait(false));
            if (auth is not null && SameOrigin(request))
            {
                await auth.AuthenticateAsync(request, cancellationToken).ConfigureAwait(false);
            }

            if (request.Content is { } content)
            {
                TypeJsonAttributes(request, content, await content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
            }

            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        /// <summary>Inputs and outputs with the OTLP value types Python's client gives them (<see cref="OtlpJsonAttributes"/>).</summary>
        private static void TypeJsonAttributes(HttpRequestMessage request, HttpContent content, ReadOnlySpan<byte> body)
        {
            var typed = OtlpJsonAttributes.Rewrite(body);
            var replacement = new ByteArrayContent(typed ?? body.ToArray());
            foreach (var header in content.Headers)
            {
                if (!header.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                {
                    replacement.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }
            }

            request.Content = replacement;
            content.Dispose();
        }

        private bool SameOrigin(HttpRequestMessage request) =>
            request.RequestUri is { IsAbsoluteUri: true } uri && Uri.Compare(uri, server, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7001, Level = LogLevel.Warning, Message = "MLflow tracing: a batch of {Spans} spans could not be delivered to the tracking server after {Exporter}'s retries; its spans are dropped and counted (MlflowTraceExporterOptions.Statistics.SpansFailed). Said once until an export succeeds.")]
        public static partial void ExportFailed(ILogger logger, long spans, string exporter);

        [LoggerMessage(EventId = 7002, Level = LogLevel.Information, Message = "MLflow tracing: spans are delivered again.")]
        public static partial void Recovered(ILogger logger);

        [LoggerMessage(EventId = 7003, Level = LogLevel.Warning, Message = "MLflow tracing: the info of trace {TraceId} (run, user, session, tags) could not be written ({Reason}); its spans are in. Counted in Statistics.TraceInfoFailed; said once until one succeeds.")]
        public static partial void InfoFailed(ILogger logger, string traceId, string reason);
    }
}

/// <summary>The header MLflow's OTLP endpoint reads the experiment from.</summary>
internal static class TraceHeaders
{
    public const string ExperimentId = "x-mlflow-experiment-id";
}
