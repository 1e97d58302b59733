using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OneId.Server.Api;
using OneId.Server.Configuration;
using OneId.Server.Application;
using OneId.Storage.Secrets;
using OneId.Server.Flows;
using OneId.Server.Security;
using OneId.Server.Tenants;
using OneId.Server.Webhooks;
using OneId.Server.Observability;

namespace OneId.Server;

public static class HubExtensions
{
    /// <summary>
    /// Registers the hub: options bound from configuration (oneid.json, ONEID_* variables) and validated at start,
    /// tenants, API keys, session-key protection, webhooks, ProblemDetails and OpenAPI. Safe to call twice.
    /// </summary>
    public static IHostApplicationBuilder AddOneIdHub(this IHostApplicationBuilder builder, Action<HubOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(HubMarker)))
        {
            return builder;
        }
        services.AddSingleton<HubMarker>();
        services.AddOptions<HubOptions>()
            .Bind(builder.Configuration)
            .Configure(o => configure?.Invoke(o))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<HubOptions>, HubOptionsSecrets>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HubOptions>, HubOptionsValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<TenantRegistry>();
        services.TryAddSingleton<ApiKeys>();
        services.TryAddSingleton<OneId.Server.Callbacks.PushGuard>();
        services.TryAddSingleton(sp => DataProtector.FromBase64(sp.GetRequiredService<IOptions<HubOptions>>().Value.DataKey));
        services.TryAddSingleton<PersonReadCache>();
        services.TryAddSingleton<OperatorAudit>();
        services.TryAddSingleton<ConsoleSessions>();
        services.AddHostedService<HubStartup>();
        services.AddOneIdWebhooks();
        services.AddOneIdApplication();
        builder.AddOneIdTelemetry();

        services.AddProblemDetails();
        services.AddExceptionHandler<HubExceptionHandler>();
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            o.SerializerOptions.DictionaryKeyPolicy = null;
        });
        services.AddOpenApi();
        return builder;
    }

    /// <summary>Maps every endpoint of the hub.</summary>
    public static WebApplication MapOneIdHub(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseRequestLimits();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.MapOpenApi();
        app.MapQueryApi();
        app.MapOperatorApi();
        app.MapHubStateApi();
        app.MapConsole();
        app.MapFlowApis();
        app.MapInboxApi();
        app.MapJobsApi();
        app.MapHealthApi();
        return app;
    }

    private sealed class HubMarker;
}
