using System.Text.Json;
using FluentAssertions;
using OneId.Testing;
using Xunit;

namespace OneId.Cli.Tests;

/// <summary>import, resolve and stats through the real CLI, on SQLite and PostgreSQL.</summary>
public abstract class GraphCommandsContract : IDisposable
{
    private const string Oa = "wx00000000000000b2";
    private const string Mp = "wx00000000000000a1";
    protected readonly TempFolder Folder = new();

    protected abstract Task<string> NewDatabaseAsync();

    private static string Line(params string[] ids) => JsonSerializer.Serialize(new { ids, source = "crm", at = "2024-05-01T10:00:00Z" });

    [Fact]
    public async Task The_bench_workload_is_import_lines_that_create_link_and_merge_one_person_per_three_lines()
    {
        var db = await NewDatabaseAsync();
        var workload = await OneIdCli.RunAsync("bench", "workload", "--events", "300");
        workload.ExitCode.Should().Be(0, workload.StdErr);
        workload.Lines.Should().HaveCount(300);
        var file = Folder.File("workload.jsonl");
        await File.WriteAllTextAsync(file, workload.StdOut);

        var import = await OneIdCli.RunAsync("import", "--db", db, file);

        import.ExitCode.Should().Be(0, import.StdErr);
        import.StdOut.Should().Contain("lines read: 300, accepted: 300, rejected as conflicts: 0");
        using var stats = JsonDocument.Parse((await OneIdCli.RunAsync("stats", "--db", db, "--json")).StdOut);
        stats.RootElement.GetProperty("persons").GetInt64().Should().Be(100, "each person is seen alone, then logs in elsewhere with the unionid, then comes back: the third line merges");
        (await OneIdCli.RunAsync("bench", "workload", "--events", "0")).ExitCode.Should().NotBe(0);
    }

    [Fact]
    public async Task Bench_login_with_several_hubs_measures_them_over_one_database_and_refuses_bad_counts()
    {
        var db = await NewDatabaseAsync();

        var result = await OneIdCli.RunAsync("bench", "login", "--logins", "40", "--concurrency", "4", "--hubs", "2", "--db", db, "--json");

        result.ExitCode.Should().Be(0, result.StdErr);
        result.StdOut.Should().Contain("2 hubs, one database").And.Contain("2 hubs ÷ 1 hub:");
        using var doc = JsonDocument.Parse(result.Lines[^1]);
        var root = doc.RootElement;
        root.GetProperty("hubs").GetInt32().Should().Be(2);
        root.GetProperty("errors").GetInt32().Should().Be(0);
        root.GetProperty("hubs_errors").GetInt32().Should().Be(0);
        root.GetProperty("hubs_logins_per_s").GetDouble().Should().BePositive();
        root.GetProperty("cpu_ratio").GetDouble().Should().BePositive();
        root.GetProperty("hubs_ratio").GetDouble().Should().BeApproximately(root.GetProperty("hubs_logins_per_s").GetDouble() / root.GetProperty("logins_per_s").GetDouble(), 0.01);
        foreach (var bad in new[] { "0", "17", "-1" })
        {
            var refused = await OneIdCli.RunAsync("bench", "login", "--hubs", bad, "--db", db);
            refused.ExitCode.Should().Be(2, $"--hubs {bad}");
            refused.StdErr.Trim().Should().Be("oneid: --hubs must be between 1 and 16");
        }
    }

    [Fact]
    public async Task Import_applies_the_valid_lines_reports_each_invalid_one_and_exits_1()
    {
        var db = await NewDatabaseAsync();
        var file = Folder.File("in.jsonl");
        await File.WriteAllLinesAsync(file,
        [
            Line($"openid:{Oa}:oAliceOaAliceOaAliceOaAlice1"),
            "{not json",
            Line($"openid:{Oa}:oAliceOaAliceOaAliceOaAlice1", "unionid:acme:oAliceUnionAliceUnionAlice01"),
            Line($"openid:{Mp}:undefined"),
            "",
            Line($"openid:{Mp}:oAliceMpAliceMpAliceMpAlice1", "unionid:acme:oAliceUnionAliceUnionAlice01"),
            Line($"openid:{Mp}:oMalloryMalloryMalloryMallo1", "unionid:acme:oAliceUnionAliceUnionAlice01"),
            """{"ids":["email:x:a@b.c"]}""",
        ]);

        var result = await OneIdCli.RunAsync("import", "--db", db, file);

        result.ExitCode.Should().Be(1);
        result.StdOut.Should().Contain("lines read: 7, accepted: 3, rejected as conflicts: 1, linked nothing: 0, invalid: 3");
        result.StdErr.Should().Contain("line 2: not valid JSON").And.Contain("line 4: openid value 'undefined' is blocked").And.Contain("line 8: unknown identifier type 'email'");
        var resolved = await OneIdCli.RunAsync("resolve", "--db", db, $"openid:{Mp}:oAliceMpAliceMpAliceMpAlice1");
        resolved.ExitCode.Should().Be(0);
        using var person = JsonDocument.Parse(resolved.StdOut);
        person.RootElement.GetProperty("identifiers").EnumerateArray().Select(e => e.GetString()).Should().BeEquivalentTo(
            $"openid:{Oa}:oAliceOaAliceOaAliceOaAlice1", $"openid:{Mp}:oAliceMpAliceMpAliceMpAlice1", "unionid:acme:oAliceUnionAliceUnionAlice01");
    }

