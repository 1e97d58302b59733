using System.CommandLine;
using System.Globalization;
using OneId.Graph;
using Spectre.Console;

namespace OneId.Cli.Commands;

/// <summary><c>oneid stats --db DB [--json]</c>: how many people, how well their ids are linked, how apps overlap (S13).</summary>
internal static class StatsCommand
{
    public static Command Create()
    {
        var db = new Option<string>("--db") { Description = "SQLite file path or PostgreSQL connection string (Host=…)", Required = true };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of tables" };
        var command = new Command("stats", "Count persons, observations, identifiers, conflicts, unionid coverage and app overlap.") { db, json };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(db)!, parse.GetValue(json), ct));
        return command;
    }

    private static async Task<int> RunAsync(string db, bool json, CancellationToken ct)
    {
        var (store, exit) = await CliOutput.OpenStoreAsync(db, ct).ConfigureAwait(false);
        if (store is null)
        {
            return exit;
        }
        await using (store)
        {
            var stats = await store.GetStatsAsync(ct).ConfigureAwait(false);
            if (json)
            {
                CliOutput.WriteJson(StatsDocument.From(stats));
            }
            else
            {
                Print(stats);
            }
            return CliOutput.Ok;
        }
    }

    private static void Print(GraphStats stats)
    {
        // Plain text when piped: colour codes in a file or a log help nobody.
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = Console.IsOutputRedirected ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = Console.IsOutputRedirected ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
        });
        var totals = new Table().Title("OneId graph").AddColumn("what").AddColumn(new TableColumn("count").RightAligned());
        totals.AddRow("persons", N(stats.Persons));
        totals.AddRow("observations in effect", N(stats.Observations));
        totals.AddRow("  accepted", N(stats.ObservationsByOutcome.Accepted));
        totals.AddRow("  weak only (linked nothing)", N(stats.ObservationsByOutcome.WeakOnly));
        totals.AddRow("rejected as conflicts", N(stats.ObservationsByOutcome.Rejected));
        totals.AddRow("retracted", N(stats.ObservationsByOutcome.Retracted));
        totals.AddRow("identifiers", N(stats.Identifiers));
        foreach (var (type, count) in stats.IdentifiersByType)
        {
            totals.AddRow($"  {type}", N(count));
        }
        console.Write(totals);

        if (stats.UnionIdCoverage.Count > 0)
        {
            var coverage = new Table().Title("unionid coverage per app").AddColumn("app").AddColumn(new TableColumn("persons").RightAligned())
                .AddColumn(new TableColumn("with unionid").RightAligned()).AddColumn(new TableColumn("share").RightAligned());
            foreach (var c in stats.UnionIdCoverage)
            {
                coverage.AddRow(c.AppId, N(c.Persons), N(c.WithUnionId), c.Share.ToString("P1", CultureInfo.InvariantCulture));
            }
            console.Write(coverage);
        }
        if (stats.Overlap.Count > 0)
        {
            var overlap = new Table().Title("persons in both apps").AddColumn("app").AddColumn("app").AddColumn(new TableColumn("persons").RightAligned());
            foreach (var o in stats.Overlap)
            {
                overlap.AddRow(o.AppA, o.AppB, N(o.Persons));
            }
            console.Write(overlap);
        }
    }

    private static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
}

