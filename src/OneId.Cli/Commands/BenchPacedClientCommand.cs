using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using OneId.Cli.Bench;

namespace OneId.Cli.Commands;

/// <summary>
/// <c>oneid bench paced-client --url U --rate R --targets FILE</c> (hidden), the API key in <c>ONEID_BENCH_KEY</c>
/// (an argument would show in every user's process list): the paced phase of
/// <c>oneid bench resolve</c>, run in a process of its own so that the load generator and the hub do not share a
/// thread pool or a garbage collector. GETs each path of FILE (one a line) open loop at R per second and prints one
/// JSON line of the figures.
/// </summary>
internal static class BenchPacedClientCommand
{
    public const string Name = "paced-client";

    private const string KeyVariable = "ONEID_BENCH_KEY";

    public static Command Create()
    {
        var url = new Option<string>("--url") { Required = true };
        var rate = new Option<double>("--rate") { Required = true };
        var targets = new Option<string>("--targets") { Required = true };
        var command = new Command(Name, "The paced phase of `bench resolve` in its own process.") { url, rate, targets };
        command.Hidden = true;
        command.SetAction(async (parse, ct) =>
        {
            if (Environment.GetEnvironmentVariable(KeyVariable) is not { Length: > 0 } key)
            {
                return CliOutput.Fail($"{KeyVariable} must hold the API key to resolve with", CliOutput.Usage);
            }
            var paths = await File.ReadAllLinesAsync(parse.GetValue(targets)!, ct);
            var run = await PacedClient.RunAsync(new Uri(parse.GetValue(url)!), key, paths, parse.GetValue(rate), ct);
            CliOutput.WriteJson(ToJson(run));
            return run.Load.Errors == 0 ? CliOutput.Ok : CliOutput.Failed;
        });
        return command;
    }

    private static Dictionary<string, double> ToJson(PacedRun run) => new()
    {
        ["requests"] = run.Load.Requests, ["errors"] = run.Load.Errors, ["seconds"] = run.Load.Seconds, ["per_s"] = run.Load.PerSecond,
        ["p50_ms"] = run.Load.P50Ms, ["p99_ms"] = run.Load.P99Ms, ["rate"] = run.Rate,
        ["start_late_p50_ms"] = run.StartLateP50Ms, ["start_late_p99_ms"] = run.StartLateP99Ms,
        ["from_due_p50_ms"] = run.FromDueP50Ms, ["from_due_p99_ms"] = run.FromDueP99Ms,
        ["client_gcs"] = run.ClientGcs, ["client_gc_pause_ms"] = run.ClientGcPauseMs,
    };

    /// <summary>Reads the figures back from the child's last line of output.</summary>
    public static PacedRun Parse(string line)
    {
        var d = JsonSerializer.Deserialize<Dictionary<string, double>>(line) ?? throw new FormatException("no figures");
        return new PacedRun(new LoadFigures((int)d["requests"], (int)d["errors"], d["seconds"], d["per_s"], d["p50_ms"], d["p99_ms"]),
            d["rate"], d["start_late_p50_ms"], d["start_late_p99_ms"], d["from_due_p50_ms"], d["from_due_p99_ms"],
            d["client_gcs"], d["client_gc_pause_ms"]);
    }

    /// <summary>Runs the paced phase in a child <c>oneid</c> process and returns its figures.</summary>
    public static async Task<PacedRun> RunInChildAsync(Uri url, string key, string targetsFile, double rate, CancellationToken ct)
    {
        var self = Environment.ProcessPath ?? "dotnet";
        var psi = new System.Diagnostics.ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true, Environment = { [KeyVariable] = key } };
        // The load generator's own collections stop its reading of answers and would count as the hub's latency (a
        // few ms each, several a phase, measured). A 256 MiB first generation lets it allocate a whole phase without
        // one; the figures still report how many it had.
        psi.Environment.TryAdd("DOTNET_GCgen0size", "0x10000000");
        if (Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            psi.ArgumentList.Add(typeof(BenchPacedClientCommand).Assembly.Location);
        }
        foreach (var a in new[] { "bench", Name, "--url", url.ToString(), "--rate", rate.ToString("R", CultureInfo.InvariantCulture), "--targets", targetsFile })
        {
            psi.ArgumentList.Add(a);
        }
        using var child = System.Diagnostics.Process.Start(psi) ?? throw new InvalidOperationException("cannot start the paced client");
        var stdout = child.StandardOutput.ReadToEndAsync(ct);
        var stderr = child.StandardError.ReadToEndAsync(ct);
        try
        {
            await child.WaitForExitAsync(ct);
        }
        catch (OperationCanceledException)
        {
            child.Kill();
            throw;
        }
        var lines = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length == 0)
        {
            throw new InvalidOperationException("the paced client printed no figures: " + (await stderr).Trim());
        }
        return Parse(lines[^1]);
    }
}
