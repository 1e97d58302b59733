using System.CommandLine;
using OneId.Cli.Commands;

var root = new RootCommand("OneId: one person behind every WeChat openid, unionid and external_userid.");
root.Subcommands.Add(ImportCommand.Create());
root.Subcommands.Add(ResolveCommand.Create());
root.Subcommands.Add(StatsCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(VersionCommand.Create());
root.Subcommands.Add(SandboxCommand.Create());
root.Subcommands.Add(WxCommand.Create());

var parsed = root.Parse(args);
if (parsed.Errors.Count > 0 && !args.Contains("--help") && !args.Contains("-h"))
{
    // Usage errors: one line, exit 2 (the CLI's contract; System.CommandLine would print help and exit 1).
    Console.Error.WriteLine($"oneid: {parsed.Errors[0].Message} (see 'oneid --help')");
    return 2;
}
return await parsed.InvokeAsync();
