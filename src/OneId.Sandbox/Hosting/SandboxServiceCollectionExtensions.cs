using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OneId.Sandbox.Endpoints;
using OneId.Sandbox.Pushes;
using OneId.Sandbox.State;
using OneId.Sandbox.World;

namespace OneId.Sandbox.Hosting;

/// <summary>Mounting the sandbox in any ASP.NET Core app: <c>AddOneIdSandbox</c> then <c>MapOneIdSandbox</c>.</summary>
public static class SandboxServiceCollectionExtensions
{
    /// <summary>
    /// Registers the sandbox (state, push dispatcher, background loop) for <paramref name="world"/>. Safe to call
    /// twice: the first registration wins.
    /// </summary>
    public static IServiceCollection AddOneIdSandbox(this IServiceCollection services, SandboxWorld world, SandboxHostOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(world);
        options ??= new SandboxHostOptions();
        options.Clock ??= new SandboxClock();
        services.TryAddSingleton(options);
        services.TryAddSingleton(sp => new SandboxRuntime(world, sp.GetRequiredService<SandboxHostOptions>(), sp.GetRequiredService<ILogger<SandboxRuntime>>()));
        services.TryAddSingleton(sp => sp.GetRequiredService<SandboxRuntime>().Clock);
        services.TryAddSingleton(sp => new PushDispatcher(sp.GetRequiredService<SandboxHostOptions>(), sp.GetRequiredService<SandboxClock>(), sp.GetRequiredService<ILogger<PushDispatcher>>()));
        services.TryAddSingleton<SandboxEvents>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SandboxBackgroundService>());
        return services;
    }

    /// <summary>
    /// Maps the emulated endpoints at their real paths under <paramref name="prefix"/>: OA/MP/Open Platform at the
    /// root, WeCom under /qyapi, the browser pages under /open, and the control API under /_sandbox.
    /// </summary>
    public static IEndpointRouteBuilder MapOneIdSandbox(this IEndpointRouteBuilder endpoints, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        prefix = prefix.TrimEnd('/');
        var official = endpoints.MapGroup(prefix + "/").AddEndpointFilter(new SandboxApiFilter(ApiFlavor.Official));
        OfficialAccountEndpoints.Map(official);
        SnsEndpoints.Map(official);
        MiniProgramEndpoints.Map(official);
        ComponentEndpoints.Map(official);
        var weCom = endpoints.MapGroup(prefix + "/qyapi").AddEndpointFilter(new SandboxApiFilter(ApiFlavor.WeCom));
        WeComEndpoints.Map(weCom);
        ControlEndpoints.Map(endpoints.MapGroup(prefix + "/_sandbox"));
        AuthorizePages.Map(endpoints.MapGroup(prefix + "/"));
        return endpoints;
    }
}
