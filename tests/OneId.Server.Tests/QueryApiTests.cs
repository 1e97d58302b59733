using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using OneId.Graph;
using Xunit;

namespace OneId.Server.Tests;

public sealed class QueryApiTests : IAsyncLifetime
{
    private const string OpenIdA = "oOpenIdAAAAAAAAAAAAAAAAAAAAA";
    private const string OpenIdB = "oOpenIdBBBBBBBBBBBBBBBBBBBBB";
    private const string UnionId = "oUnionIdUUUUUUUUUUUUUUUUUUUU";
    private TestHub _hub = null!;

    public async Task InitializeAsync() => _hub = await TestHub.StartAsync();

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    private static Identifier Id(string text) => Identifier.Parse(text);

    private async Task<ObserveResult> ObserveAsync(params string[] ids) =>
        await _hub.Graph().ObserveAsync(new Observation(ids.Select(Id), "test", DateTimeOffset.UtcNow,
            [ProfilePolicy.Attribute("nickname", "Alice")]), CancellationToken.None);

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage r) => await r.Content.ReadFromJsonAsync<JsonElement>();

    private static async Task<JsonElement> ShouldBeProblemAsync(HttpResponseMessage r, HttpStatusCode status)
    {
        r.StatusCode.Should().Be(status);
        r.Content.Headers.ContentType?.MediaType.Should().Be("application/problem+json");
        var json = await JsonAsync(r);
        json.GetProperty("title").GetString().Should().NotBeNullOrWhiteSpace();
        json.GetProperty("status").GetInt32().Should().Be((int)status);
        return json;
    }

    [Fact]
    public async Task Healthz_and_openapi_need_no_key()
    {
        var health = await _hub.Client.GetAsync("/healthz");
        health.StatusCode.Should().Be(HttpStatusCode.OK);
        (await JsonAsync(health)).GetProperty("status").GetString().Should().Be("ok");

        var doc = await _hub.Client.GetStringAsync("/openapi/v1.json");
        doc.Should().Contain("/v1/resolve").And.Contain("/v1/persons/{id}").And.Contain("/v1/keys");
    }

    [Fact]
    public async Task Missing_or_unknown_key_is_401_problem_without_echoing_the_key()
    {
        await ShouldBeProblemAsync(await _hub.Client.GetAsync("/v1/stats"), HttpStatusCode.Unauthorized);
        using var wrong = _hub.ClientWithKey("oneid.acme.not-a-real-key-secret");
        var r = await wrong.GetAsync("/v1/stats");
        await ShouldBeProblemAsync(r, HttpStatusCode.Unauthorized);
        (await r.Content.ReadAsStringAsync()).Should().NotContain("not-a-real-key-secret");
    }

    [Fact]
    public async Task Keys_are_created_by_admins_only_and_validate_tiers()
    {
        var key = await _hub.CreateKeyAsync(["internal"]);
        key.Should().StartWith("oneid.acme.");
        using var plain = _hub.ClientWithKey(key);
        await ShouldBeProblemAsync(await plain.PostAsJsonAsync("/v1/keys", new { tiers = new[] { "internal" } }), HttpStatusCode.Forbidden);
        using var admin = _hub.Admin();
        await ShouldBeProblemAsync(await admin.PostAsJsonAsync("/v1/keys", new { tiers = new[] { "secret" } }), HttpStatusCode.BadRequest);
        var created = await admin.PostAsJsonAsync("/v1/keys", new { tiers = new[] { "internal", "private" }, admin = true });
        created.StatusCode.Should().Be(HttpStatusCode.Created);
        var json = await JsonAsync(created);
        json.GetProperty("admin").GetBoolean().Should().BeTrue();
        json.GetProperty("tiers").EnumerateArray().Select(t => t.GetString()).Should().Equal("public", "internal", "private");
    }

    [Fact]
    public async Task Resolve_filters_by_tier()
    {
        var created = await ObserveAsync($"openid:{TestHub.OaAppId}:{OpenIdA}", $"unionid:acme:{UnionId}", "phone::+8613800000000");
        var id = created.Person!.Value.ToString();

        using var internalOnly = _hub.ClientWithKey(await _hub.CreateKeyAsync(["internal"]));
        var r = await internalOnly.GetAsync($"/v1/resolve?id=openid:{TestHub.OaAppId}:{OpenIdA}");
        r.StatusCode.Should().Be(HttpStatusCode.OK);
        var person = await JsonAsync(r);
        person.GetProperty("id").GetString().Should().Be(id);
        person.GetProperty("identifiers").EnumerateArray().Select(i => i.GetString()).Should()
            .BeEquivalentTo($"openid:{TestHub.OaAppId}:{OpenIdA}", $"unionid:acme:{UnionId}");
        person.TryGetProperty("profile", out _).Should().BeFalse("a key without private gets no profile");

        using var withPrivate = _hub.ClientWithKey(await _hub.CreateKeyAsync(["internal", "private"]));
        var full = await JsonAsync(await withPrivate.GetAsync($"/v1/resolve?id=unionid:acme:{UnionId}"));
        full.GetProperty("identifiers").EnumerateArray().Select(i => i.GetString()).Should().Contain("phone::+8613800000000");
        full.GetProperty("profile").GetProperty("nickname").GetString().Should().Be("Alice");
        (await JsonAsync(await withPrivate.GetAsync("/v1/resolve?id=phone::%2B8613800000000"))).GetProperty("id").GetString().Should().Be(id);

        await ShouldBeProblemAsync(await internalOnly.GetAsync("/v1/resolve?id=phone::%2B8613800000000"), HttpStatusCode.Forbidden);
        using var publicOnly = _hub.ClientWithKey(await _hub.CreateKeyAsync(["public"]));
        await ShouldBeProblemAsync(await publicOnly.GetAsync($"/v1/resolve?id=unionid:acme:{UnionId}"), HttpStatusCode.Forbidden);
        // by person id too
        (await JsonAsync(await internalOnly.GetAsync($"/v1/resolve?id={id}"))).GetProperty("id").GetString().Should().Be(id);
    }

    [Theory]
    [InlineData("/v1/resolve", HttpStatusCode.BadRequest)]
    [InlineData("/v1/resolve?id=", HttpStatusCode.BadRequest)]
    [InlineData("/v1/resolve?id=openid:wx1111111111111111:null", HttpStatusCode.BadRequest)]
    [InlineData("/v1/resolve?id=email::a@b.c", HttpStatusCode.BadRequest)]
    [InlineData("/v1/resolve?id=openid:notanappid:oAAAAAAAAAAAAAAA", HttpStatusCode.BadRequest)]
    [InlineData("/v1/resolve?id=openid:wx1111111111111111:oNobodyNobodyNobodyNobody123", HttpStatusCode.NotFound)]
    [InlineData("/v1/persons/123", HttpStatusCode.BadRequest)]
    [InlineData("/v1/persons/p_999999", HttpStatusCode.NotFound)]
    [InlineData("/v1/persons/p_999999/observations", HttpStatusCode.NotFound)]
    [InlineData("/v1/persons/p_x/history", HttpStatusCode.BadRequest)]
    [InlineData("/v1/nowhere", HttpStatusCode.NotFound)]
    public async Task Bad_and_unknown_queries_are_problems(string url, HttpStatusCode status)
    {
        using var admin = _hub.Admin();
        await ShouldBeProblemAsync(await admin.GetAsync(url), status);
    }

    [Fact]
    public async Task Batch_resolve_answers_each_id_and_refuses_bad_batches()
    {
        await ObserveAsync($"openid:{TestHub.OaAppId}:{OpenIdA}", $"unionid:acme:{UnionId}");
        using var admin = _hub.Admin();
        var r = await admin.PostAsJsonAsync("/v1/resolve", new { ids = new[] { $"openid:{TestHub.OaAppId}:{OpenIdA}", $"openid:{TestHub.OaAppId}:{OpenIdB}" } });
        r.StatusCode.Should().Be(HttpStatusCode.OK);
        var results = (await JsonAsync(r)).GetProperty("results").EnumerateArray().ToArray();
        results.Should().HaveCount(2);
        results[0].GetProperty("person").GetProperty("identifiers").GetArrayLength().Should().Be(2);
        results[1].GetProperty("person").ValueKind.Should().Be(JsonValueKind.Null);

        await ShouldBeProblemAsync(await admin.PostAsJsonAsync("/v1/resolve", new { ids = Enumerable.Range(0, 1001).Select(i => $"account:shop:{i}") }), HttpStatusCode.BadRequest);
        var bad = await admin.PostAsJsonAsync("/v1/resolve", new { ids = new[] { $"openid:{TestHub.OaAppId}:{OpenIdA}", "undefined" } });
        (await ShouldBeProblemAsync(bad, HttpStatusCode.BadRequest)).GetProperty("detail").GetString().Should().Contain("ids[1]");
        await ShouldBeProblemAsync(await admin.PostAsJsonAsync("/v1/resolve", new { ids = Array.Empty<string>() }), HttpStatusCode.BadRequest);
        await ShouldBeProblemAsync(await admin.PostAsync("/v1/resolve", new StringContent("{\"ids\": [", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest);
        await ShouldBeProblemAsync(await admin.PostAsync("/v1/resolve", new StringContent("{\"ids\": 5}", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest);
        (await admin.PostAsync("/v1/resolve", new StringContent("ids", Encoding.UTF8, "text/plain"))).StatusCode.Should().Be(HttpStatusCode.UnsupportedMediaType);
        var huge = "{\"ids\":[" + string.Join(',', Enumerable.Repeat("\"account:shop:" + new string('x', 200) + "\"", 6000)) + "]}";
        // Expect: 100-continue, so the 413 comes before the body is sent: without it the server may close the
        // connection while the client is still writing 1.3 MB, and the client sees a broken pipe instead of the answer.
        using var oversize = new HttpRequestMessage(HttpMethod.Post, "/v1/resolve") { Content = new StringContent(huge, Encoding.UTF8, "application/json") };
        oversize.Headers.ExpectContinue = true;
        await ShouldBeProblemAsync(await admin.SendAsync(oversize), HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task Persons_resolve_by_alias_and_show_observations_and_history()
    {
        var a = await ObserveAsync($"openid:{TestHub.OaAppId}:{OpenIdA}");
        var b = await ObserveAsync($"openid:{TestHub.MpAppId}:{OpenIdB}");
        await ObserveAsync($"openid:{TestHub.OaAppId}:{OpenIdA}", $"openid:{TestHub.MpAppId}:{OpenIdB}", $"unionid:acme:{UnionId}");
        using var admin = _hub.Admin();
        var person = await JsonAsync(await admin.GetAsync($"/v1/persons/{b.Person}"));
        person.GetProperty("id").GetString().Should().Be(a.Person.ToString());
        person.GetProperty("aliases").EnumerateArray().Select(x => x.GetString()).Should().Equal(b.Person.ToString());

        var observations = (await JsonAsync(await admin.GetAsync($"/v1/persons/{a.Person}/observations"))).EnumerateArray().ToArray();
        observations.Should().HaveCount(3);
        observations[2].GetProperty("ids").GetArrayLength().Should().Be(3);
        observations[2].GetProperty("source").GetString().Should().Be("test");
        observations[2].TryGetProperty("at", out _).Should().BeTrue();

        var history = (await JsonAsync(await admin.GetAsync($"/v1/persons/{a.Person}/history"))).EnumerateArray().Select(e => e.GetProperty("kind").GetString()).ToArray();
        history.Should().Contain(["created", "merged", "linked"]);
    }

    [Fact]
    public async Task Retract_splits_and_is_admin_only()
    {
        await ObserveAsync($"openid:{TestHub.OaAppId}:{OpenIdA}");
        await ObserveAsync($"openid:{TestHub.MpAppId}:{OpenIdB}");
        var link = await ObserveAsync($"openid:{TestHub.OaAppId}:{OpenIdA}", $"openid:{TestHub.MpAppId}:{OpenIdB}");
        using var reader = _hub.ClientWithKey(await _hub.CreateKeyAsync(["internal"]));
        await ShouldBeProblemAsync(await reader.PostAsync($"/v1/observations/{link.Observation}/retract", null), HttpStatusCode.Forbidden);

        using var admin = _hub.Admin();
        var r = await admin.PostAsync($"/v1/observations/{link.Observation}/retract", null);
        r.StatusCode.Should().Be(HttpStatusCode.OK);
        (await JsonAsync(r)).GetProperty("persons").GetArrayLength().Should().Be(2);
        var a = await JsonAsync(await admin.GetAsync($"/v1/resolve?id=openid:{TestHub.OaAppId}:{OpenIdA}"));
        var b = await JsonAsync(await admin.GetAsync($"/v1/resolve?id=openid:{TestHub.MpAppId}:{OpenIdB}"));
        a.GetProperty("id").GetString().Should().NotBe(b.GetProperty("id").GetString());

        await ShouldBeProblemAsync(await admin.PostAsync($"/v1/observations/{link.Observation}/retract", null), HttpStatusCode.Conflict);
        await ShouldBeProblemAsync(await admin.PostAsync("/v1/observations/999999/retract", null), HttpStatusCode.NotFound);
        await ShouldBeProblemAsync(await admin.PostAsync("/v1/observations/abc/retract", null), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Erasing_a_profile_keeps_ids_and_drops_private_data()
    {
        var created = await ObserveAsync($"openid:{TestHub.OaAppId}:{OpenIdA}", "phone::+8613800000001");
        using var admin = _hub.Admin();
        using var reader = _hub.ClientWithKey(await _hub.CreateKeyAsync(["internal"]));
        await ShouldBeProblemAsync(await reader.DeleteAsync($"/v1/persons/{created.Person}/profile"), HttpStatusCode.Forbidden);
        (await admin.DeleteAsync($"/v1/persons/{created.Person}/profile")).StatusCode.Should().Be(HttpStatusCode.NoContent);
        var person = await JsonAsync(await admin.GetAsync($"/v1/persons/{created.Person}"));
        person.GetProperty("identifiers").EnumerateArray().Select(i => i.GetString()).Should().Equal($"openid:{TestHub.OaAppId}:{OpenIdA}");
        person.GetProperty("profile").EnumerateObject().Should().BeEmpty();
        await ShouldBeProblemAsync(await admin.DeleteAsync("/v1/persons/p_424242/profile"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Repeated_resolves_never_miss_a_write()
    {
        var first = await ObserveAsync($"openid:{TestHub.OaAppId}:{OpenIdA}");
        using var admin = _hub.Admin();
        var url = $"/v1/resolve?id=openid:{TestHub.OaAppId}:{OpenIdA}";
        (await JsonAsync(await admin.GetAsync(url))).GetProperty("identifiers").GetArrayLength().Should().Be(1);
        (await JsonAsync(await admin.GetAsync(url))).GetProperty("identifiers").GetArrayLength().Should().Be(1);
        var link = await ObserveAsync($"openid:{TestHub.OaAppId}:{OpenIdA}", $"unionid:acme:{UnionId}");
        (await JsonAsync(await admin.GetAsync(url))).GetProperty("identifiers").GetArrayLength().Should().Be(2);
        (await admin.PostAsync($"/v1/observations/{link.Observation}/retract", null)).StatusCode.Should().Be(HttpStatusCode.OK);
        (await JsonAsync(await admin.GetAsync(url))).GetProperty("identifiers").GetArrayLength().Should().Be(1);
        (await admin.PostAsync($"/v1/observations/{first.Observation}/retract", null)).StatusCode.Should().Be(HttpStatusCode.OK);
        await ShouldBeProblemAsync(await admin.GetAsync(url), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Stats_count_the_tenant()
    {
        await ObserveAsync($"openid:{TestHub.OaAppId}:{OpenIdA}", $"unionid:acme:{UnionId}");
        await ObserveAsync($"openid:{TestHub.OaAppId}:{OpenIdB}");
        using var admin = _hub.Admin();
        var stats = await JsonAsync(await admin.GetAsync("/v1/stats"));
        stats.GetProperty("persons").GetInt64().Should().Be(2);
        stats.GetProperty("observations").GetInt64().Should().Be(2);
        stats.GetProperty("identifiers").GetInt64().Should().Be(3);
        stats.GetProperty("conflicts").GetInt64().Should().Be(0);
    }

    [Fact]
    public async Task Nothing_crosses_tenants()
    {
        var acme = await ObserveAsync($"openid:{TestHub.OaAppId}:{OpenIdA}");
        // The bootstrap key belongs to acme; make an admin of beta through the beta tenant's own store.
        var registry = (OneId.Server.Tenants.TenantRegistry)_hub.App.Services.GetService(typeof(OneId.Server.Tenants.TenantRegistry))!;
        var keys = (OneId.Server.Security.ApiKeys)_hub.App.Services.GetService(typeof(OneId.Server.Security.ApiKeys))!;
        var betaKey = await keys.CreateAsync(registry.Get("beta")!, [DataTier.Public, DataTier.Internal, DataTier.Private], true, CancellationToken.None);
        using var beta = _hub.ClientWithKey(betaKey);
        await ShouldBeProblemAsync(await beta.GetAsync($"/v1/persons/{acme.Person}"), HttpStatusCode.NotFound);
        await ShouldBeProblemAsync(await beta.GetAsync($"/v1/resolve?id=openid:{TestHub.OaAppId}:{OpenIdA}"), HttpStatusCode.NotFound);
        (await JsonAsync(await beta.GetAsync("/v1/stats"))).GetProperty("persons").GetInt64().Should().Be(0);
    }
}
