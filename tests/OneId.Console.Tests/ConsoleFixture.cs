using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using OneId.DemoWiring;
using OneId.Testing;
using Xunit;

namespace OneId.Console.Tests;

/// <summary>
/// One hub with the WeChat sandbox, filled by the demo's stories plus operator data (a CRM import with a conflict),
/// the console built from console/, and Debian's Chromium (never a downloaded browser) driven by Playwright.
/// </summary>
public sealed class ConsoleFixture : IAsyncLifetime
{
    public const string AdminKey = "console-test-admin-key-0123456789";
    public const string ChromiumPath = "/usr/bin/chromium";

    private readonly TempFolder _folder = new();
    private SandboxedHub? _hub;
    private IPlaywright? _playwright;

    public SandboxedHub Hub => _hub!;
    public IBrowser Browser { get; private set; } = null!;
    public Uri HubAddress => Hub.HubAddress;
    public string ScreenshotFolder { get; } = Path.Combine(RepositoryRoot(), ".build", "test-results", "console");

    /// <summary>The person the CRM import names, found by search in the tests.</summary>
    public string CrmAccount { get; } = "account:crm:C-10086";

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "console", "build.sh")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("cannot find the repository (console/build.sh) above " + AppContext.BaseDirectory);
    }

    public async Task InitializeAsync()
    {
        await BuildConsoleAsync();
        Directory.CreateDirectory(ScreenshotFolder);
        _hub = await SandboxedHub.StartAsync(_folder.File("hub.db"), 0, 0, o => o.BootstrapKey = AdminKey, LogLevel.Critical, CancellationToken.None);
        var story = new DemoStory(_hub.HubAddress, _hub.Sandbox.BaseAddress, AdminKey, new QuietTeller());
        if (!await story.RunAsync(CancellationToken.None))
        {
            throw new InvalidOperationException("the demo story failed: " + string.Join("; ", story.Failures));
        }
        await AddOperatorDataAsync();

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
    }

    /// <summary>The console is built by ./test.sh before the tests; building again here is a no-op then (a content stamp).</summary>
    private static async Task BuildConsoleAsync()
    {
        using var build = Process.Start(new ProcessStartInfo("bash", [Path.Combine(RepositoryRoot(), "console", "build.sh")])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        var errors = await build.StandardError.ReadToEndAsync();
        await build.WaitForExitAsync();
        if (build.ExitCode != 0)
        {
            throw new InvalidOperationException("console/build.sh failed: " + errors);
        }
    }

    public HttpClient Api()
    {
        var c = new HttpClient { BaseAddress = HubAddress };
        c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        return c;
    }

    /// <summary>What a company's CRM sends: its account ids with the unionid it learned and a phone; one entry clashes.</summary>
    private async Task AddOperatorDataAsync()
    {
        using var api = Api();
        var stats = await api.GetFromJsonAsync<JsonElement>("/v1/stats");
        var mp = stats.GetProperty("unionid_coverage").EnumerateArray().Select(c => c.GetProperty("appid").GetString()!).First();
        var observations = new object[]
        {
            new { ids = new[] { CrmAccount, $"openid:{mp}:oCrmCustomer00000000000001", "phone::+8613900000001" }, source = "crm", profile = new { nickname = "张伟" } },
            // A data-entry mistake: the same CRM account typed against another customer's openid.
            new { ids = new[] { CrmAccount, $"openid:{mp}:oCrmCustomer00000000000002" }, source = "crm" },
            new { ids = new[] { "account:crm:C-20001", $"openid:{mp}:oCrmCustomer00000000000003" }, source = "crm" },
        };
        var r = await api.PostAsJsonAsync("/v1/observations", new { observations });
        r.EnsureSuccessStatusCode();
    }

    public async Task<IPage> SignedInPageAsync(string key = AdminKey, string language = "zh")
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1440, Height = 900 }, Locale = "zh-CN" });
        var page = await context.NewPageAsync();
        if (language == "en")
        {
            await page.AddInitScriptAsync("localStorage.setItem('oneid.console.language', 'en')");
        }
        await page.GotoAsync(new Uri(HubAddress, "/console/").AbsoluteUri);
        await page.GetByTestId("signin-key").FillAsync(key);
        await page.GetByTestId("signin-submit").ClickAsync();
        await page.GetByTestId("sign-out").WaitForAsync();
        return page;
    }

    public async Task ScreenshotAsync(IPage page, string name) =>
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotFolder, name + ".png"), FullPage = true });

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }
        _playwright?.Dispose();
        if (_hub is not null)
        {
            await _hub.DisposeAsync();
        }
        _folder.Dispose();
    }

    private sealed class QuietTeller : IStoryTeller
    {
        public void Chapter(string title) { }
        public void Did(string text) { }
        public void WeChat(string text) { }
        public void Graph(string text) { }
        public void Check(bool ok, string expectation) { }
    }
}

[CollectionDefinition(Name)]
public sealed class ConsoleCollection : ICollectionFixture<ConsoleFixture>
{
    public const string Name = "console";
}
