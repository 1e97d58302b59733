using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using FluentAssertions;
using OneId.WeChat.Crypto;
using Xunit;

namespace OneId.WeChat.Tests.Crypto;

public sealed class WeChatMessageCryptoTests
{
    private const string Token = "QDG6eK";
    private const string AesKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
    private const string CorpId = "wx5823bf96d3bd56c7";

    private static readonly WeChatMessageCrypto Crypto = new(Token, AesKey, CorpId);

    [Fact]
    public void Decrypts_the_published_WXBizMsgCrypt_sample()
    {
        // The sample shipped with Tencent's WXBizMsgCrypt SDK (Sample.cs): a known answer produced by another implementation.
        const string body = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==]]></Encrypt></xml>";

        var result = Crypto.DecryptCallback("477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", body);

        result.Message.Root.Name.LocalName.Should().Be("xml");
        result.Message["ToUserName"].Should().Be(CorpId);
        result.Xml.Should().Contain("<MsgType>");
    }

    [Fact]
    public void Encrypt_matches_the_published_known_answer_with_a_fixed_random_prefix()
    {
        // Tencent's Java SDK test: key "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", appid wxb11529c136998cb6,
        // random "aaaabbbbccccdddd", message "我是中文abcd123".
        var crypto = new WeChatMessageCrypto("pamtest", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wxb11529c136998cb6");

        var encrypt = crypto.EncryptRaw("我是中文abcd123", Encoding.ASCII.GetBytes("aaaabbbbccccdddd"));

        encrypt.Should().Be("jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==");
        crypto.DecryptRaw(encrypt).Should().Be("我是中文abcd123");
    }

    [Fact]
    public void Signature_is_sha1_of_the_ordinal_sorted_concatenation()
    {
        // sorted("b","c","a") = "abc"; SHA-1("abc") is the FIPS 180 test vector.
        WeChatSignature.Compute("b", "c", "a").Should().Be("a9993e364706816aba3e25717850c26c9cd0d89d");
        // Ordinal, not culture: "B" (0x42) sorts before "a" (0x61).
        WeChatSignature.Compute("a", "B").Should().Be(Convert.ToHexStringLower(SHA1.HashData("Ba"u8.ToArray())));
    }

    [Theory]
    [InlineData("")]
    [InlineData("<xml><Content><![CDATA[hi]]></Content></xml>")]
    [InlineData("中文消息，长度按字节计算")]
    [InlineData("exactly-aligned")]
    public void Round_trips_any_message(string message)
    {
        var encrypted = Crypto.Encrypt(message, "1700000000", "nonce1");

        encrypted.MsgSignature.Should().Be(WeChatSignature.ComputeMessage(Token, "1700000000", "nonce1", encrypted.Encrypt));
        Crypto.Decrypt(encrypted.MsgSignature, "1700000000", "nonce1", encrypted.Encrypt).Should().Be(message);
    }

    [Fact]
    public void Padding_is_pkcs7_over_32_byte_blocks()
    {
        for (var length = 0; length < 70; length++)
        {
            var encrypt = Crypto.EncryptRaw(new string('x', length), new byte[16]);
            var plain = DecryptNoPadding(Convert.FromBase64String(encrypt));
            plain.Length.Should().Be(((20 + length + CorpId.Length) / 32 + 1) * 32);
            int pad = plain[^1];
            pad.Should().BeInRange(1, 32);
            plain[^pad..].Should().OnlyContain(b => b == pad);
        }
    }

    [Fact]
    public void Passive_reply_xml_round_trips_through_DecryptCallback()
    {
        var reply = Crypto.Encrypt("<xml><Content>ok</Content></xml>", "1700000001", "42");

        var decrypted = Crypto.DecryptCallback(reply.MsgSignature, "1700000001", "42", reply.ToReplyXml());

        decrypted.Message["Content"].Should().Be("ok");
    }

    [Fact]
    public void WeCom_echostr_is_decrypted_and_returned_exactly()
    {
        var echo = Crypto.Encrypt("1616140317555161061", "1409659589", "263014780");

        Crypto.VerifyEchoStr(echo.MsgSignature, "1409659589", "263014780", echo.Encrypt).Should().Be("1616140317555161061");
    }

    [Fact]
    public void Plain_echostr_is_returned_unchanged_when_the_signature_matches()
    {
        var signature = WeChatSignature.ComputeCallback("tok", "123", "456");

        WeChatSignature.VerifyPlainEchoStr("tok", signature, "123", "456", "echo-me").Should().Be("echo-me");
        WeChatSignature.VerifyPlainEchoStr("tok", signature.ToUpperInvariant(), "123", "456", "echo-me").Should().Be("echo-me");
        Expect(WeChatCryptoError.InvalidSignature, () => WeChatSignature.VerifyPlainEchoStr("tok", signature, "124", "456", "echo-me"));
        Expect(WeChatCryptoError.InvalidSignature, () => WeChatSignature.VerifyPlainEchoStr("tok", null, "123", "456", "echo-me"));
    }

    [Fact]
    public void A_tampered_ciphertext_fails_the_signature_before_decryption()
    {
        var encrypted = Crypto.Encrypt("hello", "1", "2");
        var bytes = Convert.FromBase64String(encrypted.Encrypt);
        bytes[5] ^= 0x01;

        Expect(WeChatCryptoError.InvalidSignature, () => Crypto.Decrypt(encrypted.MsgSignature, "1", "2", Convert.ToBase64String(bytes)));
        Expect(WeChatCryptoError.InvalidSignature, () => Crypto.Decrypt(encrypted.MsgSignature, "1", "3", encrypted.Encrypt));
        Expect(WeChatCryptoError.InvalidSignature, () => new WeChatMessageCrypto("other", AesKey, CorpId).Decrypt(encrypted.MsgSignature, "1", "2", encrypted.Encrypt));
    }

    [Fact]
    public void A_flipped_byte_in_the_last_block_breaks_the_padding()
    {
        var encrypt = Crypto.EncryptRaw("hello", new byte[16]);
        var bytes = Convert.FromBase64String(encrypt);
        // CBC: flipping a byte of the second-to-last block flips the same byte of the last plaintext block (the padding).
        bytes[^17] ^= 0x40;

        Expect(WeChatCryptoError.InvalidPadding, () => Crypto.DecryptRaw(Convert.ToBase64String(bytes)));
    }

    [Fact]
    public void A_wrong_key_is_refused_as_bad_padding_or_bad_length()
    {
        var other = new WeChatMessageCrypto(Token, "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", CorpId);
        for (var i = 0; i < 50; i++)
        {
            var encrypted = other.Encrypt("hello " + i, "1", "2");
            var act = () => Crypto.Decrypt(encrypted.MsgSignature, "1", "2", encrypted.Encrypt);
            act.Should().Throw<WeChatCryptoException>()
                .Which.Error.Should().BeOneOf(WeChatCryptoError.InvalidPadding, WeChatCryptoError.InvalidMessageLength);
        }
    }

    [Fact]
    public void A_wrong_receive_id_is_refused()
    {
        var encrypted = new WeChatMessageCrypto(Token, AesKey, "wwOTHERCORP0000000").Encrypt("hello", "1", "2");

        Expect(WeChatCryptoError.ReceiveIdMismatch, () => Crypto.Decrypt(encrypted.MsgSignature, "1", "2", encrypted.Encrypt));
        // Case matters: WeCom ciphertext ids are case-sensitive.
        var upper = new WeChatMessageCrypto(Token, AesKey, CorpId.ToUpperInvariant()).Encrypt("hello", "1", "2");
        Expect(WeChatCryptoError.ReceiveIdMismatch, () => Crypto.Decrypt(upper.MsgSignature, "1", "2", upper.Encrypt));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(33)]
    [InlineData(200)]
    public void Out_of_range_padding_values_are_refused(int padValue)
    {
        var plain = Layout("hello", CorpId);
        var padded = plain.Concat(Enumerable.Repeat((byte)padValue, 32 - plain.Length % 32)).ToArray();

        Expect(WeChatCryptoError.InvalidPadding, () => Crypto.DecryptRaw(EncryptNoPadding(padded)));
    }

    [Fact]
    public void Inconsistent_padding_bytes_are_refused()
    {
        var plain = Layout("hello", CorpId);
        var pad = 32 - plain.Length % 32;
        var padded = plain.Concat(Enumerable.Repeat((byte)pad, pad)).ToArray();
        padded[^2] = 7;

        Expect(WeChatCryptoError.InvalidPadding, () => Crypto.DecryptRaw(EncryptNoPadding(padded)));
    }

    [Fact]
    public void A_msg_len_beyond_the_plaintext_is_refused()
    {
        var plain = Layout("hello", CorpId);
        BinaryPrimitives.WriteInt32BigEndian(plain.AsSpan(16), 5000);
        var pad = 32 - plain.Length % 32;

        Expect(WeChatCryptoError.InvalidMessageLength, () => Crypto.DecryptRaw(EncryptNoPadding(plain.Concat(Enumerable.Repeat((byte)pad, pad)).ToArray())));
    }

    [Fact]
    public void Malformed_ciphertexts_have_their_own_errors()
    {
        Expect(WeChatCryptoError.InvalidBase64, () => Crypto.DecryptRaw("not base64!!"));
        Expect(WeChatCryptoError.InvalidCiphertextLength, () => Crypto.DecryptRaw(Convert.ToBase64String(new byte[20])));
        Expect(WeChatCryptoError.InvalidCiphertextLength, () => Crypto.DecryptRaw(""));
    }

    [Theory]
    [InlineData("short")]
    [InlineData("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2")]
    [InlineData("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B!!")]
    public void A_malformed_EncodingAESKey_is_refused(string key)
    {
        Expect(WeChatCryptoError.InvalidKey, () => new WeChatMessageCrypto(Token, key, CorpId));
    }

    [Fact]
    public void An_oversize_body_is_refused_before_parsing()
    {
        var body = "<xml><Encrypt>" + new string('A', 70_000) + "</Encrypt></xml>";

        Expect(WeChatCryptoError.BodyTooLarge, () => Crypto.DecryptCallback("x", "1", "2", body));
        Expect(WeChatCryptoError.BodyTooLarge, () => WeChatXml.Parse("<xml>" + new string('a', 200) + "</xml>", maxBytes: 100));
    }

    [Fact]
    public async Task An_oversize_stream_is_refused_without_reading_it_all()
    {
        using var stream = new MemoryStream(new byte[1_000_000]);

        var act = () => WeChatXml.ReadAsync(stream, 1024, CancellationToken.None);

        (await act.Should().ThrowAsync<WeChatCryptoException>()).Which.Error.Should().Be(WeChatCryptoError.BodyTooLarge);
        stream.Position.Should().BeLessThanOrEqualTo(1025);
    }

    [Theory]
    [InlineData("<!DOCTYPE xml [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;\">]><xml><Encrypt>&b;</Encrypt></xml>")]
    [InlineData("<?xml version=\"1.0\"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><xml><Encrypt>&xxe;</Encrypt></xml>")]
    [InlineData("<!doctype xml SYSTEM \"http://attacker.example/x.dtd\"><xml/>")]
    public void Dtd_and_entity_payloads_are_refused(string body)
    {
        Expect(WeChatCryptoError.DtdProhibited, () => Crypto.DecryptCallback("x", "1", "2", body));
    }

    [Fact]
    public void A_user_message_that_mentions_a_doctype_in_cdata_is_fine()
    {
        const string xml = "<xml><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[<!DOCTYPE html><!ENTITY x \"y\">]]></Content></xml>";
        var encrypted = Crypto.Encrypt(xml, "1", "2");

        Crypto.DecryptCallback(encrypted.MsgSignature, "1", "2", MessageBody(encrypted)).Message["Content"].Should().Be("<!DOCTYPE html><!ENTITY x \"y\">");
    }

    [Fact]
    public void An_undeclared_entity_is_malformed_xml_and_never_resolved()
    {
        Expect(WeChatCryptoError.InvalidXml, () => WeChatXml.Parse("<xml><Content>&xxe;</Content></xml>"));
    }

    [Theory]
    [InlineData("<xml><Encrypt>abc</xml>")]
    [InlineData("not xml at all")]
    [InlineData("")]
    public void Malformed_xml_is_refused(string body)
    {
        Expect(WeChatCryptoError.InvalidXml, () => Crypto.DecryptCallback("x", "1", "2", body));
    }

    [Fact]
    public void A_body_without_Encrypt_is_refused()
    {
        Expect(WeChatCryptoError.MissingElement, () => Crypto.DecryptCallback("x", "1", "2", "<xml><ToUserName>gh_1</ToUserName></xml>"));
    }

    [Fact]
    public void A_decrypted_payload_with_a_dtd_is_refused_too()
    {
        var encrypted = Crypto.Encrypt("<!DOCTYPE x [<!ENTITY a \"b\">]><xml>&a;</xml>", "1", "2");

        Expect(WeChatCryptoError.DtdProhibited, () => Crypto.DecryptCallback(encrypted.MsgSignature, "1", "2", MessageBody(encrypted)));
    }

    [Fact]
    public void Encrypted_body_builder_produces_what_DecryptCallback_reads()
    {
        var encrypted = Crypto.Encrypt("<xml><Event>subscribe</Event></xml>", "9", "8");
        var body = WeChatMessageCrypto.BuildEncryptedBody("gh_abc", encrypted.Encrypt, agentId: "1000002");

        var parsed = WeChatXml.Parse(body);
        parsed["ToUserName"].Should().Be("gh_abc");
        parsed["AgentID"].Should().Be("1000002");
        Crypto.DecryptCallback(encrypted.MsgSignature, "9", "8", body).Message["Event"].Should().Be("subscribe");
    }

    [Fact]
    public void ReadPush_handles_safe_and_plain_mode_and_checks_the_signature_first()
    {
        const string xml = "<xml><FromUserName><![CDATA[o1]]></FromUserName><Event><![CDATA[subscribe]]></Event></xml>";
        var safe = Crypto.Encrypt(xml, "10", "20");
        var plainSignature = WeChatSignature.ComputeCallback(Token, "10", "20");

        Crypto.ReadPush(plainSignature, safe.MsgSignature, "10", "20", "aes", MessageBody(safe)).Message["Event"].Should().Be("subscribe");
        Crypto.ReadPush(plainSignature, null, "10", "20", null, xml).Message["FromUserName"].Should().Be("o1");
        Expect(WeChatCryptoError.InvalidSignature, () => Crypto.ReadPush("0000", null, "10", "20", null, xml));
        Expect(WeChatCryptoError.InvalidSignature, () => Crypto.ReadPush(plainSignature, null, "10", "20", "aes", MessageBody(safe)));
        Expect(WeChatCryptoError.InvalidSignature, () => Crypto.ReadPush(null, null, "10", "20", null, "<!DOCTYPE x><xml/>"));
        Expect(WeChatCryptoError.DtdProhibited, () => Crypto.ReadPush(plainSignature, null, "10", "20", null, "<!DOCTYPE x><xml/>"));
    }

    private static string MessageBody(EncryptedMessage encrypted) => WeChatMessageCrypto.BuildEncryptedBody("gh_x", encrypted.Encrypt);

    private static byte[] Layout(string message, string receiveId)
    {
        var msg = Encoding.UTF8.GetBytes(message);
        var plain = new byte[20 + msg.Length + receiveId.Length];
        BinaryPrimitives.WriteInt32BigEndian(plain.AsSpan(16), msg.Length);
        msg.CopyTo(plain, 20);
        Encoding.UTF8.GetBytes(receiveId).CopyTo(plain, 20 + msg.Length);
        return plain;
    }

    private static byte[] Key() => Convert.FromBase64String(AesKey + "=");

    private static string EncryptNoPadding(byte[] plain)
    {
        using var aes = Aes.Create();
        aes.Key = Key();
        return Convert.ToBase64String(aes.EncryptCbc(plain, Key().AsSpan(0, 16), PaddingMode.None));
    }

    private static byte[] DecryptNoPadding(byte[] cipher)
    {
        using var aes = Aes.Create();
        aes.Key = Key();
        return aes.DecryptCbc(cipher, Key().AsSpan(0, 16), PaddingMode.None);
    }

    private static void Expect(WeChatCryptoError error, Action act) =>
        act.Should().Throw<WeChatCryptoException>().Which.Error.Should().Be(error);

    private static void Expect(WeChatCryptoError error, Func<object?> act) =>
        act.Should().Throw<WeChatCryptoException>().Which.Error.Should().Be(error);
}
