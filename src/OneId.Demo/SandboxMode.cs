using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using OneId.Sandbox.Hosting;
using OneId.Sandbox.World;
using OneId.Server;
using OneId.Server.Configuration;
using Demo = OneId.Sandbox.World.DemoWorld;
using AppTypes = OneId.Server.Configuration.AppTypes;
using CorpAppKinds = OneId.Server.Configuration.CorpAppKinds;
using WorldKinds = OneId.Sandbox.World.CorpAppKinds;

namespace OneId.DemoWiring;

/// <summary>
/// A whole WeChat ecosystem on one machine: the sandbox's demo world with every callback URL, token and key pointing
/// at this hub, and the hub's tenant configured with the same apps and its clients pointed at the sandbox.
/// </summary>
public static class SandboxMode
{
    public const string Tenant = "acme";
    public const string OaToken = "oatoken";
    public const string OaAesKey = "OaAesKeyOaAesKeyOaAesKeyOaAesKey01234567890";
    public const string CrmToken = "crmtoken";
    public const string CrmAesKey = "CrmAesKeyCrmAesKeyCrmAesKeyCrmAesKey0123456";
    public const string IsvToken = "isvtoken";
    public const string IsvAesKey = "IsvAesKeyIsvAesKeyIsvAesKeyIsvAesKey0123456";
    public const string IsvSuiteId = "ww5e17e0000000a001";

    /// <summary>S16: a corp that authorized the provider's app before WeCom's id upgrade (its app sees old ids until migrated).</summary>
    public const string LegacyCorp = "wwacme000000000002";
    public const string LegacyProviderApp = "isv-legacy";

    /// <summary>The provider's own corpid and provider_secret (service/get_provider_token), for the upgrade's provider-level calls.</summary>
    public const string ProviderCorpId = "ww5e17e0000000b001";
    public const string ProviderSecret = "provider-secret-isv1";
    public const string ComponentToken = "componenttoken";
    public const string ComponentAesKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

    /// <summary>The demo world (<see cref="Demo"/>) with pushes going to the hub at <paramref name="hub"/>.</summary>
    public static SandboxWorld World(Uri hub)
    {
        ArgumentNullException.ThrowIfNull(hub);
        var demo = Demo.Create();
        string At(string path) => new Uri(hub, path).AbsoluteUri;
        return new SandboxWorld
        {
            UnionSpaces = demo.UnionSpaces,
            UnionidRule = demo.UnionidRule,
            Users = demo.Users,
            Apps = demo.Apps.Select(a => a.Appid == Demo.OfficialAccount
                ? new SandboxApp
                {
                    Appid = a.Appid, Secret = a.Secret, Type = a.Type, Subject = a.Subject, UnionSpace = a.UnionSpace, Name = a.Name, OriginalId = a.OriginalId,
                    // Safe mode, the console's recommended setting: pushes arrive encrypted.
                    Callback = new SandboxCallback { Url = At($"v1/callbacks/oa/{a.Appid}"), Token = OaToken, AesKey = OaAesKey },
                }
                : a).ToList(),
            Corps = demo.Corps.Select(c => new SandboxCorp
            {
                Corpid = c.Corpid, Subject = c.Subject, DeveloperAppid = c.DeveloperAppid, Members = c.Members,
                Apps = c.Apps.Select(a => new SandboxCorpApp
                {
                    Name = a.Name, Kind = a.Kind, Provider = a.Provider, ProviderSubject = a.ProviderSubject, AgentId = a.AgentId, Secret = a.Secret,
                    SuiteId = a.Kind == WorldKinds.Provider ? IsvSuiteId : a.SuiteId,
                    Callback = a.Kind == WorldKinds.Provider
                        ? new SandboxCallback { Url = At($"v1/callbacks/wecom/{c.Corpid}/{a.Name}"), Token = IsvToken, AesKey = IsvAesKey }
                        : new SandboxCallback { Url = At($"v1/callbacks/wecom/{c.Corpid}/{a.Name}"), Token = CrmToken, AesKey = CrmAesKey },
                }).ToList(),
            }).Append(new SandboxCorp
            {
                // S16: a second corp authorized the provider's app before WeCom's id upgrade: it still sees old ids.
                Corpid = LegacyCorp, Subject = Demo.Subject, Members = ["wangwu", "zhaoliu"],
                Apps =
                [
                    new SandboxCorpApp
                    {
                        Name = LegacyProviderApp, Kind = WorldKinds.Provider, Provider = "isv1", ProviderSubject = "ISV Ltd", Secret = "secret-isv-legacy",
                        SuiteId = IsvSuiteId, IdMode = ProviderIdModes.Legacy,
                        Callback = new SandboxCallback { Url = At($"v1/callbacks/wecom/{LegacyCorp}/{LegacyProviderApp}"), Token = IsvToken, AesKey = IsvAesKey },
                    },
                ],
            }).ToList(),
            Providers = [new SandboxProvider { Id = "isv1", Corpid = ProviderCorpId, Secret = ProviderSecret }],
            Components = demo.Components.Select(c => new SandboxComponent
            {
                ComponentAppid = c.ComponentAppid, Secret = c.Secret, Token = ComponentToken, AesKey = ComponentAesKey, Authorizers = c.Authorizers,
                Callback = new SandboxCallback { Url = At($"v1/callbacks/component/{c.ComponentAppid}"), Token = ComponentToken, AesKey = ComponentAesKey },
                // The platform's message URL: the pushes of the OAs and MPs it runs, with their appid for $APPID$.
                MessageCallback = new SandboxCallback { Url = At($"v1/callbacks/component/{c.ComponentAppid}/") + SandboxComponent.AppIdPlaceholder, Token = ComponentToken, AesKey = ComponentAesKey },
            }).ToList(),
        };
    }

