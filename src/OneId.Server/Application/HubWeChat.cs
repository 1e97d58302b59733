using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OneId.Server.Configuration;
using OneId.Storage;
using OneId.Storage.Tokens;
using OneId.WeChat;
using OneId.WeChat.Http;
using OneId.WeChat.Ids;
using OneId.WeChat.Tokens;

namespace OneId.Server.Application;

/// <summary>Connects the hub's configuration to the WeChat clients: base URLs, secrets, and a token store in the database.</summary>
public static class HubWeChat
{
    public static IServiceCollection AddHubWeChat(this IServiceCollection services)
    {
        services.AddOneIdWeChat();
        services.TryAddSingleton<HubTokenDatabase>();
        services.AddOneIdSqlTokenStore(sp => sp.GetRequiredService<HubTokenDatabase>().Database);
        services.AddOptions<WeChatOptions>().Configure<IOptions<HubOptions>>((w, hub) =>
        {
            var o = hub.Value;
            w.ApiBaseAddress = new Uri(o.WeChat.ApiBaseUrl);
            w.WeComBaseAddress = new Uri(o.WeChat.WeComBaseUrl);
            w.OpenBaseAddress = new Uri(o.WeChat.OpenBaseUrl);
            foreach (var t in o.Tenants)
            {
                foreach (var a in t.Apps.Where(a => !string.IsNullOrEmpty(a.Secret)))
                {
                    w.Apps.Add(new WeChatAppCredential { AppId = a.AppId, Secret = a.Secret! });
                }
                foreach (var c in t.Components.Where(c => !string.IsNullOrEmpty(c.Secret)))
                {
                    w.Components.Add(new WeChatComponentCredential { ComponentAppId = c.ComponentAppId, Secret = c.Secret! });
                }
                foreach (var corp in t.Corps)
                {
                    foreach (var a in corp.Apps.Where(a => !string.IsNullOrEmpty(a.Secret)))
                    {
                        w.WeComApps.Add(new WeComAppCredential { CorpId = corp.CorpId, Agent = a.Name, Secret = a.Secret! });
                    }
                }
            }
        });
        return services;
    }

    /// <summary>The token an app's API calls use: its own, or the authorizer token its third-party platform holds for it (docs/wechat-api.md §5.5).</summary>
    public static TokenBinding TokenFor(AppOptions app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.ActsThroughPlatform
            ? TokenKey.Authorizer(AppId.Parse(app.ComponentAppId!), AppId.Parse(app.AppId))
            : TokenKey.App(AppId.Parse(app.AppId));
    }

    public static TokenBinding TokenFor(CorpOptions corp, CorpAppOptions app) => TokenKey.WeCom(CorpId.Parse(corp.CorpId), app.Name);
}

/// <summary>
/// The database of the shared token store: the hub's default file or schema, beside the tenants'. Every hub instance on
/// one database then fetches each token once per lifetime (the token service's leases live there).
/// </summary>
internal sealed class HubTokenDatabase(IOptions<HubOptions> options) : IAsyncDisposable
{
    private readonly Lazy<StoreDatabase> _db = new(() => StoreDatabase.Open(options.Value.Database, "default"));

    public StoreDatabase Database => _db.Value;

    public async ValueTask DisposeAsync()
    {
        if (_db.IsValueCreated)
        {
            await _db.Value.DisposeAsync().ConfigureAwait(false);
        }
    }
}
