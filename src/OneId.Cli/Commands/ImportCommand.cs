using System.CommandLine;
using System.Diagnostics;
using System.Text;
using OneId.Graph;
using OneId.Storage;
using Spectre.Console;

namespace OneId.Cli.Commands;

/// <summary>
/// <c>oneid import --db DB FILE</c>: applies a JSON Lines file of observations in file order, streamed and batched in
/// transactions, so memory stays flat however long the file is. Idempotent: each line's identity (its <c>"id"</c>, or a
/// hash of its content, see <see cref="ObservationLine"/>) is stored with it, so running a file again — also after a
/// crash midway — applies only the lines that are missing and counts the others as already there.
/// </summary>
internal static class ImportCommand
{

    /// <summary>
    /// Lines a transaction. Larger transactions amortise the commit and the batch's bulk reads (20,000 instead of 5,000
    /// cut an event's cost by about a fifth); each still holds the tenant's write lock for well under a second or two.
    /// </summary>
    public const int DefaultBatchSize = 20_000;

    /// <summary>
    /// SQLite's page cache for an import. A batch touches one leaf of the identifier and observation-key b-trees per
    /// key, at random: a cache smaller than the leaves a batch touches evicts them between the lookup and the insert
    /// (and spills the batch's dirty pages to the WAL, to read them back), so each costs the OS a <c>read()</c> again.
    /// </summary>
    public const int DefaultCacheMegabytes = 384;

    /// <summary>
    /// The import's WAL grows to 1 GiB before a checkpoint copies it into the file: a leaf that many batches dirtied is
    /// copied once (at 3M lines this halved the system time per line). Closing the store checkpoints what is left.
    /// </summary>
    private const int CheckpointMegabytes = 1024;

    /// <summary>
    /// The import keeps each key's owner between its transactions (a new key needs no lookup): 10–15 B an identifier key
    /// and 5–8 B an observation key, so this holds a 10M-line import of the bench's stream; past it lookups go to SQLite.
    /// </summary>
    public const int DefaultWriterStateMegabytes = 320;