    /// <summary>The hub's tenant for that world, with the clients pointed at the sandbox.</summary>
    public static void Configure(HubOptions options, RunningSandbox sandbox, Uri hub)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(sandbox);
        options.PublicUrl = hub.AbsoluteUri.TrimEnd('/');
        options.WeChat.ApiBaseUrl = sandbox.BaseAddress.AbsoluteUri;
        options.WeChat.WeComBaseUrl = sandbox.WeComBaseAddress.AbsoluteUri;
        options.WeChat.OpenBaseUrl = sandbox.OpenBaseAddress.AbsoluteUri;
        options.Tenants.Clear();
        options.Tenants.Add(new TenantOptions
        {
            Name = Tenant,
            UnionSpaces = [Demo.UnionSpace],
            Apps =
            [
                new AppOptions { AppId = Demo.OfficialAccount, Type = AppTypes.OfficialAccount, Secret = Demo.SecretOf(Demo.OfficialAccount), UnionSpace = Demo.UnionSpace, Token = OaToken, AesKey = OaAesKey },
                new AppOptions { AppId = Demo.MiniProgram, Type = AppTypes.MiniProgram, Secret = Demo.SecretOf(Demo.MiniProgram), UnionSpace = Demo.UnionSpace },
                new AppOptions { AppId = Demo.Website, Type = AppTypes.Website, Secret = Demo.SecretOf(Demo.Website), UnionSpace = Demo.UnionSpace },
                new AppOptions { AppId = Demo.MobileApp, Type = AppTypes.MobileApp, Secret = Demo.SecretOf(Demo.MobileApp), UnionSpace = Demo.UnionSpace },
                new AppOptions { AppId = Demo.MiniGame, Type = AppTypes.MiniGame, Secret = Demo.SecretOf(Demo.MiniGame), UnionSpace = Demo.UnionSpace },
                // Run by the third-party platform: no secret here, the platform's tokens act for it (S7).
                new AppOptions { AppId = Demo.AuthorizerOfficialAccount, Type = AppTypes.OfficialAccount, UnionSpace = Demo.UnionSpace, ComponentAppId = Demo.Component },
                new AppOptions { AppId = Demo.UnboundMiniProgram, Type = AppTypes.MiniProgram, Secret = Demo.SecretOf(Demo.UnboundMiniProgram) },
            ],
            Corps =
            [
                new CorpOptions
                {
                    CorpId = Demo.Corp, UnionSpace = Demo.UnionSpace,
                    Apps =
                    [
                        new CorpAppOptions { Name = Demo.SelfBuiltApp, Kind = CorpAppKinds.SelfBuilt, Secret = "secret-crm", Token = CrmToken, AesKey = CrmAesKey, AgentId = Demo.SelfBuiltAgentId },
                        new CorpAppOptions { Name = Demo.ProviderApp, Kind = CorpAppKinds.Provider, Provider = "isv1", SuiteId = IsvSuiteId, Secret = "secret-isv-crm", Token = IsvToken, AesKey = IsvAesKey, AgentId = Demo.ProviderAgentId },
                    ],
                },
                new CorpOptions
                {
                    CorpId = LegacyCorp,
                    Apps =
                    [
                        new CorpAppOptions
                        {
                            Name = LegacyProviderApp, Kind = CorpAppKinds.Provider, Provider = "isv1", SuiteId = IsvSuiteId, Secret = "secret-isv-legacy", Token = IsvToken, AesKey = IsvAesKey,
                            ProviderCorpId = ProviderCorpId, ProviderSecret = ProviderSecret,
                        },
                    ],
                },
            ],
            Components = [new ComponentOptions { ComponentAppId = Demo.Component, Secret = Demo.SecretOf(Demo.Component), Token = ComponentToken, AesKey = ComponentAesKey }],
        });
    }

    /// <summary>A free loopback port (the hub's address must be known before the sandbox world that pushes to it).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>A hub and a sandbox running together in this process.</summary>
