using Microsoft.Extensions.Configuration;

namespace OneId.Server.Configuration;

/// <summary>
/// The hub's configuration: <c>oneid.json</c> (snake_case keys, as below) plus environment variables prefixed
/// <c>ONEID_</c> (<c>ONEID_DATABASE</c>, <c>ONEID_DATA_KEY</c>, <c>ONEID_BOOTSTRAP_KEY</c>,
/// <c>ONEID_TENANTS__0__APPS__0__SECRET</c>). Any secret may also be written <c>env:NAME</c> to read it from the
/// environment variable NAME at start-up, so that the file itself can be committed.
/// </summary>
public sealed class HubOptions
{
    /// <summary>Where the data lives: a SQLite file path (the default, <c>oneid.db</c>) or a PostgreSQL connection string (<c>Host=…</c>).</summary>
    [ConfigurationKeyName("database")]
    public string Database { get; set; } = "oneid.db";

    /// <summary>
    /// The hub's public base URL as browsers and WeChat reach it (https://id.example.com). Web OAuth builds its
    /// redirect_uri from it; WeChat checks that its domain is the one configured in the console.
    /// </summary>
    [ConfigurationKeyName("public_url")]
    public string? PublicUrl { get; set; }

    /// <summary>
    /// 32 random bytes in base64 (<c>openssl rand -base64 32</c>): the key that encrypts session_keys at rest.
    /// Every hub instance sharing a database needs the same value.
    /// </summary>
    [ConfigurationKeyName("data_key")]
    public string? DataKey { get; set; }

    /// <summary>
    /// Origins (<c>https://shop.example.com</c>) besides the hub's own that OA web authorization may send the browser back
    /// to (<c>return_to</c>) with its login token. Anything else is refused at <c>/authorize</c>: an open redirect would
    /// hand the token to whoever wrote the link.
    /// </summary>
    [ConfigurationKeyName("return_to_origins")]
    public List<string> ReturnToOrigins { get; set; } = [];

    /// <summary>
    /// How far a push's <c>timestamp</c> may be from the hub's clock, in seconds (default 300). WeChat signs the
    /// timestamp, so an old push replayed later is refused; its nonce is remembered for that long, so a replay inside
    /// the window is refused too.
    /// </summary>
    [ConfigurationKeyName("callback_window_seconds")]
    public int CallbackWindowSeconds { get; set; } = 300;

    /// <summary>When set, an admin API key with exactly this value is created at start-up (idempotent).</summary>
    [ConfigurationKeyName("bootstrap_key")]
    public string? BootstrapKey { get; set; }

    /// <summary>The tenant the bootstrap key belongs to; the first tenant when empty.</summary>
    [ConfigurationKeyName("bootstrap_tenant")]
    public string? BootstrapTenant { get; set; }

    /// <summary>How long a Mini Program login token lives (minutes).</summary>
    [ConfigurationKeyName("session_minutes")]
    public int SessionMinutes { get; set; } = 60 * 24 * 7;

    [ConfigurationKeyName("tenants")]
    public List<TenantOptions> Tenants { get; set; } = [];

    /// <summary>Where WeChat is: its real hosts by default; the sandbox in tests, the demo and <c>serve --sandbox</c>.</summary>
    [ConfigurationKeyName("wechat")]
    public WeChatEndpointOptions WeChat { get; set; } = new();

    [ConfigurationKeyName("webhook_poll_ms")]
    public int WebhookPollMilliseconds { get; set; } = 1000;

    /// <summary>OpenTelemetry export (docs/hub.md §11); off unless <c>otlp_endpoint</c> is set.</summary>
    [ConfigurationKeyName("telemetry")]
    public TelemetryOptions Telemetry { get; set; } = new();

    /// <summary>How the durable inbox of WeChat pushes is worked off (see docs/hub.md, "The inbox").</summary>
    [ConfigurationKeyName("inbox")]
    public InboxOptions Inbox { get; set; } = new();

    /// <summary>env:NAME references whose variable was not set (filled at start-up, reported by validation).</summary>
    internal List<string> UnresolvedSecrets { get; } = [];
}

/// <summary>The inbox worker: how many pushes one hub instance processes at once, and how it retries.</summary>
public sealed class TelemetryOptions
{
    /// <summary>Where an OpenTelemetry collector listens for OTLP over HTTP/protobuf, e.g. http://otel-collector:4318. Empty: no export.</summary>
    [ConfigurationKeyName("otlp_endpoint")]
    public string? OtlpEndpoint { get; set; }

