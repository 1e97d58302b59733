using Microsoft.Extensions.Options;
using OneId.WeChat.Ids;

namespace OneId.WeChat.Tokens;

/// <summary>
/// Supplies app secrets to the token service. The default reads <see cref="WeChatOptions"/>; a hub that keeps secrets
/// per tenant in its database registers its own implementation.
/// </summary>
public interface IWeChatCredentialProvider
{
    ValueTask<WeChatAppCredential?> GetAppAsync(AppId appId, CancellationToken cancellationToken);

    ValueTask<WeChatComponentCredential?> GetComponentAsync(AppId componentAppId, CancellationToken cancellationToken);

    ValueTask<WeComAppCredential?> GetWeComAppAsync(CorpId corpId, string agent, CancellationToken cancellationToken);
}

/// <summary>Reads credentials from <see cref="WeChatOptions"/> (current values, so reloaded configuration applies).</summary>
public sealed class OptionsWeChatCredentialProvider(IOptionsMonitor<WeChatOptions> options) : IWeChatCredentialProvider
{
    public ValueTask<WeChatAppCredential?> GetAppAsync(AppId appId, CancellationToken cancellationToken) =>
        ValueTask.FromResult(options.CurrentValue.Apps.FirstOrDefault(a => a.AppId == appId.Value));

    public ValueTask<WeChatComponentCredential?> GetComponentAsync(AppId componentAppId, CancellationToken cancellationToken) =>
        ValueTask.FromResult(options.CurrentValue.Components.FirstOrDefault(c => c.ComponentAppId == componentAppId.Value));

    public ValueTask<WeComAppCredential?> GetWeComAppAsync(CorpId corpId, string agent, CancellationToken cancellationToken) =>
        ValueTask.FromResult(options.CurrentValue.WeComApps.FirstOrDefault(w => w.CorpId == corpId.Value && w.Agent == agent));
}
