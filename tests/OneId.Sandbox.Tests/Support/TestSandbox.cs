using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using OneId.Sandbox.Hosting;
using OneId.Sandbox.World;

namespace OneId.Sandbox.Tests.Support;

/// <summary>A sandbox per test, a plain HttpClient (no WeChat client classes), and an optional push receiver.</summary>
internal sealed class TestSandbox : IAsyncDisposable
{
    private TestSandbox(RunningSandbox running, PushReceiver? receiver)
    {
        Running = running;
        Receiver = receiver;
        Http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false }) { BaseAddress = running.BaseAddress };
    }

    public RunningSandbox Running { get; }
    public PushReceiver? Receiver { get; }
    public HttpClient Http { get; }

    public static async Task<TestSandbox> StartAsync(Action<SandboxHostOptions>? configure = null, bool withReceiver = false,
        string unionidRule = UnionidRules.Current, bool oaEncrypted = true, SandboxWorld? world = null, Action<SandboxWorld>? configureWorld = null)
    {
        var receiver = withReceiver ? await PushReceiver.StartAsync(CancellationToken.None) : null;
        var options = new SandboxHostOptions { PushRetryDelay = TimeSpan.FromMilliseconds(50), BackgroundTick = TimeSpan.FromMilliseconds(20) };
        configure?.Invoke(options);
        world ??= TestWorlds.Create(receiver?.BaseAddress, unionidRule, oaEncrypted);
        configureWorld?.Invoke(world);
        var running = await SandboxHost.StartAsync(world, options, CancellationToken.None);
        return new TestSandbox(running, receiver);
    }

    public async Task<JsonElement> GetAsync(string pathAndQuery)
    {
        using var response = await Http.GetAsync(new Uri(pathAndQuery.TrimStart('/'), UriKind.Relative));
        response.StatusCode.Should().Be(HttpStatusCode.OK, "WeChat answers errors with HTTP 200 too ({0})", pathAndQuery);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    public async Task<JsonElement> PostAsync(string pathAndQuery, object body)
    {
        using var content = new StringContent(body as string ?? JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        using var response = await Http.PostAsync(new Uri(pathAndQuery.TrimStart('/'), UriKind.Relative), content);
        response.StatusCode.Should().Be(HttpStatusCode.OK, "{0}: {1}", pathAndQuery, await response.Content.ReadAsStringAsync());
        var text = await response.Content.ReadAsStringAsync();
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>A control-API call that must succeed (2xx).</summary>
    public async Task<JsonElement> ControlAsync(string path, object? body = null)
    {
        using var response = await Http.PostAsJsonAsync(new Uri("_sandbox/" + path.TrimStart('/'), UriKind.Relative), body ?? new { });
        var text = await response.Content.ReadAsStringAsync();
        response.IsSuccessStatusCode.Should().BeTrue("{0} answered {1}: {2}", path, response.StatusCode, text);
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    public async Task<JsonElement> TruthAsync(string user) => JsonDocument.Parse(await Http.GetStringAsync(new Uri("_sandbox/users/" + user, UriKind.Relative))).RootElement.Clone();

    /// <summary>What a provider sees of a corp (GET /_sandbox): open_corpid, open_userids, upgrade switches.</summary>
    public async Task<JsonElement> ProviderViewAsync(string corpid, string provider)
    {
        var index = JsonDocument.Parse(await Http.GetStringAsync(new Uri("_sandbox", UriKind.Relative))).RootElement;
        return index.GetProperty("corps").EnumerateArray().Single(c => c.Str("corpid") == corpid).GetProperty("providers").GetProperty(provider).Clone();
    }

    public Task AdvanceAsync(double seconds) => ControlAsync("clock", new { advance_seconds = seconds });

    public async Task<string> AppTokenAsync(string appid) =>
        (await GetAsync($"cgi-bin/token?grant_type=client_credential&appid={appid}&secret={DemoWorld.SecretOf(appid)}")).GetProperty("access_token").GetString()!;

    public async Task<string> WeComTokenAsync(string secret, string corpid = DemoWorld.Corp) =>
        (await GetAsync($"qyapi/cgi-bin/gettoken?corpid={corpid}&corpsecret={secret}")).GetProperty("access_token").GetString()!;

    public async Task<string> CodeAsync(string user, string action, object body) =>
        (await ControlAsync($"users/{user}/{action}", body)).GetProperty("code").GetString()!;

    public Task<JsonElement> JsCode2SessionAsync(string code, string appid = DemoWorld.MiniProgram) =>
        GetAsync($"sns/jscode2session?appid={appid}&secret={DemoWorld.SecretOf(appid)}&js_code={Uri.EscapeDataString(code)}&grant_type=authorization_code");

    public Task<JsonElement> OAuthAsync(string code, string appid = DemoWorld.OfficialAccount) =>
        GetAsync($"sns/oauth2/access_token?appid={appid}&secret={DemoWorld.SecretOf(appid)}&code={Uri.EscapeDataString(code)}&grant_type=authorization_code");

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Running.DisposeAsync();
        if (Receiver is not null)
        {
            await Receiver.DisposeAsync();
        }
    }
}

/// <summary>Assertions on the WeChat envelope.</summary>
internal static class WeChatAssertions
{
    public static void ShouldBeError(this JsonElement json, int errcode)
    {
        json.TryGetProperty("errcode", out var code).Should().BeTrue("expected errcode {0} in {1}", errcode, json.ToString());
        code.GetInt32().Should().Be(errcode, "body: {0}", json.ToString());
        json.GetProperty("errmsg").GetString().Should().NotBeNullOrEmpty();
    }

    public static void ShouldSucceed(this JsonElement json)
    {
        if (json.TryGetProperty("errcode", out var code))
        {
            code.GetInt32().Should().Be(0, "body: {0}", json.ToString());
        }
    }

    public static string Str(this JsonElement json, string name) => json.GetProperty(name).GetString()!;
}
