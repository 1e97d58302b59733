using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Playwright;
using OneId.DemoWiring;
using OneId.Testing;
using Xunit;

namespace OneId.Console.Tests;

/// <summary>What an operator does in the console, in real Chromium against a real hub; a screenshot of every page.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class ConsolePagesTests(ConsoleFixture fixture)
{
    private static readonly LocatorAssertionsToBeVisibleOptions Visible = new() { Timeout = 30_000 };

    [Fact]
    public async Task Sign_in_shows_the_overview_in_Chinese_and_English_is_one_click_away()
    {
        var page = await fixture.SignedInPageAsync();
        await Assertions.Expect(page.GetByTestId("overview")).ToBeVisibleAsync(Visible);
        await fixture.ScreenshotAsync(page, "01-overview-zh");
        await Assertions.Expect(page.GetByText("用户数")).ToBeVisibleAsync(Visible);
        // The charts are drawn (ECharts puts a canvas in each chart's box).
        await Assertions.Expect(page.GetByTestId("chart-coverage").Locator("canvas").First).ToBeVisibleAsync(Visible);
        await Assertions.Expect(page.GetByTestId("chart-overlap").Locator("canvas").First).ToBeVisibleAsync(Visible);
        await Assertions.Expect(page.GetByTestId("chart-growth").Locator("canvas").First).ToBeVisibleAsync(Visible);
        await fixture.ScreenshotAsync(page, "01-overview-zh");

        await page.GetByTestId("switch-language").ClickAsync();
        await Assertions.Expect(page.GetByText("Persons", new() { Exact = true })).ToBeVisibleAsync(Visible);
        await Assertions.Expect(page.GetByTestId("nav-conflicts")).ToHaveTextAsync("Conflicts");
        await fixture.ScreenshotAsync(page, "02-overview-en");

        // The choice is remembered across reloads.
        await page.ReloadAsync();
        await Assertions.Expect(page.GetByTestId("nav-conflicts")).ToHaveTextAsync("Conflicts", new() { Timeout = 30_000 });
        await page.GetByTestId("switch-language").ClickAsync();
        await Assertions.Expect(page.GetByTestId("nav-conflicts")).ToHaveTextAsync("冲突");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_wrong_key_is_refused_and_sign_out_returns_to_the_sign_in_form()
    {
        var context = await fixture.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(new Uri(fixture.HubAddress, "/console/").AbsoluteUri);
        await page.GetByTestId("signin-key").FillAsync("oneid.acme.not-a-key");
        await page.GetByTestId("signin-submit").ClickAsync();
        await Assertions.Expect(page.GetByText("登录失败")).ToBeVisibleAsync(Visible);
        await fixture.ScreenshotAsync(page, "00-sign-in-refused");

        await page.GetByTestId("signin-key").FillAsync(ConsoleFixture.AdminKey);
        await page.GetByTestId("signin-submit").ClickAsync();
        await page.GetByTestId("sign-out").ClickAsync();
        await Assertions.Expect(page.GetByTestId("signin-key")).ToBeVisibleAsync(Visible);
        // The cookie is gone: a reload stays signed out.
        await page.ReloadAsync();
        await Assertions.Expect(page.GetByTestId("signin-key")).ToBeVisibleAsync(Visible);
        await context.CloseAsync();
    }

    [Fact]
    public async Task Search_finds_a_person_and_the_person_page_draws_the_graph_timeline_and_profile()
    {
        var page = await fixture.SignedInPageAsync();
        await page.GetByTestId("nav-search").ClickAsync();
        var input = page.Locator("input[data-testid=search-input], [data-testid=search-input] input").First;
        await input.FillAsync(fixture.CrmAccount);
        await input.PressAsync("Enter");
        var hit = page.GetByTestId("search-hit");
        await Assertions.Expect(hit).ToHaveCountAsync(1, new() { Timeout = 30_000 });
        await fixture.ScreenshotAsync(page, "03-search");

        await hit.ClickAsync();
        var graph = page.GetByTestId("person-graph");
        await Assertions.Expect(graph.Locator("canvas").First).ToBeVisibleAsync(Visible);
        // account + openid + phone: three identifier nodes (in their namespace groups), two "seen together" edges.
        (int.Parse(await graph.GetAttributeAsync("data-edges") ?? "0", System.Globalization.CultureInfo.InvariantCulture)).Should().Be(2);
        await Assertions.Expect(page.GetByTestId("timeline-item").First).ToBeVisibleAsync(Visible);
        await Assertions.Expect(page.GetByText("张伟").First).ToBeVisibleAsync(Visible);
        await fixture.ScreenshotAsync(page, "04-person");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task An_open_conflict_is_resolved_from_the_queue_and_the_audit_log_names_the_key()
    {
        using var api = fixture.Api();
        var before = await api.GetFromJsonAsync<JsonElement>("/v1/conflicts");
        var open = before.GetProperty("items").EnumerateArray().First(c => c.GetProperty("state").GetString() == "open");
        var id = open.GetProperty("id").GetString()!;

        var page = await fixture.SignedInPageAsync();
        await page.GetByTestId("nav-conflicts").ClickAsync();
        await Assertions.Expect(page.GetByTestId($"apply-{id}")).ToBeVisibleAsync(Visible);
        await fixture.ScreenshotAsync(page, "05-conflicts-open");
        await page.GetByTestId($"apply-{id}").ClickAsync();
        // Ant Design's Popconfirm asks first; confirm it.
        await page.Locator(".ant-popconfirm").GetByRole(AriaRole.Button, new() { Name = "确 定" }).Or(page.Locator(".ant-popconfirm").GetByRole(AriaRole.Button, new() { Name = "确定" })).First.ClickAsync();
        await Assertions.Expect(page.GetByTestId($"apply-{id}")).ToHaveCountAsync(0, new() { Timeout = 30_000 });
        await fixture.ScreenshotAsync(page, "06-conflicts-resolved");

        await Eventually.TrueAsync(async () =>
            (await api.GetFromJsonAsync<JsonElement>($"/v1/conflicts/{id}")).GetProperty("state").GetString() == "applied", "the conflict is applied");

        await page.GetByTestId("nav-audit").ClickAsync();
        await Assertions.Expect(page.GetByTestId("audit-action").Filter(new() { HasText = "conflict.resolve" }).First).ToBeVisibleAsync(Visible);
        await fixture.ScreenshotAsync(page, "07-audit");
        await page.Context.CloseAsync();
    }

    // The confirmation just opened: Ant Design appends each popover to the page and keeps a closed one (hidden, or
    // still fading out on a busy machine), so the first match may be an earlier action's.
    private static ILocator ConfirmButton(IPage page) =>
        page.Locator(".ant-popconfirm .ant-btn-primary:visible").Last;

    [Fact]
    public async Task Keep_apart_is_set_from_the_person_page_with_a_confirmation()
    {
        using var api = fixture.Api();
        var a = (await api.GetFromJsonAsync<JsonElement>($"/v1/resolve?id={fixture.CrmAccount}")).GetProperty("id").GetString()!;
        var b = (await api.GetFromJsonAsync<JsonElement>("/v1/resolve?id=account:crm:C-20001")).GetProperty("id").GetString()!;

        var page = await fixture.SignedInPageAsync(language: "en");
        await page.GotoAsync(new Uri(fixture.HubAddress, $"/console/persons/{b}").AbsoluteUri);
        await page.GetByTestId("keep-apart-input").FillAsync(a);
        await page.GetByTestId("keep-apart").ClickAsync();
        await ConfirmButton(page).ClickAsync();
        await Assertions.Expect(page.GetByTestId($"kept-apart-{a}")).ToBeVisibleAsync(Visible);
        await fixture.ScreenshotAsync(page, "08-person-keep-apart-en");
        (await api.GetFromJsonAsync<JsonElement>($"/v1/persons/{a}/keep-apart")).GetProperty("kept_apart_from").EnumerateArray()
            .Select(x => x.GetString()).Should().Contain(b);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task An_observation_is_retracted_and_the_profile_erased_from_the_person_page_with_confirmations()
    {
        using var api = fixture.Api();
        var account = $"account:crm:E-{Guid.NewGuid().ToString("N")[..8]}";
        var openId = $"openid:wxa0a0a0a0a0a0a002:o{Guid.NewGuid().ToString("N")[..27]}";
        var posted = await api.PostAsJsonAsync("/v1/observations", new
        {
            observations = new object[]
            {
                new { ids = new[] { account }, source = "crm", profile = new { nickname = "待删除的昵称" } },
                new { ids = new[] { account, openId }, source = "crm-typo" },
            },
        });
        posted.EnsureSuccessStatusCode();
        var results = (await posted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("results");
        var person = results[0].GetProperty("person").GetString()!;
        var typo = results[1].GetProperty("observation").GetString()!;

        var page = await fixture.SignedInPageAsync();
        await page.GotoAsync(new Uri(fixture.HubAddress, $"/console/persons/{person}").AbsoluteUri);
        await Assertions.Expect(page.GetByText("待删除的昵称").First).ToBeVisibleAsync(Visible);
        await page.GetByTestId($"retract-{typo}").ClickAsync();
        await ConfirmButton(page).ClickAsync();
        // Retracted: no longer an accepted observation to act on, and the openid it brought has left the person.
        await Assertions.Expect(page.GetByTestId($"retract-{typo}")).ToHaveCountAsync(0, new() { Timeout = 30_000 });
        await Eventually.TrueAsync(async () => !(await api.GetFromJsonAsync<JsonElement>($"/v1/persons/{person}")).GetProperty("identifiers")
            .EnumerateArray().Any(i => i.GetString() == openId), "the retracted observation's openid left the person");
        await fixture.ScreenshotAsync(page, "13-person-retracted");

        await page.GetByTestId("erase-profile").ClickAsync();
        await ConfirmButton(page).ClickAsync();
        await Assertions.Expect(page.GetByText("待删除的昵称")).ToHaveCountAsync(0, new() { Timeout = 30_000 });
        var after = await api.GetFromJsonAsync<JsonElement>($"/v1/persons/{person}");
        (after.TryGetProperty("profile", out var profile) && profile.ValueKind == JsonValueKind.Object && profile.EnumerateObject().Any()).Should().BeFalse("the profile is erased");
        after.GetProperty("identifiers").EnumerateArray().Select(i => i.GetString()).Should().Contain(account, "erasure keeps the ids");
        await fixture.ScreenshotAsync(page, "14-person-erased");

        var audit = await api.GetFromJsonAsync<JsonElement>("/v1/audit");
        audit.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("action").GetString()).Should().Contain("observation.retract").And.Contain("person.erase");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task The_webhooks_page_shows_each_cursor_and_its_deliveries_and_redelivers()
    {
        var page = await fixture.SignedInPageAsync();
        await page.GetByTestId("nav-webhooks").ClickAsync();
        var cursor = page.GetByTestId("webhook-cursor-0");
        await Assertions.Expect(cursor).ToBeVisibleAsync(Visible);
        await fixture.ScreenshotAsync(page, "09-webhooks");
        await page.GetByTestId("redeliver-0").ClickAsync();
        await ConfirmButton(page).ClickAsync();
        await Assertions.Expect(page.GetByText("已安排重新投递")).ToBeVisibleAsync(Visible);
        using var api = fixture.Api();
        var audit = await api.GetFromJsonAsync<JsonElement>("/v1/audit");
        audit.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("action").GetString()).Should().Contain("webhook.redeliver");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task The_overview_counts_real_followers_and_channels_and_the_person_page_shows_relationships()
    {
        using var api = fixture.Api();
        var stats = await api.GetFromJsonAsync<JsonElement>("/v1/stats");
        var followers = stats.GetProperty("followers").GetProperty("total").GetInt64();
        followers.Should().BeGreaterThan(0, "the demo's followers fill the overview");

        var page = await fixture.SignedInPageAsync();
        await Assertions.Expect(page.GetByTestId("real-followers")).ToHaveTextAsync(followers.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), new() { Timeout = 30_000 });
        await Assertions.Expect(page.GetByTestId("channels").GetByText("poster-2026", new() { Exact = true })).ToBeVisibleAsync(Visible);
        await Assertions.Expect(page.GetByTestId("channels").GetByText("fair-2026", new() { Exact = true })).ToBeVisibleAsync(Visible);
        await fixture.ScreenshotAsync(page, "13-overview-channels");

        // sunli came through the poster and added zhangsan through the fair's contact way (the demo's S14b).
        using var sandbox = new HttpClient { BaseAddress = fixture.Hub.Sandbox.BaseAddress };
        var truth = await sandbox.GetFromJsonAsync<JsonElement>("_sandbox/users/sunli");
        var unionid = $"unionid:acme:{truth.GetProperty("unionids").GetProperty("acme").GetString()}";
        var person = (await api.GetFromJsonAsync<JsonElement>($"/v1/resolve?id={Uri.EscapeDataString(unionid)}")).GetProperty("id").GetString()!;
        await page.GotoAsync(new Uri(fixture.HubAddress, $"/console/persons/{person}").AbsoluteUri);
        var relationships = page.GetByTestId("relationships");
        await Assertions.Expect(relationships.GetByTestId("relationship-follow").First).ToContainTextAsync("poster-2026", new() { Timeout = 30_000 });
        await Assertions.Expect(relationships.GetByTestId("relationship-contact").Filter(new() { HasText = "zhangsan" })).ToContainTextAsync("fair-2026");
        await Assertions.Expect(relationships.GetByText("是企业微信客户")).ToBeVisibleAsync(Visible);
        await fixture.ScreenshotAsync(page, "14-person-relationships");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_key_without_the_private_tier_sees_no_profile_and_no_actions()
    {
        using var api = fixture.Api();
        var created = await api.PostAsJsonAsync("/v1/keys", new { tiers = new[] { "internal" }, admin = false, name = "crm-reader" });
        created.EnsureSuccessStatusCode();
        var key = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
        var person = (await api.GetFromJsonAsync<JsonElement>($"/v1/resolve?id={fixture.CrmAccount}")).GetProperty("id").GetString()!;

        var page = await fixture.SignedInPageAsync(key);
        await page.GotoAsync(new Uri(fixture.HubAddress, $"/console/persons/{person}").AbsoluteUri);
        await Assertions.Expect(page.GetByTestId("person-graph")).ToBeVisibleAsync(Visible);
        await Assertions.Expect(page.GetByText("张伟")).ToHaveCountAsync(0);
        await Assertions.Expect(page.GetByText("phone::+8613900000001")).ToHaveCountAsync(0);
        await Assertions.Expect(page.GetByTestId("erase-profile")).ToHaveCountAsync(0);
        await Assertions.Expect(page.GetByTestId("keep-apart")).ToHaveCountAsync(0);
        await fixture.ScreenshotAsync(page, "10-person-internal-tier");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_WeCom_customer_backfill_started_from_the_jobs_page_for_the_chosen_corp_app_runs_until_it_succeeds()
    {
        const string corpApp = OneId.Sandbox.World.DemoWorld.Corp + "/" + OneId.Sandbox.World.DemoWorld.SelfBuiltApp;
        using var api = fixture.Api();
        static int Succeeded(JsonElement jobs) => jobs.EnumerateArray().Count(j => j.GetProperty("kind").GetString() == "wecom_contacts_backfill"
            && j.GetProperty("appid").GetString() == corpApp && j.GetProperty("state").GetString() == "succeeded");
        var before = Succeeded(await api.GetFromJsonAsync<JsonElement>("/v1/jobs"));

        var page = await fixture.SignedInPageAsync();
        await page.GetByTestId("nav-jobs").ClickAsync();
        await page.GetByTestId("job-corp-app").ClickAsync();
        await page.Locator(".ant-select-item-option").Filter(new() { HasText = corpApp + " (self_built)" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("start-wecom-backfill")).ToBeEnabledAsync(new() { Timeout = 30_000 });
        await page.GetByTestId("start-wecom-backfill").ClickAsync();
        // The page polls until the job is done; its row shows the members walked and the (customer, member) pairs read.
        var done = page.Locator("tr", new() { Has = page.GetByTestId("job-contacts") }).Filter(new() { HasText = corpApp }).Filter(new() { HasText = "成功" });
        await Assertions.Expect(done).ToHaveCountAsync(before + 1, new() { Timeout = 60_000 });
        await Assertions.Expect(done.First.GetByTestId("job-contacts")).Not.ToHaveTextAsync("0");
        // The table lists every kind of job, so its app column must not be headed "Official Account" (公众号).
        await Assertions.Expect(page.Locator("th").Filter(new() { HasText = "应用" })).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("th").Filter(new() { HasText = "公众号" })).ToHaveCountAsync(0);
        await fixture.ScreenshotAsync(page, "11b-jobs-wecom");
        Succeeded(await api.GetFromJsonAsync<JsonElement>("/v1/jobs")).Should().Be(before + 1, "the console started exactly one backfill of the chosen app");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task The_provider_id_upgrade_started_from_the_jobs_page_for_the_chosen_provider_app_runs_until_it_succeeds()
    {
        // The demo story upgraded the legacy corp's provider app through the API; running it again from the console
        // finds nothing left to replace and still has to finish.
        const string providerApp = SandboxMode.LegacyCorp + "/" + SandboxMode.LegacyProviderApp;
        using var api = fixture.Api();
        static int Succeeded(JsonElement jobs) => jobs.EnumerateArray().Count(j => j.GetProperty("kind").GetString() == "wecom_id_upgrade"
            && j.GetProperty("appid").GetString() == providerApp && j.GetProperty("state").GetString() == "succeeded");
        var before = Succeeded(await api.GetFromJsonAsync<JsonElement>("/v1/jobs"));

        var page = await fixture.SignedInPageAsync();
        await page.GetByTestId("nav-jobs").ClickAsync();
        await page.GetByTestId("job-upgrade-app").ClickAsync();
        // Only provider apps are offered: the self-built app has no ids of a provider to upgrade.
        await Assertions.Expect(page.Locator(".ant-select-dropdown:visible .ant-select-item-option").Filter(new() { HasText = "/" + OneId.Sandbox.World.DemoWorld.SelfBuiltApp })).ToHaveCountAsync(0);
        await page.Locator(".ant-select-dropdown:visible .ant-select-item-option").Filter(new() { HasText = providerApp }).ClickAsync();
        await page.GetByTestId("start-wecom-upgrade").ClickAsync();
        var done = page.Locator("tr", new() { Has = page.GetByTestId("job-kind").Filter(new() { HasText = "ID 升级" }) }).Filter(new() { HasText = providerApp }).Filter(new() { HasText = "成功" });
        await Assertions.Expect(done).ToHaveCountAsync(before + 1, new() { Timeout = 60_000 });
        await fixture.ScreenshotAsync(page, "11c-jobs-upgrade");
        Succeeded(await api.GetFromJsonAsync<JsonElement>("/v1/jobs")).Should().Be(before + 1, "the console started exactly one upgrade of the chosen app");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_backfill_started_from_the_jobs_page_shows_its_progress_until_it_succeeds()
    {
        var page = await fixture.SignedInPageAsync();
        await page.GetByTestId("nav-jobs").ClickAsync();
        await Assertions.Expect(page.GetByTestId("start-backfill")).ToBeEnabledAsync(new() { Timeout = 30_000 });
        await page.GetByTestId("start-backfill").ClickAsync();
        // The page polls while the job is queued or running: the state and the follower count move on their own.
        await Assertions.Expect(page.GetByTestId("job-state").First).ToHaveTextAsync("成功", new() { Timeout = 60_000 });
        await Assertions.Expect(page.GetByTestId("job-followers").First).Not.ToHaveTextAsync("0");
        await fixture.ScreenshotAsync(page, "11-jobs");
        using var api = fixture.Api();
        var jobs = await api.GetFromJsonAsync<JsonElement>("/v1/jobs");
        jobs.EnumerateArray().Should().Contain(j => j.GetProperty("state").GetString() == "succeeded" && j.GetProperty("progress").GetProperty("followers").GetInt32() > 0);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_key_created_on_the_keys_page_works_until_it_is_revoked_there_and_is_refused_after()
    {
        var page = await fixture.SignedInPageAsync();
        await page.GetByTestId("nav-keys").ClickAsync();
        await Assertions.Expect(page.GetByTestId("keys")).ToBeVisibleAsync(Visible);
        await page.GetByTestId("key-name").FillAsync("revoke-me");
        await page.GetByTestId("create-key").ClickAsync();
        var shown = page.GetByTestId("new-key").Locator("code");
        await Assertions.Expect(shown).ToBeVisibleAsync(Visible);
        var key = (await shown.InnerTextAsync()).Trim();
        await Assertions.Expect(page.GetByTestId("key-row-revoke-me")).ToBeVisibleAsync(Visible);
        await fixture.ScreenshotAsync(page, "12-keys-created");

        using var withKey = new HttpClient { BaseAddress = fixture.HubAddress };
        withKey.DefaultRequestHeaders.Authorization = new("Bearer", key);
        (await withKey.GetAsync("/v1/stats")).StatusCode.Should().Be(System.Net.HttpStatusCode.OK, "the new key works");

        await page.GetByTestId("revoke-revoke-me").ClickAsync();
        await ConfirmButton(page).ClickAsync();
        await Assertions.Expect(page.GetByTestId("key-row-revoke-me")).ToHaveCountAsync(0, new() { Timeout = 30_000 });
        await Assertions.Expect(page.GetByTestId("new-key")).ToHaveCountAsync(0, new() { Timeout = 30_000 });
        await fixture.ScreenshotAsync(page, "12-keys-revoked");

        // Refused at once: by the API, and at the console's sign-in.
        var refused = await withKey.GetAsync("/v1/stats");
        refused.StatusCode.Should().Be(System.Net.HttpStatusCode.Unauthorized);
        var context = await fixture.Browser.NewContextAsync();
        var signIn = await context.NewPageAsync();
        await signIn.GotoAsync(new Uri(fixture.HubAddress, "/console/").AbsoluteUri);
        await signIn.GetByTestId("signin-key").FillAsync(key);
        await signIn.GetByTestId("signin-submit").ClickAsync();
        await Assertions.Expect(signIn.GetByText("登录失败")).ToBeVisibleAsync(Visible);
        await fixture.ScreenshotAsync(signIn, "12-keys-revoked-sign-in-refused");
        await context.CloseAsync();

        await page.GetByTestId("nav-audit").ClickAsync();
        await Assertions.Expect(page.GetByTestId("audit-action").Filter(new() { HasText = "key.revoke" }).First).ToBeVisibleAsync(Visible);
        await page.Context.CloseAsync();
    }
}
