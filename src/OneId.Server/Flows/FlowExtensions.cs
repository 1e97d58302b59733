using Microsoft.AspNetCore.Routing;
using OneId.Server.Callbacks;

namespace OneId.Server.Flows;

public static class FlowExtensions
{
    /// <summary>The endpoints of the flows: each translates HTTP into one operation of the application layer and back.</summary>
    public static IEndpointRouteBuilder MapFlowApis(this IEndpointRouteBuilder app)
    {
        app.MapMiniProgramApi();
        app.MapWebAuthApi();
        app.MapCallbackApi();
        app.MapBackfillApi();
        return app;
    }
}