    [Fact]
    public async Task Import_takes_replaces_as_a_map_from_new_to_old_and_refuses_other_shapes_with_one_line_each()
    {
        var db = await NewDatabaseAsync();
        const string old = "external_userid:ww0000000000000001/isv1:wmOLDOLDOLDOLDOLDOLD000000000001";
        const string @new = "external_userid:ww0000000000000001/isv1:wmNEWNEWNEWNEWNEWNEW000000000001";
        var input = string.Join('\n',
            Line(old, "unionid:acme:oRexUnionRexUnionRexUnion001"),
            $$$"""{"ids":["{{{@new}}}"],"replaces":{"{{{@new}}}":"{{{old}}}"}}""",
            $$$"""{"ids":["{{{@new}}}"],"replaces":["{{{old}}}"]}""",
            $$$"""{"ids":["{{{@new}}}"],"replaces":{"{{{old}}}":"{{{@new}}}"}}""");

        var import = await OneIdCli.RunWithInputAsync(input, "import", "--db", db, "-");

        import.ExitCode.Should().Be(1);
        import.StdOut.Should().Contain("accepted: 2").And.Contain("invalid: 2");
        import.StdErr.Should().Contain("line 3: \"replaces\" must be an object mapping each new identifier").And.Contain("line 4: \"replaces\" key");
        var resolved = await OneIdCli.RunAsync("resolve", "--db", db, old);
        resolved.ExitCode.Should().Be(0, resolved.StdErr);
        using var person = JsonDocument.Parse(resolved.StdOut);
        person.RootElement.GetProperty("replaced_by").GetProperty(old).GetString().Should().Be(@new);
        person.RootElement.GetProperty("identifiers").EnumerateArray().Select(e => e.GetString()).Should().Contain([old, @new]);
    }

    [Fact]
    public async Task Import_reads_stdin_exits_0_when_every_line_is_valid_and_resolve_follows_aliases()
    {
        var db = await NewDatabaseAsync();
        var input = string.Join('\n',
            Line($"openid:{Oa}:oBobOaBobOaBobOaBobOaBobOa1"),
            Line($"openid:{Mp}:oBobMpBobMpBobMpBobMpBobMp1", "unionid:acme:oBobUnionBobUnionBobUnion01"),
            Line($"openid:{Oa}:oBobOaBobOaBobOaBobOaBobOa1", "unionid:acme:oBobUnionBobUnionBobUnion01"));

        var import = await OneIdCli.RunWithInputAsync(input, "import", "--db", db, "-");
        import.ExitCode.Should().Be(0, import.StdErr);

        var byAlias = await OneIdCli.RunAsync("resolve", "--db", db, "p_2");
        byAlias.ExitCode.Should().Be(0);
        using var doc = JsonDocument.Parse(byAlias.StdOut);
        doc.RootElement.GetProperty("id").GetString().Should().Be("p_1", "the person created first survives the merge");
        doc.RootElement.GetProperty("aliases").EnumerateArray().Select(e => e.GetString()).Should().Equal("p_2");

        var stats = await OneIdCli.RunAsync("stats", "--db", db, "--json");
        stats.ExitCode.Should().Be(0);
        using var s = JsonDocument.Parse(stats.StdOut);
        s.RootElement.GetProperty("persons").GetInt64().Should().Be(1);
        s.RootElement.GetProperty("observations").GetInt64().Should().Be(3);
        s.RootElement.GetProperty("identifiers").GetInt64().Should().Be(3);
        s.RootElement.GetProperty("conflicts").GetInt64().Should().Be(0);
        s.RootElement.GetProperty("overlap")[0].GetProperty("persons").GetInt64().Should().Be(1);

        var table = await OneIdCli.RunAsync("stats", "--db", db);
        table.ExitCode.Should().Be(0);
        table.StdOut.Should().Contain("persons").And.Contain("unionid coverage");
    }