    /// <summary>service.name of the exported traces and metrics.</summary>
    [ConfigurationKeyName("service_name")]
    public string ServiceName { get; set; } = "oneid";

    /// <summary>How often metrics are exported.</summary>
    [ConfigurationKeyName("metrics_interval_ms")]
    public int MetricsIntervalMilliseconds { get; set; } = 15_000;
}

public sealed class InboxOptions
{
    /// <summary>Pushes processed at once per hub instance (each may wait on WeChat, e.g. a slow user/info).</summary>
    [ConfigurationKeyName("concurrency")]
    public int Concurrency { get; set; } = 16;

    /// <summary>Attempts before a push is given up (dead letter, kept with its last error). Backoff doubles from 1 s to 5 min.</summary>
    [ConfigurationKeyName("max_attempts")]
    public int MaxAttempts { get; set; } = 12;

    /// <summary>How long one attempt may take before it counts as failed.</summary>
    [ConfigurationKeyName("attempt_timeout_seconds")]
    public int AttemptTimeoutSeconds { get; set; } = 60;

    /// <summary>How often an idle worker looks for due retries and for pushes taken by other instances.</summary>
    [ConfigurationKeyName("poll_ms")]
    public int PollMilliseconds { get; set; } = 500;
}

public sealed class WeChatEndpointOptions
{
    /// <summary>api.weixin.qq.com (OA, MP, Open Platform, third-party platform).</summary>
    [ConfigurationKeyName("api_base_url")]
    public string ApiBaseUrl { get; set; } = "https://api.weixin.qq.com";

    /// <summary>qyapi.weixin.qq.com (WeCom).</summary>
    [ConfigurationKeyName("wecom_base_url")]
    public string WeComBaseUrl { get; set; } = "https://qyapi.weixin.qq.com";

    /// <summary>open.weixin.qq.com (the browser authorization pages).</summary>
    [ConfigurationKeyName("open_base_url")]
    public string OpenBaseUrl { get; set; } = "https://open.weixin.qq.com";
}

/// <summary>One company (or business unit): its own database file or schema, keys, apps and webhooks. Nothing crosses tenants.</summary>
public sealed class TenantOptions
{
    /// <summary>Lowercase letters, digits and _; names the SQLite file (<c>oneid.NAME.db</c>) or PostgreSQL schema.</summary>
    [ConfigurationKeyName("name")]
    public string Name { get; set; } = "default";

    /// <summary>Open Platform accounts ("union spaces") whose unionids this tenant sees, by the name used in identifiers.</summary>
    [ConfigurationKeyName("union_spaces")]
    public List<string> UnionSpaces { get; set; } = [];

    [ConfigurationKeyName("apps")]
    public List<AppOptions> Apps { get; set; } = [];

    [ConfigurationKeyName("corps")]
    public List<CorpOptions> Corps { get; set; } = [];

    [ConfigurationKeyName("components")]
    public List<ComponentOptions> Components { get; set; } = [];

    [ConfigurationKeyName("webhooks")]
    public List<WebhookOptions> Webhooks { get; set; } = [];

    /// <summary>
    /// The subjects (主体, the legal entities) that own the tenant's Open Platform accounts, apps, corps and the
    /// service providers of its provider apps. WeCom's unionid conversion needs to be told whose subject the ids have
    /// (subject_type, docs/wechat-api.md §6.6, §6.15); see <see cref="SubjectRules"/>.
    /// </summary>
    [ConfigurationKeyName("subjects")]
    public List<SubjectOptions> Subjects { get; set; } = [];
}

/// <summary>One subject (主体) and what it owns, by name.</summary>
public sealed class SubjectOptions
{
    /// <summary>A name for the legal entity, e.g. "Acme Ltd" (only compared, never sent to WeChat).</summary>
    [ConfigurationKeyName("name")]
    public string Name { get; set; } = "";

    /// <summary>Open Platform accounts (names from the tenant's union_spaces) registered by this subject.</summary>
    [ConfigurationKeyName("union_spaces")]
    public List<string> UnionSpaces { get; set; } = [];

    /// <summary>Appids of this subject whose union space belongs to another subject (an app defaults to its union space's subject).</summary>
    [ConfigurationKeyName("apps")]
    public List<string> Apps { get; set; } = [];

    /// <summary>Corpids of this subject (a corp defaults to the subject of the union space bound to it).</summary>
    [ConfigurationKeyName("corps")]
    public List<string> Corps { get; set; } = [];

