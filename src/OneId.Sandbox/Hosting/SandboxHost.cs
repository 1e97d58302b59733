using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OneId.Sandbox.Pushes;
using OneId.Sandbox.State;
using OneId.Sandbox.World;

namespace OneId.Sandbox.Hosting;

/// <summary>Runs the sandbox as its own small web server (tests, the CLI, the demo).</summary>
public static class SandboxHost
{
    /// <summary>Starts a sandbox on loopback (port 0 = a free port) and returns once it accepts requests.</summary>
    public static async Task<RunningSandbox> StartAsync(SandboxWorld world, SandboxHostOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(world);
        ArgumentNullException.ThrowIfNull(options);
        WorldLoader.Validate(world);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = typeof(SandboxHost).Assembly.GetName().Name });
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(options.ListenOnAnyAddress ? IPAddress.Any : IPAddress.Loopback, options.Port));
        builder.Logging.ClearProviders();
        if (options.ConsoleLogging)
        {
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
            builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        }
        builder.Services.AddProblemDetails();
        builder.Services.AddOneIdSandbox(world, options);
        var app = builder.Build();
        app.MapOneIdSandbox();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("the sandbox server reported no address");
        var uri = new Uri(address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/') + "/");
        return new RunningSandbox(app, uri);
    }
}

/// <summary>A started sandbox. Dispose to stop it.</summary>
public sealed class RunningSandbox : IAsyncDisposable
{
    private readonly WebApplication _app;

    internal RunningSandbox(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
        Runtime = app.Services.GetRequiredService<SandboxRuntime>();
        Pushes = app.Services.GetRequiredService<PushDispatcher>();
    }

    /// <summary>Stands for https://api.weixin.qq.com/ (OA, MP, Open Platform, component); ends with '/'.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Stands for https://qyapi.weixin.qq.com/: BaseAddress + "qyapi/".</summary>
    public Uri WeComBaseAddress => new(BaseAddress, "qyapi/");

    /// <summary>Stands for https://open.weixin.qq.com/: BaseAddress + "open/".</summary>
    public Uri OpenBaseAddress => new(BaseAddress, "open/");

    /// <summary>The sandbox clock (a <see cref="TimeProvider"/>): give it to the code under test so both agree on time.</summary>
    public SandboxClock Clock => Runtime.Clock;

    /// <summary>The world being played (replaced by PUT /_sandbox/world).</summary>
    public SandboxWorld World => Runtime.World;

    public SandboxRuntime Runtime { get; }

    /// <summary>Pushes sent and their outcome.</summary>
    public PushDispatcher Pushes { get; }

    /// <summary>Waits until the host stops (Ctrl+C in the CLI).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken) => _app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
