using System.Text;
using System.Text.RegularExpressions;
using MlOps.Client.Tracing;
using OpenTelemetry;
using OpenTelemetry.Trace;
using WireMock.Server;

namespace MlOps.Client.OpenTelemetry.Tests;

/// <summary>
/// The tracking server stops in the middle of a stream of traces (connections refused) and starts again on the same
/// port, with the exporter's default settings: every span the server received it received once, and every span it did
/// not receive is in <see cref="MlflowTraceExportStatistics.SpansFailed"/> — none is lost uncounted.
/// </summary>
public sealed partial class OutageTests : IDisposable
{
    private readonly int _port;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _received = new(); // counted as each request arrives
    private WireMockServer? _server;

    public OutageTests()
    {
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        _port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
    }

    public void Dispose() => _server?.Stop();

    private void Start()
    {
        _server = FakeTraceEndpoints.Start(_port);
        FakeTraceEndpoints.Answer(_server, onSpans: body =>
        {
            foreach (Match m in SpanName().Matches(Encoding.UTF8.GetString(body)))
            {
                _received.Enqueue(m.Value); // counted as each request arrives
            }
        });

        // Starting is not immediate either: on a loaded machine the first connections after Start were refused or
        // reset (the healthy phase after the restart then failed, counted). Wait (at most 30 s) until it answers HTTP.
        using var cap = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        while (true)
        {
            try
            {
                using var answer = probe.Send(new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{_port}/ready-probe"), cap.Token);
                return; // any HTTP answer (404 here) means it serves requests
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cap.IsCancellationRequested)
            {
                Thread.Sleep(20);
            }
        }
    }

    private void Stop()
    {
        var server = _server!;
        server.Stop();
        _server = null;
        // Stopping is not immediate: wait (at most 30 s) until the port refuses connections, as a stopped server's does.
        using var cap = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            using var client = new System.Net.Sockets.TcpClient();
            try
            {
                client.Connect(System.Net.IPAddress.Loopback, _port);
            }
            catch (System.Net.Sockets.SocketException)
            {
                break;
            }

            Assert.False(cap.IsCancellationRequested, "the stopped server still accepts connections after 30 s");
            Thread.Sleep(20);
        }


    }

    [Fact]
    public void Spans_arrive_once_or_are_counted_across_an_outage()
    {
        var options = new MlflowTraceExporterOptions();
        var received = new List<string>();
        using (var provider = Sdk.CreateTracerProviderBuilder()
            .AddMlflowExporter(o =>
            {
                o.Client = new MlflowClientOptions { TrackingUri = $"http://127.0.0.1:{_port}" };
                o.ExperimentId = "1";
                options = o;
            })
            .Build()!)
        {
            var n = 0;
            void Emit()
            {
                for (var i = 0; i < 10; i++)
                {
                    using var span = MlflowTracing.StartSpan($"outage-{n++:D3}", SpanType.Chain);
                }

                provider.ForceFlush(120_000); // bounded: the exporter's retries give up within their budget
            }

            Start();
            Emit();
            Stop(); // the server goes away
            Emit();
            Start(); // and comes back
            Emit();
            Stop();
        }

        received.AddRange(_received);

        Assert.Equal(received.Count, received.Distinct().Count()); // none twice
        Assert.Equal(30, received.Count + options.Statistics.SpansFailed); // none lost uncounted
        Assert.Equal(received.Count, options.Statistics.SpansExported);
        Assert.True(received.Count >= 20, $"the spans of the two healthy phases arrive: {received.Count} ({string.Join(",", received.Order())})");
        Console.WriteLine($"outage: received {received.Count}, counted failed {options.Statistics.SpansFailed}");
    }

    [GeneratedRegex("outage-[0-9]{3}")]
    private static partial Regex SpanName();
}
