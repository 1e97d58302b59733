using System.Security.Cryptography;
using System.Text;

namespace OneId.Storage.Secrets;

/// <summary>
/// Encrypts secrets at rest with AES-256-GCM under the configured data key: MP session_keys (docs/wechat-api.md §4.5:
/// the session_key must never leave the server), WeChat access tokens,
/// authorizer refresh tokens and component verify tickets. A stolen database alone then decrypts nothing. Each value
/// is bound to where it is stored (the associated data, e.g. its row key), so a value copied into another row does
/// not decrypt there.
/// </summary>
public sealed class DataProtector
{
    private const string Prefix = "v1.";
    private const int NonceBytes = 12;
    private const int TagBytes = 16;
    private readonly byte[] _key;

    /// <param name="key">32 bytes; null for a key that lives as long as this process (see <see cref="IsEphemeral"/>).</param>
    public DataProtector(byte[]? key)
    {
        if (key is not null && key.Length != 32)
        {
            throw new ArgumentException("a data key is 32 bytes (openssl rand -base64 32)", nameof(key));
        }
        IsEphemeral = key is null;
        _key = key ?? EphemeralKey;
    }

    /// <summary>A protector for a base64 data key (the <c>data_key</c> setting), or an ephemeral one when it is empty.</summary>
    public static DataProtector FromBase64(string? dataKey) =>
        new(string.IsNullOrEmpty(dataKey) ? null : Convert.FromBase64String(dataKey));

    /// <summary>
    /// Without a configured data key (sandbox, demo, tests) what it encrypts is readable only by this process: login
    /// sessions end and stored WeChat tokens are fetched again after a restart.
    /// </summary>
    public bool IsEphemeral { get; }

    private static readonly byte[] EphemeralKey = RandomNumberGenerator.GetBytes(32);

    /// <summary>Whether <paramref name="stored"/> has the shape <see cref="Protect"/> gives (stored before encryption otherwise).</summary>
    public static bool IsProtected(string stored) => stored.StartsWith(Prefix, StringComparison.Ordinal);

    public string Protect(string secret, string associatedData)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var plain = Encoding.UTF8.GetBytes(secret);
        var nonce = RandomNumberGenerator.GetBytes(NonceBytes);
        var cipher = new byte[plain.Length];
        var tag = new byte[TagBytes];
        using var aes = new AesGcm(_key, TagBytes);
        aes.Encrypt(nonce, plain, cipher, tag, Encoding.UTF8.GetBytes(associatedData));
        return Prefix + Convert.ToBase64String([.. nonce, .. tag, .. cipher]);
    }

    /// <summary>The secret, or null when it cannot be decrypted (another data key, another row, or tampered).</summary>
    public string? Unprotect(string protectedValue, string associatedData)
    {
        ArgumentNullException.ThrowIfNull(protectedValue);
        if (!IsProtected(protectedValue))
        {
            return null;
        }
        try
        {
            var all = Convert.FromBase64String(protectedValue[Prefix.Length..]);
            if (all.Length < NonceBytes + TagBytes)
            {
                return null;
            }
            var plain = new byte[all.Length - NonceBytes - TagBytes];
            using var aes = new AesGcm(_key, TagBytes);
            aes.Decrypt(all.AsSpan(0, NonceBytes), all.AsSpan(NonceBytes + TagBytes), all.AsSpan(NonceBytes, TagBytes), plain, Encoding.UTF8.GetBytes(associatedData));
            return Encoding.UTF8.GetString(plain);
        }
        catch (Exception e) when (e is CryptographicException or FormatException or ArgumentException)
        {
            return null;
        }
    }
}
