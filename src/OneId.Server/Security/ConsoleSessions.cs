using System.Globalization;
using OneId.Storage.Secrets;

namespace OneId.Server.Security;

/// <summary>
/// The console's sign-in: the operator's API key is exchanged for an HttpOnly cookie holding the key encrypted
/// (AES-256-GCM under the data key) with its expiry. Nothing is stored server-side, so every hub instance sharing the
/// data key accepts it, and revoking the key ends its sessions at once (each request authenticates the key again).
/// </summary>
public sealed class ConsoleSessions(DataProtector protector, TimeProvider time)
{
    public const string CookieName = "oneid_console";
    public const string CsrfHeader = "X-OneId-Console";
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(8);
    private const string Purpose = "console-session";

    public (string Value, DateTimeOffset ExpiresAt) Issue(string apiKey)
    {
        var expires = time.GetUtcNow() + Lifetime;
        return (protector.Protect(expires.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture) + "|" + apiKey, Purpose), expires);
    }

    /// <summary>The API key inside a session cookie, or null when it is forged, from another data key, or expired.</summary>
    public string? KeyOf(string? cookie)
    {
        if (string.IsNullOrEmpty(cookie) || cookie.Length > 2048 || protector.Unprotect(cookie, Purpose) is not { } plain)
        {
            return null;
        }
        var bar = plain.IndexOf('|', StringComparison.Ordinal);
        if (bar <= 0 || !long.TryParse(plain.AsSpan(0, bar), NumberStyles.None, CultureInfo.InvariantCulture, out var expires)
            || DateTimeOffset.FromUnixTimeSeconds(expires) <= time.GetUtcNow())
        {
            return null;
        }
        return plain[(bar + 1)..];
    }
}