    [Fact]
    public async Task Stats_count_real_followers_as_distinct_persons_following_now_and_refuse_a_bad_days_value()
    {
        var db = await NewDatabaseAsync();
        var file = Folder.File("follows.jsonl");
        // Alice follows both OAs (one person through her unionid), Bob followed and left.
        await File.WriteAllLinesAsync(file,
        [
            Line($"openid:{Oa}:oAliceOaAliceOaAliceOaAlice1", "unionid:acme:oAliceUnionAliceUnionAlice01"),
            Line($"openid:{Mp}:oAliceMpAliceMpAliceMpAlice1", "unionid:acme:oAliceUnionAliceUnionAlice01"),
            Line($"openid:{Oa}:oBobOaBobOaBobOaBobOaBobOa1"),
        ]);
        (await OneIdCli.RunAsync("import", "--db", db, file)).ExitCode.Should().Be(0);
        await using (var database = OneId.Storage.StoreDatabase.Open(db))
        {
            var relationships = await OneId.Storage.Relationships.SqlRelationshipStore.OpenAsync(database, TimeProvider.System, default);
            var now = DateTimeOffset.UtcNow;
            await relationships.RecordFollowsAsync(
            [
                new OneId.Graph.FollowChange(OneId.Graph.Identifier.Parse($"openid:{Oa}:oAliceOaAliceOaAliceOaAlice1"), true, now.AddHours(-2)),
                new OneId.Graph.FollowChange(OneId.Graph.Identifier.Parse($"openid:{Mp}:oAliceMpAliceMpAliceMpAlice1"), true, now.AddHours(-2)),
                new OneId.Graph.FollowChange(OneId.Graph.Identifier.Parse($"openid:{Oa}:oBobOaBobOaBobOaBobOaBobOa1"), true, now.AddHours(-2)),
                new OneId.Graph.FollowChange(OneId.Graph.Identifier.Parse($"openid:{Oa}:oBobOaBobOaBobOaBobOaBobOa1"), false, now.AddHours(-1)),
            ], default);
        }

        var stats = await OneIdCli.RunAsync("stats", "--db", db, "--json", "--days", "3");
        stats.ExitCode.Should().Be(0, stats.StdErr);
        using var s = JsonDocument.Parse(stats.StdOut);
        s.RootElement.GetProperty("followers").GetProperty("total").GetInt64().Should().Be(1, "alice once, though she follows two apps; bob left");
        s.RootElement.GetProperty("followers").GetProperty("per_app").GetProperty(Oa).GetInt64().Should().Be(1);
        s.RootElement.GetProperty("per_day").GetArrayLength().Should().Be(3);
        var table = await OneIdCli.RunAsync("stats", "--db", db);
        table.StdOut.Should().Contain("real followers");

        var bad = await OneIdCli.RunAsync("stats", "--db", db, "--days", "400");
        bad.ExitCode.Should().Be(2);
        bad.StdErr.Should().Contain("--days");
    }

    [Fact]
    public async Task Import_run_again_or_after_a_stop_midway_applies_only_the_missing_lines_and_says_how_many_were_there()
    {
        var db = await NewDatabaseAsync();
        var lines = Enumerable.Range(0, 40).Select(i => i % 4 == 0
            ? JsonSerializer.Serialize(new { id = $"crm-{i}", ids = new[] { $"account:crm:{1000 + i}", $"openid:{Oa}:o{i / 2:D27}" } })
            : JsonSerializer.Serialize(new { ids = new[] { $"openid:{Oa}:o{i / 2:D27}", $"unionid:acme:u{i / 3:D27}" }, at = $"2024-05-01T10:00:{i:D2}Z" }))
            .Append(Line($"openid:{Mp}:o{0:D27}")).Append(Line($"openid:{Mp}:o{0:D27}")).ToArray(); // the same line twice is one observation
        var whole = Folder.File("whole.jsonl");
        await File.WriteAllLinesAsync(whole, lines);
        // A run stopped after its first 15 lines were committed: what a crash leaves behind.
        var head = Folder.File("head.jsonl");
        await File.WriteAllLinesAsync(head, lines[..15]);
        var once = await NewDatabaseAsync();
        (await OneIdCli.RunAsync("import", "--db", once, whole)).ExitCode.Should().Be(0);
        var expected = (await OneIdCli.RunAsync("stats", "--db", once, "--json")).StdOut;

        // The first run looks every key up in SQLite; the re-run keeps the writer's state, built from what the first left.
        (await OneIdCli.RunAsync("import", "--db", db, "--batch-size", "4", "--writer-state-mb", "0", head)).ExitCode.Should().Be(0);
        var rerun = await OneIdCli.RunAsync("import", "--db", db, "--batch-size", "4", whole);
        var third = await OneIdCli.RunAsync("import", "--db", db, "--cache-mb", "8", "--mmap-mb", "64", whole); // memory settings change no outcome

        rerun.ExitCode.Should().Be(0, rerun.StdErr);
        rerun.StdOut.Should().Contain("lines read: 42").And.Contain("already there: 16");
        third.StdOut.Should().Contain("accepted: 0, rejected as conflicts: 0, linked nothing: 0, invalid: 0, already there: 42");
        (await OneIdCli.RunAsync("stats", "--db", db, "--json")).StdOut.Should().Be(expected, "three runs leave what one run leaves");
    }

