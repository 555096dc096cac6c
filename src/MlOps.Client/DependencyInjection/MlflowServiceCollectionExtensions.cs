using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MlOps.Client;
using MlOps.Client.Rest;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers MlOps.Client services in a dependency-injection container.</summary>
public static class MlflowServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="MlflowClient"/> as a typed client through <see cref="IHttpClientFactory"/>, with
    /// <see cref="MlflowClientOptions"/> bound in this order (later wins): the <c>MLFLOW_*</c> environment
    /// variables, the <c>Mlflow</c> section of the registered <see cref="IConfiguration"/>, then
    /// <paramref name="configure"/>. Logging uses the container's <see cref="ILoggerFactory"/>; a registered
    /// <see cref="TimeProvider"/> is used for retries and timeouts.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Code settings, applied last.</param>
    /// <returns>The HTTP client builder, to add handlers or configure the primary handler.</returns>
    public static IHttpClientBuilder AddMlflowClient(this IServiceCollection services, Action<MlflowClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<MlflowClientOptions>()
            .Configure<IServiceProvider>(static (options, sp) =>
            {
                options.ApplyEnvironment(Environment.GetEnvironmentVariable);
                if (sp.GetService<IConfiguration>() is { } configuration)
                {
                    options.ApplyConfiguration(configuration);
                }

                options.LoggerFactory ??= sp.GetService<ILoggerFactory>();
                options.AuthProvider ??= sp.GetService<IMlflowAuthProvider>(); // a gateway's provider registered in the container
                if (sp.GetService<TimeProvider>() is { } time)
                {
                    options.TimeProvider = time;
                }
            });
        if (configure is not null)
        {
            services.Configure(configure);
        }

        return services.AddHttpClient<MlflowClient>()
            .ConfigurePrimaryHttpMessageHandler(static sp =>
            {
                var options = sp.GetRequiredService<IOptions<MlflowClientOptions>>().Value;
                return options.Transport is { } transport ? new NonDisposingHandler(transport) : MlflowHttpPipeline.CreateTransport(options);
            })
            .ConfigureAdditionalHttpMessageHandlers(static (handlers, sp) =>
            {
                var options = sp.GetRequiredService<IOptions<MlflowClientOptions>>().Value;
                var logger = MlflowHttpPipeline.CreateLogger(options);
                var (server, auth) = MlflowClient.ResolveShared(options);
                foreach (var handler in MlflowHttpPipeline.CreateHandlers(options, server, auth, logger))
                {
                    handlers.Add(handler);
                }
            });
    }

    /// <summary>Keeps a user-supplied transport alive when the factory recycles its handlers.</summary>
    private sealed class NonDisposingHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        // The user owns the transport: dispose this wrapper without disposing the inner handler.
        protected override void Dispose(bool disposing) => base.Dispose(false);
    }
}
