using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OneId.Server.Security;
using OneId.Server.Tenants;
using OneId.Server.Webhooks;
using OneId.WeChat.Ids;
using OneId.WeChat.Tokens;

namespace OneId.Server.Api;

public sealed record WebhookStateView(int Index, string Url, IReadOnlyList<string> Events, long Sequence, long Head, long Lag, int Attempts,
    DateTimeOffset? NextAttemptAt, string? LastError);

public sealed record RedeliverRequest(long? After);

public sealed record TokenStateView(string State, DateTimeOffset? ExpiresAt);

public sealed record AppStateView(string Appid, string Type, string? UnionSpace, string? ComponentAppid, TokenStateView Token);

/// <summary>A WeCom app of a configured corp, as the jobs page offers it for the existing-customer backfill.</summary>
public sealed record CorpAppView(string Corpid, string App, string Kind);

/// <summary>
/// What the hub itself is doing, for operators: each webhook's delivery cursor (and redelivery), each app's access
/// token state. Never a secret, a token or a webhook's signing key.
/// </summary>
public static class HubStateApi
{
    public static IEndpointRouteBuilder MapHubStateApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v1").WithTags("Operator");
        api.MapGet("/webhooks", ListWebhooksAsync).RequireApiKey(admin: true);
        api.MapPost("/webhooks/{webhook}/redeliver", RedeliverAsync).RequireApiKey(admin: true).Audited("webhook.redeliver");
        api.MapGet("/apps", ListAppsAsync).RequireApiKey();
        api.MapGet("/corp-apps", ListCorpApps).RequireApiKey();
        return app;
    }

    private static HubTenant TenantOf(HttpContext http, TenantRegistry tenants) =>
        tenants.Get(http.Caller().Tenant) ?? throw new InvalidOperationException("the key's tenant is no longer configured");

    internal static async Task<Ok<WebhookStateView[]>> ListWebhooksAsync(HttpContext http, TenantRegistry tenants, CancellationToken ct)
    {
        var tenant = TenantOf(http, tenants);
        var head = (await tenant.Graph.GetVersionAsync(ct).ConfigureAwait(false)).Events;
        var views = new List<WebhookStateView>();
        for (var i = 0; i < tenant.Options.Webhooks.Count; i++)
        {
            var webhook = tenant.Options.Webhooks[i];
            var cursor = await tenant.WebhookCursors.GetWebhookCursorAsync(WebhookDispatcher.CursorName(i, webhook), ct).ConfigureAwait(false);
            views.Add(new WebhookStateView(i, webhook.Url, webhook.Events, cursor.Sequence, head, Math.Max(0, head - cursor.Sequence), cursor.Attempts,
                cursor.NextAttemptAt == DateTimeOffset.MinValue || cursor.NextAttemptAt.ToUnixTimeMilliseconds() <= 0 ? null : cursor.NextAttemptAt, cursor.LastError));
        }
        return TypedResults.Ok(views.ToArray());
    }

    internal static async Task<Results<Ok<WebhookStateView>, ProblemHttpResult>> RedeliverAsync(string webhook, RedeliverRequest? request, HttpContext http,
        TenantRegistry tenants, WebhookDispatcher dispatcher, CancellationToken ct)
    {
        var tenant = TenantOf(http, tenants);
        if (!int.TryParse(webhook, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index)
            || index >= tenant.Options.Webhooks.Count)
        {
            return Problems.NotFound("Unknown webhook", $"This tenant has {tenant.Options.Webhooks.Count} webhooks, numbered from 0 as GET /v1/webhooks lists them.");
        }
        var head = (await tenant.Graph.GetVersionAsync(ct).ConfigureAwait(false)).Events;
        if (request?.After is not { } after || after < 0 || after > head)
        {
            return Problems.BadRequest("Bad sequence", $"Send {{\"after\":N}} with 0 ≤ N ≤ {head}: every event after sequence N is delivered again.");
        }
        if (!await dispatcher.RedeliverAsync(tenant, index, after, ct).ConfigureAwait(false))
        {
            return Problems.Conflict("Delivery in progress elsewhere", "Another hub instance holds this webhook's delivery lease; try again within a minute.");
        }
        OperatorAudit.Note(http, $"from sequence {after + 1}");
        var views = (await ListWebhooksAsync(http, tenants, ct).ConfigureAwait(false)).Value!;
        return TypedResults.Ok(views[index]);
    }

    /// <summary>The tenant's WeCom apps (corpid, app name, kind): what a <c>wecom_contacts_backfill</c> job names.</summary>
    internal static Ok<CorpAppView[]> ListCorpApps(HttpContext http, TenantRegistry tenants) =>
        TypedResults.Ok(TenantOf(http, tenants).Options.Corps.SelectMany(c => c.Apps.Select(a => new CorpAppView(c.CorpId, a.Name, a.Kind))).ToArray());

    internal static async Task<Ok<AppStateView[]>> ListAppsAsync(HttpContext http, TenantRegistry tenants, IServiceProvider services, TimeProvider time, CancellationToken ct)
    {
        var tenant = TenantOf(http, tenants);
        var store = services.GetService<ITokenStore>();
        var now = time.GetUtcNow();
        var views = new List<AppStateView>();
        foreach (var app in tenant.Options.Apps)
        {
            TokenStateView state = new("none", null);
            if (store is not null && AppId.TryParse(app.AppId, out var appId))
            {
                // An app run by a third-party platform uses the platform's authorizer token (component API).
                var key = app.ComponentAppId is { } c && AppId.TryParse(c, out var component) ? TokenKey.Authorizer(component, appId) : TokenKey.App(appId);
                if (await store.GetTokenAsync(key.StoreKey, ct).ConfigureAwait(false) is { } stored)
                {
                    state = new TokenStateView(stored.ExpiresAt > now ? "valid" : "expired", stored.ExpiresAt);
                }
            }
            views.Add(new AppStateView(app.AppId, app.Type, app.UnionSpace, app.ComponentAppId, state));
        }
        return TypedResults.Ok(views.ToArray());
    }
}
