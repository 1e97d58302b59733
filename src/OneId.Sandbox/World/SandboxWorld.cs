using System.Text.Json.Serialization;

namespace OneId.Sandbox.World;

/// <summary>
/// The world the sandbox plays: union spaces (Open Platform accounts), apps, WeCom corps, third-party platforms
/// and, optionally, named users. Serialized as snake_case JSON (the world-file shape in docs/sandbox.md).
/// </summary>
public sealed class SandboxWorld
{
    /// <summary>Open Platform accounts; each issues one unionid per person.</summary>
    public List<UnionSpace> UnionSpaces { get; set; } = [];

    /// <summary>OA, MP, mini game, website and mobile apps.</summary>
    public List<SandboxApp> Apps { get; set; } = [];

    /// <summary>WeCom corps with their self-built and provider apps.</summary>
    public List<SandboxCorp> Corps { get; set; } = [];

    /// <summary>Third-party platforms (component) and the apps that authorized them.</summary>
    public List<SandboxComponent> Components { get; set; } = [];

    /// <summary>
    /// Service providers (服务商) named by the provider apps, with the corpid and secret of the provider itself
    /// (<c>service/get_provider_token</c>). Optional: a provider named only by its apps gets a derived corpid and the
    /// secret "secret-" + its id.
    /// </summary>
    public List<SandboxProvider> Providers { get; set; } = [];

    /// <summary>Users that exist from the start (extension); more come from the control API.</summary>
    public List<SandboxUserSeed> Users { get; set; } = [];

    /// <summary>
    /// <c>current</c>: a bound MP gets the unionid from code2Session (rule since 2021-02-23, docs/wechat-api.md §4.3).
    /// <c>legacy</c>: only after the user followed a same-subject OA or authorized a same-subject app.
    /// </summary>
    public string UnionidRule { get; set; } = UnionidRules.Current;
}

/// <summary>Values of <see cref="SandboxWorld.UnionidRule"/>.</summary>
public static class UnionidRules
{
    public const string Current = "current";
    public const string Legacy = "legacy";
}

/// <summary>An Open Platform account: the namespace of unionids.</summary>
public sealed class UnionSpace
{
    public string Id { get; set; } = "";
    public string Subject { get; set; } = "";
}

/// <summary>App types of <see cref="SandboxApp.Type"/>.</summary>
public static class AppTypes
{
    public const string OfficialAccount = "official_account";
    public const string MiniProgram = "mini_program";
    public const string MiniGame = "mini_game";
    public const string Website = "website";
    public const string MobileApp = "mobile_app";

    public static readonly IReadOnlyList<string> All = [OfficialAccount, MiniProgram, MiniGame, Website, MobileApp];
}

/// <summary>One WeChat app (appid = "wx" + 16 lowercase hex).</summary>
public sealed class SandboxApp
{
    public string Appid { get; set; } = "";
    public string Secret { get; set; } = "";
    public string Type { get; set; } = AppTypes.OfficialAccount;
    public string Subject { get; set; } = "";

    /// <summary>The Open Platform account the app is bound to, or null (then no unionid is ever returned).</summary>
    public string? UnionSpace { get; set; }

    /// <summary>OA original id (<c>gh_…</c>), the ToUserName of pushes; derived from the appid when absent.</summary>
    public string? OriginalId { get; set; }

    /// <summary>Display name (extension).</summary>
    public string? Name { get; set; }

    public SandboxCallback? Callback { get; set; }
}

/// <summary>Where and how pushes are delivered (docs/wechat-api.md §7).</summary>
public sealed class SandboxCallback
{
    public string Url { get; set; } = "";
    public string Token { get; set; } = "";

    /// <summary>EncodingAESKey (43 chars); when set, pushes are encrypted (safe mode).</summary>
    public string? AesKey { get; set; }
}

/// <summary>A WeCom corp.</summary>
public sealed class SandboxCorp
{
    public string Corpid { get; set; } = "";
    public string Subject { get; set; } = "";

    /// <summary>The WeChat developer appid bound to the corp; its union space decides the unionid in externalcontact/get.</summary>
    public string? DeveloperAppid { get; set; }

    /// <summary>Member userids (employees).</summary>
    public List<string> Members { get; set; } = [];

    public List<SandboxCorpApp> Apps { get; set; } = [];
}

