using MlOps.Client.Rest;
using MlOps.Client.Tracing;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace MlOps.Client.OpenTelemetry;

/// <summary><c>AddMlflowExporter</c>: OpenTelemetry traces to MLflow 3's trace view.</summary>
public static class MlflowTracerProviderBuilderExtensions
{
    /// <summary>Microsoft.Extensions.AI's <c>UseOpenTelemetry()</c> default source, which the exporter listens to as well.</summary>
    public const string MicrosoftExtensionsAISource = "Experimental.Microsoft.Extensions.AI";

    /// <summary>
    /// Sends the provider's spans to the MLflow tracking server, and listens to <see cref="MlflowTracing"/>'s source:
    /// OpenTelemetry's own OTLP exporter (HTTP/protobuf) to <c>{server}/v1/traces</c> with the
    /// <c>x-mlflow-experiment-id</c> header and the SDK's authentication, in batches (OpenTelemetry's batch processor:
    /// the application thread only queues); after a trace's spans are in, its info — the run it ran in
    /// (<c>mlflow.sourceRun</c>), model, user, session, tags, previews, token usage — is written as Python MLflow's
    /// exporter writes it. Microsoft.Extensions.AI's chat and embedding spans (<see cref="MicrosoftExtensionsAISource"/>)
    /// are listened to too, their messages and token usage shown as MLflow shows a chat model's; add other sources
    /// (ASP.NET Core, HttpClient…) as usual. With an embedded store (<c>sqlite:///…</c>, or no tracking URI at all: the
    /// SDK's default <c>sqlite:///mlflow.db</c>) the spans and infos go into the file's MLflow 3 tables instead, as the
    /// server would store them (a new file is created in MLflow 3's schema).
    /// </summary>
    /// <param name="builder">The tracer provider builder.</param>
    /// <param name="configure">Sets the server and experiment (else the <c>MLFLOW_*</c> environment).</param>
    public static TracerProviderBuilder AddMlflowExporter(this TracerProviderBuilder builder, Action<MlflowTraceExporterOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new MlflowTraceExporterOptions();
        configure?.Invoke(options);
        var client = options.Client ?? MlflowClientOptions.FromEnvironment();
        var uri = string.IsNullOrWhiteSpace(client.TrackingUri) ? Stores.TrackingStores.DefaultUri : client.TrackingUri.Trim();
        BaseExporter<System.Diagnostics.Activity> exporter = uri.StartsWith("sqlite:", StringComparison.OrdinalIgnoreCase)
            ? new SqliteTraceExporter(options, uri, MlflowHttpPipeline.CreateLogger(client))
            : new MlflowTraceExporter(options);
        return builder
            .AddSource(MlflowTracing.ActivitySourceName)
            .AddSource(MicrosoftExtensionsAISource)
            .AddProcessor(new BatchActivityExportProcessor(exporter));
    }
}
