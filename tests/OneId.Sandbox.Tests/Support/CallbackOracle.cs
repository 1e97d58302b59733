using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace OneId.Sandbox.Tests.Support;

/// <summary>
/// An independent reading of docs/wechat-api.md §7.1/7.2 for the tests (not the production crypto), so a push is
/// checked against the spec rather than against the code that produced it.
/// </summary>
internal static class CallbackOracle
{
    public static string Sha1Sorted(params string[] parts)
    {
        var sorted = parts.OrderBy(p => p, StringComparer.Ordinal);
        return Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(string.Concat(sorted))));
    }

    /// <summary>Decrypts an Encrypt value: AES-256-CBC, IV = key[..16], PKCS#7 over 32-byte blocks; returns (msg, receiveid).</summary>
    public static (string Message, string ReceiveId) Decrypt(string aesKey, string encrypt)
    {
        var key = Convert.FromBase64String(aesKey + "=");
        using var aes = Aes.Create();
        aes.Key = key;
        var plain = aes.DecryptCbc(Convert.FromBase64String(encrypt), key.AsSpan(0, 16), PaddingMode.None);
        var pad = plain[^1];
        if (pad is < 1 or > 32)
        {
            throw new InvalidOperationException($"pad byte {pad} is outside 1..32");
        }
        if ((plain.Length % 32) != 0)
        {
            throw new InvalidOperationException("ciphertext is not a multiple of 32 bytes");
        }
        var content = plain.AsSpan(0, plain.Length - pad);
        var length = BinaryPrimitives.ReadInt32BigEndian(content.Slice(16, 4));
        var message = Encoding.UTF8.GetString(content.Slice(20, length));
        var receiveId = Encoding.UTF8.GetString(content[(20 + length)..]);
        return (message, receiveId);
    }

    /// <summary>wx.getUserInfo decryption (§4.5): AES-128-CBC, PKCS#7.</summary>
    public static string DecryptOpenData(string sessionKey, string iv, string encryptedData)
    {
        using var aes = Aes.Create();
        aes.Key = Convert.FromBase64String(sessionKey);
        return Encoding.UTF8.GetString(aes.DecryptCbc(Convert.FromBase64String(encryptedData), Convert.FromBase64String(iv), PaddingMode.PKCS7));
    }

    public static string Between(string xml, string tag)
    {
        var open = "<" + tag + ">";
        var start = xml.IndexOf(open, StringComparison.Ordinal);
        if (start < 0)
        {
            return "";
        }
        start += open.Length;
        var end = xml.IndexOf("</" + tag + ">", start, StringComparison.Ordinal);
        var value = xml[start..end];
        return value.StartsWith("<![CDATA[", StringComparison.Ordinal) ? value[9..^3] : value;
    }
}
