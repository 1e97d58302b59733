using System.CommandLine;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using OneId.DemoWiring;

namespace OneId.Cli.Commands;

/// <summary>
/// <c>oneid demo [--keep-running]</c>: starts the hub and the sandbox in this process on loopback with a fresh SQLite
/// file, plays the seed stories S1–S13, and exits 0 when every expectation held.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var keep = new Option<bool>("--keep-running") { Description = "Leave the hub and the sandbox running afterwards and print their URLs." };
        var command = new Command("demo", "Play the WeChat identity stories S1–S13 against an in-process hub and sandbox.") { keep };
        command.SetAction(async (parse, ct) =>
        {
            var folder = Path.Combine(Path.GetTempPath(), "oneid-demo-" + Guid.NewGuid().ToString("N")[..12]);
            Directory.CreateDirectory(folder);
            var adminKey = "oneid-demo-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
            var teller = new ConsoleTeller();
            try
            {
                await using var inbox = await WebhookInbox.StartAsync(ct);
                await using var running = await SandboxedHub.StartAsync(Path.Combine(folder, "oneid.db"), 0, 0, o =>
                {
                    o.BootstrapKey = adminKey;
                    inbox.Subscribe(o);
                }, LogLevel.Critical, ct);
                Console.WriteLine($"OneId demo: hub {running.HubAddress} · WeChat sandbox {running.Sandbox.BaseAddress} · webhooks to {inbox.Url} · fresh SQLite {Path.Combine(folder, "oneid.db")}");
                var story = new DemoStory(running.HubAddress, running.Sandbox.BaseAddress, adminKey, teller, inbox);
                bool ok;
                try
                {
                    ok = await story.RunAsync(ct);
                }
                catch (Exception e) when (e is HttpRequestException or InvalidOperationException or System.Text.Json.JsonException or KeyNotFoundException or TaskCanceledException)
                {
                    teller.Check(false, $"the story could not continue: {e.Message}");
                    ok = false;
                }
                Console.WriteLine();
                Console.WriteLine(ok
                    ? $"All {teller.Passed} expectations held."
                    : $"{teller.Failed} of {teller.Passed + teller.Failed} expectations failed:\n  - " + string.Join("\n  - ", story.Failures));
                if (parse.GetValue(keep))
                {
                    Console.WriteLine();
                    Console.WriteLine($"Still running — hub {running.HubAddress}, sandbox {running.Sandbox.BaseAddress}, admin key {adminKey}");
                    Console.WriteLine($"  curl -s -H 'Authorization: Bearer {adminKey}' {running.HubAddress}v1/stats");
                    Console.WriteLine("Press Ctrl+C to stop.");
                    await ServeCommand.WaitAsync(ct);
                }
                return ok ? CliOutput.Ok : CliOutput.Failed;
            }
            finally
            {
                try
                {
                    Directory.Delete(folder, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        });
        return command;
    }

    private sealed class ConsoleTeller : IStoryTeller
    {
        public int Passed { get; private set; }
        public int Failed { get; private set; }

        public void Chapter(string title)
        {
            Console.WriteLine();
            Write(ConsoleColor.Cyan, "▶ " + title);
        }

        public void Did(string text) => Write(null, "  user    " + text);
        public void WeChat(string text) => Write(ConsoleColor.DarkYellow, "  WeChat  " + text);
        public void Graph(string text) => Write(ConsoleColor.Blue, "  graph   " + text);

        public void Check(bool ok, string expectation)
        {
            if (ok)
            {
                Passed++;
            }
            else
            {
                Failed++;
            }
            Write(ok ? ConsoleColor.Green : ConsoleColor.Red, (ok ? "  ✓ " : "  ✗ ") + expectation);
        }

        private static void Write(ConsoleColor? color, string line)
        {
            if (color is { } c && !Console.IsOutputRedirected)
            {
                Console.ForegroundColor = c;
                Console.WriteLine(line);
                Console.ResetColor();
            }
            else
            {
                Console.WriteLine(line);
            }
        }
    }
}
