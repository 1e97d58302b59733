using System.Net.Http.Json;
using System.Text.Json.Nodes;
using OneId.Sandbox.Hosting;
using OneId.Sandbox.State;
using OneId.Sandbox.World;
using OneId.WeChat.Tokens;
using Xunit;

namespace OneId.WeChat.Tests.Support;

/// <summary>A sandbox on loopback playing the demo world, with helpers to drive its control API and build WeChat hosts.</summary>
public sealed class SandboxWeChat : IAsyncLifetime
{
    private RunningSandbox? _sandbox;
    private HttpClient? _control;

    public RunningSandbox Sandbox => _sandbox ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        _sandbox = await SandboxHost.StartAsync(DemoWorld.Create(), new SandboxHostOptions(), CancellationToken.None);
        _control = new HttpClient { BaseAddress = _sandbox.BaseAddress };
    }

    public async Task DisposeAsync()
    {
        _control?.Dispose();
        if (_sandbox is not null)
        {
            await _sandbox.DisposeAsync();
        }
    }

    /// <summary>Points the options at the sandbox and adds every demo-world credential.</summary>
    public void Configure(WeChatOptions o)
    {
        o.ApiBaseAddress = Sandbox.BaseAddress;
        o.WeComBaseAddress = Sandbox.WeComBaseAddress;
        o.OpenBaseAddress = Sandbox.OpenBaseAddress;
        o.MpBaseAddress = new Uri(Sandbox.BaseAddress, "mp/");
        foreach (var app in DemoWorld.Create().Apps)
        {
            o.Apps.Add(new WeChatAppCredential { AppId = app.Appid, Secret = app.Secret });
        }
        o.Components.Add(new WeChatComponentCredential { ComponentAppId = DemoWorld.Component, Secret = DemoWorld.SecretOf(DemoWorld.Component) });
        o.WeComApps.Add(new WeComAppCredential { CorpId = DemoWorld.Corp, Agent = DemoWorld.SelfBuiltApp, Secret = "secret-crm" });
        o.WeComApps.Add(new WeComAppCredential { CorpId = DemoWorld.Corp, Agent = DemoWorld.ProviderApp, Secret = "secret-isv-crm" });
        o.Retry.BaseDelay = TimeSpan.FromMilliseconds(5);
        o.Tokens.StorePollInterval = TimeSpan.FromMilliseconds(20);
    }

    internal WeChatTestHost NewHost(ITokenStore? store = null, Action<WeChatOptions>? more = null, Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? services = null) =>
        new(o => { Configure(o); more?.Invoke(o); }, store, Sandbox.Clock, services: services);

    public async Task<string> NewUserAsync(string? nickname = null)
    {
        var name = "u" + Guid.NewGuid().ToString("N")[..10];
        await ControlAsync($"_sandbox/users", new JsonObject { ["name"] = name, ["nickname"] = nickname ?? name });
        return name;
    }

    public async Task<JsonObject> ControlAsync(string path, JsonObject? body = null)
    {
        using var response = await _control!.PostAsJsonAsync(path, body ?? []);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"sandbox control {path} answered {(int)response.StatusCode}: {text}");
        }
        return text.Length == 0 ? [] : (JsonNode.Parse(text) as JsonObject ?? []);
    }

    public async Task<JsonObject> GetAsync(string path) => JsonNode.Parse(await _control!.GetStringAsync(path))!.AsObject();

    /// <summary>Calls per path from <c>GET /_sandbox/calls</c>.</summary>
    public async Task<long> CallsAsync(string path)
    {
        var counts = (await GetAsync("_sandbox/calls"))["counts"]!.AsObject();
        return counts.TryGetPropertyValue(path, out var n) && n is not null ? n.GetValue<long>() : 0;
    }

    public async Task<string> CodeAsync(string user, string action, JsonObject body) =>
        (await ControlAsync($"_sandbox/users/{user}/{action}", body))["code"]!.GetValue<string>();

    public void Fault(string path, int? errcode, int? times = null, int? delayMs = null) =>
        Sandbox.Runtime.Faults.Add(new SandboxFault(path, errcode, times, delayMs));

    public async Task<JsonObject> TruthAsync(string user) => await GetAsync($"_sandbox/users/{user}");
}