    [Fact]
    public async Task Resolve_exits_3_for_unknown_and_2_for_malformed_ids()
    {
        var db = await NewDatabaseAsync();
        (await OneIdCli.RunWithInputAsync("", "import", "--db", db, "-")).ExitCode.Should().Be(0);

        var unknown = await OneIdCli.RunAsync("resolve", "--db", db, $"openid:{Oa}:oNobodyNobodyNobodyNobody001");
        unknown.ExitCode.Should().Be(3);
        unknown.StdErr.Should().Contain("unknown");

        var malformed = await OneIdCli.RunAsync("resolve", "--db", db, "openid:nope");
        malformed.ExitCode.Should().Be(2);
        malformed.StdErr.Trim().Split('\n').Should().ContainSingle("errors are one line, no stack trace");
    }

    [Fact]
    public async Task Two_import_processes_writing_the_same_persons_at_once_lose_nothing()
    {
        var db = await NewDatabaseAsync();
        (await OneIdCli.RunWithInputAsync("", "import", "--db", db, "-")).ExitCode.Should().Be(0);
        // Process A brings each person's OA openid with the unionid, process B the MP openid with the unionid,
        // in opposite orders, so both keep finding persons the other just created.
        string Person(int i, string app) => Line($"openid:{app}:o{i:D27}", $"unionid:acme:u{i:D27}");
        var a = string.Join('\n', Enumerable.Range(0, 3000).Select(i => Person(i, Oa)));
        var b = string.Join('\n', Enumerable.Range(0, 3000).Reverse().Select(i => Person(i, Mp)));

        var results = await Task.WhenAll(
            OneIdCli.RunWithInputAsync(a, "import", "--db", db, "--batch-size", "20", "-"),
            OneIdCli.RunWithInputAsync(b, "import", "--db", db, "--batch-size", "20", "-"));

        results.Should().OnlyContain(r => r.ExitCode == 0);
        var stats = await OneIdCli.RunAsync("stats", "--db", db, "--json");
        using var s = JsonDocument.Parse(stats.StdOut);
        s.RootElement.GetProperty("persons").GetInt64().Should().Be(3000, "each unionid is one person, whichever process saw it first");
        s.RootElement.GetProperty("identifiers").GetInt64().Should().Be(9000);
        s.RootElement.GetProperty("observations").GetInt64().Should().Be(6000);
        s.RootElement.GetProperty("conflicts").GetInt64().Should().Be(0);
    }

    public void Dispose() => Folder.Dispose();
}

public sealed class SqliteGraphCommandsTests : GraphCommandsContract
{
    protected override Task<string> NewDatabaseAsync() => Task.FromResult(Folder.File($"{Guid.NewGuid():N}.db"));
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres";
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresGraphCommandsTests(PostgresFixture postgres) : GraphCommandsContract
{
    protected override Task<string> NewDatabaseAsync() => postgres.Cluster.CreateDatabaseAsync();
}

public sealed class UsageTests
{
    [Theory]
    [InlineData("import")]
    [InlineData("import", "--db", "x.db")]
    [InlineData("resolve", "--db", "x.db")]
    [InlineData("stats")]
    [InlineData("no-such-command")]
    [InlineData("import", "--db", "x.db", "--batch-size", "0", "-")]
    [InlineData("import", "--db", "x.db", "--cache-mb", "1", "-")]
    [InlineData("import", "--db", "x.db", "--mmap-mb", "-1", "-")]
    [InlineData("import", "--db", "x.db", "--writer-state-mb", "-1", "-")]
    public async Task Usage_errors_exit_2_with_one_line(params string[] args)
    {
        var result = await OneIdCli.RunAsync(args);

        result.ExitCode.Should().Be(2);
        result.StdErr.Trim().Split('\n').Should().ContainSingle();
    }

