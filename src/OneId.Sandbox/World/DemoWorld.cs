namespace OneId.Sandbox.World;

/// <summary>
/// The world used when no <c>--world</c> file is given: one company, Acme, with an Open Platform account and one
/// app of each kind, a second-subject MP that is not bound, a WeCom corp with a self-built and a provider app, and a
/// third-party platform. docs/sandbox.md lists the ids and secrets.
/// </summary>
public static class DemoWorld
{
    public const string UnionSpace = "acme";
    public const string Subject = "Acme Ltd";
    public const string OfficialAccount = "wxa0a0a0a0a0a0a001";
    public const string MiniProgram = "wxa0a0a0a0a0a0a002";
    public const string Website = "wxa0a0a0a0a0a0a003";
    public const string MobileApp = "wxa0a0a0a0a0a0a004";
    public const string MiniGame = "wxa0a0a0a0a0a0a005";
    public const string AuthorizerOfficialAccount = "wxa0a0a0a0a0a0a006";
    public const string UnboundMiniProgram = "wxb0b0b0b0b0b0b001";
    public const string Component = "wxc0c0c0c0c0c0c001";
    public const string Corp = "wwacme000000000001";
    public const string SelfBuiltApp = "crm";
    public const string ProviderApp = "isv-crm";
    public const int SelfBuiltAgentId = 1000002;
    public const int ProviderAgentId = 1000003;

    /// <summary>App secrets are "secret-" + the last 4 characters of the appid, easy to type in curl.</summary>
    public static string SecretOf(string appid) => "secret-" + appid[^4..];

    public static SandboxWorld Create() => new()
    {
        UnionSpaces = [new UnionSpace { Id = UnionSpace, Subject = Subject }],
        Apps =
        [
            App(OfficialAccount, AppTypes.OfficialAccount, "Acme OA", UnionSpace),
            App(MiniProgram, AppTypes.MiniProgram, "Acme Shop", UnionSpace),
            App(Website, AppTypes.Website, "acme.example web login", UnionSpace),
            App(MobileApp, AppTypes.MobileApp, "Acme app", UnionSpace),
            App(MiniGame, AppTypes.MiniGame, "Acme game", UnionSpace),
            App(AuthorizerOfficialAccount, AppTypes.OfficialAccount, "Acme News (run by a platform)", UnionSpace),
            new SandboxApp
            {
                Appid = UnboundMiniProgram, Secret = SecretOf(UnboundMiniProgram), Type = AppTypes.MiniProgram,
                Subject = "Other Ltd", Name = "Unbound MP of another subject",
            },
        ],
        Corps =
        [
            new SandboxCorp
            {
                Corpid = Corp,
                Subject = Subject,
                DeveloperAppid = OfficialAccount,
                Members = ["zhangsan", "lisi"],
                Apps =
                [
                    new SandboxCorpApp { Name = SelfBuiltApp, Kind = CorpAppKinds.SelfBuilt, Secret = "secret-crm", AgentId = SelfBuiltAgentId },
                    new SandboxCorpApp
                    {
                        Name = ProviderApp, Kind = CorpAppKinds.Provider, Provider = "isv1", ProviderSubject = "ISV Ltd",
                        Secret = "secret-isv-crm", AgentId = ProviderAgentId,
                    },
                ],
            },
        ],
        Components =
        [
            new SandboxComponent
            {
                ComponentAppid = Component,
                Secret = SecretOf(Component),
                Token = "componenttoken",
                AesKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
                Authorizers = [MiniProgram, AuthorizerOfficialAccount],
            },
        ],
        Users =
        [
            new SandboxUserSeed { Name = "alice", Nickname = "Alice", Follows = [OfficialAccount], Phone = "+8613800000001" },
            new SandboxUserSeed { Name = "bob", Nickname = "Bob" },
        ],
        UnionidRule = UnionidRules.Current,
    };

    private static SandboxApp App(string appid, string type, string name, string? space) => new()
    {
        Appid = appid, Secret = SecretOf(appid), Type = type, Subject = Subject, UnionSpace = space, Name = name,
    };
}
