using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using OneId.Graph;
using OneId.Testing;
using Xunit;

namespace OneId.Server.Tests;

/// <summary>The operator API on one store; <see cref="SqliteOperatorApiTests"/> and <see cref="PostgresOperatorApiTests"/> run it unchanged.</summary>
public abstract class OperatorApiTests : IAsyncLifetime
{
    private const string Mp = TestHub.MpAppId;
    private const string Oa = TestHub.OaAppId;
    private TestHub _hub = null!;
    private HttpClient _admin = null!;

    protected abstract Task<string?> NewDatabaseAsync();

    public async Task InitializeAsync()
    {
        _hub = await TestHub.StartAsync(await NewDatabaseAsync());
        _admin = _hub.Admin();
    }

    public async Task DisposeAsync()
    {
        _admin.Dispose();
        await _hub.DisposeAsync();
    }

    private static string OpenId(string app, string who) => $"openid:{app}:o{who.PadRight(27, 'x')}";
    private static string UnionId(string who) => $"unionid:acme:o{who.PadRight(27, 'u')}";

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage r) => await r.Content.ReadFromJsonAsync<JsonElement>();

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage r, HttpStatusCode status)
    {
        r.StatusCode.Should().Be(status, await r.Content.ReadAsStringAsync());
        r.Content.Headers.ContentType?.MediaType.Should().Be("application/problem+json");
        var json = await JsonAsync(r);
        json.GetProperty("title").GetString().Should().NotBeNullOrWhiteSpace();
        json.GetProperty("detail").GetString().Should().NotBeNullOrWhiteSpace();
        return json;
    }

    private static async Task<JsonElement> OkAsync(HttpResponseMessage r)
    {
        r.StatusCode.Should().Be(HttpStatusCode.OK, await r.Content.ReadAsStringAsync());
        return await JsonAsync(r);
    }

    private Task<HttpResponseMessage> PostObservationsAsync(HttpClient client, params object[] observations) =>
        client.PostAsJsonAsync("/v1/observations", new { observations });

    private async Task<JsonElement> ObserveAsync(params string[] ids) =>
        (await OkAsync(await PostObservationsAsync(_admin, new { ids, source = "crm", at = "2024-05-01T10:00:00Z" }))).GetProperty("results")[0];

    // ---- POST /v1/observations

    private const string OldExt = "external_userid:ww0000000000000001/isv1:wmOLDOLDOLDOLDOLDOLD000000000001";
    private const string NewExt = "external_userid:ww0000000000000001/isv1:wmNEWNEWNEWNEWNEWNEW000000000001";

    [Fact]
    public async Task A_replacement_posted_as_a_map_from_new_to_old_keeps_the_person_and_answers_replaced_by()
    {
        var first = await ObserveAsync(OldExt, UnionId("rex"));
        var body = new Dictionary<string, object>
        {
            ["ids"] = new[] { NewExt },
            ["replaces"] = new Dictionary<string, string> { [NewExt] = OldExt },
            ["source"] = "wecom.upgrade",
        };

        var replaced = (await OkAsync(await PostObservationsAsync(_admin, body))).GetProperty("results")[0];
        var retried = (await OkAsync(await PostObservationsAsync(_admin, body))).GetProperty("results")[0];

        replaced.GetProperty("outcome").GetString().Should().Be("accepted");
        replaced.GetProperty("person").GetString().Should().Be(first.GetProperty("person").GetString());
        retried.GetProperty("observation").GetString().Should().Be(replaced.GetProperty("observation").GetString(), "a retried request is the same observation");
        var person = await OkAsync(await _admin.GetAsync($"/v1/resolve?id={Uri.EscapeDataString(OldExt)}"));
        person.GetProperty("id").GetString().Should().Be(first.GetProperty("person").GetString());
        person.GetProperty("replaced_by").GetProperty(OldExt).GetString().Should().Be(NewExt);
        var events = (await OkAsync(await _admin.GetAsync("/v1/events?after=0&limit=100"))).GetProperty("events").EnumerateArray()
            .Where(e => e.GetProperty("type").GetString() == "person.identifier_replaced").ToArray();
        events.Should().ContainSingle("the retry replaced nothing twice");
        events[0].GetProperty("identifiers").EnumerateArray().Select(i => i.GetString()).Should().Equal(OldExt, NewExt);
        var history = await OkAsync(await _admin.GetAsync($"/v1/persons/{person.GetProperty("id").GetString()}/history"));
        history.EnumerateArray().Select(e => e.GetProperty("kind").GetString()).Should().Contain("identifier_replaced");
    }

    [Theory]
    [InlineData("[]", "must be an object mapping each new identifier")]
    [InlineData("{\"" + NewExt + "\":\"openid:wx00000000000000a1:oAAAAAAAA1\"}", "keeps the type")]
    [InlineData("{\"" + OldExt + "\":\"" + NewExt + "\"}", "must also be in")]
    public async Task A_badly_shaped_replaces_is_refused_whole_as_problem_details(string replaces, string reason)
    {
        var json = $$"""{"observations":[{"ids":["{{UnionId("ok")}}"]},{"ids":["{{NewExt}}"],"replaces":{{replaces}}}]}""";

        var r = await _admin.PostAsync("/v1/observations", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

        var problem = await ProblemAsync(r, HttpStatusCode.BadRequest);
        problem.GetProperty("detail").GetString().Should().Contain("observations[1]").And.Contain(reason);
        (await _admin.GetAsync($"/v1/resolve?id={UnionId("ok")}")).StatusCode.Should().Be(HttpStatusCode.NotFound, "nothing of a refused batch is applied");
    }

    [Fact]
    public async Task Observations_are_applied_in_order_and_each_answers_its_outcome_and_person()
    {
        var r = await OkAsync(await PostObservationsAsync(_admin,
            new { ids = new[] { OpenId(Mp, "amy") }, source = "crm" },
            new { ids = new[] { OpenId(Mp, "amy"), UnionId("amy") }, source = "crm", at = "2024-05-01T10:00:00Z", profile = new { nickname = "Amy" } },
            new { ids = new[] { OpenId(Mp, "amy2"), UnionId("amy") } },
            new { ids = new[] { "phone::+8613800000001" } }));

        var results = r.GetProperty("results").EnumerateArray().ToArray();
        results.Select(x => x.GetProperty("outcome").GetString()).Should().Equal("accepted", "accepted", "rejected", "linked_nothing");
        results[0].GetProperty("new_person").GetBoolean().Should().BeTrue();
        results[1].GetProperty("person").GetString().Should().Be(results[0].GetProperty("person").GetString());
        results[2].GetProperty("conflicts")[0].GetString().Should().Contain($"openid:{Mp}");
        var person = await OkAsync(await _admin.GetAsync($"/v1/resolve?id={UnionId("amy")}"));
        person.GetProperty("profile").GetProperty("nickname").GetString().Should().Be("Amy");
    }

    [Fact]
    public async Task A_retry_with_the_same_ids_returns_the_first_answer_says_already_applied_and_adds_nothing()
    {
        object[] batch =
        [
            new { id = "crm-retry-1", ids = new[] { OpenId(Mp, "rita"), UnionId("rita") }, source = "crm", at = "2024-05-01T10:00:00Z" },
            new { id = "crm-retry-2", ids = new[] { OpenId(Mp, "rita2"), UnionId("rita") }, source = "crm" },
            new { id = "crm-retry-3", ids = new[] { "phone::+8613800000077" }, source = "crm" },
        ];
        var first = (await OkAsync(await PostObservationsAsync(_admin, batch))).GetProperty("results").EnumerateArray().ToArray();
        first.Select(x => x.GetProperty("outcome").GetString()).Should().Equal("accepted", "rejected", "linked_nothing");
        first.Should().OnlyContain(x => !x.GetProperty("already_applied").GetBoolean());
        var statsBefore = await OkAsync(await _admin.GetAsync("/v1/stats"));
        var eventsBefore = (await OkAsync(await _admin.GetAsync("/v1/events?after=0&limit=1000"))).GetProperty("events").GetArrayLength();

        // The client did not see the answer (a timeout) and sends the same batch again.
        var again = (await OkAsync(await PostObservationsAsync(_admin, batch))).GetProperty("results").EnumerateArray().ToArray();

        again.Should().OnlyContain(x => x.GetProperty("already_applied").GetBoolean());
        again.Select(x => x.GetProperty("outcome").GetString()).Should().Equal(first.Select(x => x.GetProperty("outcome").GetString()));
        again.Select(x => x.GetProperty("observation").GetString()).Should().Equal(first.Select(x => x.GetProperty("observation").GetString()));
        again[0].GetProperty("person").GetString().Should().Be(first[0].GetProperty("person").GetString());
        again[1].GetProperty("conflicts").EnumerateArray().Select(c => c.GetString()).Should()
            .Equal(first[1].GetProperty("conflicts").EnumerateArray().Select(c => c.GetString()), "the conflict is answered as it was recorded");
        again.Should().OnlyContain(x => !x.GetProperty("new_person").GetBoolean(), "the retry created nobody");
        (await OkAsync(await _admin.GetAsync("/v1/stats"))).ToString().Should().Be(statsBefore.ToString(), "nothing was added");
        (await OkAsync(await _admin.GetAsync("/v1/events?after=0&limit=1000"))).GetProperty("events").GetArrayLength().Should().Be(eventsBefore);

        // The same id with other content is still the same observation: the id is the client's promise of identity.
        var sameIdOther = (await OkAsync(await PostObservationsAsync(_admin,
            new { id = "crm-retry-1", ids = new[] { OpenId(Mp, "someoneelse") }, source = "crm" }))).GetProperty("results")[0];
        sameIdOther.GetProperty("already_applied").GetBoolean().Should().BeTrue();
        (await _hub.Graph().FindAsync(Identifier.Parse(OpenId(Mp, "someoneelse")), CancellationToken.None)).Should().BeNull();
    }

    [Fact]
    public async Task A_batch_with_one_bad_item_is_refused_whole_naming_the_item()
    {
        var problem = await ProblemAsync(await PostObservationsAsync(_admin,
            new { ids = new[] { OpenId(Mp, "bob") } },
            new { ids = new[] { "openid:wx123:short" } },
            new { ids = Array.Empty<string>() }), HttpStatusCode.BadRequest);

        problem.GetProperty("detail").GetString().Should().Contain("observations[1]").And.Contain("observations[2]").And.NotContain("observations[0]");
        (await _hub.Graph().FindAsync(Identifier.Parse(OpenId(Mp, "bob")), CancellationToken.None)).Should().BeNull("nothing of the batch is applied");
    }

    [Fact]
    public async Task Observations_refuse_empty_oversized_and_non_json_bodies()
    {
        await ProblemAsync(await _admin.PostAsJsonAsync("/v1/observations", new { }), HttpStatusCode.BadRequest);
        await ProblemAsync(await _admin.PostAsJsonAsync("/v1/observations", new { observations = Array.Empty<object>() }), HttpStatusCode.BadRequest);
        var many = Enumerable.Range(0, 1001).Select(i => (object)new { ids = new[] { OpenId(Mp, $"m{i}") } }).ToArray();
        (await ProblemAsync(await PostObservationsAsync(_admin, many), HttpStatusCode.BadRequest)).GetProperty("detail").GetString().Should().Contain("1000");
        using var bad = new StringContent("{not json", System.Text.Encoding.UTF8, "application/json");
        await ProblemAsync(await _admin.PostAsync("/v1/observations", bad), HttpStatusCode.BadRequest);
        await ProblemAsync(await _hub.Client.PostAsJsonAsync("/v1/observations", new { observations = new[] { new { ids = new[] { OpenId(Mp, "x") } } } }), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_read_only_key_may_not_add_observations()
    {
        using var reader = _hub.ClientWithKey(await _hub.CreateKeyAsync(["internal"]));
        await ProblemAsync(await PostObservationsAsync(reader, new { ids = new[] { OpenId(Mp, "cat") } }), HttpStatusCode.Forbidden);
    }

    // ---- conflicts

    [Fact]
    public async Task Conflicts_list_open_first_and_resolve_by_dismissing_or_applying()
    {
        var first = await ObserveAsync(OpenId(Mp, "dan"), UnionId("dan"));
        var clash1 = await ObserveAsync(OpenId(Mp, "dan2"), UnionId("dan"));
        var clash2 = await ObserveAsync(OpenId(Mp, "dan3"), UnionId("dan"));
        var id1 = clash1.GetProperty("observation").GetString();
        var id2 = clash2.GetProperty("observation").GetString();

        var page = await OkAsync(await _admin.GetAsync("/v1/conflicts"));
        page.GetProperty("open").GetInt64().Should().Be(2);
        var items = page.GetProperty("items").EnumerateArray().ToArray();
        items.Select(i => i.GetProperty("id").GetString()).Should().Equal(id2, id1);
        items[0].GetProperty("disputes")[0].GetProperty("values").GetArrayLength().Should().Be(2);
        items[0].GetProperty("persons")[0].GetString().Should().Be(first.GetProperty("person").GetString());
        items[0].GetProperty("standing_in_the_way")[0].GetString().Should().Be(first.GetProperty("observation").GetString());
        items[0].GetProperty("observation").GetProperty("status").GetString().Should().Be("rejected");

        var dismissed = await OkAsync(await _admin.PostAsJsonAsync($"/v1/conflicts/{id1}/resolve", new { action = "dismiss" }));
        dismissed.GetProperty("conflict").GetProperty("state").GetString().Should().Be("dismissed");
        await ProblemAsync(await _admin.PostAsJsonAsync($"/v1/conflicts/{id1}/resolve", new { action = "dismiss" }), HttpStatusCode.Conflict);

        var applied = await OkAsync(await _admin.PostAsJsonAsync($"/v1/conflicts/{id2}/resolve", new { action = "apply" }));
        applied.GetProperty("conflict").GetProperty("state").GetString().Should().Be("applied");
        applied.GetProperty("conflict").GetProperty("retracted")[0].GetString().Should().Be(first.GetProperty("observation").GetString());
        var now = await OkAsync(await _admin.GetAsync($"/v1/resolve?id={UnionId("dan")}"));
        now.GetProperty("identifiers").EnumerateArray().Select(i => i.GetString()).Should().Contain(OpenId(Mp, "dan3")).And.NotContain(OpenId(Mp, "dan"));

        var after = await OkAsync(await _admin.GetAsync("/v1/conflicts?offset=0&limit=1"));
        after.GetProperty("open").GetInt64().Should().Be(0);
        after.GetProperty("items").GetArrayLength().Should().Be(1);
        (await OkAsync(await _admin.GetAsync($"/v1/conflicts/{id2}"))).GetProperty("applied_as").GetString().Should().NotBeNullOrEmpty();
    }

    [Fact]
    public async Task Conflict_endpoints_explain_every_bad_request()
    {
        var clash = (await ObserveAsync(OpenId(Mp, "eve"), UnionId("eve")), await ObserveAsync(OpenId(Mp, "eve2"), UnionId("eve"))).Item2;
        var id = clash.GetProperty("observation").GetString();
        await ProblemAsync(await _admin.GetAsync("/v1/conflicts?limit=0"), HttpStatusCode.BadRequest);
        await ProblemAsync(await _admin.GetAsync("/v1/conflicts?offset=-1"), HttpStatusCode.BadRequest);
        await ProblemAsync(await _admin.GetAsync("/v1/conflicts/abc"), HttpStatusCode.BadRequest);
        await ProblemAsync(await _admin.GetAsync("/v1/conflicts/99999"), HttpStatusCode.NotFound);
        await ProblemAsync(await _admin.PostAsJsonAsync("/v1/conflicts/abc/resolve", new { action = "dismiss" }), HttpStatusCode.BadRequest);
        await ProblemAsync(await _admin.PostAsJsonAsync($"/v1/conflicts/{id}/resolve", new { action = "maybe" }), HttpStatusCode.BadRequest);
        await ProblemAsync(await _admin.PostAsJsonAsync($"/v1/conflicts/{id}/resolve", new { action = "apply", retract = new[] { "x" } }), HttpStatusCode.BadRequest);
        await ProblemAsync(await _admin.PostAsJsonAsync($"/v1/conflicts/{id}/resolve", new { action = "dismiss", retract = new[] { "1" } }), HttpStatusCode.BadRequest);
        await ProblemAsync(await _admin.PostAsJsonAsync("/v1/conflicts/99999/resolve", new { action = "dismiss" }), HttpStatusCode.NotFound);
        await ProblemAsync(await _admin.PostAsJsonAsync($"/v1/conflicts/{id}/resolve", new { action = "apply", retract = new[] { "99999" } }), HttpStatusCode.Conflict);
        using var reader = _hub.ClientWithKey(await _hub.CreateKeyAsync(["internal"]));
        await ProblemAsync(await reader.PostAsJsonAsync($"/v1/conflicts/{id}/resolve", new { action = "dismiss" }), HttpStatusCode.Forbidden);
        using var publicOnly = _hub.ClientWithKey(await _hub.CreateKeyAsync(["public"]));
        await ProblemAsync(await publicOnly.GetAsync("/v1/conflicts"), HttpStatusCode.Forbidden);
        (await OkAsync(await _admin.GetAsync($"/v1/conflicts/{id}"))).GetProperty("state").GetString().Should().Be("open", "no refused request changed it");
    }

    // ---- keep apart

    [Fact]
    public async Task Persons_kept_apart_are_not_merged_and_the_merge_becomes_a_conflict_until_lifted()
    {
        var a = (await ObserveAsync(OpenId(Oa, "fay"))).GetProperty("person").GetString();
        var b = (await ObserveAsync(OpenId(Mp, "fay"), UnionId("fay"))).GetProperty("person").GetString();

        var kept = await OkAsync(await _admin.PostAsJsonAsync($"/v1/persons/{a}/keep-apart", new { other = b }));
        kept.GetProperty("kept_apart_from")[0].GetString().Should().Be(b);
        (await OkAsync(await _admin.GetAsync($"/v1/persons/{b}/keep-apart"))).GetProperty("kept_apart_from")[0].GetString().Should().Be(a);

        var joining = await ObserveAsync(OpenId(Oa, "fay"), UnionId("fay"));
        joining.GetProperty("outcome").GetString().Should().Be("rejected");
        var conflict = await OkAsync(await _admin.GetAsync($"/v1/conflicts/{joining.GetProperty("observation").GetString()}"));
        conflict.GetProperty("disputes")[0].GetProperty("type").GetString().Should().Be("keep_apart");

        (await _admin.DeleteAsync($"/v1/persons/{a}/keep-apart?other={b}")).StatusCode.Should().Be(HttpStatusCode.OK);
        await ProblemAsync(await _admin.DeleteAsync($"/v1/persons/{a}/keep-apart?other={b}"), HttpStatusCode.NotFound);
        // The same observation again would be a retry, answered with its first outcome (an observation's identity is its
        // content); new evidence after the lift is a new observation.
        (await ObserveAsync(OpenId(Oa, "fay"), UnionId("fay"))).GetProperty("outcome").GetString().Should().Be("rejected");
        var after = (await OkAsync(await PostObservationsAsync(_admin, new { ids = new[] { OpenId(Oa, "fay"), UnionId("fay") }, source = "crm", at = "2024-05-02T10:00:00Z" })))
            .GetProperty("results")[0];
        after.GetProperty("person").GetString().Should().Be(a);
    }

    [Fact]
    public async Task Keep_apart_explains_every_bad_request()
    {
        var a = (await ObserveAsync(OpenId(Oa, "gus"), UnionId("gus"))).GetProperty("person").GetString();
        await ProblemAsync(await _admin.PostAsJsonAsync("/v1/persons/nope/keep-apart", new { other = a }), HttpStatusCode.BadRequest);
        await ProblemAsync(await _admin.PostAsJsonAsync($"/v1/persons/{a}/keep-apart", new { }), HttpStatusCode.BadRequest);
        await ProblemAsync(await _admin.PostAsJsonAsync($"/v1/persons/{a}/keep-apart", new { other = "x" }), HttpStatusCode.BadRequest);
        await ProblemAsync(await _admin.PostAsJsonAsync($"/v1/persons/{a}/keep-apart", new { other = "p_99999" }), HttpStatusCode.NotFound);
        await ProblemAsync(await _admin.PostAsJsonAsync($"/v1/persons/{a}/keep-apart", new { other = a }), HttpStatusCode.Conflict);
        await ProblemAsync(await _admin.DeleteAsync($"/v1/persons/{a}/keep-apart"), HttpStatusCode.BadRequest);
        await ProblemAsync(await _admin.GetAsync("/v1/persons/p_99999/keep-apart"), HttpStatusCode.NotFound);
        using var reader = _hub.ClientWithKey(await _hub.CreateKeyAsync(["internal"]));
        await ProblemAsync(await reader.PostAsJsonAsync($"/v1/persons/{a}/keep-apart", new { other = "p_99999" }), HttpStatusCode.Forbidden);
    }

    // ---- search

    [Fact]
    public async Task Search_by_identifier_prefix_and_person_id_and_by_phone_only_with_the_private_tier()
    {
        var p = (await ObserveAsync(OpenId(Mp, "hal"), UnionId("hal"), "phone::+8613800000077")).GetProperty("person").GetString();
        using var internalOnly = _hub.ClientWithKey(await _hub.CreateKeyAsync(["internal"]));

        async Task<string?[]> Hits(HttpClient c, string q) =>
            (await OkAsync(await c.GetAsync($"/v1/persons?q={Uri.EscapeDataString(q)}"))).GetProperty("results").EnumerateArray()
                .Select(h => h.GetProperty("person").GetProperty("id").GetString()).ToArray();

        (await Hits(_admin, UnionId("hal"))).Should().Equal(p);
        (await Hits(_admin, "ohal")).Should().Equal(p);
        (await Hits(_admin, p!)).Should().Equal(p);
        (await Hits(_admin, "+861380000007")).Should().Equal(p);
        (await Hits(internalOnly, "+861380000007")).Should().BeEmpty();
        (await Hits(internalOnly, "phone::+8613800000077")).Should().BeEmpty();
        var hit = (await OkAsync(await internalOnly.GetAsync($"/v1/persons?q={UnionId("hal")}"))).GetProperty("results")[0].GetProperty("person");
        hit.GetProperty("identifiers").EnumerateArray().Select(i => i.GetString()).Should().NotContain(i => i!.StartsWith("phone"));
        hit.TryGetProperty("profile", out _).Should().BeFalse();

        await ProblemAsync(await _admin.GetAsync("/v1/persons"), HttpStatusCode.BadRequest);
        await ProblemAsync(await _admin.GetAsync("/v1/persons?q=x&limit=500"), HttpStatusCode.BadRequest);
        using var publicOnly = _hub.ClientWithKey(await _hub.CreateKeyAsync(["public"]));
        await ProblemAsync(await publicOnly.GetAsync("/v1/persons?q=ohal"), HttpStatusCode.Forbidden);
    }

    // ---- event feed

    [Fact]
    public async Task The_event_feed_serves_the_webhook_documents_in_order_from_a_cursor()
    {
        await ObserveAsync(OpenId(Oa, "ivy"));
        await ObserveAsync(OpenId(Mp, "ivy"), UnionId("ivy"));
        await ObserveAsync(OpenId(Oa, "ivy"), UnionId("ivy"));

        var all = await OkAsync(await _admin.GetAsync("/v1/events?after=0&limit=100"));
        var events = all.GetProperty("events").EnumerateArray().ToArray();
        events.Select(e => e.GetProperty("type").GetString()).Should().Equal("person.created", "person.created", "person.merged");
        events.Select(e => e.GetProperty("sequence").GetInt64()).Should().BeInAscendingOrder();
        events[0].GetProperty("id").GetString().Should().Be($"acme-{events[0].GetProperty("sequence").GetInt64()}");

        var first = await OkAsync(await _admin.GetAsync("/v1/events?after=0&limit=1"));
        var next = first.GetProperty("next_after").GetInt64();
        var rest = await OkAsync(await _admin.GetAsync($"/v1/events?after={next}&limit=100"));
        rest.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("sequence").GetInt64()).Should().OnlyContain(s => s > next);
        (await OkAsync(await _admin.GetAsync($"/v1/events?after={all.GetProperty("next_after").GetInt64()}"))).GetProperty("events").GetArrayLength().Should().Be(0);

        await ProblemAsync(await _admin.GetAsync("/v1/events?after=-1"), HttpStatusCode.BadRequest);
        await ProblemAsync(await _admin.GetAsync("/v1/events?limit=5000"), HttpStatusCode.BadRequest);
    }

    // ---- audit and growth

    [Fact]
    public async Task Every_operator_action_is_audited_with_the_key_and_outcome()
    {
        var p = (await ObserveAsync(OpenId(Oa, "jon"), UnionId("jon"))).GetProperty("person").GetString();
        await _admin.PostAsJsonAsync($"/v1/persons/{p}/keep-apart", new { other = "p_99999" });

        var audit = await OkAsync(await _admin.GetAsync("/v1/audit"));
        var entries = audit.GetProperty("entries").EnumerateArray().ToArray();
        entries.Select(e => e.GetProperty("action").GetString()).Should().Equal("person.keep_apart", "observations.add");
        entries[0].GetProperty("status").GetInt32().Should().Be(404);
        entries[0].GetProperty("target").GetString().Should().Be(p);
        entries[1].GetProperty("detail").GetString().Should().Be("1 accepted, 0 rejected, 0 linked nothing");
        entries.Should().OnlyContain(e => e.GetProperty("key_id").GetString()!.Length == 12);
        (await _admin.GetStringAsync("/v1/audit")).Should().NotContain(TestHub.AdminKey);
        var older = await OkAsync(await _admin.GetAsync($"/v1/audit?before={entries[0].GetProperty("sequence").GetInt64()}"));
        older.GetProperty("entries").GetArrayLength().Should().Be(1);

        using var reader = _hub.ClientWithKey(await _hub.CreateKeyAsync(["internal"]));
        await ProblemAsync(await reader.GetAsync("/v1/audit"), HttpStatusCode.Forbidden);
        await ProblemAsync(await _admin.GetAsync("/v1/audit?limit=0"), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Growth_counts_persons_created_per_day()
    {
        await ObserveAsync(OpenId(Oa, "kai"));
        await ObserveAsync(OpenId(Mp, "kai"));
        var growth = await OkAsync(await _admin.GetAsync("/v1/stats/growth?days=7"));
        var days = growth.GetProperty("days").EnumerateArray().ToArray();
        days.Should().ContainSingle();
        days[0].GetProperty("day").GetString().Should().Be(DateTimeOffset.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
        days[0].GetProperty("persons").GetInt64().Should().Be(2);
        await ProblemAsync(await _admin.GetAsync("/v1/stats/growth?days=0"), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task The_operator_endpoints_are_in_the_openapi_document()
    {
        var doc = await _hub.Client.GetStringAsync("/openapi/v1.json");
        doc.Should().Contain("/v1/observations").And.Contain("/v1/conflicts/{id}/resolve").And.Contain("/v1/persons/{id}/keep-apart")
            .And.Contain("/v1/events").And.Contain("/v1/audit").And.Contain("/v1/console/session");
    }
}

public sealed class SqliteOperatorApiTests : OperatorApiTests
{
    protected override Task<string?> NewDatabaseAsync() => Task.FromResult<string?>(null);
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresOperatorApiTests(PostgresFixture postgres) : OperatorApiTests
{
    protected override async Task<string?> NewDatabaseAsync() => await postgres.Cluster.CreateDatabaseAsync();
}
