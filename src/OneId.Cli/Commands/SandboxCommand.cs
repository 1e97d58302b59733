using System.CommandLine;
using OneId.Sandbox.Hosting;
using OneId.Sandbox.World;

namespace OneId.Cli.Commands;

/// <summary><c>oneid sandbox --port P [--world FILE]</c>: runs the offline WeChat until Ctrl+C.</summary>
internal static class SandboxCommand
{
    public static Command Create()
    {
        var port = new Option<int>("--port") { Description = "Port to listen on (loopback). 0 picks a free one.", DefaultValueFactory = _ => 5070 };
        var world = new Option<FileInfo?>("--world") { Description = "World JSON file; the documented demo world when absent (docs/sandbox.md)." };
        var command = new Command("sandbox", "Run the offline WeChat / WeCom sandbox until Ctrl+C.") { port, world };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            SandboxWorld sandboxWorld;
            try
            {
                var file = parseResult.GetValue(world);
                sandboxWorld = file is null ? DemoWorld.Create() : await WorldLoader.LoadFileAsync(file.FullName, cancellationToken);
            }
            catch (SandboxWorldException ex)
            {
                Console.Error.WriteLine($"oneid sandbox: {ex.Message}");
                return 1;
            }
            RunningSandbox running;
            try
            {
                running = await SandboxHost.StartAsync(sandboxWorld, new SandboxHostOptions { Port = parseResult.GetValue(port), ConsoleLogging = true }, cancellationToken);
            }
            catch (IOException ex)
            {
                Console.Error.WriteLine($"oneid sandbox: cannot listen on port {parseResult.GetValue(port)}: {ex.Message}");
                return 1;
            }
            await using (running)
            {
                Console.WriteLine($"OneId sandbox listening on {running.BaseAddress}");
                Console.WriteLine($"  api.weixin.qq.com   -> {running.BaseAddress}");
                Console.WriteLine($"  qyapi.weixin.qq.com -> {running.WeComBaseAddress}");
                Console.WriteLine($"  open.weixin.qq.com  -> {running.OpenBaseAddress}");
                Console.WriteLine($"  control API         -> {running.BaseAddress}_sandbox/  (see docs/sandbox.md)");
                Console.WriteLine("Press Ctrl+C to stop.");
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    // Ctrl+C
                }
            }
            return 0;
        });
        return command;
    }
}
