using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using OneId.WeChat.Tokens;

namespace OneId.WeChat.Tests.Support;

/// <summary>A DI container with the WeChat services, its own HttpClients and memory cache, over a given store and server.</summary>
internal sealed class WeChatTestHost : IDisposable
{
    private readonly ServiceProvider _provider;

    public WeChatTestHost(Action<WeChatOptions> configure, ITokenStore? store = null, TimeProvider? time = null,
        HttpMessageHandler? primary = null, Action<IServiceCollection>? services = null)
    {
        var collection = new ServiceCollection();
        collection.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        if (store is not null)
        {
            collection.AddSingleton(store);
        }
        if (time is not null)
        {
            collection.AddSingleton(time);
        }
        collection.AddOneIdWeChat(o =>
        {
            o.Retry.BaseDelay = TimeSpan.FromMilliseconds(5);
            o.Tokens.StorePollInterval = TimeSpan.FromMilliseconds(20);
            configure(o);
        });
        if (primary is not null)
        {
            // Shared fake: never disposed by the handler rotation.
            collection.ConfigureHttpClientDefaults(b => b.ConfigurePrimaryHttpMessageHandler(() => new NonDisposingHandler(primary)));
        }
        services?.Invoke(collection);
        _provider = collection.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    public T Get<T>() where T : notnull => _provider.GetRequiredService<T>();

    public IAccessTokenService Tokens => Get<IAccessTokenService>();

    public void Dispose() => _provider.Dispose();

    private sealed class NonDisposingHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override void Dispose(bool disposing)
        {
            // The inner handler is shared between hosts; leave it alone.
        }
    }
}
