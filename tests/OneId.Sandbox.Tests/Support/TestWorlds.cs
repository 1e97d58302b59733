using OneId.Sandbox.World;

namespace OneId.Sandbox.Tests.Support;

/// <summary>The demo world's ids, with callbacks pointing at a test receiver.</summary>
internal static class TestWorlds
{
    public const string CallbackToken = "callbacktoken";
    public const string OaAesKey = "OaAesKey0123456789abcdefghijklmnopqrstuvwxy";
    public const string WeComAesKey = "WeComKey0123456789abcdefghijklmnopqrstuvwxy";
    public const string SuiteAesKey = "SuiteKey0123456789abcdefghijklmnopqrstuvwxy";
    public const string ComponentAesKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    public const string OtherCorp = "wwother00000000002";

    public static SandboxWorld Create(Uri? receiver = null, string unionidRule = UnionidRules.Current, bool oaEncrypted = true)
    {
        SandboxCallback? Callback(string path, string? aes) => receiver is null ? null : new SandboxCallback
        {
            Url = new Uri(receiver, path).ToString(), Token = CallbackToken, AesKey = aes,
        };
        var demo = DemoWorld.Create();
        var apps = demo.Apps.Select(a => new SandboxApp
        {
            Appid = a.Appid, Secret = a.Secret, Type = a.Type, Subject = a.Subject, UnionSpace = a.UnionSpace, Name = a.Name,
            Callback = a.Appid == DemoWorld.OfficialAccount ? Callback("oa", oaEncrypted ? OaAesKey : null) : null,
        }).ToList();
        return new SandboxWorld
        {
            UnionSpaces = demo.UnionSpaces,
            Apps = apps,
            Corps =
            [
                new SandboxCorp
                {
                    Corpid = DemoWorld.Corp, Subject = DemoWorld.Subject, DeveloperAppid = DemoWorld.OfficialAccount,
                    Members = ["zhangsan", "lisi"],
                    Apps =
                    [
                        new SandboxCorpApp { Name = "crm", Kind = CorpAppKinds.SelfBuilt, Secret = "secret-crm", AgentId = 1000002, Callback = Callback("wecom/crm", WeComAesKey) },
                        new SandboxCorpApp
                        {
                            Name = "isv-crm", Kind = CorpAppKinds.Provider, Provider = "isv1", ProviderSubject = "ISV Ltd",
                            Secret = "secret-isv-crm", AgentId = 1000003, Callback = Callback("wecom/isv", SuiteAesKey),
                        },
                        new SandboxCorpApp { Name = "isv2-crm", Kind = CorpAppKinds.Provider, Provider = "isv2", ProviderSubject = DemoWorld.Subject, Secret = "secret-isv2-crm" },
                    ],
                },
                new SandboxCorp
                {
                    Corpid = OtherCorp, Subject = "Other Ltd", Members = ["wangwu"],
                    Apps = [new SandboxCorpApp { Name = "isv-crm", Kind = CorpAppKinds.Provider, Provider = "isv1", ProviderSubject = "ISV Ltd", Secret = "secret-other-isv" }],
                },
            ],
            Components =
            [
                new SandboxComponent
                {
                    ComponentAppid = DemoWorld.Component, Secret = DemoWorld.SecretOf(DemoWorld.Component), Token = "componenttoken",
                    AesKey = ComponentAesKey, Authorizers = [DemoWorld.MiniProgram, DemoWorld.AuthorizerOfficialAccount],
                    Callback = receiver is null ? null : new SandboxCallback { Url = new Uri(receiver, "component").ToString() },
                    MessageCallback = receiver is null ? null : new SandboxCallback { Url = receiver + "platform/" + SandboxComponent.AppIdPlaceholder },
                },
            ],
            Users = demo.Users,
            UnionidRule = unionidRule,
        };
    }
}
