using System.Security.Cryptography;
using System.Text;

namespace OneId.Sandbox.State;

/// <summary>
/// Derives every id a user has, deterministically, from (user, namespace), in the shapes of docs/wechat-api.md §8:
/// 28-char <c>o…</c> openids and unionids whose first characters depend on the app or space only (as real ones
/// share a per-app prefix), 32-char <c>wm…</c> external_userids, <c>p…</c> pending ids. The same world and user
/// names give the same ids in every run, so tests and demo scripts can rely on them.
/// </summary>
internal static class IdDeriver
{
    private const string UrlAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    private const string Alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    private static readonly byte[] Key = "OneId.Sandbox/ids/v1"u8.ToArray();

    // The per-app / per-space prefix is the same for every user: derived once, not on every call.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string Kind, string Ns), string> Prefixes = new();

    private static string Prefix(string kind, string ns) => Prefixes.GetOrAdd((kind, ns), k => "o" + Chars(UrlAlphabet, 5, k.Kind, k.Ns));

    public static string OpenId(string appid, string user) => Prefix("openid-prefix", appid) + Chars(UrlAlphabet, 22, "openid", appid, user);

    public static string UnionId(string space, string user) => Prefix("unionid-prefix", space) + Chars(UrlAlphabet, 22, "unionid", space, user);

    /// <summary>Snapshot-mode virtual openid (§3.1): differs from the real one.</summary>
    public static string SnapshotOpenId(string appid, string user) => Prefix("openid-prefix", appid) + Chars(UrlAlphabet, 22, "snapshot-openid", appid, user);

    public static string SnapshotUnionId(string space, string user) => Prefix("unionid-prefix", space) + Chars(UrlAlphabet, 22, "snapshot-unionid", space, user);

    /// <summary>Self-built (plaintext) external_userid, one per corp (§6.14).</summary>
    public static string PlainExternalUserId(string corpid, string user) => "wm" + Chars(Alnum, 30, "external", corpid.ToUpperInvariant(), user);

    /// <summary>Provider ciphertext external_userid: differs per provider and per corp (§6.14).</summary>
    public static string ProviderExternalUserId(string corpid, string provider, string user) => "wm" + Chars(UrlAlphabet, 30, "external-provider", corpid.ToUpperInvariant(), provider, user);

    /// <summary>pending_id; its real format is unconfirmed; we chose "p" + 31 url-safe characters. Generation 0 is the first issue.</summary>
    public static string PendingId(string corpid, string appKey, string user, int generation = 0) => generation == 0
        ? "p" + Chars(UrlAlphabet, 31, "pending", corpid.ToUpperInvariant(), appKey, user)
        : "p" + Chars(UrlAlphabet, 31, "pending", corpid.ToUpperInvariant(), appKey, user, generation.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>The external_userid a provider saw before WeCom's id upgrade (get_new_external_userid maps it to the new one).</summary>
    public static string LegacyProviderExternalUserId(string corpid, string provider, string user) => "wm" + Chars(UrlAlphabet, 30, "external-provider-legacy", corpid.ToUpperInvariant(), provider, user);

    /// <summary>open corpid: the provider-level ciphertext corpid, "wp" + 30 case-sensitive characters (examples show about 32).</summary>
    public static string OpenCorpId(string corpid, string provider) => "wp" + Chars(UrlAlphabet, 30, "open-corpid", corpid.ToUpperInvariant(), provider);

    /// <summary>A service provider's own corpid (ww + 16 hex).</summary>
    public static string ProviderCorpId(string provider) => "ww" + Convert.ToHexStringLower(Hash("provider-corp", provider))[..16];

    /// <summary>QR ticket of qrcode/create: "gQ" + url-safe characters, unique per call.</summary>
    public static string QrTicket() => "gQ" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(60)).Replace('+', '-').Replace('/', '_').TrimEnd('=');

    /// <summary>config_id of a contact way (32 hex, as in WeCom's samples).</summary>
    public static string ConfigId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>open_userid of a member as a provider sees it (provider-level, §6.12); the shape is ours (unconfirmed).</summary>
    public static string OpenUserId(string corpid, string provider, string userid) => "wo" + Chars(UrlAlphabet, 30, "open-userid", corpid.ToUpperInvariant(), provider, userid);

    /// <summary>Original id of an OA (<c>gh_</c> + 12 hex).</summary>
    public static string OriginalId(string appid) => "gh_" + Convert.ToHexStringLower(Hash("gh", appid))[..12];

    /// <summary>suite_id of a provider app (ww + 16 hex).</summary>
    public static string SuiteId(string provider, string appName) => "ww" + Convert.ToHexStringLower(Hash("suite", provider, appName))[..16];

    /// <summary>Deterministic fraction in [0,1) for generated follow decisions.</summary>
    public static double Fraction(params string[] parts) => BitConverter.ToUInt64(Hash(parts), 0) / 18446744073709551616.0;

    private static string Chars(string alphabet, int count, params string[] parts)
    {
        var hash = Hash(parts);
        var chars = new char[count];
        for (var i = 0; i < count; i++)
        {
            // 32 hash bytes cover up to 32 chars; alphabets of 62/64 give a near-uniform spread, enough for a sandbox.
            chars[i] = alphabet[hash[i % hash.Length] % alphabet.Length];
            if (i == hash.Length - 1)
            {
                hash = SHA256.HashData(hash);
            }
        }
        return new string(chars);
    }

    private static byte[] Hash(params string[] parts) => HMACSHA256.HashData(Key, Encoding.UTF8.GetBytes(string.Join('\u001f', parts)));
}
