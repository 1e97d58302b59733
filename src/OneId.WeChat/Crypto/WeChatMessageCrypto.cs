using System.Buffers.Binary;
using System.Security;
using System.Security.Cryptography;
using System.Text;

namespace OneId.WeChat.Crypto;

/// <summary>
/// WXBizMsgCrypt, the safe-mode callback crypto shared by OA, MP, third-party platform (component) and WeCom (docs/wechat-api.md §7.2).
/// Both directions: the hub decrypts pushes and encrypts passive replies; the sandbox encrypts pushes.
/// </summary>
/// <remarks>
/// AES-256-CBC, key = base64(EncodingAESKey + "="), IV = key[..16], no library padding: PKCS#7 is applied by hand over
/// 32-byte blocks (pad values 1..32, not the 16 a library would use). Plaintext = 16 random bytes | msg_len (4 bytes,
/// big-endian) | msg (UTF-8) | receiveid. Thread-safe: each call creates its own cipher.
/// </remarks>
public sealed class WeChatMessageCrypto
{
    /// <summary>The block size WXBizMsgCrypt pads to (§7.2: 32, not AES's 16).</summary>
    public const int PadBlockSize = 32;

    private const int RandomLength = 16;
    private const int HeaderLength = RandomLength + 4;

    private readonly string _token;
    private readonly byte[] _key;

    /// <param name="token">The callback Token configured in the console (any length; used only in signatures).</param>
    /// <param name="encodingAesKey">The 43-character EncodingAESKey.</param>
    /// <param name="receiveId">
    /// The id trailing every plaintext: the appid for OA/MP, the component appid for third-party pushes, the corpid or suite_id
    /// for WeCom, and "" for a WeCom smart bot (§7.2).
    /// </param>
    public WeChatMessageCrypto(string token, string encodingAesKey, string receiveId)
    {
        ArgumentNullException.ThrowIfNull(token);
        ArgumentNullException.ThrowIfNull(receiveId);
        _token = token;
        _key = DecodeEncodingAesKey(encodingAesKey);
        ReceiveId = receiveId;
    }

    /// <summary>The receiveid this instance writes and expects.</summary>
    public string ReceiveId { get; }

    /// <summary>Decodes a 43-character EncodingAESKey into the 32-byte AES key; throws <see cref="WeChatCryptoError.InvalidKey"/>.</summary>
    public static byte[] DecodeEncodingAesKey(string encodingAesKey)
    {
        ArgumentNullException.ThrowIfNull(encodingAesKey);
        if (encodingAesKey.Length != 43)
        {
            throw new WeChatCryptoException(WeChatCryptoError.InvalidKey,
                $"The EncodingAESKey must be 43 characters (it has {encodingAesKey.Length}); copy it again from the console.");
        }
        try
        {
            var key = Convert.FromBase64String(encodingAesKey + "=");
            if (key.Length == 32)
            {
                return key;
            }
        }
        catch (FormatException)
        {
            // fall through to the error below
        }
        throw new WeChatCryptoException(WeChatCryptoError.InvalidKey,
            "The EncodingAESKey is not 43 base64 characters ([A-Za-z0-9]); copy it again from the console.");
    }

    /// <summary>
    /// Encrypts <paramref name="message"/> and signs it: returns the base64 <c>Encrypt</c> and its <c>msg_signature</c>.
    /// </summary>
    public EncryptedMessage Encrypt(string message, string timestamp, string nonce)
    {
        Span<byte> random = stackalloc byte[RandomLength];
        RandomNumberGenerator.Fill(random);
        return Encrypt(message, timestamp, nonce, random);
    }

    /// <summary>As <see cref="Encrypt(string, string, string)"/> with caller-chosen random prefix (for known-answer tests).</summary>
    public EncryptedMessage Encrypt(string message, string timestamp, string nonce, ReadOnlySpan<byte> random16)
    {
        ArgumentNullException.ThrowIfNull(timestamp);
        ArgumentNullException.ThrowIfNull(nonce);
        var encrypt = EncryptRaw(message, random16);
        return new EncryptedMessage(encrypt, WeChatSignature.ComputeMessage(_token, timestamp, nonce, encrypt), timestamp, nonce);
    }

    /// <summary>Encrypts without signing: the base64 ciphertext of the WXBizMsgCrypt plaintext layout.</summary>
    public string EncryptRaw(string message, ReadOnlySpan<byte> random16)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (random16.Length != RandomLength)
        {
            throw new ArgumentException("The random prefix must be 16 bytes.", nameof(random16));
        }
        var msg = Encoding.UTF8.GetBytes(message);
        var receiveId = Encoding.UTF8.GetBytes(ReceiveId);
        var contentLength = HeaderLength + msg.Length + receiveId.Length;
        var pad = PadBlockSize - (contentLength % PadBlockSize); // 1..32: a full block when already aligned
        var plain = new byte[contentLength + pad];
        random16.CopyTo(plain);
        BinaryPrimitives.WriteInt32BigEndian(plain.AsSpan(RandomLength), msg.Length);
        msg.CopyTo(plain, HeaderLength);
        receiveId.CopyTo(plain, HeaderLength + msg.Length);
        plain.AsSpan(contentLength).Fill((byte)pad);

