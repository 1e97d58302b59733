using System.Globalization;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using OneId.Server.Api;
using OneId.Server.Configuration;
using OneId.Storage.Hub;
using OneId.Server.Tenants;

namespace OneId.Server.Callbacks;

/// <summary>
/// Freshness of a signed push, checked after its signature and before anything is stored: its <c>timestamp</c> must lie
/// within <c>callback_window_seconds</c> of the hub's clock, and its nonce must not come back with another body.
/// </summary>
/// <remarks>
/// WeChat signs timestamp and nonce (docs/wechat-api.md §7.1, §7.2), so an old push replayed later fails the window.
/// Inside the window the nonce is remembered in the tenant's database (so it holds across hub instances) with a hash of
/// the body: in plain mode the signature does not cover the body, so a captured signature reused with another body is
/// refused. The same nonce with the same body is WeChat retrying a push it got no answer for within 5 s (§7.2): that
/// goes on to the usual dedupe, which answers it without processing it twice — refusing it could lose the push when the
/// first attempt died before it was stored.
/// </remarks>
public sealed class PushGuard(IOptions<HubOptions> options, TimeProvider time)
{
    private TimeSpan Window => TimeSpan.FromSeconds(options.Value.CallbackWindowSeconds);

    /// <summary>Null when the push is fresh; otherwise the refusal to answer with.</summary>
    public async Task<ProblemHttpResult?> CheckAsync(HubTenant tenant, string scope, string timestamp, string nonce, string body, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || nonce.Length is 0 or > 128)
        {
            return Problems.BadRequest("Bad timestamp or nonce", "timestamp must be unix seconds and nonce at most 128 characters, as WeChat sends them.");
        }
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        if (Math.Abs(now - seconds) > (long)Window.TotalSeconds)
        {
            return Problems.Forbidden("Stale push", $"The push's timestamp is {now - seconds} s from the hub's clock; at most {(long)Window.TotalSeconds} s are accepted (callback_window_seconds). Check the hub's clock if WeChat's pushes are refused.");
        }
        var bodyHash = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(body)));
        return await tenant.CallbackNonces.CheckNonceAsync(scope, nonce, seconds, bodyHash, 2 * Window, ct).ConfigureAwait(false) == NonceCheck.OtherBody
            ? Problems.Conflict("Replayed nonce", "This nonce and timestamp came before with another body: a replayed signature. WeChat never reuses a nonce for another push.")
            : null;
    }
}
