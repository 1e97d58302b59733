using System.CommandLine;
using System.Text.Json;
using OneId.Cli.Bench;
using OneId.Graph;

namespace OneId.Cli.Commands;

/// <summary>
/// <c>oneid bench workload --events N</c>: the ingest bench's stream as import lines on standard output, so that a
/// large import is measured on the same creates, links and merges (<c>oneid bench workload --events 10000000 |
/// oneid import - --db big.db</c>). Written as it is generated: memory does not grow with N.
/// </summary>
internal static class BenchWorkloadCommand
{
    public static Command Create()
    {
        var events = new Option<long>("--events") { Description = "How many observations to write", DefaultValueFactory = _ => 200_000 };
        var command = new Command("workload", "Write the ingest bench's generated stream as JSON Lines (one observation a line) to standard output.") { events };
        command.SetAction((parse, ct) => Task.FromResult(Run(parse.GetValue(events), ct)));
        return command;
    }

    private static int Run(long events, CancellationToken ct)
    {
        if (events <= 0)
        {
            return CliOutput.Fail("--events must be a positive number", CliOutput.Usage);
        }
        using var stdout = Console.OpenStandardOutput();
        using var buffered = new BufferedStream(stdout, 1 << 16);
        using var json = new Utf8JsonWriter(buffered, new JsonWriterOptions { SkipValidation = true });
        var start = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
        foreach (var o in IngestWorkload.Generate(events, start))
        {
            ct.ThrowIfCancellationRequested();
            json.WriteStartObject();
            json.WriteStartArray("ids");
            foreach (var id in o.Identifiers)
            {
                json.WriteStringValue(id.ToString());
            }
            json.WriteEndArray();
            json.WriteString("source", o.Source);
            json.WriteString("at", o.At);
            if (o.Profile.Count > 0)
            {
                json.WriteStartObject("profile");
                foreach (var p in o.Profile)
                {
                    json.WriteString(p.Name, p.Value);
                }
                json.WriteEndObject();
            }
            json.WriteEndObject();
            json.Flush();
            buffered.WriteByte((byte)'\n');
            json.Reset();
        }
        return CliOutput.Ok;
    }
}
