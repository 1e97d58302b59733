using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace OneId.Server.Application;

public static class ApplicationExtensions
{
    /// <summary>The flows (one operation per trigger), the one graph write path, and the WeChat clients they use.</summary>
    public static IServiceCollection AddOneIdApplication(this IServiceCollection services)
    {
        services.AddHubWeChat();
        services.TryAddSingleton<GraphWriter>();
        services.TryAddSingleton<ProviderConversions>();
        services.TryAddSingleton<SelfBuiltLinks>();
        services.TryAddSingleton<IdentityRecorder>();
        services.TryAddSingleton<LoginSessions>();
        services.TryAddSingleton<MiniProgramFlows>();
        services.TryAddSingleton<WebLoginFlows>();
        services.TryAddSingleton<PushFlows>();
        services.TryAddSingleton<FollowerBackfill>();
        services.TryAddSingleton<IdMigrations>();
        services.TryAddSingleton<InboxSignal>();
        services.TryAddSingleton<InboxWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<InboxWorker>());
        services.TryAddSingleton<FollowUpSignal>();
        services.TryAddSingleton<FollowUpWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<FollowUpWorker>());
        services.TryAddSingleton<JobSignal>();
        services.TryAddSingleton<BackfillJobs>();
        services.TryAddSingleton<JobWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<JobWorker>());
        return services;
    }
}