    [Fact]
    public async Task Import_of_a_missing_file_exits_2_and_creates_nothing()
    {
        using var folder = new TempFolder();
        var result = await OneIdCli.RunAsync("import", "--db", folder.File("new.db"), folder.File("missing.jsonl"));

        result.ExitCode.Should().Be(2);
        result.StdErr.Should().StartWith("oneid: cannot read");
    }

    [Fact]
    public async Task Bench_resolve_paces_its_last_phase_at_the_rate_asked_or_at_half_the_peak()
    {
        var asked = await OneIdCli.RunAsync("bench", "resolve", "--persons", "50", "--requests", "200", "--rate", "400", "--json");
        var half = await OneIdCli.RunAsync("bench", "resolve", "--persons", "50", "--requests", "200", "--json");

        asked.ExitCode.Should().Be(0, asked.StdErr);
        half.ExitCode.Should().Be(0, half.StdErr);
        using var a = JsonDocument.Parse(asked.Lines[^1]);
        a.RootElement.GetProperty("paced_rate").GetDouble().Should().Be(400);
        a.RootElement.GetProperty("paced_errors").GetInt32().Should().Be(0, "the child process resolved with the key it was handed");
        a.RootElement.GetProperty("paced_client").GetString().Should().Be("process");
        a.RootElement.GetProperty("paced_p99_ms").GetDouble().Should().BeGreaterThanOrEqualTo(a.RootElement.GetProperty("paced_p50_ms").GetDouble());
        // The hub's own view of the paced requests: ASP.NET Core's request duration saw every one of them (and the
        // child's warm-up), and the child reported its own collector.
        a.RootElement.GetProperty("paced_server_requests").GetInt32().Should().BeGreaterThanOrEqualTo(200);
        a.RootElement.GetProperty("paced_server_max_ms").GetDouble().Should().BeGreaterThanOrEqualTo(a.RootElement.GetProperty("paced_server_p99_ms").GetDouble());
        a.RootElement.GetProperty("paced_client_gcs").GetDouble().Should().BeGreaterThanOrEqualTo(0);
        asked.StdOut.Should().MatchRegex(@"the hub's allocations, sampled: \S+ \d+ ?%", "the runtime's allocation samples reached the listener");
        using var h = JsonDocument.Parse(half.Lines[^1]);
        h.RootElement.GetProperty("paced_rate").GetDouble().Should().BeApproximately(h.RootElement.GetProperty("resolves_per_s").GetDouble() / 2, 0.1);
        asked.StdOut.Should().Contain("paced at 400/s:");
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("fast")]
    [InlineData("Infinity")]
    public async Task Bench_resolve_refuses_a_rate_that_is_not_a_positive_number_with_one_line(string rate)
    {
        var result = await OneIdCli.RunAsync("bench", "resolve", "--persons", "10", "--requests", "10", "--rate", rate);

        result.ExitCode.Should().Be(2);
        result.StdErr.Trim().Split('\n').Should().ContainSingle().Which.Should().Contain("--rate");
        result.StdOut.Should().BeEmpty("nothing is measured with a bad rate");
    }

    [Fact]
    public async Task Bench_resolve_on_a_store_it_cannot_open_says_so_in_one_line()
    {
        var result = await OneIdCli.RunAsync("bench", "resolve", "--persons", "10", "--requests", "10", "--db", "Host=127.0.0.1;Port=1;Username=postgres;Database=none;Timeout=2");

        result.ExitCode.Should().Be(1);
        result.StdErr.Trim().Split('\n').Should().ContainSingle().Which.Should().StartWith("oneid: cannot open the store");
    }

    [Fact]
    public async Task Bench_ingest_prints_its_figures_as_the_last_json_line()
    {
        var result = await OneIdCli.RunAsync("bench", "ingest", "--events", "3000", "--json");

        result.ExitCode.Should().Be(0, result.StdErr);
        using var doc = JsonDocument.Parse(result.Lines[^1]);
        var root = doc.RootElement;
        root.GetProperty("events").GetInt64().Should().Be(3000);
        root.GetProperty("seconds").GetDouble().Should().BePositive();
        var ratio = root.GetProperty("events_per_s").GetDouble() / root.GetProperty("baseline_rows_per_s").GetDouble();
        root.GetProperty("ratio").GetDouble().Should().BeApproximately(ratio, 0.002);
        result.StdOut.Should().Contain("1,000 merges", "a third of the generated stream merges persons");
    }
}
