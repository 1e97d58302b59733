using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OneId.Storage;
using OneId.Storage.Secrets;
using OneId.Storage.Tokens;
using OneId.WeChat;
using OneId.WeChat.Crypto;
using OneId.WeChat.Http;
using OneId.WeChat.Ids;
using OneId.WeChat.Tokens;

namespace OneId.Cli.Commands;

/// <summary>
/// <c>oneid wx …</c>: a toolbox for people debugging a WeChat integration: decrypt and sign Mini Program open data,
/// verify and decrypt callbacks, fetch a token. Exit 0 on success; 1 with a one-line reason on failure.
/// </summary>
internal static class WxCommand
{
    public static Command Create()
    {
        var wx = new Command("wx", "WeChat debugging tools: open data, callback crypto, tokens.");
        wx.Subcommands.Add(Decrypt());
        wx.Subcommands.Add(Sign());
        wx.Subcommands.Add(CallbackVerify());
        wx.Subcommands.Add(CallbackDecrypt());
        wx.Subcommands.Add(Token());
        return wx;
    }

    private static Option<string> Required(string name, string description) => new(name) { Description = description, Required = true };

    /// <summary><c>oneid wx decrypt --session-key K --iv IV --data D [--appid A]</c>: prints the decrypted JSON.</summary>
    private static Command Decrypt()
    {
        var sessionKey = Required("--session-key", "The user's session_key from code2Session (base64 of 16 bytes).");
        var iv = Required("--iv", "The iv that came with the data (base64).");
        var data = Required("--data", "encryptedData (base64).");
        var appId = new Option<string?>("--appid") { Description = "Refuse data whose watermark names another app." };
        var command = new Command("decrypt", "Decrypt Mini Program open data (wx.getUserInfo, …).") { sessionKey, iv, data, appId };
        command.SetAction(parse => Run("decrypt", () =>
        {
            var payload = MiniProgramOpenData.Decrypt(parse.GetValue(sessionKey)!, parse.GetValue(iv)!, parse.GetValue(data)!, parse.GetValue(appId));
            Console.Out.WriteLine(payload.Json);
        }));
        return command;
    }

    /// <summary><c>oneid wx sign --session-key K --raw-data R</c>: prints sha1(rawData + session_key).</summary>
    private static Command Sign()
    {
        var sessionKey = Required("--session-key", "The user's session_key.");
        var rawData = Required("--raw-data", "rawData exactly as the client sent it.");
        var command = new Command("sign", "Compute the open-data signature sha1(rawData + session_key).") { sessionKey, rawData };
        command.SetAction(parse => Run("sign", () => Console.Out.WriteLine(MiniProgramOpenData.ComputeSignature(parse.GetValue(rawData)!, parse.GetValue(sessionKey)!))));
        return command;
    }

    private sealed record CallbackOptions(Option<string> Token, Option<string> AesKey, Option<string> ReceiveId, Option<string> MsgSignature, Option<string> Timestamp, Option<string> Nonce)
    {
        public static CallbackOptions Create() => new(
            Required("--token", "The callback Token configured in the console."),
            Required("--aes-key", "The 43-character EncodingAESKey."),
            Required("--receive-id", "appid (OA/MP), component appid, corpid or suite_id (WeCom); \"\" for a WeCom smart bot."),
            Required("--msg-signature", "msg_signature from the query string."),
            Required("--timestamp", "timestamp from the query string."),
            Required("--nonce", "nonce from the query string."));

        public void AddTo(Command command)
        {
            command.Options.Add(Token);
            command.Options.Add(AesKey);
            command.Options.Add(ReceiveId);
            command.Options.Add(MsgSignature);
            command.Options.Add(Timestamp);
            command.Options.Add(Nonce);
        }

        public WeChatMessageCrypto Crypto(ParseResult parse) =>
            new(parse.GetValue(Token)!, parse.GetValue(AesKey)!, parse.GetValue(ReceiveId) ?? "");
    }

    /// <summary><c>oneid wx callback-verify … --echostr E</c>: prints the plaintext echostr (WeCom URL verification, §7.5).</summary>
    private static Command CallbackVerify()
    {
        var common = CallbackOptions.Create();
        var echoStr = Required("--echostr", "echostr from the query string (URL-encoded or not).");
        var command = new Command("callback-verify", "Verify a WeCom-style callback URL check and print the plaintext echostr.");
        common.AddTo(command);
        command.Options.Add(echoStr);
        command.SetAction(parse => Run("callback-verify", () =>
        {
            var crypto = common.Crypto(parse);
            Console.Out.Write(crypto.VerifyEchoStr(parse.GetValue(common.MsgSignature), parse.GetValue(common.Timestamp)!, parse.GetValue(common.Nonce)!, QueryValue(parse.GetValue(echoStr)!)));
            Console.Out.WriteLine();
        }));
        return command;
    }

