using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OneId.WeChat.Clients;
using OneId.WeChat.Http;
using OneId.WeChat.Tokens;

namespace OneId.WeChat;

/// <summary>Registers the WeChat clients, the token service and their HTTP pipeline.</summary>
public static class WeChatServiceCollectionExtensions
{
    /// <summary>
    /// Adds the typed clients (<see cref="OfficialAccountClient"/>, <see cref="WeChatOAuthClient"/>, <see cref="MiniProgramClient"/>,
    /// <see cref="ComponentClient"/>, <see cref="WeComClient"/>, <see cref="WeChatCredentialClient"/>, <see cref="WeComCredentialClient"/>)
    /// and <see cref="IAccessTokenService"/>. Safe to call twice. The token store defaults to <see cref="InMemoryTokenStore"/>;
    /// register an <see cref="ITokenStore"/> (SQLite / PostgreSQL from OneId.Storage) to share tokens between processes.
    /// </summary>
    public static IServiceCollection AddOneIdWeChat(this IServiceCollection services, Action<WeChatOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<WeChatOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }
        if (services.Any(d => d.ServiceType == typeof(WeChatMarker)))
        {
            return services;
        }
        services.AddSingleton<WeChatMarker>();

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ITokenStore, InMemoryTokenStore>();
        services.TryAddSingleton<IWeChatCredentialProvider, OptionsWeChatCredentialProvider>();
        services.TryAddSingleton<IAccessTokenService, AccessTokenService>();
        services.TryAddTransient<WeChatTokenHandler>();
        services.TryAddTransient<WeChatResilienceHandler>();

        // Token endpoints: no token handler (they issue tokens), but the same retries.
        services.AddHttpClient<WeChatCredentialClient>((sp, http) => Configure(http, Api(sp)))
            .AddHttpMessageHandler<WeChatResilienceHandler>()
            .RemoveAllLoggers();
        services.AddHttpClient<WeComCredentialClient>((sp, http) => Configure(http, WeCom(sp)))
            .AddHttpMessageHandler<WeChatResilienceHandler>()
            .RemoveAllLoggers();

        AddApiClient<OfficialAccountClient>(services, Api);
        AddApiClient<WeChatOAuthClient>(services, Api);
        AddApiClient<MiniProgramClient>(services, Api);
        AddApiClient<ComponentClient>(services, Api);
        AddApiClient<WeComClient>(services, WeCom);
        return services;
    }

    private static void AddApiClient<TClient>(IServiceCollection services, Func<IServiceProvider, Uri> baseAddress) where TClient : class =>
        services.AddHttpClient<TClient>((sp, http) => Configure(http, baseAddress(sp)))
            // Outer: attach the token, refresh once on 40001/40014/42001. Inner: retry -1 / HTTP failures.
            .AddHttpMessageHandler<WeChatTokenHandler>()
            .AddHttpMessageHandler<WeChatResilienceHandler>()
            // The default HttpClient logging writes request URIs, and WeChat puts secrets, codes and tokens in query
            // strings. Our own [LoggerMessage] lines log endpoints without queries.
            .RemoveAllLoggers();

    private static void Configure(HttpClient http, Uri baseAddress)
    {
        http.BaseAddress = baseAddress;
        // Time limits come from the resilience pipeline (per attempt) and the token lease wait; HttpClient's own 100 s
        // limit would cut a call that waited for another process's token fetch and then retried.
        http.Timeout = Timeout.InfiniteTimeSpan;
    }

    private static Uri Api(IServiceProvider sp) => WithSlash(sp.GetRequiredService<IOptions<WeChatOptions>>().Value.ApiBaseAddress);

    private static Uri WeCom(IServiceProvider sp) => WithSlash(sp.GetRequiredService<IOptions<WeChatOptions>>().Value.WeComBaseAddress);

    // Request paths are relative ("cgi-bin/..."), so a base with a path ("<sandbox>/qyapi") needs its trailing slash.
    internal static Uri WithSlash(Uri uri) => uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");

    private sealed class WeChatMarker;
}