public sealed class SandboxedHub : IAsyncDisposable
{
    private readonly Func<Uri, Microsoft.AspNetCore.Builder.WebApplication> _build;
    private readonly List<Microsoft.AspNetCore.Builder.WebApplication> _moreHubs = [];

    private SandboxedHub(RunningSandbox sandbox, Func<Uri, Microsoft.AspNetCore.Builder.WebApplication> build, Microsoft.AspNetCore.Builder.WebApplication hub, Uri hubAddress)
    {
        Sandbox = sandbox;
        _build = build;
        Hub = hub;
        HubAddress = hubAddress;
    }

    /// <summary>
    /// Starts one more hub instance over the same database and sandbox (its own host, DI container, caches and
    /// connection pool), as another machine of a deployment; pushes still go to the first hub. Stopped with this one.
    /// </summary>
    public async Task<Uri> StartAnotherHubAsync(CancellationToken cancellationToken)
    {
        var address = new Uri($"http://127.0.0.1:{SandboxMode.FreePort()}/");
        var hub = _build(address);
        _moreHubs.Add(hub);
        await hub.StartAsync(cancellationToken).ConfigureAwait(false);
        return address;
    }

    public RunningSandbox Sandbox { get; }
    public Microsoft.AspNetCore.Builder.WebApplication Hub { get; private set; }
    public Uri HubAddress { get; }

    /// <summary>Stops the hub and starts a new one on the same address and database, as after a restart; the sandbox keeps running.</summary>
    public async Task RestartHubAsync(CancellationToken cancellationToken)
    {
        await Hub.StopAsync(cancellationToken).ConfigureAwait(false);
        await Hub.DisposeAsync().ConfigureAwait(false);
        Hub = _build(HubAddress);
        await Hub.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <param name="database">The hub's database (a SQLite file or PostgreSQL connection string).</param>
    /// <param name="configure">Further hub options (bootstrap key, webhooks).</param>
    /// <param name="adjustWorld">Changes to the sandbox's world (tests play the legacy unionid rule with it).</param>
    public static async Task<SandboxedHub> StartAsync(string database, int hubPort, int sandboxPort, Action<HubOptions>? configure, LogLevel logLevel,
        CancellationToken cancellationToken, Func<SandboxWorld, SandboxWorld>? adjustWorld = null)
    {
        var port = hubPort == 0 ? SandboxMode.FreePort() : hubPort;
        var hubAddress = new Uri($"http://127.0.0.1:{port}/");
        var clock = new OneId.Sandbox.SandboxClock();
        var world = SandboxMode.World(hubAddress);
        world = adjustWorld?.Invoke(world) ?? world;
        var sandbox = await SandboxHost.StartAsync(world, new SandboxHostOptions { Port = sandboxPort, Clock = clock }, cancellationToken).ConfigureAwait(false);
        try
        {
            Microsoft.AspNetCore.Builder.WebApplication Build(Uri address) => HubApplication.Build(new HubLaunch
            {
                Database = database,
                Urls = [address.AbsoluteUri.TrimEnd('/')],
                MinimumLogLevel = logLevel,
                Configure = o =>
                {
                    SandboxMode.Configure(o, sandbox, address);
                    configure?.Invoke(o);
                },
                // One clock for both: codes, windows and token lifetimes agree when the story moves time forward.
                ConfigureBuilder = b => b.Services.Replace(ServiceDescriptor.Singleton<TimeProvider>(clock)),
            });
            var hub = Build(hubAddress);
            await hub.StartAsync(cancellationToken).ConfigureAwait(false);
            return new SandboxedHub(sandbox, Build, hub, hubAddress);
        }
        catch
        {
            await sandbox.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var more in _moreHubs)
        {
            await more.StopAsync().ConfigureAwait(false);
            await more.DisposeAsync().ConfigureAwait(false);
        }
        await Hub.StopAsync().ConfigureAwait(false);
        await Hub.DisposeAsync().ConfigureAwait(false);
        await Sandbox.DisposeAsync().ConfigureAwait(false);
    }
}