        using var aes = CreateAes();
        return Convert.ToBase64String(aes.EncryptCbc(plain, _key.AsSpan(0, 16), PaddingMode.None));
    }

    /// <summary>
    /// Verifies <paramref name="msgSignature"/> over [token, timestamp, nonce, encrypt] first, then decrypts and checks the receiveid.
    /// </summary>
    public string Decrypt(string? msgSignature, string timestamp, string nonce, string encrypt)
    {
        ArgumentNullException.ThrowIfNull(encrypt);
        VerifyMessageSignature(msgSignature, timestamp, nonce, encrypt);
        return DecryptRaw(encrypt);
    }

    /// <summary>
    /// Takes a whole encrypted callback body (<c>&lt;xml&gt;…&lt;Encrypt&gt;…&lt;/Encrypt&gt;&lt;/xml&gt;</c>, or the passive reply form),
    /// parses it safely, verifies the signature and returns the decrypted inner XML, itself parsed safely.
    /// </summary>
    public DecryptedCallback DecryptCallback(string? msgSignature, string timestamp, string nonce, string body, int maxBytes = WeChatXml.DefaultMaxBytes)
    {
        var envelope = WeChatXml.Parse(body, maxBytes);
        var encrypt = envelope.GetRequired("Encrypt");
        var xml = Decrypt(msgSignature, timestamp, nonce, encrypt);
        return new DecryptedCallback(xml, WeChatXml.Parse(xml, maxBytes));
    }

    /// <summary>
    /// Reads an OA / MP / component push in either mode from its query parameters and body (§7.1, §7.2): safe mode
    /// (<c>encrypt_type=aes</c> or a <c>msg_signature</c>) is verified and decrypted; plain mode is verified with
    /// <c>signature</c> and parsed. Either way the signature is checked before the body is parsed further, and the XML is
    /// parsed with DTDs off and the size limit. WeCom pushes are always safe mode.
    /// </summary>
    public DecryptedCallback ReadPush(string? signature, string? msgSignature, string timestamp, string nonce, string? encryptType, string body,
        int maxBytes = WeChatXml.DefaultMaxBytes)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (string.Equals(encryptType, "aes", StringComparison.OrdinalIgnoreCase) || msgSignature is not null)
        {
            return DecryptCallback(msgSignature, timestamp, nonce, body, maxBytes);
        }
        VerifySignature(signature, timestamp, nonce);
        return new DecryptedCallback(body, WeChatXml.Parse(body, maxBytes));
    }

    /// <summary>
    /// WeCom URL verification (§7.5): verify msg_signature over [token, timestamp, nonce, echostr], decrypt echostr, check
    /// the receiveid (corpid or suite_id) and return the plaintext to answer with exactly (no quotes, BOM or newline).
    /// Pass the parameters already URL-decoded (ASP.NET's query binding does that; '+' in echostr must survive as '+').
    /// </summary>
    public string VerifyEchoStr(string? msgSignature, string timestamp, string nonce, string echoStr) =>
        Decrypt(msgSignature, timestamp, nonce, echoStr);

    /// <summary>Checks <c>msg_signature</c>; throws <see cref="WeChatCryptoError.InvalidSignature"/>.</summary>
    public void VerifyMessageSignature(string? msgSignature, string timestamp, string nonce, string encrypt)
    {
        ArgumentNullException.ThrowIfNull(timestamp);
        ArgumentNullException.ThrowIfNull(nonce);
        if (!WeChatSignature.Matches(WeChatSignature.ComputeMessage(_token, timestamp, nonce, encrypt), msgSignature))
        {
            throw new WeChatCryptoException(WeChatCryptoError.InvalidSignature,
                "'msg_signature' does not match sha1(sort(token, timestamp, nonce, Encrypt)); check the configured Token, or the body was altered.");
        }
    }

    /// <summary>Plain-mode <c>signature</c> check with this instance's token (§7.1; safe-mode POSTs carry it too).</summary>
    public void VerifySignature(string? signature, string timestamp, string nonce) =>
        WeChatSignature.VerifyCallback(_token, signature, timestamp, nonce);

    /// <summary>Decrypts without checking a signature (callers must have verified it) and checks the receiveid.</summary>
    public string DecryptRaw(string encrypt)
    {
        var (message, receiveId) = DecryptUnchecked(encrypt);
        if (!string.Equals(receiveId, ReceiveId, StringComparison.Ordinal))
        {
            // Ordinal on purpose: WeCom ciphertext ids are case-sensitive (§6.14).
            throw new WeChatCryptoException(WeChatCryptoError.ReceiveIdMismatch,
                $"The message was encrypted for another receiver (appid / corpid / suite_id), not '{ReceiveId}'.");
        }
        return message;
    }

    /// <summary>Decrypts and returns the message and the receiveid found in it, without comparing the receiveid.</summary>
    public (string Message, string ReceiveId) DecryptUnchecked(string encrypt)
    {
        ArgumentNullException.ThrowIfNull(encrypt);
        byte[] cipher;
        try
        {
            cipher = Convert.FromBase64String(encrypt);
        }
        catch (FormatException ex)
        {
            throw new WeChatCryptoException(WeChatCryptoError.InvalidBase64, "The encrypted field is not valid base64.", ex);
        }
        if (cipher.Length == 0 || cipher.Length % 16 != 0)
        {
            throw new WeChatCryptoException(WeChatCryptoError.InvalidCiphertextLength,
                $"The ciphertext is {cipher.Length} bytes, not a whole number of 16-byte AES blocks; it was truncated or altered.");
        }

        using var aes = CreateAes();
        var plain = aes.DecryptCbc(cipher, _key.AsSpan(0, 16), PaddingMode.None);
        try
        {
            int pad = plain[^1];
            // PKCS#7 over 32-byte blocks: 1..32, every pad byte equal. A wrong key lands here almost always.
            if (pad < 1 || pad > PadBlockSize || pad > plain.Length || !AllEqual(plain.AsSpan(plain.Length - pad), (byte)pad))
            {
                throw new WeChatCryptoException(WeChatCryptoError.InvalidPadding,
                    "The decrypted padding is invalid: the EncodingAESKey is wrong or the ciphertext was altered.");
            }
            var content = plain.AsSpan(0, plain.Length - pad);
            if (content.Length < HeaderLength)
            {
                throw InvalidLength();
            }
            var msgLength = BinaryPrimitives.ReadInt32BigEndian(content[RandomLength..]);
            if (msgLength < 0 || msgLength > content.Length - HeaderLength)
            {
                throw InvalidLength();
            }
            var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
            try
            {
                var message = utf8.GetString(content.Slice(HeaderLength, msgLength));
                var receiveId = utf8.GetString(content[(HeaderLength + msgLength)..]);
                return (message, receiveId);
            }
            catch (DecoderFallbackException ex)
            {
                throw new WeChatCryptoException(WeChatCryptoError.InvalidMessageLength,
                    "The decrypted message is not UTF-8: the EncodingAESKey is wrong or the ciphertext was altered.", ex);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    /// <summary>The inbound encrypted body WeChat posts (§7.2); WeCom app callbacks add AgentID.</summary>
    public static string BuildEncryptedBody(string toUserName, string encrypt, string? agentId = null)
    {
        var sb = new StringBuilder("<xml><ToUserName><![CDATA[").Append(Cdata(toUserName)).Append("]]></ToUserName>");
        if (agentId is not null)
        {
            sb.Append("<AgentID><![CDATA[").Append(Cdata(agentId)).Append("]]></AgentID>");
        }
        return sb.Append("<Encrypt><![CDATA[").Append(encrypt).Append("]]></Encrypt></xml>").ToString();
    }

    private static string Cdata(string value) => value.Replace("]]>", "]]]]><![CDATA[>", StringComparison.Ordinal);

    private static WeChatCryptoException InvalidLength() =>
        new(WeChatCryptoError.InvalidMessageLength,
            "The decrypted msg_len does not fit the plaintext: the EncodingAESKey is wrong or the ciphertext was altered.");

    private static bool AllEqual(ReadOnlySpan<byte> bytes, byte value) => bytes.IndexOfAnyExcept(value) < 0;

    private Aes CreateAes()
    {
        var aes = Aes.Create();
        aes.Key = _key;
        return aes;
    }
}

/// <summary>An encrypted message with its signature: the parts of a push or a passive reply (§7.2).</summary>
public sealed record EncryptedMessage(string Encrypt, string MsgSignature, string TimeStamp, string Nonce)
{
    /// <summary>The passive-reply XML: <c>&lt;xml&gt;&lt;Encrypt/&gt;&lt;MsgSignature/&gt;&lt;TimeStamp/&gt;&lt;Nonce/&gt;&lt;/xml&gt;</c>.</summary>
    public string ToReplyXml() =>
        $"<xml><Encrypt><![CDATA[{Encrypt}]]></Encrypt><MsgSignature><![CDATA[{MsgSignature}]]></MsgSignature><TimeStamp>{SecurityElement.Escape(TimeStamp)}</TimeStamp><Nonce><![CDATA[{Nonce}]]></Nonce></xml>";
}

/// <summary>A decrypted callback: the inner XML text and its safely parsed form.</summary>
public sealed record DecryptedCallback(string Xml, WeChatXmlMessage Message);
