using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using OneId.Server.Api;
using OneId.Server.Application;
using OneId.Server.Configuration;
using OneId.Server.Security;
using OneId.Server.Tenants;
using OneId.WeChat.Tokens;

namespace OneId.Server.Flows;

/// <summary>HTTP for S12, the OA follower backfill (<see cref="FollowerBackfill"/>).</summary>
public static class BackfillApi
{
    public static IEndpointRouteBuilder MapBackfillApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/oa/{appid}/backfill", RunAsync).RequireApiKey(admin: true).WithTags("Official Account web authorization").AddEndpointFilter<FlowErrorFilter>();
        return app;
    }

    internal static async Task<Results<Ok<BackfillResult>, ProblemHttpResult>> RunAsync(string appid, HttpContext http, TenantRegistry tenants, FollowerBackfill backfill, ITokenStore tokens, CancellationToken ct)
    {
        if (tenants.FindApp(appid) is not { } found)
        {
            return FlowProblems.UnknownApp(appid);
        }
        if (found.App.Type != AppTypes.OfficialAccount)
        {
            return FlowProblems.WrongAppType(appid, found.App.Type, "official accounts (only they have followers)");
        }
        if (found.Tenant.Name != http.Caller().Tenant)
        {
            return Problems.Forbidden("Tenant not allowed", $"App {appid} belongs to another tenant than this key.");
        }
        // Before any WeChat call: a platform's app that has not authorized it is a 400 that says to authorize first.
        await PlatformApps.EnsureAuthorizedAsync(tokens, found.App, ct).ConfigureAwait(false);
        // A WeChat failure leaves the checkpoint: calling again resumes (after the quota resets, for 45009).
        return TypedResults.Ok(await backfill.RunAsync(found.Tenant, found.App, ct).ConfigureAwait(false));
    }
}
