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

namespace OneId.Server.Flows;

/// <summary>Connects the hub's configuration to the WeChat clients: base URLs, secrets, and a token store in the database.</summary>
internal static class HubWeChat
{
    public static IServiceCollection AddHubWeChat(this IServiceCollection services)
    {
        services.TryAddSingleton<ITokenStore, HubTokenStore>();
        services.AddOneIdWeChat();
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

    /// <summary>The token an app's API calls use: its own, or the one its third-party platform holds for it (§5.5).</summary>
    public static TokenBinding TokenFor(AppOptions app) =>
        string.IsNullOrEmpty(app.Secret) && app.ComponentAppId is { Length: > 0 } component
            ? TokenKey.Authorizer(AppId.Parse(component), AppId.Parse(app.AppId))
            : TokenKey.App(AppId.Parse(app.AppId));

    public static TokenBinding TokenFor(CorpOptions corp, CorpAppOptions app) => TokenKey.WeCom(CorpId.Parse(corp.CorpId), app.Name);
}

/// <summary>
/// The shared token store in the hub's database (the default file or schema, beside the tenants'), opened on first use:
/// every hub instance on one database then fetches each token once per lifetime.
/// </summary>
internal sealed class HubTokenStore(IOptions<HubOptions> options) : ITokenStore, IAsyncDisposable
{
    private readonly Lazy<Task<(StoreDatabase Db, SqlTokenStore Store)>> _store = new(async () =>
    {
        var db = StoreDatabase.Open(options.Value.Database, "default");
        return (db, await SqlTokenStore.OpenAsync(db, CancellationToken.None).ConfigureAwait(false));
    });

    private async Task<SqlTokenStore> Store() => (await _store.Value.ConfigureAwait(false)).Store;

    public async Task<StoredToken?> GetTokenAsync(string key, CancellationToken cancellationToken) =>
        await (await Store().ConfigureAwait(false)).GetTokenAsync(key, cancellationToken).ConfigureAwait(false);

    public async Task<TokenLease?> TryAcquireLeaseAsync(string key, string owner, DateTimeOffset now, TimeSpan duration, CancellationToken cancellationToken) =>
        await (await Store().ConfigureAwait(false)).TryAcquireLeaseAsync(key, owner, now, duration, cancellationToken).ConfigureAwait(false);

    public async Task<bool> SaveTokenAsync(TokenLease lease, StoredToken token, CancellationToken cancellationToken) =>
        await (await Store().ConfigureAwait(false)).SaveTokenAsync(lease, token, cancellationToken).ConfigureAwait(false);

    public async Task ReleaseLeaseAsync(TokenLease lease, CancellationToken cancellationToken) =>
        await (await Store().ConfigureAwait(false)).ReleaseLeaseAsync(lease, cancellationToken).ConfigureAwait(false);

    public async Task<ComponentVerifyTicket?> GetVerifyTicketAsync(AppId componentAppId, CancellationToken cancellationToken) =>
        await (await Store().ConfigureAwait(false)).GetVerifyTicketAsync(componentAppId, cancellationToken).ConfigureAwait(false);

    public async Task SaveVerifyTicketAsync(ComponentVerifyTicket ticket, CancellationToken cancellationToken) =>
        await (await Store().ConfigureAwait(false)).SaveVerifyTicketAsync(ticket, cancellationToken).ConfigureAwait(false);

    public async Task<string?> GetAuthorizerRefreshTokenAsync(AppId componentAppId, AppId authorizerAppId, CancellationToken cancellationToken) =>
        await (await Store().ConfigureAwait(false)).GetAuthorizerRefreshTokenAsync(componentAppId, authorizerAppId, cancellationToken).ConfigureAwait(false);

    public async Task SaveAuthorizerRefreshTokenAsync(AppId componentAppId, AppId authorizerAppId, string refreshToken, CancellationToken cancellationToken) =>
        await (await Store().ConfigureAwait(false)).SaveAuthorizerRefreshTokenAsync(componentAppId, authorizerAppId, refreshToken, cancellationToken).ConfigureAwait(false);

    public async Task DeleteAuthorizerAsync(AppId componentAppId, AppId authorizerAppId, CancellationToken cancellationToken) =>
        await (await Store().ConfigureAwait(false)).DeleteAuthorizerAsync(componentAppId, authorizerAppId, cancellationToken).ConfigureAwait(false);

    public async ValueTask DisposeAsync()
    {
        if (_store.IsValueCreated && _store.Value.IsCompletedSuccessfully)
        {
            await _store.Value.Result.Db.DisposeAsync().ConfigureAwait(false);
        }
    }
}
