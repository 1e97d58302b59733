using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using OneId.Server.Configuration;

namespace OneId.Server.Security;

/// <summary>
/// Encrypts session_keys at rest with AES-256-GCM under the configured data key. A stolen database alone then cannot
/// decrypt any user's open data (docs/wechat-api.md §4.5: the session_key must never leave the server).
/// </summary>
public sealed class SessionKeyProtector
{
    private const string Prefix = "v1.";
    private readonly byte[] _key;

    public SessionKeyProtector(IOptions<HubOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _key = options.Value.DataKey is { Length: > 0 } k ? Convert.FromBase64String(k) : EphemeralKey;
    }

    /// <summary>Without a configured data_key (sandbox, demo, tests) sessions survive only as long as this process.</summary>
    private static readonly byte[] EphemeralKey = RandomNumberGenerator.GetBytes(32);

    public string Protect(string sessionKey, string associatedData)
    {
        var plain = Encoding.UTF8.GetBytes(sessionKey);
        var nonce = RandomNumberGenerator.GetBytes(12);
        var cipher = new byte[plain.Length];
        var tag = new byte[16];
        using var aes = new AesGcm(_key, 16);
        aes.Encrypt(nonce, plain, cipher, tag, Encoding.UTF8.GetBytes(associatedData));
        return Prefix + Convert.ToBase64String([.. nonce, .. tag, .. cipher]);
    }

    /// <summary>The session_key, or null when it cannot be decrypted (another data key, or tampered).</summary>
    public string? Unprotect(string protectedValue, string associatedData)
    {
        if (!protectedValue.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }
        try
        {
            var all = Convert.FromBase64String(protectedValue[Prefix.Length..]);
            var plain = new byte[all.Length - 28];
            using var aes = new AesGcm(_key, 16);
            aes.Decrypt(all.AsSpan(0, 12), all.AsSpan(28), all.AsSpan(12, 16), plain, Encoding.UTF8.GetBytes(associatedData));
            return Encoding.UTF8.GetString(plain);
        }
        catch (Exception e) when (e is CryptographicException or FormatException or ArgumentException)
        {
            return null;
        }
    }
}
