using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OneId.Server.Configuration;
using OneId.DemoWiring;
using OneId.Server.Security;
using OneId.Server.Tenants;
using OneId.Testing;
using Xunit;

namespace OneId.Server.Tests;

/// <summary>One hub wired to one in-process sandbox (demo world), shared by a test class; plus a second, empty tenant.</summary>
public sealed class SandboxHubFixture : IAsyncLifetime
{
    private readonly TempFolder _folder = new();
    private SandboxedHub? _running;

    public SandboxedHub Running => _running!;
    public string BetaAdminKey { get; private set; } = "";

    public async Task InitializeAsync()
    {
        _running = await SandboxedHub.StartAsync(_folder.File("hub.db"), 0, 0, o =>
        {
            o.BootstrapKey = TestHub.AdminKey;
            o.Tenants.Add(new TenantOptions { Name = "beta" });
        }, LogLevel.Critical, CancellationToken.None);
        var registry = Running.Hub.Services.GetRequiredService<TenantRegistry>();
        BetaAdminKey = await Running.Hub.Services.GetRequiredService<ApiKeys>().CreateAsync(registry.Get("beta")!,
            [Graph.DataTier.Public, Graph.DataTier.Internal, Graph.DataTier.Private], true, CancellationToken.None);
    }

    public HttpClient Hub(string? bearer = null)
    {
        var c = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = Running.HubAddress };
        if (bearer is not null)
        {
            c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }
        return c;
    }

    public Task<JsonElement> SandboxAsync(string path, object? body = null) => Running.Sandbox.CallAsync(path, body);

    public async Task<string> NewUserAsync(string prefix)
    {
        var name = prefix + Guid.NewGuid().ToString("N")[..8];
        await SandboxAsync("_sandbox/users", new { name });
        return name;
    }

    /// <summary>Waits until the hub's inbox has processed every push it took (none pending, none waiting for a retry).</summary>
    public Task InboxDrainedAsync(string tenant = SandboxMode.Tenant) =>
        Eventually.TrueAsync(async () => (await Running.Hub.Services.GetRequiredService<TenantRegistry>().Get(tenant)!.Inbox.StatsAsync(default)).Pending == 0,
            "the inbox has processed every push");

    public async Task<string> CodeAsync(string user, string appid) =>
        (await SandboxAsync($"_sandbox/users/{user}/login", new { appid })).GetProperty("code").GetString()!;

    public async Task DisposeAsync()
    {
        if (_running is not null)
        {
            await _running.DisposeAsync();
        }
        _folder.Dispose();
    }
}
