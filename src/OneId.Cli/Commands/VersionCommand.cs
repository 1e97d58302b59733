using System.CommandLine;

namespace OneId.Cli.Commands;

/// <summary><c>oneid version</c>: prints the build's version.</summary>
internal static class VersionCommand
{
    public static Command Create()
    {
        var command = new Command("version", "Print the version of this build.");
        command.SetAction(_ =>
        {
            Console.WriteLine(typeof(VersionCommand).Assembly.GetName().Version?.ToString() ?? "0.0.0");
            return 0;
        });
        return command;
    }
}
