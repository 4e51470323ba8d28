using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;

namespace Imprint.Clouds.OpenStack;

/// <summary>Registers the <c>openstack</c> connector.</summary>
public static class OpenStackServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="GlanceConnector"/> as an <see cref="ICloudConnector"/> and <see cref="GlanceUploader"/>, with their HttpClients:
    /// API calls get a per-request timeout and retries with exponential backoff for safe requests (GET); image bytes get neither.
    /// Options come from the <c>OpenStack</c> configuration section (<see cref="OpenStackOptions"/>), validated at start.
    /// </summary>
    public static IServiceCollection AddOpenStackConnector(this IServiceCollection services, Action<OpenStackOptions>? configure = null)
    {
        var options = services.AddOptions<OpenStackOptions>().BindConfiguration(OpenStackOptions.Section)
            .Validate(o => OpenStackOptions.Check(o) is null, "invalid OpenStack options: PageSize 1..1000, FullSyncEvery >= 1, Retries 0..10, positive timeouts, ContentByteCap >= 0")
            .ValidateOnStart();
        if (configure is not null)
            options.Configure(configure);
        services.AddHttpClient(OpenStackHttp.ApiClient, http => http.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(sp => Handler(sp))
            .AddResilienceHandler("openstack", (pipeline, context) =>
            {
                var o = context.ServiceProvider.GetRequiredService<IOptions<OpenStackOptions>>().Value;
                var retry = new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = Math.Max(o.Retries, 1),
                    Delay = o.RetryDelay,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    ShouldRetryAfterHeader = true,
                };
                // Creating an image or uploading bytes twice is not harmless: only safe methods are repeated, and the
                // requests marked repeatable (asking Keystone for a token).
                var handles = retry.ShouldHandle;
                retry.ShouldHandle = async args => args.Context.GetRequestMessage() is { } request && OpenStackHttp.IsRepeatable(request) && await handles(args);
                if (o.Retries > 0)
                    pipeline.AddRetry(retry);
                pipeline.AddTimeout(o.RequestTimeout);
            });
        services.AddHttpClient(OpenStackHttp.TransferClient, http => http.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(sp => Handler(sp));
        services.AddSingleton<KeystoneAuthenticator>();
        services.AddSingleton(sp => new GlanceConnector(sp.GetRequiredService<IHttpClientFactory>(), sp.GetRequiredService<KeystoneAuthenticator>(),
            sp.GetRequiredService<IOptions<OpenStackOptions>>(), sp.GetRequiredService<ILogger<GlanceConnector>>()));
        services.AddSingleton<ICloudConnector>(sp => sp.GetRequiredService<GlanceConnector>());
        services.AddSingleton(sp => new GlanceUploader(sp.GetRequiredService<IHttpClientFactory>(), sp.GetRequiredService<KeystoneAuthenticator>(),
            sp.GetRequiredService<IOptions<OpenStackOptions>>(), sp.GetRequiredService<ILogger<GlanceUploader>>()));
        services.AddSingleton<IImageUploader>(sp => sp.GetRequiredService<GlanceUploader>());
        services.TryAddSingleton(TimeProvider.System);
        return services;
    }

    private static SocketsHttpHandler Handler(IServiceProvider services)
    {
        var o = services.GetRequiredService<IOptions<OpenStackOptions>>().Value;
        return new SocketsHttpHandler
        {
            ConnectTimeout = o.ConnectTimeout,
            // Fresh DNS now and then for long-lived processes; connections are reused between pages.
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            AutomaticDecompression = System.Net.DecompressionMethods.All,
        };
    }
}
