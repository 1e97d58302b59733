using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OneId.Server.Callbacks;

namespace OneId.Server.Flows;

public static class FlowExtensions
{
    /// <summary>The WeChat clients (pointed by configuration at WeChat or the sandbox) and the pieces the flows share.</summary>
    public static IServiceCollection AddOneIdFlows(this IServiceCollection services)
    {
        services.AddHubWeChat();
        services.TryAddSingleton<IdentityRecorder>();
        services.TryAddSingleton<LoginSessions>();
        services.TryAddSingleton<LegacyBackfill>();
        return services;
    }

    public static IEndpointRouteBuilder MapFlowApis(this IEndpointRouteBuilder app)
    {
        app.MapMiniProgramApi();
        app.MapWebAuthApi();
        app.MapCallbackApi();
        app.MapBackfillApi();
        return app;
    }
}
