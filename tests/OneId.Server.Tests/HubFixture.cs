using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OneId.Graph;
using OneId.Server;
using OneId.Server.Configuration;
using OneId.Server.Tenants;
using OneId.Testing;

namespace OneId.Server.Tests;

/// <summary>A hub on a free loopback port over a fresh database, with an admin key from ONEID_BOOTSTRAP_KEY's option.</summary>
public sealed class TestHub : IAsyncDisposable
{
    public const string AdminKey = "test-admin-key-0123456789";
    public const string OaAppId = "wx1111111111111111";
    public const string MpAppId = "wx2222222222222222";
    public const string WebAppId = "wx3333333333333333";

    private readonly TempFolder? _folder;

    private TestHub(WebApplication app, TempFolder? folder, string database)
    {
        App = app;
        _folder = folder;
        Database = database;
        BaseAddress = new Uri(app.Urls.First());
        Client = new HttpClient { BaseAddress = BaseAddress };
    }

    public WebApplication App { get; }
    public Uri BaseAddress { get; }
    public HttpClient Client { get; }
    public string Database { get; }

    public IGraphStore Graph(string tenant = "acme") => App.Services.GetRequiredService<TenantRegistry>().Get(tenant)!.Graph;

    public static async Task<TestHub> StartAsync(string? database = null, Action<HubOptions>? configure = null, Action<WebApplicationBuilder>? builder = null)
    {
        var folder = database is null ? new TempFolder() : null;
        database ??= folder!.File("hub.db");
        var app = HubApplication.Build(new HubLaunch
        {
            Database = database,
            Urls = ["http://127.0.0.1:0"],
            MinimumLogLevel = LogLevel.Warning,
            Configure = o =>
            {
                o.BootstrapKey = AdminKey;
                o.WebhookPollMilliseconds = 100;
                if (o.Tenants.Count == 0)
                {
                    o.Tenants.Add(DefaultTenant("acme"));
                    o.Tenants.Add(new TenantOptions { Name = "beta", UnionSpaces = ["beta"] });
                }
                configure?.Invoke(o);
            },
            ConfigureBuilder = builder,
        });
        await app.StartAsync().ConfigureAwait(false);
        return new TestHub(app, folder, database);
    }

    public static TenantOptions DefaultTenant(string name) => new()
    {
        Name = name,
        UnionSpaces = [name],
        Apps =
        [
            new AppOptions { AppId = OaAppId, Type = AppTypes.OfficialAccount, Secret = "oa-secret", UnionSpace = name, Token = "oatoken" },
            new AppOptions { AppId = MpAppId, Type = AppTypes.MiniProgram, Secret = "mp-secret", UnionSpace = name },
            new AppOptions { AppId = WebAppId, Type = AppTypes.Website, Secret = "web-secret", UnionSpace = name },
        ],
    };

    public HttpClient ClientWithKey(string key)
    {
        var c = new HttpClient { BaseAddress = BaseAddress };
        c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return c;
    }

    public HttpClient Admin() => ClientWithKey(AdminKey);

    public async Task<string> CreateKeyAsync(string[] tiers, bool admin = false, string adminKey = AdminKey)
    {
        using var c = ClientWithKey(adminKey);
        var response = await c.PostAsJsonAsync("/v1/keys", new { tiers, admin }).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        var json = await response.Content.ReadFromJsonAsync<JsonElement>().ConfigureAwait(false);
        return json.GetProperty("key").GetString()!;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync().ConfigureAwait(false);
        await App.DisposeAsync().ConfigureAwait(false);
        _folder?.Dispose();
    }
}
