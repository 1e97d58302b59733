using System.Text.Json;
using OneId.Graph;
using OneId.Server.Configuration;
using OneId.Server.Tenants;
using OneId.WeChat.Clients;
using OneId.WeChat.Crypto;
using OneId.WeChat.Ids;
using OneId.WeChat.Models;

namespace OneId.Server.Application;

/// <summary>What a login gave: the hub's login token and the person it stands for.</summary>
public sealed record LoginOutcome(string Token, PersonId? Person, OpenId OpenId, UnionId? UnionId, bool NewPerson, DateTimeOffset ExpiresAt);

/// <summary>What a flow that adds to a known user's person gave.</summary>
public sealed record LinkOutcome(PersonId? Person, OpenId OpenId, UnionId? UnionId, bool NewPerson);

/// <summary>Open data exactly as wx.getUserInfo returned it.</summary>
public sealed record MiniProgramOpenDataInput(string EncryptedData, string Iv, string RawData, string Signature);

/// <summary>
/// Mini Program triggers: S4 login (code2Session → the hub's login token), S5 open data, phone numbers, S6 paid
/// unionid. Each is one operation; WeChat's refusals surface as <see cref="OneId.WeChat.Http.WeChatApiException"/>,
/// bad data as <see cref="WeChatCryptoException"/> or <see cref="FlowRefusedException"/>.
/// </summary>
public sealed class MiniProgramFlows(MiniProgramClient mini, ComponentClient component, IdentityRecorder recorder, GraphWriter writer, LoginSessions sessions)
{
    public async Task<LoginOutcome> LoginAsync(HubTenant tenant, AppOptions app, string code, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(app);
        // An MP run by a third-party platform has no secret here: the platform logs in for it (component jscode2session, docs/wechat-api.md §4.2).
        var session = app.ActsThroughPlatform
            ? await component.Code2SessionAsync(AppId.Parse(app.ComponentAppId!), AppId.Parse(app.AppId), code, cancellationToken).ConfigureAwait(false)
            : await mini.Code2SessionAsync(AppId.Parse(app.AppId), code, cancellationToken).ConfigureAwait(false);
        // The session row rides with the observation: one transaction (shared with the logins around it) writes both.
        var login = sessions.New(tenant, app.AppId, session.OpenId.Value, session.SessionKey);
        var result = await recorder.RecordAppUserAsync(tenant, app, $"mp.login:{app.AppId}", session.OpenId, session.UnionId, null, login.Row, cancellationToken).ConfigureAwait(false);
        return new LoginOutcome(login.Token, result.Person, session.OpenId, session.UnionId, result.NewPerson, login.ExpiresAt);
    }

    public async Task<LinkOutcome> UserInfoAsync(LoginSessions.Session session, AppOptions app, MiniProgramOpenDataInput input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(input);
        if (sessions.SessionKeyOf(session) is not { } sessionKey)
        {
            throw new FlowRefusedException(FlowRefusal.Conflict, "No session_key", "This login has no usable session_key (hub data key changed?); log in again.");
        }
        // Signature first: sha1(rawData + session_key) proves the data was made with this user's current session_key (docs/wechat-api.md §4.5).
        MiniProgramOpenData.VerifySignature(input.RawData, sessionKey, input.Signature);
        var payload = MiniProgramOpenData.Decrypt(sessionKey, input.Iv, input.EncryptedData, app.AppId);
        JsonElement data;
        try
        {
            data = JsonDocument.Parse(payload.Json).RootElement.Clone();
        }
        catch (JsonException)
        {
            throw new FlowRefusedException(FlowRefusal.BadInput, "Undecryptable data", "The decrypted open data is not JSON.");
        }
        var openIdText = Text(data, "openId") ?? session.OpenId;
        if (openIdText != session.OpenId || !OpenId.TryParse(openIdText, out var openId))
        {
            throw new FlowRefusedException(FlowRefusal.Forbidden, "Data of another user", "The open data belongs to another openid than this login.");
        }
        UnionId? unionId = UnionId.TryParse(Text(data, "unionId"), out var u) ? u : null;
        // Placeholders ("微信用户", the grey avatar, gender 0) are dropped by the graph's profile policy.
        var profile = new[] { ("nickname", Text(data, "nickName")), ("avatar", Text(data, "avatarUrl")), ("gender", Text(data, "gender")),
                              ("country", Text(data, "country")), ("province", Text(data, "province")), ("city", Text(data, "city")), ("language", Text(data, "language")) }
            .Where(p => p.Item2 is not null).Select(p => ProfilePolicy.Attribute(p.Item1, p.Item2!));
        var result = await recorder.RecordAppUserAsync(session.Tenant, app, $"mp.userinfo:{app.AppId}", openId, unionId, profile, cancellationToken).ConfigureAwait(false);
        return new LinkOutcome(result.Person, openId, unionId, result.NewPerson);
    }

    public async Task<LinkOutcome> PhoneAsync(LoginSessions.Session session, AppOptions app, string code, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(app);
        var openId = OpenId.Parse(session.OpenId);
        var phone = await mini.GetPhoneNumberAsync(HubWeChat.TokenFor(app), code, openId, cancellationToken).ConfigureAwait(false);
        if (phone.PhoneInfo.Watermark is { } w && w.AppId != app.AppId)
        {
            throw new FlowRefusedException(FlowRefusal.Forbidden, "Data of another app", "The phone number's watermark names another app.");
        }
        var number = "+" + (string.IsNullOrEmpty(phone.PhoneInfo.CountryCode) ? "86" : phone.PhoneInfo.CountryCode) + phone.PhoneInfo.PurePhoneNumber;
        if (!Identifier.TryCreate(IdentifierType.Phone, "", number, out var phoneId, out var error))
        {
            throw new FlowRefusedException(FlowRefusal.BadUpstream, "Unexpected phone number", error);
        }
        // A phone is weak: it attaches to this person and never merges persons (family members share numbers).
        var result = await writer.RecordAsync(session.Tenant, $"mp.phone:{app.AppId}", [WeChatIdentifiers.OpenId(app.AppId, openId), phoneId], null, cancellationToken).ConfigureAwait(false);
        return new LinkOutcome(result.Person, openId, null, result.NewPerson);
    }

    /// <summary>S6: getpaidunionid answers within 5 minutes of a payment, even for users who never authorized.</summary>
    public async Task<LinkOutcome> PaidUnionIdAsync(HubTenant tenant, AppOptions app, OpenId openId, string transactionId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(app);
        var paid = await mini.GetPaidUnionIdAsync(HubWeChat.TokenFor(app), openId, transactionId, cancellationToken).ConfigureAwait(false);
        var result = await recorder.RecordAppUserAsync(tenant, app, $"mp.paid:{app.AppId}", openId, paid.UnionId, null, cancellationToken).ConfigureAwait(false);
        return new LinkOutcome(result.Person, openId, paid.UnionId, result.NewPerson);
    }

    /// <summary>The person of a login now: it may have merged since (the current id answers), or be gone (retracted).</summary>
    public async Task<Person?> PersonOfAsync(LoginSessions.Session session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        var graph = session.Tenant.Graph;
        var person = session.Stored.Person is { } p ? await graph.GetAsync(p, cancellationToken).ConfigureAwait(false) : null;
        return person ?? (OpenId.TryParse(session.OpenId, out var openId)
            ? await graph.FindAsync(WeChatIdentifiers.OpenId(session.AppId, openId), cancellationToken).ConfigureAwait(false)
            : null);
    }

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) ? v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number => v.GetRawText(),
            _ => null,
        } : null;
}
