using System.Security.Cryptography;
using System.Text;

namespace OneId.WeChat.Crypto;

/// <summary>The SHA-1 signatures WeChat puts on callbacks and open data (docs/wechat-api.md §7.1, §7.2, §4.5).</summary>
public static class WeChatSignature
{
    /// <summary>
    /// Lowercase hex SHA-1 of the parts sorted with ordinal string comparison and concatenated. This is the callback
    /// <c>signature</c> for [token, timestamp, nonce] (§7.1) and <c>msg_signature</c> for [token, timestamp, nonce, Encrypt] (§7.2).
    /// </summary>
    public static string Compute(params string[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var sorted = (string[])parts.Clone();
        // WeChat sorts by byte value (the samples use strcmp / String.CompareOrdinal), never culture order.
        Array.Sort(sorted, StringComparer.Ordinal);
        return Sha1Hex(string.Concat(sorted));
    }

    /// <summary>Plain-mode callback signature: sorted [token, timestamp, nonce] (§7.1).</summary>
    public static string ComputeCallback(string token, string timestamp, string nonce) => Compute(token, timestamp, nonce);

    /// <summary>Safe-mode message signature: sorted [token, timestamp, nonce, encrypt] (§7.2).</summary>
    public static string ComputeMessage(string token, string timestamp, string nonce, string encrypt) =>
        Compute(token, timestamp, nonce, encrypt);

    /// <summary>
    /// Mini Program open-data signature: SHA-1 of <c>rawData + session_key</c>, no sorting (§4.5). rawData must be the exact
    /// string the client sent; re-serialised JSON will not match.
    /// </summary>
    public static string ComputeOpenData(string rawData, string sessionKey)
    {
        ArgumentNullException.ThrowIfNull(rawData);
        ArgumentNullException.ThrowIfNull(sessionKey);
        return Sha1Hex(rawData + sessionKey);
    }

    /// <summary>Compares a received signature with the expected one in constant time; hex case is ignored.</summary>
    public static bool Matches(string expected, string? received)
    {
        ArgumentNullException.ThrowIfNull(expected);
        if (string.IsNullOrEmpty(received) || received.Length != expected.Length)
        {
            return false;
        }
        var a = Encoding.ASCII.GetBytes(expected.ToLowerInvariant());
        var b = Encoding.ASCII.GetBytes(received.ToLowerInvariant());
        return CryptographicOperations.FixedTimeEquals(a, b);
    }

    /// <summary>Checks a plain-mode <c>signature</c>; throws <see cref="WeChatCryptoException"/> when it does not match.</summary>
    public static void VerifyCallback(string token, string? signature, string timestamp, string nonce)
    {
        if (!Matches(ComputeCallback(token, timestamp, nonce), signature))
        {
            throw new WeChatCryptoException(WeChatCryptoError.InvalidSignature,
                "The callback 'signature' does not match sha1(sort(token, timestamp, nonce)); check that the configured Token is the one set in the WeChat console.");
        }
    }

    /// <summary>
    /// OA / MP / component plain-mode URL verification (§7.1): when <c>signature</c> matches, the answer is <c>echostr</c> unchanged.
    /// </summary>
    public static string VerifyPlainEchoStr(string token, string? signature, string timestamp, string nonce, string echoStr)
    {
        ArgumentNullException.ThrowIfNull(echoStr);
        VerifyCallback(token, signature, timestamp, nonce);
        return echoStr;
    }

    internal static string Sha1Hex(string value) =>
        Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(value)));
}
