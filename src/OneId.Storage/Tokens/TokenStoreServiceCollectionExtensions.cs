using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OneId.Storage.Secrets;
using OneId.WeChat.Tokens;

namespace OneId.Storage.Tokens;

/// <summary>Registers the shared SQL token store for the WeChat token service.</summary>
public static class TokenStoreServiceCollectionExtensions
{
    /// <summary>
    /// Makes the token service keep tokens, leases, verify tickets and authorizer refresh tokens in <paramref name="database"/>,
    /// so that every OneId process on that database shares them. Call before or after <c>AddOneIdWeChat</c>; it replaces
    /// the in-memory default. Secrets are encrypted with the registered <see cref="DataProtector"/> (an ephemeral one when
    /// none is registered: then stored tokens are readable by this process only).
    /// </summary>
    public static IServiceCollection AddOneIdSqlTokenStore(this IServiceCollection services, Func<IServiceProvider, StoreDatabase> database)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(database);
        services.RemoveAll<ITokenStore>();
        services.AddSingleton<ITokenStore>(sp => new SqlTokenStore(database(sp), sp.GetService<DataProtector>() ?? new DataProtector(null)));
        return services;
    }
}
