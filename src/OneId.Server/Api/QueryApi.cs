using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using OneId.Graph;
using OneId.Server.Configuration;
using OneId.Server.Security;
using OneId.Server.Tenants;

namespace OneId.Server.Api;

/// <summary>The query API: resolve, persons, observations, history, retract, erase, stats, keys.</summary>
public static class QueryApi
{
    public const int MaxBatch = 1000;

    public static IEndpointRouteBuilder MapQueryApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v1").WithTags("Query");
        api.MapGet("/resolve", ResolveAsync).RequireApiKey();
        api.MapPost("/resolve", ResolveManyAsync).RequireApiKey();
        api.MapGet("/persons/{id}", GetPersonAsync).RequireApiKey();
        api.MapGet("/persons/{id}/observations", GetObservationsAsync).RequireApiKey();
        api.MapGet("/persons/{id}/history", GetHistoryAsync).RequireApiKey();
        api.MapDelete("/persons/{id}/profile", EraseProfileAsync).RequireApiKey(admin: true).Audited("person.erase");
        api.MapPost("/observations/{id}/retract", RetractAsync).RequireApiKey(admin: true).Audited("observation.retract");
        api.MapGet("/stats", GetStatsAsync).RequireApiKey();
        api.MapPost("/keys", CreateKeyAsync).RequireApiKey(KeyPermission.Admin).WithTags("Keys").Audited("key.create");
        api.MapGet("/keys", ListKeysAsync).RequireApiKey(KeyPermission.Admin).WithTags("Keys");
        api.MapDelete("/keys/{id}", RevokeKeyAsync).RequireApiKey(KeyPermission.Admin).WithTags("Keys").Audited("key.revoke");
        return app;
    }

    private static HubTenant TenantOf(HttpContext http, TenantRegistry tenants) =>
        tenants.Get(http.Caller().Tenant) ?? throw new InvalidOperationException("the key's tenant is no longer configured");

    private static ProblemHttpResult? NeedInternal(Caller caller) =>
        caller.May(DataTier.Internal) ? null
            : Problems.Forbidden("Tier not allowed", "Person ids and WeChat ids are internal data; this key lacks the 'internal' tier.");

    internal static async Task<Results<Ok<PersonDocument>, ProblemHttpResult>> ResolveAsync(string? id, HttpContext http, TenantRegistry tenants, PersonReadCache cache, CancellationToken ct)
    {
        var caller = http.Caller();
        if (NeedInternal(caller) is { } denied)
        {
            return denied;
        }
        if (string.IsNullOrWhiteSpace(id))
        {
            return Problems.BadRequest("Missing id", "Pass ?id=type:namespace:value (e.g. openid:wx4f4bc4dec97d474b:oGZU…) or a person id p_123.");
        }
        var tenant = TenantOf(http, tenants);
        var version = await cache.VersionAsync(tenant, ct).ConfigureAwait(false);
        var (person, problem) = await LookupAsync(tenant, caller, id, cache, version, ct).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }
        return person is null
            ? Problems.NotFound("Unknown identifier", $"No person holds {id}.")
            : TypedResults.Ok(await DocumentAsync(tenant, person, caller, ct).ConfigureAwait(false));
    }

    /// <summary>
    /// The person's answer with its relationships (internal tier: they name ids). Relationships never come from the
    /// person cache (a follow or a WeCom deletion changes them without changing the graph): the relationship store
    /// keeps its own cache, by the relationships' own change token.
    /// </summary>
    internal static async Task<PersonDocument> DocumentAsync(HubTenant tenant, Person person, Caller caller, CancellationToken ct)
    {
        var document = PersonDocument.From(person, caller.Tiers);
        if (!caller.May(DataTier.Internal))
        {
            return document;
        }
        var relationships = await tenant.Relationships.GetAsync(person.Identifiers, ct).ConfigureAwait(false);
        return document.With(relationships, caller.Tiers);
    }

    private static async Task<(Person? Person, ProblemHttpResult? Problem)> LookupAsync(HubTenant tenant, Caller caller, string text,
        PersonReadCache cache, GraphVersion version, CancellationToken ct)
    {
        if (PersonId.TryParse(text, out var pid))
        {
            return (await cache.GetAsync(tenant, version, text, () => tenant.Graph.GetAsync(pid, ct)).ConfigureAwait(false), null);
        }
        if (!Identifier.TryParse(text, out var identifier, out var error))
        {
            return (null, Problems.BadRequest("Malformed identifier", error));
        }
        if (!caller.MaySee(identifier))
        {
            return (null, Problems.Forbidden("Tier not allowed", "Phone numbers are private data; this key lacks the 'private' tier."));
        }
        try
        {
            return (await cache.GetAsync(tenant, version, identifier.ToString(), () => tenant.Graph.FindAsync(identifier, ct)).ConfigureAwait(false), null);
        }
        catch (AmbiguousIdentifierException e)
        {
            return (null, Problems.Conflict("Ambiguous identifier", e.Message));
        }
    }

    internal static async Task<Results<Ok<ResolveBatchResponse>, ProblemHttpResult>> ResolveManyAsync(ResolveBatchRequest? request, HttpContext http, TenantRegistry tenants, PersonReadCache cache, CancellationToken ct)
    {
        var caller = http.Caller();
        if (NeedInternal(caller) is { } denied)
        {
            return denied;
        }
        if (request?.Ids is not { Count: > 0 } ids)
        {
            return Problems.BadRequest("No ids", "Send {\"ids\":[\"type:namespace:value\", …]} with 1 to 1000 ids.");
        }
        if (ids.Count > MaxBatch)
        {
            return Problems.BadRequest("Too many ids", $"{ids.Count} ids sent; send at most {MaxBatch} per request.");
        }
        // Check every id first: a batch with a malformed id is refused whole, naming the id, rather than half answered.
        for (var i = 0; i < ids.Count; i++)
        {
            if (!PersonId.TryParse(ids[i], out _) && !Identifier.TryParse(ids[i], out _, out var error))
            {
                return Problems.BadRequest("Malformed identifier", $"ids[{i}]: {error}");
            }
        }
        var tenant = TenantOf(http, tenants);
        var version = await cache.VersionAsync(tenant, ct).ConfigureAwait(false);
        var found = new List<(string Query, Person? Person, string? Error)>(ids.Count);
        foreach (var text in ids)
        {
            var (person, problem) = await LookupAsync(tenant, caller, text, cache, version, ct).ConfigureAwait(false);
            found.Add((text, person, problem?.ProblemDetails.Detail));
        }
        // One read of the relationships for the whole batch, handed out by identifier.
        var all = found.Where(f => f.Person is not null).SelectMany(f => f.Person!.Identifiers).Distinct().ToArray();
        var relationships = all.Length > 0 ? await tenant.Relationships.GetAsync(all, ct).ConfigureAwait(false) : PersonRelationships.None;
        var results = found.Select(f => new ResolveBatchItem(f.Query, f.Person is null ? null : PersonDocument.From(f.Person, caller.Tiers).With(Of(relationships, f.Person), caller.Tiers), f.Error)).ToList();
        return TypedResults.Ok(new ResolveBatchResponse(results));
    }

    private static PersonRelationships Of(PersonRelationships all, Person person)
    {
        if (all.Follows.Count == 0 && all.Contacts.Count == 0)
        {
            return all;
        }
        var held = person.Identifiers.ToHashSet();
        return new PersonRelationships(all.Follows.Where(f => held.Contains(f.OpenId)).ToArray(), all.Contacts.Where(c => held.Contains(c.ExternalUserId)).ToArray());
    }

    private static ProblemHttpResult BadPersonId(string id) =>
        Problems.BadRequest("Malformed person id", $"'{(id.Length > 40 ? id[..40] + "…" : id)}' is not a person id; person ids look like p_123.");

    private static ProblemHttpResult UnknownPerson(string id) => Problems.NotFound("Unknown person", $"No person or alias {id}.");

    internal static async Task<Results<Ok<PersonDocument>, ProblemHttpResult>> GetPersonAsync(string id, HttpContext http, TenantRegistry tenants, PersonReadCache cache, CancellationToken ct)
    {
        var caller = http.Caller();
        if (NeedInternal(caller) is { } denied)
        {
            return denied;
        }
        if (!PersonId.TryParse(id, out var pid))
        {
            return BadPersonId(id);
        }
        var tenant = TenantOf(http, tenants);
        var version = await cache.VersionAsync(tenant, ct).ConfigureAwait(false);
        var person = await cache.GetAsync(tenant, version, pid.ToString(), () => tenant.Graph.GetAsync(pid, ct)).ConfigureAwait(false);
        return person is null ? UnknownPerson(id) : TypedResults.Ok(await DocumentAsync(tenant, person, caller, ct).ConfigureAwait(false));
    }

    internal static Task<Results<Ok<ObservationView[]>, ProblemHttpResult>> GetObservationsAsync(string id, HttpContext http, TenantRegistry tenants, CancellationToken ct) =>
        ReadPersonAsync(id, http, tenants, async (graph, pid, caller) =>
            (await graph.GetObservationsAsync(pid, ct).ConfigureAwait(false)).Select(o => ObservationView.From(o, caller)).ToArray(), ct);

    internal static Task<Results<Ok<EventView[]>, ProblemHttpResult>> GetHistoryAsync(string id, HttpContext http, TenantRegistry tenants, CancellationToken ct) =>
        ReadPersonAsync(id, http, tenants, async (graph, pid, caller) =>
            (await graph.GetHistoryAsync(pid, ct).ConfigureAwait(false)).Select(e => EventView.From(e, caller)).ToArray(), ct);

    /// <summary>The checks every per-person read shares: tier, id shape, existence (ids and aliases alike).</summary>
    private static async Task<Results<Ok<T[]>, ProblemHttpResult>> ReadPersonAsync<T>(string id, HttpContext http, TenantRegistry tenants,
        Func<IGraphStore, PersonId, Caller, Task<T[]>> read, CancellationToken ct)
    {
        var caller = http.Caller();
        if (NeedInternal(caller) is { } denied)
        {
            return denied;
        }
        if (!PersonId.TryParse(id, out var pid))
        {
            return BadPersonId(id);
        }
        var graph = TenantOf(http, tenants).Graph;
        if (await graph.GetAsync(pid, ct).ConfigureAwait(false) is null)
        {
            return UnknownPerson(id);
        }
        return TypedResults.Ok(await read(graph, pid, caller).ConfigureAwait(false));
    }

    internal static async Task<Results<NoContent, ProblemHttpResult>> EraseProfileAsync(string id, HttpContext http, TenantRegistry tenants, CancellationToken ct)
    {
        if (!PersonId.TryParse(id, out var pid))
        {
            return BadPersonId(id);
        }
        var erased = await TenantOf(http, tenants).Graph.EraseProfileAsync(pid, ct).ConfigureAwait(false);
        return erased ? TypedResults.NoContent() : UnknownPerson(id);
    }

    internal static async Task<Results<Ok<RetractView>, ProblemHttpResult>> RetractAsync(string id, HttpContext http, TenantRegistry tenants, CancellationToken ct)
    {
        if (!ObservationId.TryParse(id, out var oid))
        {
            return Problems.BadRequest("Malformed observation id", "Observation ids are positive integers, as listed by GET /v1/persons/{id}/observations.");
        }
        try
        {
            var result = await TenantOf(http, tenants).Graph.RetractAsync(oid, ct).ConfigureAwait(false);
            return TypedResults.Ok(new RetractView(result.Observation.ToString(), result.Persons.Select(p => p.ToString()).ToArray()));
        }
        catch (UnknownObservationException)
        {
            return Problems.NotFound("Unknown observation", $"No observation {id}.");
        }
        catch (InvalidOperationException e)
        {
            // Rejected or already retracted: the request conflicts with the observation's state.
            return Problems.Conflict("Observation cannot be retracted", e.Message);
        }
    }

    /// <summary>The graph's counts and the relationships' (real followers, contacts, channels), with <paramref name="days"/> days (default 30) per day.</summary>
    internal static async Task<Results<Ok<StatsDocument>, ProblemHttpResult>> GetStatsAsync(int? days, HttpContext http, TenantRegistry tenants, TimeProvider time, CancellationToken ct)
    {
        if (days is < 0 or > 366)
        {
            return Problems.BadRequest("Bad days", "days must be 0 to 366 (default 30): how many days of new persons and followers per day to answer.");
        }
        var tenant = TenantOf(http, tenants);
        return TypedResults.Ok(await StatsDocument.ReadAsync(tenant.Graph, tenant.Relationships, days ?? 30, time.GetUtcNow(), ct).ConfigureAwait(false));
    }

    internal static async Task<Results<Created<CreateKeyResponse>, ProblemHttpResult>> CreateKeyAsync(CreateKeyRequest? request, HttpContext http, TenantRegistry tenants, ApiKeys keys, TimeProvider time, CancellationToken ct)
    {
        var caller = http.Caller();
        var names = request?.Tiers is { Count: > 0 } t ? t : ["internal"];
        var tiers = new HashSet<DataTier>();
        foreach (var name in names)
        {
            if (!Tiers.TryParse(name, out var tier))
            {
                return Problems.BadRequest("Unknown tier", $"'{name}' is not a tier; use public, internal or private.");
            }
            tiers.Add(tier);
        }
        tiers.Add(DataTier.Public);
        // An admin grants only what it holds: otherwise an 'internal' admin could mint itself a 'private' key.
        var notHeld = tiers.Where(x => x != DataTier.Public && !caller.May(x)).Order().Select(Tiers.Name).ToArray();
        if (notHeld.Length > 0)
        {
            return Problems.Forbidden("Tier not held", $"This key lacks the tier(s) {string.Join(", ", notHeld)}, so it cannot grant them; ask an admin whose key holds them.");
        }
        var permission = request?.Admin == true ? KeyPermission.Admin : KeyPermission.Read;
        foreach (var name in request?.Permissions ?? [])
        {
            if (!ApiKeys.TryParsePermission(name, out var p))
            {
                return Problems.BadRequest("Unknown permission", $"'{name}' is not a permission; use read, write or admin.");
            }
            permission = p > permission ? p : permission;
        }
        if (request?.Name is { } keyName && (keyName.Length > 100 || keyName.Any(char.IsControl)))
        {
            return Problems.BadRequest("Bad key name", "name must be at most 100 characters without control characters.");
        }
        var tenant = TenantOf(http, tenants);
        var (key, id) = await keys.CreateKeyAsync(tenant, request?.Name, tiers, permission, ct).ConfigureAwait(false);
        // The audit names the new key by its id, never the key itself.
        OperatorAudit.Note(http, $"key {id} ({string.Join(",", tiers.Order().Select(Tiers.Name))}; {string.Join(",", ApiKeys.PermissionNames(permission))})");
        return TypedResults.Created($"/v1/keys/{id}", new CreateKeyResponse(id, key, tenant.Name, request?.Name, tiers.Order().Select(Tiers.Name).ToArray(),
            ApiKeys.PermissionNames(permission), permission == KeyPermission.Admin, DateTimeOffset.FromUnixTimeMilliseconds(time.GetUtcNow().ToUnixTimeMilliseconds())));
    }

    internal static async Task<Ok<KeyListView>> ListKeysAsync(HttpContext http, TenantRegistry tenants, ApiKeys keys, CancellationToken ct) =>
        TypedResults.Ok(new KeyListView(await keys.ListAsync(TenantOf(http, tenants), ct).ConfigureAwait(false)));

    internal static async Task<Results<NoContent, ProblemHttpResult>> RevokeKeyAsync(string id, HttpContext http, TenantRegistry tenants, ApiKeys keys, CancellationToken ct) =>
        await keys.RevokeAsync(TenantOf(http, tenants), id, ct).ConfigureAwait(false)
            ? TypedResults.NoContent()
            : Problems.NotFound("Unknown key", $"This tenant has no live key with id '{FlowProblemsShorten(id)}' (GET /v1/keys lists them).");

    private static string FlowProblemsShorten(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