/// <summary>Kinds of <see cref="SandboxCorpApp.Kind"/>.</summary>
public static class CorpAppKinds
{
    /// <summary>自建: plaintext ids, unionid when the corp's developer appid is bound.</summary>
    public const string SelfBuilt = "self_built";

    /// <summary>Third-party or 代开发 app of a service provider: ciphertext ids per provider and corp, no unionid.</summary>
    public const string Provider = "provider";
}

/// <summary>An app installed in a corp.</summary>
public sealed class SandboxCorpApp
{
    public string Name { get; set; } = "";
    public string Kind { get; set; } = CorpAppKinds.SelfBuilt;

    /// <summary>Service provider id (provider apps only); ciphertext ids differ per provider.</summary>
    public string? Provider { get; set; }

    /// <summary>Subject of the provider (subject_type=1 rules, §6.15).</summary>
    public string? ProviderSubject { get; set; }

    /// <summary>suite_id of a provider app: the receiveid of its pushes; derived when absent.</summary>
    public string? SuiteId { get; set; }

    /// <summary>suite_secret for service/get_suite_token (provider apps); the app secret when absent.</summary>
    public string? SuiteSecret { get; set; }

    /// <summary>
    /// Which ids a provider app sees (WeCom's 2022 id upgrade for providers): <c>upgraded</c> (the default, a corp
    /// that authorized the app after the upgrade: open corpid, open_userid members, new ciphertext external_userids) or
    /// <c>legacy</c> (authorized before it: plain corpid and member userids, old external_userids, until the corp admin
    /// agrees and the provider finishes the migration).
    /// </summary>
    public string IdMode { get; set; } = ProviderIdModes.Upgraded;

    public int? AgentId { get; set; }
    public string Secret { get; set; } = "";
    public SandboxCallback? Callback { get; set; }
}

/// <summary>Values of <see cref="SandboxCorpApp.IdMode"/>.</summary>
public static class ProviderIdModes
{
    public const string Upgraded = "upgraded";
    public const string Legacy = "legacy";
}

/// <summary>A WeCom service provider: its own corpid and provider secret (for provider_access_token).</summary>
public sealed class SandboxProvider
{
    /// <summary>The name provider apps use in <see cref="SandboxCorpApp.Provider"/>.</summary>
    public string Id { get; set; } = "";

    /// <summary>The provider's own corpid (ServiceCorpId in pushes); derived when absent.</summary>
    public string? Corpid { get; set; }

    /// <summary>provider_secret for service/get_provider_token; "secret-" + id when absent.</summary>
    public string? Secret { get; set; }
}

/// <summary>A third-party platform.</summary>
public sealed class SandboxComponent
{
    public string ComponentAppid { get; set; } = "";
    public string Secret { get; set; } = "";

    /// <summary>Message token and EncodingAESKey of the platform (used for its pushes when <see cref="Callback"/> has none).</summary>
    public string? Token { get; set; }
    public string? AesKey { get; set; }

    /// <summary>Appids that authorized this platform.</summary>
    public List<string> Authorizers { get; set; } = [];

    /// <summary>The authorization event URL (component_verify_ticket, authorized, …).</summary>
    public SandboxCallback? Callback { get; set; }

    /// <summary>
    /// The platform's message and event URL (消息与事件接收URL): while an OA or MP has authorized the platform, its
    /// user pushes (subscribe, unsubscribe, SCAN, …) go here instead of to the app's own callback, with
    /// <c>$APPID$</c> in the URL replaced by the authorizer's appid, encrypted with the platform's token and
    /// EncodingAESKey and the component appid as receiveid (docs/wechat-api.md §7.6). Token and key default to the
    /// platform's.
    /// </summary>
    public SandboxCallback? MessageCallback { get; set; }

    /// <summary>What WeChat replaces with the authorizer's appid in <see cref="MessageCallback"/>'s URL.</summary>
    public const string AppIdPlaceholder = "$APPID$";
}

/// <summary>A named user present from the start (extension).</summary>
public sealed class SandboxUserSeed
{
    public string Name { get; set; } = "";
    public string? Nickname { get; set; }

    /// <summary>OA appids the user follows from the start.</summary>
    public List<string> Follows { get; set; } = [];

    [JsonPropertyName("phone")]
    public string? Phone { get; set; }
}
