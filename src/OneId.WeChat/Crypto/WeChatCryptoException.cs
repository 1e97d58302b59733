namespace OneId.WeChat.Crypto;

/// <summary>Why a callback or open-data payload was refused. Each value is one distinct failure.</summary>
public enum WeChatCryptoError
{
    /// <summary><c>signature</c> or <c>msg_signature</c> does not match the token, timestamp, nonce (and ciphertext).</summary>
    InvalidSignature,

    /// <summary>The EncodingAESKey (43 chars), session_key or iv is not a well-formed key of the right length.</summary>
    InvalidKey,

    /// <summary>A base64 field (Encrypt, echostr, encryptedData) is not valid base64.</summary>
    InvalidBase64,

    /// <summary>The ciphertext length is not a whole number of AES blocks.</summary>
    InvalidCiphertextLength,

    /// <summary>The PKCS#7 padding is wrong: usually a wrong key or a corrupted ciphertext.</summary>
    InvalidPadding,

    /// <summary>The 4-byte msg_len does not fit the plaintext: usually a wrong key or a corrupted ciphertext.</summary>
    InvalidMessageLength,

    /// <summary>The trailing receiveid (appid, component appid, corpid or suite_id) is not the expected one.</summary>
    ReceiveIdMismatch,

    /// <summary>The callback body is larger than the configured limit.</summary>
    BodyTooLarge,

    /// <summary>The XML carries a DOCTYPE (DTD or entity declarations); WeChat never sends one.</summary>
    DtdProhibited,

    /// <summary>The body is not well-formed XML.</summary>
    InvalidXml,

    /// <summary>A required element (such as <c>Encrypt</c>) is missing from the body.</summary>
    MissingElement,

    /// <summary>The decrypted open data is not the JSON WeChat sends.</summary>
    InvalidPayload,

    /// <summary>The open data watermark names another app.</summary>
    WatermarkMismatch,
}

/// <summary>
/// A callback or open-data payload failed verification or decryption. The message says what failed and what to check;
/// it never contains keys, tokens or plaintext.
/// </summary>
public sealed class WeChatCryptoException : Exception
{
    public WeChatCryptoException(WeChatCryptoError error, string message, Exception? innerException = null)
        : base(message, innerException) => Error = error;

    public WeChatCryptoError Error { get; }
}
