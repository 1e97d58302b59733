using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace OneId.WeChat.Crypto;

/// <summary>
/// Mini Program open data (wx.getUserInfo, getPhoneNumber's legacy form, …): AES-128-CBC with PKCS#7 (block 16),
/// key = base64(session_key), iv = base64(iv); the plaintext JSON carries <c>watermark.appid</c>; the plain
/// <c>rawData</c> is signed with <c>sha1(rawData + session_key)</c> (docs/wechat-api.md §4.5).
/// </summary>
public static class MiniProgramOpenData
{
    /// <summary>
    /// Decrypts <paramref name="encryptedData"/> and, when <paramref name="expectedAppId"/> is given, refuses a watermark of
    /// another app. Throws <see cref="WeChatCryptoException"/> with a distinct error for each failure.
    /// </summary>
    public static OpenDataPayload Decrypt(string sessionKey, string iv, string encryptedData, string? expectedAppId = null)
    {
        var key = DecodeKey(sessionKey, "session_key");
        var ivBytes = DecodeKey(iv, "iv");
        byte[] cipher;
        try
        {
            cipher = Convert.FromBase64String(encryptedData ?? throw new ArgumentNullException(nameof(encryptedData)));
        }
        catch (FormatException ex)
        {
            throw new WeChatCryptoException(WeChatCryptoError.InvalidBase64, "encryptedData is not valid base64.", ex);
        }
        if (cipher.Length == 0 || cipher.Length % 16 != 0)
        {
            throw new WeChatCryptoException(WeChatCryptoError.InvalidCiphertextLength,
                $"encryptedData is {cipher.Length} bytes, not a whole number of 16-byte AES blocks; it was truncated or altered.");
        }

        byte[] plain;
        using (var aes = Aes.Create())
        {
            aes.Key = key;
            try
            {
                plain = aes.DecryptCbc(cipher, ivBytes, PaddingMode.PKCS7);
            }
            catch (CryptographicException ex)
            {
                // The classic "session_key is stale" failure: wx.login rotated the key after the data was encrypted (§4.1).
                throw new WeChatCryptoException(WeChatCryptoError.InvalidPadding,
                    "encryptedData did not decrypt (bad padding): the session_key is stale or wrong (call wx.login and code2Session again), or iv/encryptedData were altered.", ex);
            }
        }

        string json;
        try
        {
            json = new UTF8Encoding(false, true).GetString(plain);
        }
        catch (DecoderFallbackException ex)
        {
            throw new WeChatCryptoException(WeChatCryptoError.InvalidPayload, "The decrypted open data is not UTF-8 text.", ex);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }

        string? watermarkAppId = null;
        long? watermarkTimestamp = null;
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new JsonException("not an object");
            }
            if (doc.RootElement.TryGetProperty("watermark", out var watermark) && watermark.ValueKind == JsonValueKind.Object)
            {
                if (watermark.TryGetProperty("appid", out var appId) && appId.ValueKind == JsonValueKind.String)
                {
                    watermarkAppId = appId.GetString();
                }
                if (watermark.TryGetProperty("timestamp", out var ts) && ts.ValueKind == JsonValueKind.Number && ts.TryGetInt64(out var t))
                {
                    watermarkTimestamp = t;
                }
            }
        }
        catch (JsonException ex)
        {
            throw new WeChatCryptoException(WeChatCryptoError.InvalidPayload, "The decrypted open data is not a JSON object.", ex);
        }

        if (expectedAppId is not null && !string.Equals(watermarkAppId, expectedAppId, StringComparison.Ordinal))
        {
            throw new WeChatCryptoException(WeChatCryptoError.WatermarkMismatch,
                $"The open data watermark names app '{watermarkAppId ?? "(none)"}', not '{expectedAppId}'; it was produced for another mini program.");
        }
        return new OpenDataPayload(json, watermarkAppId, watermarkTimestamp);
    }

    /// <summary>The encrypt side (the sandbox uses it to produce wx.getUserInfo payloads): base64 AES-128-CBC PKCS#7.</summary>
    public static string Encrypt(string sessionKey, string iv, string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        using var aes = Aes.Create();
        aes.Key = DecodeKey(sessionKey, "session_key");
        return Convert.ToBase64String(aes.EncryptCbc(Encoding.UTF8.GetBytes(json), DecodeKey(iv, "iv"), PaddingMode.PKCS7));
    }

    /// <summary>A fresh random iv (base64 of 16 bytes), as the WeChat client generates per payload.</summary>
    public static string NewIv() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));

    /// <summary>A fresh random session_key (base64 of 16 bytes, §8).</summary>
    public static string NewSessionKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));

    /// <summary><c>sha1(rawData + session_key)</c> as lowercase hex (§4.5).</summary>
    public static string ComputeSignature(string rawData, string sessionKey) => WeChatSignature.ComputeOpenData(rawData, sessionKey);

    /// <summary>Checks the <c>signature</c> of <c>rawData</c>; throws <see cref="WeChatCryptoError.InvalidSignature"/>.</summary>
    public static void VerifySignature(string rawData, string sessionKey, string? signature)
    {
        if (!WeChatSignature.Matches(ComputeSignature(rawData, sessionKey), signature))
        {
            throw new WeChatCryptoException(WeChatCryptoError.InvalidSignature,
                "signature != sha1(rawData + session_key): pass rawData exactly as the client sent it, and check that the session_key is current.");
        }
    }

    private static byte[] DecodeKey(string value, string name)
    {
        ArgumentNullException.ThrowIfNull(value, name);
        try
        {
            var bytes = Convert.FromBase64String(value);
            if (bytes.Length == 16)
            {
                return bytes;
            }
        }
        catch (FormatException)
        {
            // fall through
        }
        throw new WeChatCryptoException(WeChatCryptoError.InvalidKey, $"The {name} must be base64 of exactly 16 bytes (24 characters).");
    }
}

/// <summary>Decrypted open data: the JSON text exactly as decrypted, and its watermark.</summary>
public sealed record OpenDataPayload(string Json, string? WatermarkAppId, long? WatermarkTimestamp);
