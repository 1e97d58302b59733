namespace OneId.WeChat;

/// <summary>Configuration of the WeChat clients and the token service (section "OneId:WeChat" in the hub).</summary>
public sealed class WeChatOptions
{
    /// <summary>OA / MP / Open Platform API host. Point it at the sandbox in tests and the demo.</summary>
    public Uri ApiBaseAddress { get; set; } = new("https://api.weixin.qq.com/");

    /// <summary>WeCom API host. The sandbox serves WeCom under <c>&lt;sandbox&gt;/qyapi/</c>.</summary>
    public Uri WeComBaseAddress { get; set; } = new("https://qyapi.weixin.qq.com/");

    /// <summary>Browser authorize pages (connect/oauth2/authorize, connect/qrconnect). The sandbox serves them under <c>&lt;sandbox&gt;/open/</c>.</summary>
    public Uri OpenBaseAddress { get; set; } = new("https://open.weixin.qq.com/");

    /// <summary>The component authorize page host (cgi-bin/componentloginpage, §5.3).</summary>
    public Uri MpBaseAddress { get; set; } = new("https://mp.weixin.qq.com/");

    /// <summary>OA / MP apps whose global access_token OneId manages.</summary>
    public IList<WeChatAppCredential> Apps { get; } = new List<WeChatAppCredential>();

    /// <summary>Third-party platforms (components) whose component_access_token OneId manages.</summary>
    public IList<WeChatComponentCredential> Components { get; } = new List<WeChatComponentCredential>();

    /// <summary>WeCom apps (one per secret) whose access_token OneId manages.</summary>
    public IList<WeComAppCredential> WeComApps { get; } = new List<WeComAppCredential>();

    /// <summary>Retries of transient failures (errcode -1, HTTP 5xx, timeouts).</summary>
    public WeChatRetryOptions Retry { get; } = new();

    /// <summary>Token caching, lease and refresh settings.</summary>
    public WeChatTokenOptions Tokens { get; } = new();
}

/// <summary>Which endpoint issues an app's global access_token (§1).</summary>
public enum AppTokenEndpoint
{
    /// <summary>POST cgi-bin/stable_token: repeated calls return the same token, so servers cannot invalidate each other (§1.2).</summary>
    StableToken,

    /// <summary>GET cgi-bin/token: every call issues a new token; the old one lives 5 more minutes (§1.1).</summary>
    Token,
}

/// <summary>An OA / MP / mini game app and its AppSecret.</summary>
public sealed class WeChatAppCredential
{
    public string AppId { get; set; } = "";

    public string Secret { get; set; } = "";

    /// <summary>stable_token by default: it is the endpoint that several servers can share safely.</summary>
    public AppTokenEndpoint TokenEndpoint { get; set; } = AppTokenEndpoint.StableToken;

    public override string ToString() => $"WeChatAppCredential({AppId})";
}

/// <summary>A third-party platform (component) and its component_appsecret.</summary>
public sealed class WeChatComponentCredential
{
    public string ComponentAppId { get; set; } = "";

    public string Secret { get; set; } = "";

    public override string ToString() => $"WeChatComponentCredential({ComponentAppId})";
}

/// <summary>One WeCom app: the corp, a name for the app and its secret (for customer contact, the 客户联系 secret, §6.1).</summary>
public sealed class WeComAppCredential
{
    public string CorpId { get; set; } = "";

    /// <summary>The agentid, or a label such as "contact" for the customer-contact secret. Part of the token key.</summary>
    public string Agent { get; set; } = "contact";

    public string Secret { get; set; } = "";

    public override string ToString() => $"WeComAppCredential({CorpId}:{Agent})";
}

/// <summary>Retries of transient failures, through a Polly.Core pipeline.</summary>
public sealed class WeChatRetryOptions
{
    /// <summary>Retries after the first attempt (0 disables retrying).</summary>
    public int MaxRetryAttempts { get; set; } = 3;

    /// <summary>The first backoff delay; later ones grow exponentially with jitter.</summary>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The time limit of one attempt.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>Token cache, lease and refresh settings.</summary>
public sealed class WeChatTokenOptions
{
    /// <summary>
    /// Refresh this long before expiry. Four minutes on purpose: stable_token only rotates inside a token's last 5 minutes
    /// (§1.2), so a refresh inside that window gets a new token on the first call instead of the same one again.
    /// </summary>
    public TimeSpan RefreshBeforeExpiry { get; set; } = TimeSpan.FromMinutes(4);

    /// <summary>
    /// How long a fetching process holds the lease; others take over when it expires (a crashed holder). Longer than a
    /// fetch with all its retries (4 attempts of at most 10 s by default), so that a slow fetch is not duplicated.
    /// </summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a process waits for another process's fetch before giving up with a transient error.</summary>
    public TimeSpan LeaseWaitTimeout { get; set; } = TimeSpan.FromSeconds(75);

    /// <summary>How often a waiting process reads the store.</summary>
    public TimeSpan StorePollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// How long a process trusts its memory cache before reading the store again, so that a token another process
    /// refreshed (after a 40001) is picked up even when this process never saw the 40001.
    /// </summary>
    public TimeSpan StoreRecheckInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// At most this many stable_token force_refresh calls per app per Beijing day. WeChat allows 20 (§1.2); keeping a margin
    /// leaves room for an operator's manual leak response.
    /// </summary>
    public int MaxForcedRefreshesPerDay { get; set; } = 10;

    /// <summary>Two force_refresh calls less than 30 s apart do not refresh (§1.2), so never send them closer than this.</summary>
    public TimeSpan MinForcedRefreshInterval { get; set; } = TimeSpan.FromSeconds(30);
}
