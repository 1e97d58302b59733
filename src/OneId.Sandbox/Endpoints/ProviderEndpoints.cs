using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OneId.Sandbox.State;
using static OneId.Sandbox.Endpoints.ApiContext;

namespace OneId.Sandbox.Endpoints;

/// <summary>
/// A WeCom service provider's own APIs (provider_access_token) for its id upgrade: a corp that authorized the
/// provider's apps before the upgrade sees plain corpid and userids and old external_userids until the corp admin
/// agrees (the agree_external_userid_migration push) and the provider converts its stored ids
/// (corpid_to_opencorpid, batch/userid_to_openuserid, get_new_external_userid) and flips the switches
/// (finish_external_userid_migration, finish_openid_migration). After a switch the corp's APIs and pushes carry the
/// new ids only.
/// </summary>
internal static class ProviderEndpoints
{
    public static void Map(RouteGroupBuilder qy)
    {
        qy.MapPost("/cgi-bin/service/get_provider_token", GetProviderTokenAsync);
        qy.MapPost("/cgi-bin/service/corpid_to_opencorpid", CorpIdToOpenCorpIdAsync);
        qy.MapPost("/cgi-bin/service/externalcontact/finish_external_userid_migration", FinishExternalUserIdMigrationAsync);
        // The older path of the same switch, as some SDKs still call it.
        qy.MapPost("/cgi-bin/externalcontact/finish_external_userid_migration", FinishExternalUserIdMigrationAsync);
        qy.MapPost("/cgi-bin/service/finish_openid_migration", FinishOpenIdMigrationAsync);
    }

    /// <summary>service/get_provider_token: the provider's corpid + provider_secret → provider_access_token (7200 s).</summary>
    private static async Task<IResult> GetProviderTokenAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var state = StateOf(http);
        var body = await WeChatResult.ReadBodyAsync(http.Request, cancellationToken).ConfigureAwait(false);
        var corpid = Text(body, "corpid") ?? throw new WeChatApiException(41002);
        var secret = Text(body, "provider_secret") ?? throw new WeChatApiException(41004);
        var provider = state.ProviderIds().FirstOrDefault(p => string.Equals(state.ProviderCredentials(p).Corpid, corpid, StringComparison.OrdinalIgnoreCase))
            ?? throw new WeChatApiException(40013);
        if (!string.Equals(state.ProviderCredentials(provider).Secret, secret, StringComparison.Ordinal))
        {
            throw new WeChatApiException(40001);
        }
        var grant = state.Tokens.IssueProviderToken(provider);
        return WeChatResult.Ok(new JsonObject { ["provider_access_token"] = grant.Token, ["expires_in"] = state.Tokens.SecondsLeft(grant) });
    }

    /// <summary>The provider of a provider_access_token: 41001 missing, 40082-like refusals as 40014 for other tokens.</summary>
    private static string ProviderOf(HttpContext http, SandboxWorldState state)
    {
        TokenGrant grant;
        try
        {
            grant = state.Tokens.Require(Query(http, "provider_access_token"));
        }
        catch (WeChatApiException ex) when (ex.Errcode == 40001)
        {
            throw new WeChatApiException(40014);
        }
        return grant.Kind == TokenKind.Provider ? grant.Owner : throw new WeChatApiException(40014);
    }

    /// <summary>A corp (named by plain or open corpid) where the provider has an app; 40013 otherwise.</summary>
    private static CorpAppRef CorpOf(SandboxWorldState state, string provider, string? corpid)
    {
        if (corpid is null)
        {
            throw new WeChatApiException(41002);
        }
        return state.ProviderApps(provider).FirstOrDefault(a => string.Equals(a.Corp.Corpid, corpid, StringComparison.OrdinalIgnoreCase)
                || string.Equals(IdDeriver.OpenCorpId(a.Corp.Corpid, provider), corpid, StringComparison.Ordinal))
            ?? throw new WeChatApiException(40013);
    }

    /// <summary>corpid_to_opencorpid: only for corps that authorized one of the provider's apps.</summary>
    private static async Task<IResult> CorpIdToOpenCorpIdAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var state = StateOf(http);
        var provider = ProviderOf(http, state);
        var body = await WeChatResult.ReadBodyAsync(http.Request, cancellationToken).ConfigureAwait(false);
        var app = CorpOf(state, provider, Text(body, "corpid"));
        return WeChatResult.Ok(new JsonObject { ["open_corpid"] = IdDeriver.OpenCorpId(app.Corp.Corpid, provider) });
    }

    /// <summary>
    /// finish_external_userid_migration: from now on the corp's APIs and pushes carry the new external_userids
    /// (get_new_external_userid keeps mapping old ones). Before the corp admin agreed: 48002 (our choice of code).
    /// </summary>
    private static async Task<IResult> FinishExternalUserIdMigrationAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var state = StateOf(http);
        var provider = ProviderOf(http, state);
        var body = await WeChatResult.ReadBodyAsync(http.Request, cancellationToken).ConfigureAwait(false);
        var view = AgreedView(state, CorpOf(state, provider, Text(body, "corpid")));
        view.ExternalUpgraded = true;
        return WeChatResult.Ok();
    }

    /// <summary>
    /// finish_openid_migration: openid_type 1 switches corpid and userid together (open corpid, open_userid), 3 the
    /// external_userid; other values answer 40058.
    /// </summary>
    private static async Task<IResult> FinishOpenIdMigrationAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var state = StateOf(http);
        var provider = ProviderOf(http, state);
        var body = await WeChatResult.ReadBodyAsync(http.Request, cancellationToken).ConfigureAwait(false);
        var types = (body["openid_type"] as JsonArray)?.Select(n => n is JsonValue v && v.TryGetValue<int>(out var t) ? t : -1).ToList() ?? [];
        if (types.Count == 0 || types.Exists(t => t is not (1 or 3)))
        {
            throw new WeChatApiException(40058);
        }
        var view = AgreedView(state, CorpOf(state, provider, Text(body, "corpid")));
        if (types.Contains(1))
        {
            view.OpenIdsUpgraded = true;
        }
        if (types.Contains(3))
        {
            view.ExternalUpgraded = true;
        }
        return WeChatResult.Ok();
    }

    private static ProviderView AgreedView(SandboxWorldState state, CorpAppRef app)
    {
        var view = state.ViewOf(app);
        return view.Agreed ? view : throw new WeChatApiException(48002);
    }
}
