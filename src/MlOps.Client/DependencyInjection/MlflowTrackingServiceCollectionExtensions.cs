using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MlOps.Client;
using MlOps.Client.Stores;
using MlOps.Client.Tracking;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the <see cref="Tracker"/> in a dependency-injection container.</summary>
public static class MlflowTrackingServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="Tracker"/> over the store that <see cref="MlflowClientOptions.TrackingUri"/>
    /// names (env <c>MLFLOW_TRACKING_URI</c>, configuration <c>Mlflow:TrackingUri</c>, or code; the embedded
    /// <c>sqlite:///mlflow.db</c> when none), and a hosted service that, when the host stops
    /// (<see cref="IHostApplicationLifetime.ApplicationStopping"/>), ends open runs and delivers what was logged.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Tracker options set in code.</param>
    /// <param name="configureClient">Client options set in code (tracking URI, credentials…).</param>
    public static IServiceCollection AddMlflowTracking(
        this IServiceCollection services, Action<TrackerOptions>? configure = null, Action<MlflowClientOptions>? configureClient = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddMlflowClient(configureClient);
        services.AddOptions<TrackerOptions>().Configure<IServiceProvider>(static (options, sp) =>
        {
            if (sp.GetService<TimeProvider>() is { } time)
            {
                options.TimeProvider = time;
            }
        });
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddSingleton(static sp =>
        {
            var clientOptions = sp.GetRequiredService<IOptions<MlflowClientOptions>>().Value;
            var loggerFactory = sp.GetService<ILoggerFactory>();
            var options = sp.GetRequiredService<IOptions<TrackerOptions>>().Value;
            // The singleton tracker owns a client of its own (not the transient typed client of the container, which a
            // singleton would capture for the life of the process).
            var store = TrackingStores.Open(clientOptions);
            return new Tracker(store, options, loggerFactory, ownsStore: true);
        });
        services.AddHostedService<TrackerShutdownService>();
        return services;
    }

    /// <summary>Ends open runs and flushes the tracker when the host stops.</summary>
    private sealed class TrackerShutdownService(IServiceProvider services, IHostApplicationLifetime? lifetime = null) : IHostedService
    {
        private CancellationTokenRegistration _registration;
        private Task? _stopping;
        private readonly object _gate = new();

        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (lifetime is not null)
            {
                // Start ending runs as soon as the host begins stopping, without blocking its callback thread.
                _registration = lifetime.ApplicationStopping.Register(() => Stop());
            }

            return Task.CompletedTask;
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            await _registration.DisposeAsync().ConfigureAwait(false);
            await Stop().ConfigureAwait(false);
        }

        private Task Stop()
        {
            lock (_gate)
            {
                return _stopping ??= StopTrackerAsync();
            }
        }

        private async Task StopTrackerAsync()
        {
            if (services.GetService<Tracker>() is { } tracker)
            {
                await tracker.EndOpenRunsAsync(MlOps.Client.RunStatus.Finished, tracker.Options.Uploader.ShutdownTimeout).ConfigureAwait(false);
                await tracker.FlushAsync(tracker.Options.Uploader.ShutdownTimeout).ConfigureAwait(false);
            }
        }
    }
}
