using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace OneId.Server.Flows;

public static class FlowExtensions
{
    public static IServiceCollection AddOneIdFlows(this IServiceCollection services) => services;

    public static IEndpointRouteBuilder MapFlowApis(this IEndpointRouteBuilder app) => app;
}
