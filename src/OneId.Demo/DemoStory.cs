using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Demo = OneId.Sandbox.World.DemoWorld;

namespace OneId.DemoWiring;

/// <summary>How the story is told: a console with colours in the CLI, a test log in tests.</summary>
public interface IStoryTeller
{
    void Chapter(string title);
    void Did(string text);
    void WeChat(string text);
    void Graph(string text);
    void Check(bool ok, string expectation);
}

/// <summary>
/// The seed stories S1–S13 played against a hub and a sandbox over HTTP, as a company's users would live them:
/// each step says what the user did, what WeChat answered, and how the person graph changed, and checks the outcome
/// against the sandbox's ground truth. Used by <c>oneid demo</c> and by the end-to-end tests on both stores.
/// </summary>
public sealed class DemoStory(Uri hub, Uri sandbox, string adminKey, IStoryTeller teller, WebhookInbox? inbox = null)
{
    private static readonly TimeSpan PushWait = TimeSpan.FromSeconds(15);
    private readonly List<string> _failures = [];

    public IReadOnlyList<string> Failures => _failures;

    private HttpClient Hub(string? bearer = null)
    {
        var c = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = hub, Timeout = TimeSpan.FromSeconds(30) };
        if (bearer is not null)
        {
            c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }
        return c;
    }

    private bool Expect(bool ok, string expectation)
    {
        teller.Check(ok, expectation);
        if (!ok)
        {
            _failures.Add(expectation);
        }
        return ok;
    }

    private async Task<JsonElement> SandboxAsync(string path, object? body, CancellationToken ct)
    {
        using var c = new HttpClient { BaseAddress = sandbox };
        using var r = body is null ? await c.GetAsync(path, ct).ConfigureAwait(false) : await c.PostAsJsonAsync(path, body, ct).ConfigureAwait(false);
        var text = await r.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        if (!r.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"sandbox {path} answered {(int)r.StatusCode}: {text}");
        }
        return string.IsNullOrEmpty(text) ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    private async Task<(HttpStatusCode Status, JsonElement Json)> HubAsync(HttpMethod method, string path, object? body, string? bearer, CancellationToken ct)
    {
        using var c = Hub(bearer);
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        using var r = await c.SendAsync(request, ct).ConfigureAwait(false);
        var text = await r.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        return (r.StatusCode, string.IsNullOrEmpty(text) || text[0] is not ('{' or '[') ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private async Task<JsonElement?> ResolveAsync(string id, CancellationToken ct)
    {
        var (status, json) = await HubAsync(HttpMethod.Get, $"v1/resolve?id={Uri.EscapeDataString(id)}", null, adminKey, ct).ConfigureAwait(false);
        return status == HttpStatusCode.OK ? json : null;
    }

    private Task<JsonElement?> WaitForPersonAsync(string id, Func<JsonElement, bool> condition, CancellationToken ct) => WaitForPersonAsync(id, condition, PushWait, ct);

    private async Task<JsonElement?> WaitForPersonAsync(string id, Func<JsonElement, bool> condition, TimeSpan wait, CancellationToken ct)
    {
        JsonElement? person = null;
        await UntilAsync(async () => (person = await ResolveAsync(id, ct).ConfigureAwait(false)) is { } p && condition(p), ct, wait).ConfigureAwait(false);
        return person;
    }

    /// <summary>Polls until <paramref name="condition"/> holds or <paramref name="wait"/> (default <see cref="PushWait"/>) is over; the next expectation then says what did not happen.</summary>
    private static async Task UntilAsync(Func<Task<bool>> condition, CancellationToken ct, TimeSpan? wait = null)
    {
        var until = DateTime.UtcNow + (wait ?? PushWait);
        while (!await condition().ConfigureAwait(false) && DateTime.UtcNow < until)
        {
            await Task.Delay(100, ct).ConfigureAwait(false);
        }
    }

    /// <summary>The job's answer once it succeeded or failed (or when <paramref name="wait"/> is over).</summary>
    private async Task<JsonElement> FinishedJobAsync(long id, TimeSpan wait, CancellationToken ct)
    {
        var job = default(JsonElement);
        await UntilAsync(async () =>
        {
            (_, job) = await HubAsync(HttpMethod.Get, $"v1/jobs/{id}", null, adminKey, ct).ConfigureAwait(false);
            return Str(job, "state") is not ("queued" or "running");
        }, ct, wait).ConfigureAwait(false);
        return job;
    }

    private static string[] Ids(JsonElement? person) =>
        person is { } p && p.TryGetProperty("identifiers", out var ids) ? ids.EnumerateArray().Select(i => i.GetString()!).ToArray() : [];

    private static string? Str(JsonElement? e, string name) =>
        e is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static string Describe(JsonElement? person) =>
        person is null ? "(nobody)" : $"{Str(person, "id")} = {{{string.Join(", ", Ids(person))}}}" +
            (person.Value.TryGetProperty("aliases", out var a) && a.GetArrayLength() > 0 ? $", aliases [{string.Join(", ", a.EnumerateArray().Select(x => x.GetString()))}]" : "");

    private sealed record Truth(string User, JsonElement Json)
    {
        public string OpenId(string appid) => Json.GetProperty("openids").GetProperty(appid).GetString()!;
        public string UnionId => Json.GetProperty("unionids").GetProperty(Demo.UnionSpace).GetString()!;
        public string External(string key) => Json.GetProperty("external_userids").GetProperty(key).GetString()!;
    }

    private async Task<Truth> UserAsync(string name, string nickname, CancellationToken ct)
    {
        await SandboxAsync("_sandbox/users", new { name, nickname }, ct).ConfigureAwait(false);
        return new Truth(name, await SandboxAsync($"_sandbox/users/{name}", null, ct).ConfigureAwait(false));
    }

    /// <summary>Walks the OA web authorization through the hub and the sandbox's authorize page, as a browser would.</summary>
    private async Task<(HttpStatusCode Status, JsonElement Json, string CallbackUrl)> BrowserAuthorizeAsync(string appid, string scope, string user, string extra, CancellationToken ct)
    {
        using var browser = Hub();
        using var start = await browser.GetAsync($"v1/oa/{appid}/authorize?scope={scope}", ct).ConfigureAwait(false);
        var wechatPage = start.Headers.Location?.AbsoluteUri ?? throw new InvalidOperationException($"authorize answered {(int)start.StatusCode} without a redirect");
        // The sandbox page consents at once with sandbox_user in the query (the fragment must stay last).
        var hash = wechatPage.IndexOf('#', StringComparison.Ordinal);
        var scripted = (hash < 0 ? wechatPage : wechatPage[..hash]) + $"&sandbox_user={user}{extra}";
        using var page = await browser.GetAsync(new Uri(scripted), ct).ConfigureAwait(false);
        var callback = page.Headers.Location?.AbsoluteUri ?? throw new InvalidOperationException($"the authorize page answered {(int)page.StatusCode} without a redirect");
        using var back = await browser.GetAsync(new Uri(callback), ct).ConfigureAwait(false);
        var text = await back.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        return (back.StatusCode, string.IsNullOrEmpty(text) ? default : JsonDocument.Parse(text).RootElement.Clone(), callback);
    }

    public async Task<bool> RunAsync(CancellationToken ct)
    {
        var lilei = await UserAsync("lilei", "Li Lei", ct).ConfigureAwait(false);
        var han = await UserAsync("hanmeimei", "Han Meimei", ct).ConfigureAwait(false);
        var wang = await UserAsync("wangfang", "Wang Fang", ct).ConfigureAwait(false);
        await UserAsync("guest", "Guest", ct).ConfigureAwait(false);
        var providerKey = $"{Demo.Corp}/isv1";

        // ---- S3 ----
        teller.Chapter("S3  Li Lei opens an Official Account web page (silent snsapi_base)");
        teller.Did("lilei taps a link in the OA menu; the page redirects through WeChat without asking him anything");
        var (_, s3, _) = await BrowserAuthorizeAsync(Demo.OfficialAccount, "snsapi_base", "lilei", "", ct).ConfigureAwait(false);
        teller.WeChat($"sns/oauth2/access_token → openid {Str(s3, "openid")}, unionid {Str(s3, "unionid") ?? "none (snsapi_base on an OA gives none)"}");
        var p1 = Str(s3, "person_id");
        var afterS3 = await ResolveAsync($"openid:{Demo.OfficialAccount}:{lilei.OpenId(Demo.OfficialAccount)}", ct).ConfigureAwait(false);
        teller.Graph($"new person {Describe(afterS3)}");
        Expect(Str(s3, "openid") == lilei.OpenId(Demo.OfficialAccount) && p1 is not null, "an openid-only person exists for lilei's OA openid");

        // ---- S4 ----
        teller.Chapter("S4  Li Lei logs in to the Mini Program (wx.login → code2Session)");
        var code = Str(await SandboxAsync("_sandbox/users/lilei/login", new { appid = Demo.MiniProgram }, ct).ConfigureAwait(false), "code")!;
        teller.Did($"wx.login() gives the MP the code {code[..6]}…, which it posts to POST /v1/mp/{{appid}}/login");
        var (status, s4) = await HubAsync(HttpMethod.Post, $"v1/mp/{Demo.MiniProgram}/login", new { code }, null, ct).ConfigureAwait(false);
        var loginToken = Str(s4, "token");
        teller.WeChat($"jscode2session → openid {Str(s4, "openid")}, unionid {Str(s4, "unionid")}, a session_key (kept encrypted by the hub, never returned)");
        var p2 = Str(s4, "person_id");
        // The provider conversion is a follow-up after the login, not part of it: wait for the worker.
        var afterS4 = await WaitForPersonAsync($"unionid:{Demo.UnionSpace}:{lilei.UnionId}",
            p => Ids(p).Any(i => i.StartsWith($"pending_id:{providerKey}:", StringComparison.Ordinal)), ct).ConfigureAwait(false);
        teller.Graph($"person {Describe(afterS4)} (new_person={s4.ValueKind == JsonValueKind.Object && s4.GetProperty("new_person").GetBoolean()})");
        Expect(status == HttpStatusCode.OK && Str(s4, "unionid") == lilei.UnionId && Str(s4, "openid") == lilei.OpenId(Demo.MiniProgram),
            "MP login returns lilei's MP openid and unionid, and a hub login token");
        Expect(!s4.ToString().Contains("session_key", StringComparison.Ordinal), "the answer carries no session_key");
        Expect(Ids(afterS4).Any(i => i.StartsWith($"pending_id:{providerKey}:", StringComparison.Ordinal)),
            "S10: the new unionid was converted for the provider app: not yet a customer, so WeCom issued a pending_id, now on the person");

        // ---- S1 + S11 ----
        teller.Chapter("S1 + S11  Li Lei follows the Official Account; the openid-only person merges into the unionid person");
        await SandboxAsync("_sandbox/users/lilei/follow", new { appid = Demo.OfficialAccount }, ct).ConfigureAwait(false);
        teller.Did("lilei taps Follow; WeChat pushes an encrypted subscribe event to /v1/callbacks/oa/{appid}");
        var merged = await WaitForPersonAsync($"openid:{Demo.OfficialAccount}:{lilei.OpenId(Demo.OfficialAccount)}",
            p => Ids(p).Contains($"unionid:{Demo.UnionSpace}:{lilei.UnionId}"), ct).ConfigureAwait(false);
        teller.WeChat($"cgi-bin/user/info → subscribe=1, unionid {lilei.UnionId}");
        teller.Graph($"merged: {Describe(merged)}");
        Expect(Str(merged, "id") == p1, $"the older person {p1} survives the merge");
        Expect(merged is { } m && m.GetProperty("aliases").EnumerateArray().Any(a => a.GetString() == p2), $"{p2} lives on as an alias");
        Expect(Ids(merged).Contains($"openid:{Demo.MiniProgram}:{lilei.OpenId(Demo.MiniProgram)}") && Ids(merged).Contains($"openid:{Demo.OfficialAccount}:{lilei.OpenId(Demo.OfficialAccount)}"),
            "no data lost: both openids and the unionid are on one person");

        // ---- S5 ----
        teller.Chapter("S5  The Mini Program sends wx.getUserInfo open data");
        var open = await SandboxAsync("_sandbox/users/lilei/userinfo", new { appid = Demo.MiniProgram }, ct).ConfigureAwait(false);
        teller.Did($"wx.getUserInfo returns encryptedData + iv + rawData {Str(open, "rawData")} + signature");
        var (s5Status, s5) = await HubAsync(HttpMethod.Post, $"v1/mp/{Demo.MiniProgram}/userinfo",
            new { encryptedData = Str(open, "encryptedData"), iv = Str(open, "iv"), rawData = Str(open, "rawData"), signature = Str(open, "signature") }, loginToken, ct).ConfigureAwait(false);
        var afterS5 = await ResolveAsync($"unionid:{Demo.UnionSpace}:{lilei.UnionId}", ct).ConfigureAwait(false);
        teller.WeChat("decrypted with the stored session_key; watermark appid and sha1(rawData + session_key) checked");
        teller.Graph($"profile now {(afterS5 is { } p5 && p5.TryGetProperty("profile", out var prof) ? prof.ToString() : "{}")} — the \"微信用户\" placeholder is ignored");
        Expect(s5Status == HttpStatusCode.OK && Str(s5, "person_id") == p1, "open data accepted for lilei's person");
        Expect(!(afterS5?.ToString() ?? "").Contains("微信用户", StringComparison.Ordinal), "placeholder nickname did not overwrite the profile");
        var (forged, _) = await HubAsync(HttpMethod.Post, $"v1/mp/{Demo.MiniProgram}/userinfo",
            new { encryptedData = Str(open, "encryptedData"), iv = Str(open, "iv"), rawData = Str(open, "rawData"), signature = new string('0', 40) }, loginToken, ct).ConfigureAwait(false);
        Expect(forged == HttpStatusCode.BadRequest, "a forged signature is refused with 400");

        // ---- phone ----
        teller.Chapter("S5b Li Lei shares his phone number (getPhoneNumber)");
        var phoneCode = Str(await SandboxAsync("_sandbox/users/lilei/phone", new { appid = Demo.MiniProgram, phone = "+8613912345678" }, ct).ConfigureAwait(false), "code")!;
        var (phoneStatus, _) = await HubAsync(HttpMethod.Post, $"v1/mp/{Demo.MiniProgram}/phone", new { code = phoneCode }, loginToken, ct).ConfigureAwait(false);
        var afterPhone = await ResolveAsync($"unionid:{Demo.UnionSpace}:{lilei.UnionId}", ct).ConfigureAwait(false);
        teller.WeChat("wxa/business/getuserphonenumber → +86 13912345678");
        teller.Graph("phone attached as a weak identifier (links, never merges)");
        Expect(phoneStatus == HttpStatusCode.OK && Ids(afterPhone).Contains("phone::+8613912345678"), "the phone is on lilei's person");

        // ---- S6 ----
        teller.Chapter("S6  Han Meimei pays in the Mini Program; the backend asks for the paid unionid");
        var hanCode = Str(await SandboxAsync("_sandbox/users/hanmeimei/login", new { appid = Demo.UnboundMiniProgram }, ct).ConfigureAwait(false), "code")!;
        var (_, hanLogin) = await HubAsync(HttpMethod.Post, $"v1/mp/{Demo.UnboundMiniProgram}/login", new { code = hanCode }, null, ct).ConfigureAwait(false);
        teller.Did($"hanmeimei logs in to an MP of another subject that is not bound: openid only (unionid {Str(hanLogin, "unionid") ?? "none"})");
        var mpCode = Str(await SandboxAsync("_sandbox/users/hanmeimei/login", new { appid = Demo.MiniProgram }, ct).ConfigureAwait(false), "code")!;
        var (_, hanMp) = await HubAsync(HttpMethod.Post, $"v1/mp/{Demo.MiniProgram}/login", new { code = mpCode }, null, ct).ConfigureAwait(false);
        var pay = await SandboxAsync("_sandbox/users/hanmeimei/pay", new { appid = Demo.MiniProgram }, ct).ConfigureAwait(false);
        teller.Did($"she pays in the shop MP (transaction {Str(pay, "transaction_id")}); the shop backend calls POST /v1/mp/{{appid}}/paid");
        var (paidStatus, paid) = await HubAsync(HttpMethod.Post, $"v1/mp/{Demo.MiniProgram}/paid",
            new { openid = han.OpenId(Demo.MiniProgram), transaction_id = Str(pay, "transaction_id") }, adminKey, ct).ConfigureAwait(false);
        teller.WeChat($"wxa/getpaidunionid → unionid {Str(paid, "unionid")}");
        Expect(paidStatus == HttpStatusCode.OK && Str(paid, "unionid") == han.UnionId && Str(paid, "person_id") == Str(hanMp, "person_id"),
            "the paid unionid is hanmeimei's and lands on her person");
        await SandboxAsync("_sandbox/clock", new { advance_seconds = 301 }, ct).ConfigureAwait(false);
        var (latePaid, lateJson) = await HubAsync(HttpMethod.Post, $"v1/mp/{Demo.MiniProgram}/paid",
            new { openid = han.OpenId(Demo.MiniProgram), transaction_id = Str(pay, "transaction_id") }, adminKey, ct).ConfigureAwait(false);
        teller.WeChat($"5 minutes later WeChat refuses: {Str(lateJson, "detail")}");
        Expect((int)latePaid is >= 400 and < 500 or 502, "after the 5-minute window the hub answers a problem, not a 500");

        // ---- S2 ----
        teller.Chapter("S2  Han Meimei (not a follower) opens an OA page that asks for her profile (snsapi_userinfo)");
        var (s2Status, s2, s2Callback) = await BrowserAuthorizeAsync(Demo.OfficialAccount, "snsapi_userinfo", "hanmeimei", "", ct).ConfigureAwait(false);
        teller.WeChat($"consent page → code → access_token (openid {Str(s2, "openid")}, unionid {Str(s2, "unionid")}) → sns/userinfo (nickname, avatar)");
        var hanPerson = await ResolveAsync($"unionid:{Demo.UnionSpace}:{han.UnionId}", ct).ConfigureAwait(false);
        teller.Graph($"linked: {Describe(hanPerson)}");
        Expect(s2Status == HttpStatusCode.OK && Str(s2, "person_id") == Str(hanMp, "person_id") && Ids(hanPerson).Contains($"openid:{Demo.OfficialAccount}:{han.OpenId(Demo.OfficialAccount)}"),
            "her OA openid joins her person through the unionid");
        using (var replay = Hub())
        {
            var again = await replay.GetAsync(new Uri(s2Callback), ct).ConfigureAwait(false);
            Expect(again.StatusCode == HttpStatusCode.BadRequest, "replaying the callback (same state) is refused: the CSRF state is single-use");
        }
        var personsBefore = await PersonsAsync(ct).ConfigureAwait(false);
        var (_, refused, _) = await BrowserAuthorizeAsync(Demo.OfficialAccount, "snsapi_userinfo", "hanmeimei", "&sandbox_action=deny", ct).ConfigureAwait(false);
        teller.Did("on another page she taps Deny: WeChat redirects back with the state only");
        Expect(refused.ValueKind == JsonValueKind.Object && refused.GetProperty("refused").GetBoolean(), "the refusal is reported, nothing is learned");
        var (_, snap, _) = await BrowserAuthorizeAsync(Demo.OfficialAccount, "snsapi_userinfo", "guest", "&sandbox_snapshot=1", ct).ConfigureAwait(false);
        teller.Did("a guest opens the page in snapshot mode (朋友圈 preview): WeChat answers is_snapshotuser=1 with virtual ids");
        Expect(snap.ValueKind == JsonValueKind.Object && snap.GetProperty("snapshot").GetBoolean() && Str(snap, "person_id") is null
               && await PersonsAsync(ct).ConfigureAwait(false) == personsBefore, "the snapshot user creates no person and merges nothing");

        // ---- S8 ----
        teller.Chapter("S8  Li Lei scans the website's QR login, then signs in to the mobile app");
        foreach (var appid in new[] { Demo.Website, Demo.MobileApp })
        {
            var webCode = Str(await SandboxAsync("_sandbox/users/lilei/login", new { appid }, ct).ConfigureAwait(false), "code")!;
            var (webStatus, web) = await HubAsync(HttpMethod.Post, $"v1/web/{appid}/login", new { code = webCode }, null, ct).ConfigureAwait(false);
            teller.WeChat($"{appid}: sns/oauth2/access_token → openid {Str(web, "openid")}, unionid {Str(web, "unionid")}");
            Expect(webStatus == HttpStatusCode.OK && Str(web, "person_id") == p1, $"{(appid == Demo.Website ? "website" : "mobile app")} login resolves to lilei's person {p1}");
        }

        // ---- S7 ----
        teller.Chapter("S7  A third-party platform runs Acme News (an OA) for Acme");
        await SandboxAsync($"_sandbox/components/{Demo.Component}/ticket", new { }, ct).ConfigureAwait(false);
        await SandboxAsync($"_sandbox/components/{Demo.Component}/authorize", new { authorizer_appid = Demo.AuthorizerOfficialAccount }, ct).ConfigureAwait(false);
        teller.WeChat("component_verify_ticket and 'authorized' pushes arrive at /v1/callbacks/component/{component_appid}; api_query_auth keeps the refresh token");
        // Those pushes go through the inbox: the platform can act for the OA once api_query_auth has stored its token.
        await UntilAsync(async () => (await HubAsync(HttpMethod.Get, "v1/apps", null, adminKey, ct).ConfigureAwait(false)).Json.EnumerateArray()
            .Any(a => Str(a, "appid") == Demo.AuthorizerOfficialAccount && Str(a.GetProperty("token"), "state") == "valid"), ct).ConfigureAwait(false);
        var (s7Status, s7, _) = await BrowserAuthorizeAsync(Demo.AuthorizerOfficialAccount, "snsapi_userinfo", "lilei", "", ct).ConfigureAwait(false);
        teller.Did("lilei opens an Acme News page; the platform does the web authorization on the OA's behalf");
        var afterS7 = await ResolveAsync($"openid:{Demo.AuthorizerOfficialAccount}:{lilei.OpenId(Demo.AuthorizerOfficialAccount)}", ct).ConfigureAwait(false);
        teller.Graph($"linked: {Describe(afterS7)}");
        Expect(s7Status == HttpStatusCode.OK && Str(afterS7, "id") == p1, "the authorizer OA's openid joins lilei's person");
        await SandboxAsync("_sandbox/users/hanmeimei/follow", new { appid = Demo.AuthorizerOfficialAccount }, ct).ConfigureAwait(false);
        teller.Did("hanmeimei follows Acme News: WeChat pushes the subscribe to the platform's message URL /v1/callbacks/component/{component_appid}/{appid}");
        var hanNews = await WaitForPersonAsync($"openid:{Demo.AuthorizerOfficialAccount}:{han.OpenId(Demo.AuthorizerOfficialAccount)}",
            p => Str(p, "id") == Str(hanMp, "person_id"), ct).ConfigureAwait(false);
        teller.WeChat("the platform's key decrypts it; cgi-bin/user/info with the authorizer token → unionid");
        Expect(Str(hanNews, "id") == Str(hanMp, "person_id"), "a follow of the OA the platform runs reaches hanmeimei's person");

        // ---- S9 + S10 ----
        teller.Chapter("S9 + S10  Sales rep zhangsan adds Li Lei on WeCom");
        await SandboxAsync("_sandbox/users/lilei/wecom-add", new { corpid = Demo.Corp, userid = "zhangsan" }, ct).ConfigureAwait(false);
        teller.Did("WeCom pushes add_external_contact to the self-built CRM (plaintext id) and to the provider's CRM (ciphertext id)");
        var plain = $"external_userid:{Demo.Corp}:{lilei.External(Demo.Corp)}";
        var cipher = $"external_userid:{providerKey}:{lilei.External(providerKey)}";
        var afterS9 = await WaitForPersonAsync($"unionid:{Demo.UnionSpace}:{lilei.UnionId}", p => Ids(p).Contains(plain) && Ids(p).Contains(cipher), ct).ConfigureAwait(false);
        teller.WeChat("self-built: externalcontact/get → unionid; provider: external_userid_to_pending_id → the pending_id issued at S4");
        teller.Graph($"linked: {Describe(afterS9)}");
        Expect(Ids(afterS9).Contains(plain), "S9: the plaintext external_userid is linked through the unionid");
        Expect(Ids(afterS9).Contains(cipher), "S10: the provider's ciphertext external_userid is linked through the pending_id");

        teller.Chapter("S10b Wang Fang is a WeCom customer first, and logs in to the Mini Program later");
        await SandboxAsync("_sandbox/users/wangfang/wecom-add", new { corpid = Demo.Corp, userid = "lisi" }, ct).ConfigureAwait(false);
        var wangCipher = $"external_userid:{providerKey}:{wang.External(providerKey)}";
        await WaitForPersonAsync(wangCipher, _ => true, ct).ConfigureAwait(false);
        var wangCode = Str(await SandboxAsync("_sandbox/users/wangfang/login", new { appid = Demo.MiniProgram }, ct).ConfigureAwait(false), "code")!;
        await HubAsync(HttpMethod.Post, $"v1/mp/{Demo.MiniProgram}/login", new { code = wangCode }, null, ct).ConfigureAwait(false);
        teller.WeChat("idconvert/unionid_to_external_userid → she is a customer: the provider's ciphertext external_userid");
        var wangPerson = await WaitForPersonAsync($"unionid:{Demo.UnionSpace}:{wang.UnionId}", p => Ids(p).Contains(wangCipher), ct).ConfigureAwait(false);
        teller.Graph($"merged: {Describe(wangPerson)}");
        Expect(Ids(wangPerson).Contains(wangCipher) && Ids(wangPerson).Contains($"external_userid:{Demo.Corp}:{wang.External(Demo.Corp)}"),
            "her provider-side customer record, her self-built record and her MP login are one person");

        // ---- S12 ----
        teller.Chapter("S12 Legacy backfill: the OA's followers from before OneId, openids only");
        var generated = await SandboxAsync("_sandbox/generate", new { users = 250, seed = 12, follow = new Dictionary<string, double> { [Demo.OfficialAccount] = 1.0 } }, ct).ConfigureAwait(false);
        teller.Did("250 people followed the OA years ago; the company's old CRM kept only their openids");
        var prefix = Str(generated, "prefix")!;
        for (var i = 0; i < 20; i++)
        {
            var c = Str(await SandboxAsync($"_sandbox/users/{prefix}{i}/login", new { appid = Demo.MiniProgram }, ct).ConfigureAwait(false), "code")!;
            await HubAsync(HttpMethod.Post, $"v1/mp/{Demo.MiniProgram}/login", new { code = c }, null, ct).ConfigureAwait(false);
        }
        teller.Did("20 of them already shop in the Mini Program, so the hub knows them by their MP openid and unionid");
        var personsBeforeBackfill = await PersonsAsync(ct).ConfigureAwait(false);
        var (backfillStatus, backfill) = await HubAsync(HttpMethod.Post, $"v1/oa/{Demo.OfficialAccount}/backfill", null, adminKey, ct).ConfigureAwait(false);
        if (!Expect(backfillStatus == HttpStatusCode.OK, backfillStatus == HttpStatusCode.OK ? "the backfill ran" : $"the backfill ran (HTTP {(int)backfillStatus}: {Str(backfill, "detail")})"))
        {
            return false;
        }
        teller.WeChat($"cgi-bin/user/get → {backfill.GetProperty("followers")} followers; cgi-bin/user/info/batchget by 100 → {backfill.GetProperty("with_unionid")} unionids");
        teller.Graph($"{backfill.GetProperty("new_persons")} new persons, {backfill.GetProperty("changed")} observations linked or merged, {backfill.GetProperty("conflicts")} conflicts");
        var sample = new Truth(Str(generated, "last")!, await SandboxAsync($"_sandbox/users/{Str(generated, "last")}", null, ct).ConfigureAwait(false));
        var sampled = await ResolveAsync($"openid:{Demo.OfficialAccount}:{sample.OpenId(Demo.OfficialAccount)}", ct).ConfigureAwait(false);
        Expect(backfillStatus == HttpStatusCode.OK && backfill.GetProperty("followers").GetInt32() >= 251
               && backfill.GetProperty("followers").GetInt32() == backfill.GetProperty("with_unionid").GetInt32(), "every follower came back with a unionid");
        Expect(Ids(sampled).Contains($"unionid:{Demo.UnionSpace}:{sample.UnionId}"), $"a backfilled follower ({sample.User}) resolves to a person with the right unionid");
        var newPersons = backfill.GetProperty("new_persons").GetInt64();
        var shopper = new Truth($"{prefix}0", await SandboxAsync($"_sandbox/users/{prefix}0", null, ct).ConfigureAwait(false));
        var shopperPerson = await ResolveAsync($"openid:{Demo.MiniProgram}:{shopper.OpenId(Demo.MiniProgram)}", ct).ConfigureAwait(false);
        Expect(backfill.GetProperty("changed").GetInt32() >= 20 && Ids(shopperPerson).Contains($"openid:{Demo.OfficialAccount}:{shopper.OpenId(Demo.OfficialAccount)}"),
            "the shoppers' OA openids joined their Mini Program persons through the unionid");
        Expect(await PersonsAsync(ct).ConfigureAwait(false) == personsBeforeBackfill + newPersons && Str(await ResolveAsync($"openid:{Demo.OfficialAccount}:{lilei.OpenId(Demo.OfficialAccount)}", ct).ConfigureAwait(false), "id") == p1,
            "followers already known (lilei) were matched, not duplicated");

        // ---- S13 ----
        teller.Chapter("S13 Counting people");
        var (_, stats) = await HubAsync(HttpMethod.Get, "v1/stats", null, adminKey, ct).ConfigureAwait(false);
        teller.Graph($"persons {stats.GetProperty("persons")}, observations {stats.GetProperty("observations")}, identifiers {stats.GetProperty("identifiers")}, conflicts {stats.GetProperty("conflicts")}");
        foreach (var c in stats.GetProperty("unionid_coverage").EnumerateArray())
        {
            teller.Graph($"  {c.GetProperty("appid").GetString()}: {c.GetProperty("with_unionid")}/{c.GetProperty("persons")} persons with a unionid");
        }
        // hanmeimei's openid in the unbound MP of another subject stays apart: no unionid can ever link it (§4.3).
        Expect(stats.GetProperty("persons").GetInt64() == 4 + 20 + newPersons && stats.GetProperty("conflicts").GetInt64() == 0,
            "the backfilled followers and the 20 shoppers, plus four persons (lilei, wangfang, hanmeimei, and hanmeimei's unbound-MP openid that nothing can link), no conflicts, no snapshot users");

        await RelationshipsAsync(prefix, backfill.GetProperty("followers").GetInt64(), ct).ConfigureAwait(false);
        if (inbox is not null)
        {
            await WebhooksAsync(inbox, p1!, p2!, ct).ConfigureAwait(false);
        }
        await OperatorAsync(lilei.UnionId, p1!, ct).ConfigureAwait(false);
        await WeComUpgradeAsync(ct).ConfigureAwait(false);
        return _failures.Count == 0;
    }

    private async Task<JsonElement> StatsAsync(CancellationToken ct) => (await HubAsync(HttpMethod.Get, "v1/stats", null, adminKey, ct).ConfigureAwait(false)).Json;

    private static long Followers(JsonElement stats, string? appid = null) =>
        stats.TryGetProperty("followers", out var f)
            ? appid is null ? f.GetProperty("total").GetInt64() : f.GetProperty("per_app").TryGetProperty(appid, out var n) ? n.GetInt64() : 0
            : -1;

    private static (long Persons, long BecameContacts) Channel(JsonElement stats, string kind, string channel) =>
        stats.GetProperty("channels").EnumerateArray().FirstOrDefault(c => c.GetProperty("kind").GetString() == kind && c.GetProperty("channel").GetString() == channel) is { ValueKind: JsonValueKind.Object } c
            ? (c.GetProperty("persons").GetInt64(), c.GetProperty("became_contacts").GetInt64())
            : (0, 0);

    private static JsonElement[] Relationships(JsonElement? person, string kind) =>
        person is { } p && p.TryGetProperty("relationships", out var r) ? r.GetProperty(kind).EnumerateArray().ToArray() : [];

    /// <summary>S14, S15 and S17: follows as a state, channels, "has this visitor added us?", and the existing WeCom customers.</summary>
    private async Task RelationshipsAsync(string followerPrefix, long backfilledFollowers, CancellationToken ct)
    {
        // ---- S14: an unfollow and the real follower count ----
        teller.Chapter("S14 A follower leaves; the real follower count is of persons following now");
        var before = await StatsAsync(ct).ConfigureAwait(false);
        teller.Graph($"real followers {Followers(before)}: {Followers(before, Demo.OfficialAccount)} of the OA, {Followers(before, Demo.AuthorizerOfficialAccount)} of Acme News");
        // The backfill recorded every follower's state, and nobody in this story follows both OAs.
        Expect(Followers(before, Demo.OfficialAccount) == backfilledFollowers && Followers(before) == backfilledFollowers + Followers(before, Demo.AuthorizerOfficialAccount),
            $"the real follower count is the {backfilledFollowers} backfilled followers plus Acme News's follower, each counted once");
        var leaver = new Truth($"{followerPrefix}7", await SandboxAsync($"_sandbox/users/{followerPrefix}7", null, ct).ConfigureAwait(false));
        await SandboxAsync($"_sandbox/users/{leaver.User}/unfollow", new { appid = Demo.OfficialAccount }, ct).ConfigureAwait(false);
        teller.Did($"{leaver.User} unfollows the OA; WeChat pushes unsubscribe");
        var left = await WaitForPersonAsync($"unionid:{Demo.UnionSpace}:{leaver.UnionId}",
            p => Relationships(p, "follows").Any(f => !f.GetProperty("following").GetBoolean()), ct).ConfigureAwait(false);
        var after = await StatsAsync(ct).ConfigureAwait(false);
        teller.Graph($"{leaver.User}'s person {Str(left, "id")} stays, its follow ended; real followers now {Followers(after)}");
        Expect(Relationships(left, "follows").Any(f => !f.GetProperty("following").GetBoolean()) && Followers(after) == Followers(before) - 1
               && after.GetProperty("persons").GetInt64() == before.GetProperty("persons").GetInt64(),
            "the unfollow ends the follow, the real follower count drops by one, and no person is lost or created");

        // ---- S14b: channels ----
        teller.Chapter("S14b A poster's QR code and a contact way's state, counted per channel");
        var zhao = await UserAsync("sunli", "Sun Li", ct).ConfigureAwait(false);
        var qian = await UserAsync("qianqian", "Qian Qian", ct).ConfigureAwait(false);
        foreach (var who in new[] { zhao, qian })
        {
            var scan = await SandboxAsync($"_sandbox/users/{who.User}/scan", new { appid = Demo.OfficialAccount, scene_str = "poster-2026" }, ct).ConfigureAwait(false);
            teller.Did($"{who.User} scans the spring poster's QR code: {Str(scan, "event")} with EventKey qrscene_poster-2026");
        }
        await SandboxAsync("_sandbox/users/sunli/wecom-add", new { corpid = Demo.Corp, userid = "zhangsan", state = "fair-2026" }, ct).ConfigureAwait(false);
        teller.Did("sunli then adds sales rep zhangsan through the trade fair's contact way (state fair-2026)");
        // Both of the corp's apps hear the add; the provider app's ciphertext id joins his person once a follow-up has
        // linked it (the provider conversion of his unionid, or from_service_external_userid), in whichever order it
        // meets the push. Follow-ups run after the backfill's few hundred new persons, hence the longer wait.
        var zhaoCipher = $"external_userid:{Demo.Corp}/isv1:{zhao.External($"{Demo.Corp}/isv1")}";
        var zhaoPerson = await WaitForPersonAsync($"unionid:{Demo.UnionSpace}:{zhao.UnionId}",
            p => Relationships(p, "wecom_contacts").Count(c => c.GetProperty("active").GetBoolean()) == 2 && Relationships(p, "follows").Any() && Ids(p).Contains(zhaoCipher),
            PushWait * 4, ct).ConfigureAwait(false);
        Expect(Ids(zhaoPerson).Contains(zhaoCipher), "the provider app's ciphertext id of sunli joined his person");
        await WaitForPersonAsync($"unionid:{Demo.UnionSpace}:{qian.UnionId}", p => Relationships(p, "follows").Any(), ct).ConfigureAwait(false);
        var channels = await StatsAsync(ct).ConfigureAwait(false);
        var poster = Channel(channels, "qr_scene", "poster-2026");
        var fair = Channel(channels, "contact_way", "fair-2026");
        teller.Graph($"channel poster-2026: {poster.Persons} persons, {poster.BecameContacts} became WeCom contacts; contact way fair-2026: {fair.Persons} person");
        Expect(poster == (2, 1) && fair == (1, 1), "the poster brought two persons, one of whom became a WeCom contact; the fair's contact way brought one");

        // ---- S15 ----
        teller.Chapter("S15 An H5 page asks: has this visitor added us on WeCom?");
        teller.Did("sunli opens a campaign page in WeChat; the page has his unionid and calls GET /v1/resolve");
        var contactOf = Relationships(zhaoPerson, "wecom_contacts").Where(c => c.GetProperty("active").GetBoolean()).Select(c => c.GetProperty("member").GetString()).Distinct().ToArray();
        teller.Graph($"wecom_contact={zhaoPerson?.GetProperty("relationships").GetProperty("wecom_contact")}, of [{string.Join(", ", contactOf)}], scene {Relationships(zhaoPerson, "follows").FirstOrDefault().GetProperty("scene")}");
        // The self-built app names the member zhangsan; the provider app sees the same member by its ciphertext open_userid.
        Expect(contactOf.Contains("zhangsan") && Relationships(zhaoPerson, "follows").Any(f => Str(f, "scene") == "poster-2026"),
            "the answer says he is zhangsan's contact, and came through the poster");
        var qianPerson = await ResolveAsync($"unionid:{Demo.UnionSpace}:{qian.UnionId}", ct).ConfigureAwait(false);
        Expect(qianPerson is { } qp && !qp.GetProperty("relationships").GetProperty("wecom_contact").GetBoolean(), "qianqian follows but has not added anyone: the page can show her the fair's QR code");

        // ---- S17 ----
        teller.Chapter("S17 Existing WeCom customers, added before OneId listened, are backfilled");
        var generated = await SandboxAsync("_sandbox/generate", new { users = 150, seed = 17, contacts = new Dictionary<string, double> { [Demo.Corp] = 1.0 } }, ct).ConfigureAwait(false);
        var customers = generated.GetProperty("customers").GetInt64();
        teller.Did($"{customers} customers were added by zhangsan and lisi last year; no push ever reached the hub");
        using (var c = new HttpClient { BaseAddress = sandbox })
        {
            await c.DeleteAsync("_sandbox/calls", ct).ConfigureAwait(false);
        }
        var (startStatus, job) = await HubAsync(HttpMethod.Post, "v1/jobs", new { kind = "wecom_contacts_backfill", corpid = Demo.Corp, app = Demo.SelfBuiltApp }, adminKey, ct).ConfigureAwait(false);
        var jobId = startStatus == HttpStatusCode.Accepted ? job.GetProperty("id").GetInt64() : 0;
        if (jobId > 0)
        {
            job = await FinishedJobAsync(jobId, PushWait * 4, ct).ConfigureAwait(false);
        }
        var progress = job.ValueKind == JsonValueKind.Object ? job.GetProperty("progress") : default;
        var calls = (await SandboxAsync("_sandbox/calls", null, ct).ConfigureAwait(false)).GetProperty("counts");
        var pages = calls.TryGetProperty("/qyapi/cgi-bin/externalcontact/batch/get_by_user", out var n) ? n.GetInt64() : 0;
        var pairs = progress.ValueKind == JsonValueKind.Object ? progress.GetProperty("contacts").GetInt64() : 0;
        teller.WeChat($"externalcontact/get_follow_user_list → 2 members; batch/get_by_user × {pages} (100 customers a page) → {pairs} (customer, member) pairs");
        teller.Graph(progress.ValueKind == JsonValueKind.Object ? $"job #{jobId} {Str(job, "state")}: {progress.GetProperty("new_persons")} new persons, {progress.GetProperty("merges")} merges, {progress.GetProperty("conflicts")} conflicts" : $"job refused: HTTP {(int)startStatus}");
        Expect(Str(job, "state") == "succeeded" && pairs >= customers && pages == (pairs + 99) / 100,
            "the job read every customer of every member, in the fewest calls batch/get_by_user's page size allows");
        var sample = new Truth(Str(generated, "last")!, await SandboxAsync($"_sandbox/users/{Str(generated, "last")}", null, ct).ConfigureAwait(false));
        var samplePerson = await ResolveAsync($"unionid:{Demo.UnionSpace}:{sample.UnionId}", ct).ConfigureAwait(false);
        var member = sample.Json.GetProperty("wecom_contact_details").EnumerateArray().First().GetProperty("userid").GetString();
        Expect(Relationships(samplePerson, "wecom_contacts").Any(x => x.GetProperty("member").GetString() == member && x.GetProperty("active").GetBoolean()),
            $"a backfilled customer ({sample.User}) resolves by unionid to a person who is {member}'s contact");
        var final = await StatsAsync(ct).ConfigureAwait(false);
        Expect(final.GetProperty("wecom_contacts").GetProperty("total").GetInt64() >= customers + 1, "the WeCom contact count holds the backfilled customers and sunli");
    }

    /// <summary>
    /// S16: a corp that installed the provider's app before WeCom's id upgrade sees old ciphertext external_userids. The
    /// admin agrees to the migration, the hub's job converts every old id it holds and declares the migration finished;
    /// each new id replaces the old one in the same person, and later pushes with the new id reach that person.
    /// </summary>
    private async Task WeComUpgradeAsync(CancellationToken ct)
    {
        teller.Chapter("S16 WeCom's id upgrade: a corp that installed the provider's app before 2022 moves to the new ids");
        var corp = SandboxMode.LegacyCorp;
        var ns = $"{corp}/isv1";
        await UserAsync("zhaolei", "Zhao Lei", ct).ConfigureAwait(false);
        teller.Did($"sales rep wangwu of {corp} adds Zhao Lei on WeCom; the provider's app there was authorized before the upgrade");
        await SandboxAsync("_sandbox/users/zhaolei/wecom-add", new { corpid = corp, userid = "wangwu" }, ct).ConfigureAwait(false);
        var truth = await SandboxAsync("_sandbox/users/zhaolei", null, ct).ConfigureAwait(false);
        var oldId = $"external_userid:{ns}:{truth.GetProperty("legacy_external_userids").GetProperty(ns).GetString()}";
        var newId = $"external_userid:{ns}:{truth.GetProperty("upgraded_external_userids").GetProperty(ns).GetString()}";
        var before = await WaitForPersonAsync(oldId, p => ContactsSeen(p).Length == 1, ct).ConfigureAwait(false);
        teller.WeChat($"add_external_contact carries the old-style id {oldId} and the plain member id wangwu");
        Expect(before is not null && ContactsSeen(before).SequenceEqual([$"wangwu on {oldId}"]),
            "the provider's push with the old external_userid made a person, the contact of member wangwu");
        var sandboxView = await SandboxAsync("_sandbox", null, ct).ConfigureAwait(false);
        var openUserIds = sandboxView.GetProperty("corps").EnumerateArray().First(c => Str(c, "corpid") == corp).GetProperty("providers").GetProperty("isv1").GetProperty("open_userids");
        var openWangwu = Str(openUserIds, "wangwu");
        var openZhaoliu = Str(openUserIds, "zhaoliu");

        teller.Did("the corp admin agrees to the provider's id migration (agree_external_userid_migration)");
        await SandboxAsync($"_sandbox/corps/{corp}/providers/isv1/agree-migration", new { }, ct).ConfigureAwait(false);
        teller.Did("an operator starts the upgrade job: POST /v1/jobs {\"kind\":\"wecom_id_upgrade\",\"corpid\":…,\"app\":…}");
        var (status, job) = await HubAsync(HttpMethod.Post, "v1/jobs", new { kind = "wecom_id_upgrade", corpid = corp, app = SandboxMode.LegacyProviderApp }, adminKey, ct).ConfigureAwait(false);
        var finished = status == HttpStatusCode.Accepted ? await FinishedJobAsync(job.GetProperty("id").GetInt64(), PushWait, ct).ConfigureAwait(false) : default;
        teller.WeChat("get_new_external_userid → the new id; batch/userid_to_openuserid → wangwu's open_userid; corpid_to_opencorpid → the open corpid; "
            + "finish_external_userid_migration, then finish_openid_migration type 1 (corpid + userid)");
        Expect(Str(finished, "state") == "succeeded" && finished.GetProperty("progress").GetProperty("replaced").GetInt32() >= 1
               && finished.GetProperty("progress").GetProperty("members").GetInt32() >= 1,
            $"the upgrade job succeeded, replaced the old ids it held and converted the member ids ({(finished.ValueKind == JsonValueKind.Object ? finished.GetProperty("progress").ToString() : "no answer")})");
        var after = await ResolveAsync(oldId, ct).ConfigureAwait(false);
        teller.Graph($"{Describe(after)}, replaced_by {(after is { } a && a.TryGetProperty("replaced_by", out var r) ? r.ToString() : "—")}");
        Expect(after is { } p && Str(p, "id") == Str(before, "id") && p.TryGetProperty("replaced_by", out var map) && map.TryGetProperty(oldId, out var by) && by.GetString() == newId,
            "the new id replaced the old one in the same person, and the old one still resolves (replaced_by)");

        var renamed = await WaitForPersonAsync(oldId, p => ContactsSeen(p).SequenceEqual([$"{openWangwu} on {newId}"]), ct).ConfigureAwait(false);
        teller.Graph($"Zhao Lei is the contact of [{string.Join(", ", ContactsSeen(renamed))}]");
        Expect(ContactsSeen(renamed).SequenceEqual([$"{openWangwu} on {newId}"]),
            "who has Zhao Lei as a contact names the new ids: wangwu's open_userid, on the new external_userid (the contact followed the replacement)");

        teller.Did("after the switch Zhao Lei adds a second rep, zhaoliu: WeCom's push now carries the new id and zhaoliu's open_userid");
        await SandboxAsync("_sandbox/users/zhaolei/wecom-add", new { corpid = corp, userid = "zhaoliu" }, ct).ConfigureAwait(false);
        var (_, history) = await HubAsync(HttpMethod.Get, $"v1/persons/{Str(before, "id")}/history", null, adminKey, ct).ConfigureAwait(false);
        Expect(history.ValueKind == JsonValueKind.Array && history.EnumerateArray().Any(e => Str(e, "kind") == "identifier_replaced"),
            "the person's timeline shows the identifier_replaced event (webhooks and GET /v1/events carry it too)");
        var seen = false;
        await UntilAsync(async () =>
        {
            var (_, observations) = await HubAsync(HttpMethod.Get, $"v1/persons/{Str(before, "id")}/observations", null, adminKey, ct).ConfigureAwait(false);
            return seen = observations.ValueKind == JsonValueKind.Array && observations.EnumerateArray().Any(o =>
                Str(o, "source")?.StartsWith("wecom.contact:", StringComparison.Ordinal) == true && o.GetProperty("ids").EnumerateArray().Any(i => i.GetString() == newId));
        }, ct).ConfigureAwait(false);
        Expect(seen && Str(await ResolveAsync(newId, ct).ConfigureAwait(false), "id") == Str(before, "id"),
            "the push with the new id reached the same person: no second person, no conflict");
        var both = await WaitForPersonAsync(newId, p => ContactsSeen(p).Length == 2, ct).ConfigureAwait(false);
        var stats = await StatsAsync(ct).ConfigureAwait(false);
        var corpContacts = stats.GetProperty("wecom_contacts").GetProperty("per_corp").TryGetProperty(corp, out var n) ? n.GetInt64() : 0;
        teller.Graph($"Zhao Lei is the contact of [{string.Join(", ", ContactsSeen(both))}]; WeCom contacts of {corp}: {corpContacts}");
        Expect(ContactsSeen(both).Order().SequenceEqual(new[] { $"{openWangwu} on {newId}", $"{openZhaoliu} on {newId}" }.Order()) && corpContacts == 1,
            "both contacts name the new member ids on the new external_userid, and the corp's contact count holds Zhao Lei once");
    }

    /// <summary>A person's WeCom contacts as "member on external_userid", active ones only.</summary>
    private static string[] ContactsSeen(JsonElement? person) =>
        Relationships(person, "wecom_contacts").Where(c => c.GetProperty("active").GetBoolean())
            .Select(c => $"{Str(c, "member")} on {Str(c, "external_userid")}").ToArray();

    /// <summary>The company's CRM sends what it knows; an operator keeps two look-alikes apart and finds the data-entry mistake in the queue.</summary>
    private async Task OperatorAsync(string lileiUnionId, string p1, CancellationToken ct)
    {
        teller.Chapter("Operator  The CRM sends its customers; the console shows the conflicts");
        var lilei = $"unionid:{Demo.UnionSpace}:{lileiUnionId}";
        teller.Did("the CRM posts three customers it knows (POST /v1/observations): Li Lei's CRM account with his unionid, a walk-in customer, and a typo");
        var (status, answer) = await HubAsync(HttpMethod.Post, "v1/observations", new
        {
            observations = new object[]
            {
                new { id = "crm-100001", ids = new[] { "account:crm:100001", lilei }, source = "crm", profile = new { nickname = "李雷" } },
                new { id = "crm-100002", ids = new[] { "account:crm:100002", "phone::+8613900000002" }, source = "crm" },
                // A data-entry mistake: Li Lei's CRM account typed against another customer's account number.
                new { id = "crm-100003", ids = new[] { "account:crm:100002", lilei }, source = "crm" },
            },
        }, adminKey, ct).ConfigureAwait(false);
        var outcomes = status == HttpStatusCode.OK ? answer.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("outcome").GetString()).ToArray() : [];
        teller.Graph($"outcomes: {string.Join(", ", outcomes)}");
        Expect(outcomes.SequenceEqual(["accepted", "accepted", "rejected"]), "the CRM's account joins Li Lei, the walk-in customer is new, the typo is rejected as a conflict");
        var (_, conflicts) = await HubAsync(HttpMethod.Get, "v1/conflicts", null, adminKey, ct).ConfigureAwait(false);
        Expect(conflicts.ValueKind == JsonValueKind.Object && conflicts.GetProperty("open").GetInt64() == 1, "the console's conflict queue holds it, open");

        var walkIn = status == HttpStatusCode.OK ? Str(answer.GetProperty("results")[1], "person") : null;
        teller.Did($"an operator says Li Lei ({p1}) and the walk-in customer ({walkIn}) are different people");
        var (kept, _) = await HubAsync(HttpMethod.Post, $"v1/persons/{p1}/keep-apart", new { other = walkIn }, adminKey, ct).ConfigureAwait(false);
        Expect(kept == HttpStatusCode.OK, "the keep-apart constraint is stored");
        var (_, audit) = await HubAsync(HttpMethod.Get, "v1/audit", null, adminKey, ct).ConfigureAwait(false);
        Expect(audit.ValueKind == JsonValueKind.Object && audit.GetProperty("entries").GetArrayLength() >= 2, "both operator actions are in the audit log");
    }

    private async Task WebhooksAsync(WebhookInbox inbox, string p1, string p2, CancellationToken ct)
    {
        teller.Chapter("Webhooks  The company's CRM hears about every change");
        var (_, last) = await HubAsync(HttpMethod.Get, $"v1/persons/{p1}/history", null, adminKey, ct).ConfigureAwait(false);
        // Wait until the outbox is drained up to lilei's latest event (the backfill adds a few hundred more before it).
        var lastSequence = last.EnumerateArray().Max(e => e.GetProperty("sequence").GetInt64());
        await UntilAsync(() => Task.FromResult(inbox.Events.Any(e => e.GetProperty("sequence").GetInt64() >= lastSequence)), ct).ConfigureAwait(false);
        var events = inbox.Events.ToArray();
        var byType = events.GroupBy(e => e.GetProperty("type").GetString()).Select(g => $"{g.Count()} {g.Key}");
        teller.Graph($"{events.Length} signed deliveries: {string.Join(", ", byType)}");
        var merge = events.FirstOrDefault(e => e.GetProperty("type").GetString() == "person.merged" && e.GetProperty("person").GetString() == p1);
        if (merge.ValueKind == JsonValueKind.Object)
        {
            teller.Graph($"e.g. #{merge.GetProperty("sequence")} person.merged: {string.Join(", ", merge.GetProperty("others").EnumerateArray().Select(o => o.GetString()))} → {p1} (the CRM moves p_2's cart to {p1})");
        }
        Expect(inbox.BadSignatures == 0 && events.Length > 0, "every delivery carried a valid X-OneId-Signature");
        Expect(events.Select(e => e.GetProperty("sequence").GetInt64()).Zip(events.Skip(1).Select(e => e.GetProperty("sequence").GetInt64())).All(p => p.First < p.Second),
            "deliveries arrived in order");
        Expect(merge.ValueKind == JsonValueKind.Object && merge.GetProperty("others").EnumerateArray().Any(o => o.GetString() == p2),
            $"the S11 merge was announced: person.merged {p2} → {p1}");
    }

    private async Task<long> PersonsAsync(CancellationToken ct)
    {
        var (_, stats) = await HubAsync(HttpMethod.Get, "v1/stats", null, adminKey, ct).ConfigureAwait(false);
        return stats.GetProperty("persons").GetInt64();
    }
}
