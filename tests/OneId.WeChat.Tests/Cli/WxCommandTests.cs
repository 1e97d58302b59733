using System.Net;
using FluentAssertions;
using OneId.Sandbox.World;
using OneId.Testing;
using OneId.WeChat.Crypto;
using OneId.WeChat.Tests.Support;
using Xunit;

namespace OneId.WeChat.Tests.Cli;

/// <summary>Runs the built CLI (<c>oneid.dll</c>, copied beside the tests) as a process, as a person would.</summary>
public sealed class WxCommandTests(SandboxWeChat wx) : IClassFixture<SandboxWeChat>
{
    private const string SessionKey = "tiihtNczf5v6AKRyjwEUhQ==";
    private const string Iv = "r7BXXKkLb8qrSNn05n0qiA==";
    private const string Json = "{\"openId\":\"oGZUI0egBJY1zhBYw2KhdUfwVJJE\",\"watermark\":{\"timestamp\":1477314187,\"appid\":\"wx4f4bc4dec97d474b\"}}";
    private const string AesKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
    private const string CorpId = "wx5823bf96d3bd56c7";

    private static Task<OneIdCli.Result> OneIdAsync(string? stdin, params string[] args) => OneIdCli.RunWithInputAsync(stdin, args);

    private static void OneLineFailure(OneIdCli.Result result, string expected)
    {
        result.ExitCode.Should().Be(1);
        result.StdOut.Should().BeEmpty();
        result.StdErr.TrimEnd('\n').Should().NotContain("\n", "failures are one line").And.Contain(expected).And.NotContain("   at ");
    }

    [Fact]
    public async Task Sign_prints_the_open_data_signature()
    {
        var result = await OneIdAsync(null, "wx", "sign", "--session-key", "c", "--raw-data", "ab");

        result.ExitCode.Should().Be(0);
        result.StdOut.Should().Be("a9993e364706816aba3e25717850c26c9cd0d89d\n");
    }

    [Fact]
    public async Task Decrypt_prints_the_json_and_refuses_another_apps_watermark()
    {
        var data = MiniProgramOpenData.Encrypt(SessionKey, Iv, Json);

        var ok = await OneIdAsync(null, "wx", "decrypt", "--session-key", SessionKey, "--iv", Iv, "--data", data, "--appid", "wx4f4bc4dec97d474b");
        var other = await OneIdAsync(null, "wx", "decrypt", "--session-key", SessionKey, "--iv", Iv, "--data", data, "--appid", "wx0000000000000000");
        var stale = await OneIdAsync(null, "wx", "decrypt", "--session-key", MiniProgramOpenData.NewSessionKey(), "--iv", Iv, "--data", data);

        ok.ExitCode.Should().Be(0);
        ok.StdOut.Should().Be(Json + "\n");
        OneLineFailure(other, "watermark");
        stale.ExitCode.Should().Be(1);
        stale.StdErr.Should().Contain("session_key");
    }

    [Fact]
    public async Task Callback_verify_prints_the_plaintext_echostr_even_when_pasted_url_encoded()
    {
        var crypto = new WeChatMessageCrypto("QDG6eK", AesKey, CorpId);
        var echo = crypto.Encrypt("1616140317555161061", "1409659589", "263014780");
        string[] Args(string signature, string echostr) =>
            ["wx", "callback-verify", "--token", "QDG6eK", "--aes-key", AesKey, "--receive-id", CorpId,
             "--msg-signature", signature, "--timestamp", "1409659589", "--nonce", "263014780", "--echostr", echostr];

        var plain = await OneIdAsync(null, Args(echo.MsgSignature, echo.Encrypt));
        var encoded = await OneIdAsync(null, Args(echo.MsgSignature, WebUtility.UrlEncode(echo.Encrypt)));
        var forged = await OneIdAsync(null, Args(new string('0', 40), echo.Encrypt));
        var otherCorp = await OneIdAsync(null, ["wx", "callback-verify", "--token", "QDG6eK", "--aes-key", AesKey, "--receive-id", "wwOTHER",
            "--msg-signature", echo.MsgSignature, "--timestamp", "1409659589", "--nonce", "263014780", "--echostr", echo.Encrypt]);

        plain.ExitCode.Should().Be(0);
        plain.StdOut.Should().Be("1616140317555161061\n");
        encoded.StdOut.Should().Be("1616140317555161061\n");
        OneLineFailure(forged, "msg_signature");
        OneLineFailure(otherCorp, "another receiver");
    }

    [Fact]
    public async Task Callback_decrypt_reads_a_file_or_stdin()
    {
        var crypto = new WeChatMessageCrypto("tok", AesKey, "wx4f4bc4dec97d474b");
        const string inner = "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Event><![CDATA[subscribe]]></Event></xml>";
        var encrypted = crypto.Encrypt(inner, "1700000000", "99");
        var body = WeChatMessageCrypto.BuildEncryptedBody("gh_1", encrypted.Encrypt);
        using var folder = new TempFolder();
        await File.WriteAllTextAsync(folder.File("push.xml"), body);
        await File.WriteAllTextAsync(folder.File("evil.xml"), "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><xml><Encrypt>&e;</Encrypt></xml>");
        string[] Args(string file) =>
            ["wx", "callback-decrypt", "--token", "tok", "--aes-key", AesKey, "--receive-id", "wx4f4bc4dec97d474b",
             "--msg-signature", encrypted.MsgSignature, "--timestamp", "1700000000", "--nonce", "99", "--body", file];

        var fromFile = await OneIdAsync(null, Args(folder.File("push.xml")));
        var fromStdin = await OneIdAsync(body, Args("-"));
        var evil = await OneIdAsync(null, Args(folder.File("evil.xml")));
        var missing = await OneIdAsync(null, Args(folder.File("nope.xml")));

        fromFile.ExitCode.Should().Be(0);
        fromFile.StdOut.Should().Be(inner + "\n");
        fromStdin.StdOut.Should().Be(inner + "\n");
        OneLineFailure(evil, "DOCTYPE");
        OneLineFailure(missing, "nope.xml");
    }

    [Fact]
    public async Task Token_fetches_through_the_token_service_and_explains_a_wrong_secret()
    {
        var appid = DemoWorld.OfficialAccount;

        var ok = await OneIdAsync(null, "wx", "token", "--appid", appid, "--secret", DemoWorld.SecretOf(appid), "--base-url", wx.Sandbox.BaseAddress.ToString());
        var wrong = await OneIdAsync(null, "wx", "token", "--appid", appid, "--secret", "wrong-secret", "--base-url", wx.Sandbox.BaseAddress.ToString());
        var badAppId = await OneIdAsync(null, "wx", "token", "--appid", "not-an-appid", "--secret", "x");

        ok.ExitCode.Should().Be(0);
        ok.StdOut.Trim().Should().NotBeEmpty().And.NotContain(" ");
        ok.StdErr.Should().Contain("expires at");
        (await wx.CallsAsync("/cgi-bin/stable_token")).Should().BeGreaterThanOrEqualTo(1);
        OneLineFailure(wrong, "errcode");
        wrong.StdErr.Should().NotContain("wrong-secret");
        OneLineFailure(badAppId, "appid");
    }

    [Fact]
    public async Task A_missing_option_is_a_usage_error()
    {
        var result = await OneIdAsync(null, "wx", "sign", "--raw-data", "x");

        result.ExitCode.Should().Be(2);
        result.StdErr.Should().Contain("--session-key");
    }
}
