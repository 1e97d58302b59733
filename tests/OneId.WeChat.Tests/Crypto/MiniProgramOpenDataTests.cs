using System.Security.Cryptography;
using System.Text;
using FluentAssertions;
using OneId.WeChat.Crypto;
using Xunit;

namespace OneId.WeChat.Tests.Crypto;

public sealed class MiniProgramOpenDataTests
{
    private const string AppId = "wx4f4bc4dec97d474b";
    private const string SessionKey = "tiihtNczf5v6AKRyjwEUhQ==";
    private const string Iv = "r7BXXKkLb8qrSNn05n0qiA==";
    private const string Json = "{\"openId\":\"oGZUI0egBJY1zhBYw2KhdUfwVJJE\",\"nickName\":\"Band\",\"unionId\":\"ocMvos6NjeKLIBqg5Mr9QjxrP1FA\",\"watermark\":{\"timestamp\":1477314187,\"appid\":\"wx4f4bc4dec97d474b\"}}";

    [Fact]
    public void Round_trips_and_reads_the_watermark()
    {
        var data = MiniProgramOpenData.Encrypt(SessionKey, Iv, Json);

        var payload = MiniProgramOpenData.Decrypt(SessionKey, Iv, data, AppId);

        payload.Json.Should().Be(Json);
        payload.WatermarkAppId.Should().Be(AppId);
        payload.WatermarkTimestamp.Should().Be(1477314187);
    }

    [Fact]
    public void Encryption_is_plain_aes_128_cbc_pkcs7_with_the_given_key_and_iv()
    {
        // Independent computation with a raw ICryptoTransform, not the helper under test.
        using var aes = Aes.Create();
        aes.Key = Convert.FromBase64String(SessionKey);
        aes.IV = Convert.FromBase64String(Iv);
        using var encryptor = aes.CreateEncryptor();
        var bytes = Encoding.UTF8.GetBytes(Json);
        var expected = Convert.ToBase64String(encryptor.TransformFinalBlock(bytes, 0, bytes.Length));

        MiniProgramOpenData.Encrypt(SessionKey, Iv, Json).Should().Be(expected);
    }

    [Fact]
    public void A_watermark_of_another_app_is_refused()
    {
        var data = MiniProgramOpenData.Encrypt(SessionKey, Iv, Json);

        Expect(WeChatCryptoError.WatermarkMismatch, () => MiniProgramOpenData.Decrypt(SessionKey, Iv, data, "wx0000000000000000"));
        var noWatermark = MiniProgramOpenData.Encrypt(SessionKey, Iv, "{\"openId\":\"o1\"}");
        Expect(WeChatCryptoError.WatermarkMismatch, () => MiniProgramOpenData.Decrypt(SessionKey, Iv, noWatermark, AppId));
        MiniProgramOpenData.Decrypt(SessionKey, Iv, noWatermark).WatermarkAppId.Should().BeNull();
    }

    [Fact]
    public void A_stale_session_key_is_refused_as_bad_padding()
    {
        var data = MiniProgramOpenData.Encrypt(SessionKey, Iv, Json);
        // With a wrong key the last block decrypts to noise; PKCS#7 accepts noise only when it ends in 0x01 (or 0x02 0x02 ...).
        var failures = 0;
        for (var i = 0; i < 20; i++)
        {
            try
            {
                MiniProgramOpenData.Decrypt(MiniProgramOpenData.NewSessionKey(), Iv, data, AppId);
            }
            catch (WeChatCryptoException ex)
            {
                ex.Error.Should().BeOneOf(WeChatCryptoError.InvalidPadding, WeChatCryptoError.InvalidPayload);
                failures++;
            }
        }
        failures.Should().Be(20);
    }

    [Fact]
    public void A_flipped_byte_in_the_last_block_breaks_the_padding()
    {
        var bytes = Convert.FromBase64String(MiniProgramOpenData.Encrypt(SessionKey, Iv, Json));
        bytes[^17] ^= 0x20;

        Expect(WeChatCryptoError.InvalidPadding, () => MiniProgramOpenData.Decrypt(SessionKey, Iv, Convert.ToBase64String(bytes)));
    }

    [Fact]
    public void Malformed_inputs_have_their_own_errors()
    {
        var data = MiniProgramOpenData.Encrypt(SessionKey, Iv, Json);
        Expect(WeChatCryptoError.InvalidKey, () => MiniProgramOpenData.Decrypt("AAAA", Iv, data));
        Expect(WeChatCryptoError.InvalidKey, () => MiniProgramOpenData.Decrypt(SessionKey, "%%%", data));
        Expect(WeChatCryptoError.InvalidBase64, () => MiniProgramOpenData.Decrypt(SessionKey, Iv, "@@@"));
        Expect(WeChatCryptoError.InvalidCiphertextLength, () => MiniProgramOpenData.Decrypt(SessionKey, Iv, Convert.ToBase64String(new byte[15])));
        var notJson = MiniProgramOpenData.Encrypt(SessionKey, Iv, "hello");
        Expect(WeChatCryptoError.InvalidPayload, () => MiniProgramOpenData.Decrypt(SessionKey, Iv, notJson));
    }

    [Fact]
    public void Signature_is_sha1_of_raw_data_then_session_key()
    {
        const string raw = "{\"nickName\":\"Band\",\"gender\":1}";
        var expected = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(raw + SessionKey)));

        MiniProgramOpenData.ComputeSignature(raw, SessionKey).Should().Be(expected);
        // Known answer: SHA-1("abc") split as rawData "ab" + session_key "c".
        MiniProgramOpenData.ComputeSignature("ab", "c").Should().Be("a9993e364706816aba3e25717850c26c9cd0d89d");
        MiniProgramOpenData.VerifySignature(raw, SessionKey, expected);
        Expect(WeChatCryptoError.InvalidSignature, () => MiniProgramOpenData.VerifySignature(raw + " ", SessionKey, expected));
        Expect(WeChatCryptoError.InvalidSignature, () => MiniProgramOpenData.VerifySignature(raw, MiniProgramOpenData.NewSessionKey(), expected));
    }

    private static void Expect(WeChatCryptoError error, Action act) =>
        act.Should().Throw<WeChatCryptoException>().Which.Error.Should().Be(error);

    private static void Expect(WeChatCryptoError error, Func<object?> act) =>
        act.Should().Throw<WeChatCryptoException>().Which.Error.Should().Be(error);
}