    /// <summary><c>oneid wx callback-decrypt … --body FILE|-</c>: prints the decrypted XML of an encrypted push.</summary>
    private static Command CallbackDecrypt()
    {
        var common = CallbackOptions.Create();
        var body = Required("--body", "The POST body: a file, or - for stdin.");
        var command = new Command("callback-decrypt", "Verify and decrypt an encrypted callback body and print the XML inside.");
        common.AddTo(command);
        command.Options.Add(body);
        command.SetAction(async (parse, cancellationToken) => await RunAsync("callback-decrypt", async () =>
        {
            var path = parse.GetValue(body)!;
            string text;
            if (path == "-")
            {
                text = await WeChatXml.ReadBodyAsync(Console.OpenStandardInput(), cancellationToken: cancellationToken);
            }
            else
            {
                await using var file = File.OpenRead(path);
                text = await WeChatXml.ReadBodyAsync(file, cancellationToken: cancellationToken);
            }
            var crypto = common.Crypto(parse);
            Console.Out.WriteLine(crypto.DecryptCallback(parse.GetValue(common.MsgSignature), parse.GetValue(common.Timestamp)!, parse.GetValue(common.Nonce)!, text).Xml);
        }));
        return command;
    }

    /// <summary><c>oneid wx token --appid A --secret S [--base-url U]</c>: fetches a token through the token service (stable_token).</summary>
    private static Command Token()
    {
        var appId = Required("--appid", "The OA / MP appid.");
        var secret = Required("--secret", "Its AppSecret.");
        var baseUrl = new Option<string?>("--base-url") { Description = "API base address (default https://api.weixin.qq.com/; a sandbox URL for offline use)." };
        var db = new Option<string?>("--db")
        {
            Description = "Share the token store of the OneId database (SQLite file or PostgreSQL connection string), so that running hubs and this command fetch the token once between them. Tokens there are encrypted with the data key in ONEID_DATA_KEY (the hubs' data_key).",
        };
        var command = new Command("token", "Fetch an access token through the token service (stable_token) and print it.") { appId, secret, baseUrl, db };
        command.SetAction(async (parse, cancellationToken) => await RunAsync("token", async () =>
        {
            var app = AppId.Parse(parse.GetValue(appId)!);
            Uri? api = null;
            if (parse.GetValue(baseUrl) is { } url && !Uri.TryCreate(url, UriKind.Absolute, out api))
            {
                throw new ArgumentException($"--base-url '{url}' is not an absolute URL");
            }
            var services = new ServiceCollection();
            StoreDatabase? database = null;
            if (parse.GetValue(db) is { Length: > 0 } dbValue)
            {
                DataProtector protector;
                try
                {
                    protector = DataProtector.FromBase64(Environment.GetEnvironmentVariable("ONEID_DATA_KEY"));
                }
                catch (Exception e) when (e is FormatException or ArgumentException)
                {
                    throw new ArgumentException("ONEID_DATA_KEY is not a data key: 32 random bytes, base64 (openssl rand -base64 32)", e);
                }
                services.AddSingleton(protector);
                try
                {
                    database = StoreDatabase.Open(dbValue);
                    await SqlTokenStore.OpenAsync(database, protector, cancellationToken);
                }
                catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or Npgsql.NpgsqlException or System.Net.Sockets.SocketException or DirectoryNotFoundException)
                {
                    throw new InvalidOperationException($"cannot open the store '{CliOutput.Redact(dbValue)}': {e.Message}", e);
                }
                services.AddOneIdSqlTokenStore(_ => database);
            }
            await using var ownedDatabase = database;
            services
                .AddLogging(b => b.ClearProviders())
                .AddOneIdWeChat(o =>
                {
                    if (api is not null)
                    {
                        o.ApiBaseAddress = api;
                    }
                    o.Apps.Add(new WeChatAppCredential { AppId = app.Value, Secret = parse.GetValue(secret)! });
                    o.Retry.MaxRetryAttempts = 1;
                });
            await using var provider = services.BuildServiceProvider();
            var token = await provider.GetRequiredService<IAccessTokenService>().GetTokenAsync(TokenKey.App(app), cancellationToken);
            Console.Out.WriteLine(token.Value);
            Console.Error.WriteLine($"expires at {token.ExpiresAt:u} ({(int)(token.ExpiresAt - token.IssuedAt).TotalSeconds} s)");
        }));
        return command;
    }

    /// <summary>
    /// echostr as pasted from a URL: WeChat URL-encodes it, and base64's '+' turns into a space when a shell or log decoded
    /// the query as a form. Undo both, since a base64 string never contains '%' or ' '.
    /// </summary>
    private static string QueryValue(string value)
    {
        if (value.Contains('%', StringComparison.Ordinal))
        {
            value = Uri.UnescapeDataString(value);
        }
        return value.Replace(' ', '+');
    }

    private static int Run(string name, Action action) => RunAsync(name, () =>
    {
        action();
        return Task.CompletedTask;
    }).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(string name, Func<Task> action)
    {
        try
        {
            await action();
            return CliOutput.Ok;
        }
        catch (Exception e) when (e is WeChatCryptoException or WeChatApiException or ArgumentException or InvalidOperationException
            or IOException or UnauthorizedAccessException or FormatException or HttpRequestException)
        {
            // One line, no stack trace: the messages say what failed and what to check.
            return CliOutput.Fail($"wx {name}: {e.Message.ReplaceLineEndings(" ")}");
        }
    }
}