    /// <summary>Service providers (the <c>provider</c> names of provider apps) of this subject.</summary>
    [ConfigurationKeyName("providers")]
    public List<string> Providers { get; set; } = [];
}

/// <summary>
/// Whose subject (主体) an id has. An Open Platform account's unionids have its subject; an app's openids its own
/// subject; a corp has the subject of the developer account bound to it unless declared. What is not declared stands
/// for an unnamed subject of its own, so with no <c>subjects</c> at all a corp shares the subject of its bound union
/// space and nothing else — the rule before subjects could be declared.
/// </summary>
public static class SubjectRules
{
    public static string? OfUnionSpace(TenantOptions tenant, string? space)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        return string.IsNullOrEmpty(space) ? null : tenant.Subjects.FirstOrDefault(s => s.UnionSpaces.Contains(space))?.Name ?? "union_space:" + space;
    }

    public static string? OfApp(TenantOptions tenant, AppOptions app)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(app);
        return tenant.Subjects.FirstOrDefault(s => s.Apps.Contains(app.AppId))?.Name ?? OfUnionSpace(tenant, app.UnionSpace);
    }

    public static string? OfCorp(TenantOptions tenant, CorpOptions corp)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(corp);
        return tenant.Subjects.FirstOrDefault(s => s.Corps.Contains(corp.CorpId))?.Name ?? OfUnionSpace(tenant, corp.UnionSpace);
    }

    /// <summary>The provider's subject when declared, else null (unknown: nothing is assumed to share it).</summary>
    public static string? OfProvider(TenantOptions tenant, string? provider)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        return string.IsNullOrEmpty(provider) ? null : tenant.Subjects.FirstOrDefault(s => s.Providers.Contains(provider))?.Name;
    }
}

public static class AppTypes
{
    public const string OfficialAccount = "official_account";
    public const string MiniProgram = "mini_program";
    public const string MiniGame = "mini_game";
    public const string Website = "website";
    public const string MobileApp = "mobile_app";

    public static readonly IReadOnlyList<string> All = [OfficialAccount, MiniProgram, MiniGame, Website, MobileApp];
}

/// <summary>
/// The three values the WeChat console gives every app, WeCom app and third-party platform: the secret, and the
/// callback Token and EncodingAESKey of its message push. Each may be written <c>env:NAME</c>.
/// </summary>
public abstract class WeChatConsoleOptions
{
    /// <summary>AppSecret / corp app secret / component secret. Empty for an app served through a third-party platform.</summary>
    [ConfigurationKeyName("secret")]
    public string? Secret { get; set; }

    /// <summary>Callback Token (message push; plain mode needs only this).</summary>
    [ConfigurationKeyName("token")]
    public string? Token { get; set; }

    /// <summary>Callback EncodingAESKey (43 chars) for safe mode; empty for plain mode.</summary>
    [ConfigurationKeyName("aes_key")]
    public string? AesKey { get; set; }
}

/// <summary>An OA, MP, mini game, website or mobile app.</summary>
public sealed class AppOptions : WeChatConsoleOptions
{
    [ConfigurationKeyName("appid")]
    public string AppId { get; set; } = "";

    /// <summary>official_account, mini_program, mini_game, website or mobile_app.</summary>
    [ConfigurationKeyName("type")]
    public string Type { get; set; } = "";

    /// <summary>The union space this app is bound to, or empty when unbound (no unionid ever).</summary>
    [ConfigurationKeyName("union_space")]
    public string? UnionSpace { get; set; }

    /// <summary>The third-party platform that acts for this app (its component_appid), when the app has no secret of its own.</summary>
    [ConfigurationKeyName("component_appid")]
    public string? ComponentAppId { get; set; }

    /// <summary>
    /// The app acts through its third-party platform: it has no secret here, and the platform's component and authorizer
    /// tokens log in, authorize and call APIs for it (component jscode2session, component web OAuth). The one place
    /// that decides it.
    /// </summary>
    public bool ActsThroughPlatform => string.IsNullOrEmpty(Secret) && !string.IsNullOrEmpty(ComponentAppId);

    /// <summary>
    /// The message mode the WeChat console is set to (消息加解密方式): <c>plain</c> (明文), <c>compatible</c> (兼容) or
    /// <c>safe</c> (安全). Empty means safe when <c>aes_key</c> is set, plain otherwise. In safe mode only encrypted pushes
    /// with a valid msg_signature are processed.
    /// </summary>
    [ConfigurationKeyName("message_mode")]
    public string? MessageMode { get; set; }
}

