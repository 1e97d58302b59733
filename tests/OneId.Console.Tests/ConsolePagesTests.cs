using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Playwright;
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
}