    public static Command Create()
    {
        var db = new Option<string>("--db") { Description = "SQLite file path or PostgreSQL connection string (Host=…)", Required = true };
        var file = new Argument<string>("FILE") { Description = "JSON Lines, one observation a line; - reads stdin" };
        var batch = new Option<int>("--batch-size") { Description = "Lines applied per transaction", DefaultValueFactory = _ => DefaultBatchSize };
        batch.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 100_000)
            {
                r.AddError("--batch-size must be between 1 and 100000");
            }
        });
        var cache = new Option<int>("--cache-mb")
        {
            Description = "SQLite: page cache of the import's connection, in MiB (a hub uses 64)",
            DefaultValueFactory = _ => DefaultCacheMegabytes,
        };
        cache.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 2 or > 65_536)
            {
                r.AddError("--cache-mb must be between 2 and 65536");
            }
        });
        var mmap = new Option<int>("--mmap-mb")
        {
            Description = "SQLite: map up to this many MiB of the file instead of reading it (0: off; mapped pages count in RSS)",
            DefaultValueFactory = _ => 0,
        };
        mmap.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 0 or > 1_048_576)
            {
                r.AddError("--mmap-mb must be between 0 and 1048576");
            }
        });
        var state = new Option<int>("--writer-state-mb")
        {
            Description = "SQLite: memory for the keys' owners kept between transactions, in MiB (0: off, every key looked up)",
            DefaultValueFactory = _ => DefaultWriterStateMegabytes,
        };
        state.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 0 or > 65_536)
            {
                r.AddError("--writer-state-mb must be between 0 and 65536");
            }
        });
        var command = new Command("import", "Import observations from a JSON Lines file.") { db, file, batch, cache, mmap, state };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(db)!, parse.GetValue(file)!, parse.GetValue(batch),
            new SqliteTuning(parse.GetValue(cache), parse.GetValue(mmap), CheckpointMegabytes, parse.GetValue(state)), ct));
        return command;
    }

    private static async Task<int> RunAsync(string db, string file, int batchSize, SqliteTuning tuning, CancellationToken ct)
    {
        Stream input;
        try
        {
            input = file == "-" ? Console.OpenStandardInput() : File.OpenRead(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return CliOutput.Fail($"cannot read '{file}': {e.Message}", CliOutput.Usage);
        }

        await using (input)
        {
            var (store, exit) = await CliOutput.OpenStoreAsync(db, ct, tuning).ConfigureAwait(false);
            if (store is null)
            {
                return exit;
            }
            await using (store)
            {
                var summary = new ImportSummary();
                var clock = Stopwatch.StartNew();
                var interactive = !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
                var length = input.CanSeek ? input.Length : 0;
                if (interactive && length > 0)
                {
                    await AnsiConsole.Progress()
                        .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                        .StartAsync(async progress =>
                        {
                            var task = progress.AddTask("importing", maxValue: length);
                            await ImportAsync(store, input, batchSize, summary, () => task.Value = input.Position, ct).ConfigureAwait(false);
                            task.Value = length;
                        }).ConfigureAwait(false);
                }
                else
                {
                    await ImportAsync(store, input, batchSize, summary, () => { }, ct).ConfigureAwait(false);
                }

                Console.Out.WriteLine(
                    $"lines read: {summary.Lines}, accepted: {summary.Accepted}, rejected as conflicts: {summary.Rejected}, " +
                    $"linked nothing: {summary.LinkedNothing}, invalid: {summary.Invalid}, already there: {summary.AlreadyThere} " +
                    $"({clock.Elapsed.TotalSeconds:F1} s)");
                return summary.Invalid == 0 ? CliOutput.Ok : CliOutput.Failed;
            }
        }
    }

    private static async Task ImportAsync(OneId.Storage.Graph.SqlGraphStore store, Stream input, int batchSize, ImportSummary summary, Action reportProgress, CancellationToken ct)
    {
        using var reader = new StreamReader(input, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
        var batch = new List<Observation>(batchSize);
        var now = DateTimeOffset.UtcNow;
        long lineNumber = 0;
        while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue; // blank lines (a trailing newline, say) are not observations
            }
            summary.Lines++;
            if (ObservationLine.TryParse(Encoding.UTF8.GetBytes(line), now, out var observation, out var error))
            {
                batch.Add(observation);
            }
            else
            {
                summary.Invalid++;
                // Streamed as they are found, so that a file of ten million bad lines needs no memory to report them.
                Console.Error.WriteLine($"line {lineNumber}: {error}");
            }
            if (batch.Count == batchSize)
            {
                await ApplyAsync(store, batch, summary, ct).ConfigureAwait(false);
                reportProgress();
            }
        }
        await ApplyAsync(store, batch, summary, ct).ConfigureAwait(false);
        reportProgress();
    }

    private static async Task ApplyAsync(OneId.Storage.Graph.SqlGraphStore store, List<Observation> batch, ImportSummary summary, CancellationToken ct)
    {
        if (batch.Count == 0)
        {
            return;
        }
        foreach (var result in await store.ObserveManyAsync(batch, ct).ConfigureAwait(false))
        {
            if (result.AlreadyApplied)
            {
                summary.AlreadyThere++;
                continue;
            }
            switch (result.Outcome)
            {
                case ObserveOutcome.Accepted: summary.Accepted++; break;
                case ObserveOutcome.Rejected: summary.Rejected++; break;
                default: summary.LinkedNothing++; break;
            }
        }
        batch.Clear();
    }

    private sealed class ImportSummary
    {
        public long Lines { get; set; }
        public long Accepted { get; set; }
        public long Rejected { get; set; }
        public long LinkedNothing { get; set; }
        public long Invalid { get; set; }
        public long AlreadyThere { get; set; }
    }
}