/// <summary>The console's message modes (docs/wechat-api.md §7.1, §7.2).</summary>
public static class MessageModes
{
    public const string Plain = "plain";
    public const string Compatible = "compatible";
    public const string Safe = "safe";

    /// <summary>The app's mode: as configured, else safe with an aes_key and plain without.</summary>
    public static string Of(AppOptions app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.MessageMode is { Length: > 0 } m ? m : string.IsNullOrEmpty(app.AesKey) ? Plain : Safe;
    }
}

public sealed class CorpOptions
{
    [ConfigurationKeyName("corpid")]
    public string CorpId { get; set; } = "";

    /// <summary>
    /// The union space of the WeChat developer account bound to the corp: externalcontact/get returns unionids of that
    /// space to self-built apps (docs/wechat-api.md §6.3); empty when none is bound.
    /// </summary>
    [ConfigurationKeyName("union_space")]
    public string? UnionSpace { get; set; }

    [ConfigurationKeyName("apps")]
    public List<CorpAppOptions> Apps { get; set; } = [];
}

public static class CorpAppKinds
{
    public const string SelfBuilt = "self_built";
    public const string Provider = "provider";
}

public sealed class CorpAppOptions : WeChatConsoleOptions
{
    /// <summary>The name in the callback URL: /v1/callbacks/wecom/{corpid}/{name}.</summary>
    [ConfigurationKeyName("name")]
    public string Name { get; set; } = "";

    /// <summary>self_built (plaintext ids, unionid) or provider (third-party / 代开发: ciphertext ids, no unionid).</summary>
    [ConfigurationKeyName("kind")]
    public string Kind { get; set; } = CorpAppKinds.SelfBuilt;

    /// <summary>For provider apps: the provider's name, the namespace suffix of its ciphertext ids (corpid/provider).</summary>
    [ConfigurationKeyName("provider")]
    public string? Provider { get; set; }

    /// <summary>For provider apps: the suite_id, the receiveid of their encrypted callbacks (§7.2).</summary>
    [ConfigurationKeyName("suite_id")]
    public string? SuiteId { get; set; }

    /// <summary>
    /// The app's agentid in the corp (WeCom admin console → the app's page). For a provider app it lets the hub link
    /// the provider's ciphertext external_userids to the corp's plaintext ones (from_service_external_userid).
    /// </summary>
    [ConfigurationKeyName("agent_id")]
    public int? AgentId { get; set; }

    /// <summary>
    /// For provider apps: the provider's own corpid and provider_secret (service/get_provider_token), needed by the
    /// id upgrade's provider-level calls (corpid_to_opencorpid, finish_external_userid_migration; docs/wechat-api.md §6.10, §6.11).
    /// </summary>
    [ConfigurationKeyName("provider_corpid")]
    public string? ProviderCorpId { get; set; }

    /// <summary>The provider_secret (secret; <c>env:NAME</c> allowed).</summary>
    [ConfigurationKeyName("provider_secret")]
    public string? ProviderSecret { get; set; }

}

/// <summary>A third-party platform (开放平台第三方平台).</summary>
public sealed class ComponentOptions : WeChatConsoleOptions
{
    [ConfigurationKeyName("component_appid")]
    public string ComponentAppId { get; set; } = "";

}

/// <summary>Where person.* events go.</summary>
public sealed class WebhookOptions
{
    public const int MaxBatchSize = 1000;

    [ConfigurationKeyName("url")]
    public string Url { get; set; } = "";

    /// <summary>The HMAC-SHA256 key for X-OneId-Signature (secret; <c>env:NAME</c> allowed).</summary>
    [ConfigurationKeyName("secret")]
    public string Secret { get; set; } = "";

    /// <summary>person.created, person.linked, person.merged, person.split, person.erased; all when empty.</summary>
    [ConfigurationKeyName("events")]
    public List<string> Events { get; set; } = [];

    /// <summary>Which data tiers the receiver may see (phone identifiers need private); internal when empty.</summary>
    [ConfigurationKeyName("tiers")]
    public List<string> Tiers { get; set; } = [];

    /// <summary>
    /// Events per POST. 1 (the default) sends each event as its own body; above 1 the body is
    /// <c>{"events":[…]}</c> with up to this many events in sequence order, so a receiver that keeps up with bursts
    /// takes one request (and one signature check) per batch.
    /// </summary>
    [ConfigurationKeyName("batch_size")]
    public int BatchSize { get; set; } = 1;
}
