using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using OneId.Graph;
using OneId.Server.Api;
using OneId.Server.Configuration;
using OneId.Server.Security;
using OneId.Server.Tenants;
using OneId.Server.Webhooks;
using OneId.WeChat.Clients;
using OneId.WeChat.Http;
using OneId.WeChat.Ids;

namespace OneId.Server.Flows;

/// <param name="Followers">Follower openids read from user/get in this run.</param>
/// <param name="WithUnionId">Of those, how many came back from batchget with a unionid.</param>
/// <param name="NewPersons">Persons created (followers the hub had never seen).</param>
/// <param name="Changed">Observations that linked or merged something.</param>
/// <param name="ResumedAfter">The checkpoint this run continued from, or null for a fresh run.</param>
public sealed record BackfillResult(int Followers, [property: System.Text.Json.Serialization.JsonPropertyName("with_unionid")] int WithUnionId, int NewPersons, int Changed, int Conflicts, string? ResumedAfter);

/// <summary>
/// S12: a company that kept only openids fetches the unionids of every follower — <c>user/get</c> pages of 10,000, then
/// <c>user/info/batchget</c> by 100 — and the graph merges what belongs together. A checkpoint after every batch lets a
/// run stopped by a quota (45009) or a crash resume where it stopped.
/// </summary>
public sealed partial class LegacyBackfill(OfficialAccountClient oa, WebhookSignal signal, TimeProvider time, ILogger<LegacyBackfill> logger)
{
    public async Task<BackfillResult> RunAsync(HubTenant tenant, AppOptions app, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(app);
        var checkpoint = $"backfill:{app.AppId}";
        var resumedAfter = await tenant.Store.GetCheckpointAsync(checkpoint, cancellationToken).ConfigureAwait(false);
        var token = HubWeChat.TokenFor(app);
        var next = resumedAfter;
        int followers = 0, withUnion = 0, created = 0, changed = 0, conflicts = 0;
        while (true)
        {
            var page = await oa.GetFollowersAsync(token, next, cancellationToken).ConfigureAwait(false);
            foreach (var chunk in page.OpenIds.Chunk(OfficialAccountClient.MaxBatchSize))
            {
                var users = await oa.BatchGetUserInfoAsync(token, chunk, cancellationToken: cancellationToken).ConfigureAwait(false);
                var observations = users.Users
                    .Where(u => u.OpenId.Value is not null)
                    .Select(u => new Observation(
                        new[] { IdentityRecorder.OpenIdOf(app.AppId, u.OpenId.Value), IdentityRecorder.UnionIdOf(app, u.UnionId?.Value) }
                            .Where(i => i is not null).Select(i => i!.Value),
                        $"oa.backfill:{app.AppId}", time.GetUtcNow()))
                    .ToArray();
                var results = await tenant.Graph.ObserveManyAsync(observations, cancellationToken).ConfigureAwait(false);
                followers += chunk.Length;
                withUnion += users.Users.Count(u => u.UnionId is not null);
                created += results.Count(r => r.NewPerson);
                changed += results.Count(r => r.Events.Any(e => e.Kind is GraphEventKind.Linked or GraphEventKind.Merged));
                conflicts += results.Count(r => r.Outcome == ObserveOutcome.Rejected);
                // user/get's next_openid means "after this openid", so the last openid done is a complete checkpoint.
                await tenant.Store.SaveCheckpointAsync(checkpoint, chunk[^1].Value, cancellationToken).ConfigureAwait(false);
                signal.Notify();
            }
            LogPage(logger, app.AppId, followers, page.Total);
            // The doc does not pin what follows the last page (§2.3): an empty page, or an empty or repeated next_openid.
            if (page.Count == 0 || page.OpenIds.Count == 0 || string.IsNullOrEmpty(page.NextOpenId) || page.NextOpenId == next)
            {
                break;
            }
            next = page.NextOpenId;
        }
        await tenant.Store.DeleteCheckpointAsync(checkpoint, cancellationToken).ConfigureAwait(false);
        return new BackfillResult(followers, withUnion, created, changed, conflicts, resumedAfter);
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Backfill {AppId}: {Done} of {Total} followers")]
    private static partial void LogPage(ILogger logger, string appId, int done, int total);
}

public static class BackfillApi
{
    public static IEndpointRouteBuilder MapBackfillApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/oa/{appid}/backfill", RunAsync).RequireApiKey(admin: true).WithTags("Official Account web authorization");
        return app;
    }

    internal static async Task<Results<Ok<BackfillResult>, ProblemHttpResult>> RunAsync(string appid, HttpContext http, TenantRegistry tenants, LegacyBackfill backfill, CancellationToken ct)
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
        try
        {
            return TypedResults.Ok(await backfill.RunAsync(found.Tenant, found.App, ct).ConfigureAwait(false));
        }
        catch (WeChatApiException e)
        {
            // The checkpoint holds what was done; calling again resumes (after the quota resets, for 45009).
            return FlowProblems.FromWeChat(e);
        }
    }
}
