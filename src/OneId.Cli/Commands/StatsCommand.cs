using System.CommandLine;
using System.Globalization;
using OneId.Graph;
using OneId.Storage;
using OneId.Storage.Relationships;
using Spectre.Console;

namespace OneId.Cli.Commands;

/// <summary><c>oneid stats --db DB [--json]</c>: how many people, how well their ids are linked, how apps overlap (S13).</summary>
internal static class StatsCommand
{
    public static Command Create()
    {
        var db = new Option<string>("--db") { Description = "SQLite file path or PostgreSQL connection string (Host=…)", Required = true };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of tables" };
        var days = new Option<int>("--days") { Description = "Days of new persons and real followers per day (0 to 366)", DefaultValueFactory = _ => 30 };
        var command = new Command("stats", "Count persons, observations, identifiers, conflicts, unionid coverage, app overlap, real followers, WeCom contacts and channels.") { db, json, days };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(db)!, parse.GetValue(json), parse.GetValue(days), ct));
        return command;
    }

    private static async Task<int> RunAsync(string db, bool json, int days, CancellationToken ct)
    {
        if (days is < 0 or > 366)
        {
            return CliOutput.Fail("--days must be 0 to 366", CliOutput.Usage);
        }
        var (store, exit) = await CliOutput.OpenStoreAsync(db, ct).ConfigureAwait(false);
        if (store is null)
        {
            return exit;
        }
        await using (store)
        {
            // Relationships live beside the graph in the same database (the tenant's file or schema).
            await using var database = StoreDatabase.Open(db);
            var relationships = await SqlRelationshipStore.OpenAsync(database, TimeProvider.System, ct).ConfigureAwait(false);
            var document = await StatsDocument.ReadAsync(store, relationships, days, DateTimeOffset.UtcNow, ct).ConfigureAwait(false);
            if (json)
            {
                CliOutput.WriteJson(document);
            }
            else
            {
                Print(await store.GetStatsAsync(ct).ConfigureAwait(false), document);
            }
            return CliOutput.Ok;
        }
    }

    private static void Print(GraphStats stats, StatsDocument document)
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
        var relations = new Table().Title("real followers and WeCom contacts (distinct persons, now)").AddColumn("what").AddColumn(new TableColumn("persons").RightAligned());
        relations.AddRow("real followers", N(document.Followers?.Total ?? 0));
        foreach (var (app, count) in document.Followers?.PerApp ?? new Dictionary<string, long>())
        {
            relations.AddRow($"  following {app}", N(count));
        }
        relations.AddRow("WeCom contacts", N(document.WeComContacts?.Total ?? 0));
        foreach (var (corp, count) in document.WeComContacts?.PerCorp ?? new Dictionary<string, long>())
        {
            relations.AddRow($"  of {corp}", N(count));
        }
        console.Write(relations);
        if (document.Channels is { Count: > 0 } channels)
        {
            var table = new Table().Title("persons per channel").AddColumn("kind").AddColumn("owner").AddColumn("channel")
                .AddColumn(new TableColumn("persons").RightAligned()).AddColumn(new TableColumn("became contacts").RightAligned()).AddColumn(new TableColumn("contacts now").RightAligned());
            foreach (var c in channels)
            {
                table.AddRow(Markup.Escape(c.Kind), Markup.Escape(c.Owner), Markup.Escape(c.Name), N(c.Persons), N(c.BecameContacts), N(c.ContactsNow));
            }
            console.Write(table);
        }
        if (document.PerDay is { Count: > 0 } perDay)
        {
            var table = new Table().Title("per day (UTC)").AddColumn("day").AddColumn(new TableColumn("new persons").RightAligned()).AddColumn(new TableColumn("real followers").RightAligned());
            foreach (var d in perDay.Where(d => d.NewPersons > 0 || d.Followers > 0))
            {
                table.AddRow(d.Date, N(d.NewPersons), N(d.Followers));
            }
            console.Write(table);
        }
    }

    private static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
}

