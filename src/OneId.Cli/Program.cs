using System.CommandLine;
using OneId.Cli.Commands;

var root = new RootCommand("OneId: one person behind every WeChat openid, unionid and external_userid.");
// In the order a newcomer meets them: the story, the hub, the sandbox, the graph, operations, debugging, measuring.
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(SandboxCommand.Create());
root.Subcommands.Add(ImportCommand.Create());
root.Subcommands.Add(ResolveCommand.Create());
root.Subcommands.Add(StatsCommand.Create());
root.Subcommands.Add(KeysCommand.Create());
root.Subcommands.Add(BackfillCommand.Create());
root.Subcommands.Add(WxCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(VersionCommand.Create());

var parsed = root.Parse(args);
if (parsed.Errors.Count > 0 && !args.Contains("--help") && !args.Contains("-h"))
{
    // Usage errors: one line, exit 2 (the CLI's contract; System.CommandLine would print help and exit 1).
    Console.Error.WriteLine($"oneid: {parsed.Errors[0].Message} (see 'oneid --help')");
    return 2;
}
return await parsed.InvokeAsync();
