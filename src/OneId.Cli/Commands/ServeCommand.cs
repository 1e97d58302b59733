using System.CommandLine;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OneId.Server;
using OneId.Server.Configuration;
using OneId.DemoWiring;

namespace OneId.Cli.Commands;

/// <summary>
/// <c>oneid serve --config oneid.json [--db DB] [--urls U]</c>: the hub for real WeChat apps.
/// <c>oneid serve --sandbox [--port P] [--sandbox-port S]</c>: the hub and an in-process sandbox whose demo world pushes to it.
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo?>("--config") { Description = "oneid.json (tenants, apps, corps, platforms, webhooks); see docs/hub.md." };
        var db = new Option<string?>("--db") { Description = "SQLite file path or PostgreSQL connection string (Host=…); overrides 'database'." };
        var urls = new Option<string?>("--urls") { Description = "Where to listen, e.g. http://0.0.0.0:5080 (default http://127.0.0.1:PORT)." };
        var port = new Option<int>("--port") { Description = "Port of the hub on loopback.", DefaultValueFactory = _ => 5080 };
        var sandbox = new Option<bool>("--sandbox") { Description = "Run an offline WeChat (the sandbox) in this process, wired to the hub." };
        var sandboxPort = new Option<int>("--sandbox-port") { Description = "Port of the sandbox with --sandbox.", DefaultValueFactory = _ => 5070 };
        var command = new Command("serve", "Run the OneId hub.") { config, db, urls, port, sandbox, sandboxPort };
        command.SetAction(async (parse, ct) =>
        {
            if (parse.GetValue(sandbox))
            {
                return await RunSandboxedAsync(parse.GetValue(db), parse.GetValue(port), parse.GetValue(sandboxPort), ct);
            }
            if (parse.GetValue(config) is not { } file)
            {
                return CliOutput.Fail("serve needs --config oneid.json (or --sandbox for an offline WeChat); see docs/hub.md", CliOutput.Usage);
            }
            if (!file.Exists)
            {
                return CliOutput.Fail($"no configuration file {file.FullName}", CliOutput.Usage);
            }
            var app = HubApplication.Build(new HubLaunch
            {
                ConfigFile = file.FullName,
                Database = parse.GetValue(db),
                Urls = [parse.GetValue(urls) ?? $"http://127.0.0.1:{parse.GetValue(port)}"],
            });
            await using (app)
            {
                try
                {
                    // Validate before starting, so that a bad file gives the list of fixes and not a host stack trace.
                    _ = app.Services.GetRequiredService<IOptions<HubOptions>>().Value;
                    await app.StartAsync(ct);
                }
                catch (OptionsValidationException e)
                {
                    return ConfigurationFailed(e);
                }
                catch (IOException e)
                {
                    return CliOutput.Fail($"cannot listen: {e.Message}");
                }
                Console.WriteLine($"OneId hub listening on {string.Join(", ", app.Urls)}  (Ctrl+C to stop)");
                await WaitAsync(ct);
                await app.StopAsync(CancellationToken.None);
            }
            return CliOutput.Ok;
        });
        return command;
    }

    internal static int ConfigurationFailed(OptionsValidationException e)
    {
        Console.Error.WriteLine("oneid: the configuration is invalid:");
        foreach (var failure in e.Failures)
        {
            Console.Error.WriteLine($"  - {failure}");
        }
        return CliOutput.Failed;
    }

    private static async Task<int> RunSandboxedAsync(string? db, int port, int sandboxPort, CancellationToken ct)
    {
        db ??= Path.Combine(Path.GetTempPath(), $"oneid-sandbox-{Guid.NewGuid():N}.db");
        var generated = "oneid-admin-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        string? adminKey = null;
        SandboxedHub running;
        try
        {
            running = await SandboxedHub.StartAsync(db, port, sandboxPort, o =>
            {
                o.BootstrapKey = string.IsNullOrEmpty(o.BootstrapKey) ? generated : o.BootstrapKey;
                adminKey = o.BootstrapKey;
            }, LogLevel.Information, ct);
        }
        catch (IOException e)
        {
            return CliOutput.Fail($"cannot listen on port {port} or {sandboxPort}: {e.Message}");
        }
        await using (running)
        {
            Console.WriteLine($"OneId hub      {running.HubAddress}   (database {CliOutput.Redact(db)})");
            Console.WriteLine($"WeChat sandbox {running.Sandbox.BaseAddress}   (control API: {running.Sandbox.BaseAddress}_sandbox/)");
            Console.WriteLine($"Admin API key  {(adminKey == generated ? adminKey : "(from ONEID_BOOTSTRAP_KEY)")}");
            Console.WriteLine("Try:  curl -s -XPOST " + running.Sandbox.BaseAddress + "_sandbox/users/alice/login -d '{\"appid\":\"" + OneId.Sandbox.World.DemoWorld.MiniProgram + "\"}'");
            Console.WriteLine("      curl -s -XPOST " + running.HubAddress + "v1/mp/" + OneId.Sandbox.World.DemoWorld.MiniProgram + "/login -H 'content-type: application/json' -d '{\"code\":\"<code>\"}'");
            Console.WriteLine("Press Ctrl+C to stop.");
            await WaitAsync(ct);
        }
        return CliOutput.Ok;
    }

    internal static async Task WaitAsync(CancellationToken ct)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, ct);
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C
        }
    }
}
