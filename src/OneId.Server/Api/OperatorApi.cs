using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using OneId.Graph;
using OneId.Server.Application;
using OneId.Server.Security;
using OneId.Server.Tenants;

namespace OneId.Server.Api;

/// <summary>
/// The operator API: observations from the company's own systems, conflicts and their resolution, keep-apart
/// constraints, search, the event feed and the audit log. Endpoints translate HTTP; the graph decides.
/// </summary>
public static class OperatorApi
{
    public const int MaxObservations = 1000;

    public static IEndpointRouteBuilder MapOperatorApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v1").WithTags("Operator");
        api.MapPost("/observations", ObserveAsync).RequireApiKey(KeyPermission.Write).Audited("observations.add");
        api.MapGet("/conflicts", ListConflictsAsync).RequireApiKey();
        api.MapGet("/conflicts/{id}", GetConflictAsync).RequireApiKey();
        api.MapPost("/conflicts/{id}/resolve", ResolveConflictAsync).RequireApiKey(admin: true).Audited("conflict.resolve");
        api.MapGet("/persons", SearchAsync).RequireApiKey();
        api.MapGet("/persons/{id}/keep-apart", GetKeptApartAsync).RequireApiKey();
        api.MapPost("/persons/{id}/keep-apart", KeepApartAsync).RequireApiKey(admin: true).Audited("person.keep_apart");
        api.MapDelete("/persons/{id}/keep-apart", LiftKeepApartAsync).RequireApiKey(admin: true).Audited("person.lift_keep_apart");
        api.MapGet("/events", ReadEventsAsync).RequireApiKey();
        api.MapGet("/audit", ReadAuditAsync).RequireApiKey(admin: true);
        api.MapGet("/stats/growth", GrowthAsync).RequireApiKey();
        return app;
    }

    private static HubTenant TenantOf(HttpContext http, TenantRegistry tenants) =>
        tenants.Get(http.Caller().Tenant) ?? throw new InvalidOperationException("the key's tenant is no longer configured");

    private static ProblemHttpResult? NeedInternal(Caller caller) =>
        caller.May(DataTier.Internal) ? null
            : Problems.Forbidden("Tier not allowed", "Person ids and WeChat ids are internal data; this key lacks the 'internal' tier.");

    // ---- observations

    internal static async Task<Results<Ok<ObserveBatchResponse>, ProblemHttpResult>> ObserveAsync(JsonElement? body, HttpContext http, TenantRegistry tenants,
        GraphWriter writer, TimeProvider time, CancellationToken ct)
    {
        if (body is not { ValueKind: JsonValueKind.Object } root || !root.TryGetProperty("observations", out var list) || list.ValueKind != JsonValueKind.Array
            || list.GetArrayLength() == 0)
        {
            return Problems.BadRequest("No observations", "Send {\"observations\":[{\"ids\":[\"type:namespace:value\", …],\"source\":\"crm\",\"at\":\"…\",\"profile\":{…}}, …]} with 1 to 1000 items.");
        }
        if (list.GetArrayLength() > MaxObservations)
        {
            return Problems.BadRequest("Too many observations", $"{list.GetArrayLength()} observations sent; send at most {MaxObservations} per request.");
        }
        var now = time.GetUtcNow();
        var observations = new List<Observation>(list.GetArrayLength());
        var errors = new List<string>();
        var index = 0;
        foreach (var item in list.EnumerateArray())
        {
            // The same line format and rules as `oneid import`: one parser for both.
            if (ObservationLine.TryRead(item, now, out var observation, out var error))
            {
                observations.Add(observation);
            }
            else if (errors.Count < 20)
            {
                errors.Add($"observations[{index}]: {error}");
            }
            index++;
        }
        if (errors.Count > 0)
        {
            // Refused whole, naming each bad item: nothing of a batch with a bad item is applied.
            return Problems.BadRequest("Invalid observations", string.Join("; ", errors));
        }
        var caller = http.Caller();
        var tenant = TenantOf(http, tenants);
        var graph = tenant.Graph;
        var results = await writer.RecordPageAsync(tenant, observations, ct).ConfigureAwait(false);
        OperatorAudit.Note(http, $"{results.Count(r => r.Outcome == ObserveOutcome.Accepted && !r.AlreadyApplied)} accepted, {results.Count(r => r.Outcome == ObserveOutcome.Rejected && !r.AlreadyApplied)} rejected, {results.Count(r => r.Outcome == ObserveOutcome.LinkedNothing && !r.AlreadyApplied)} linked nothing"
            + (results.Count(r => r.AlreadyApplied) is > 0 and var retried ? $", {retried} already applied" : ""));
        var seesIds = caller.May(DataTier.Internal);
        var items = new ObserveItemView[results.Count];
        for (var i = 0; i < results.Count; i++)
        {
            var r = results[i];
            var conflicts = r.Conflicts;
            if (r.AlreadyApplied && r.Outcome == ObserveOutcome.Rejected && seesIds
                && await graph.GetConflictAsync(r.Observation, ct).ConfigureAwait(false) is { } conflict)
            {
                // A retry (same "id") answers what the first request answered: the conflict as it was recorded then.
                conflicts = conflict.Disputes;
            }
            items[i] = new ObserveItemView(i, Outcome(r.Outcome), seesIds ? r.Observation.ToString() : null, seesIds ? r.Person?.ToString() : null,
                r.NewPerson, seesIds ? conflicts.Select(c => c.ToString()).ToArray() : [], r.AlreadyApplied);
        }
        return TypedResults.Ok(new ObserveBatchResponse(items));
    }

    private static string Outcome(ObserveOutcome o) => o switch
    {
        ObserveOutcome.Accepted => "accepted",
        ObserveOutcome.Rejected => "rejected",
        _ => "linked_nothing",
    };

    // ---- conflicts

    internal static async Task<Results<Ok<ConflictPageView>, ProblemHttpResult>> ListConflictsAsync(int? offset, int? limit, HttpContext http, TenantRegistry tenants, CancellationToken ct)
    {
        var caller = http.Caller();
        if (NeedInternal(caller) is { } denied)
        {
            return denied;
        }
        if (offset is < 0 || limit is < 1 or > 500)
        {
            return Problems.BadRequest("Bad page", "offset must be 0 or more and limit 1 to 500 (default 50).");
        }
        var page = await TenantOf(http, tenants).Graph.GetConflictsAsync(offset ?? 0, limit ?? 50, ct).ConfigureAwait(false);
        return TypedResults.Ok(new ConflictPageView(page.Items.Select(c => ConflictView.From(c, caller)).ToArray(), page.Open, page.Total, offset ?? 0, limit ?? 50));
    }

    private static ProblemHttpResult BadConflictId() =>
        Problems.BadRequest("Malformed conflict id", "A conflict's id is the id of its rejected observation, a positive integer, as listed by GET /v1/conflicts.");

    internal static async Task<Results<Ok<ConflictView>, ProblemHttpResult>> GetConflictAsync(string id, HttpContext http, TenantRegistry tenants, CancellationToken ct)
    {
        var caller = http.Caller();
        if (NeedInternal(caller) is { } denied)
        {
            return denied;
        }
        if (!ObservationId.TryParse(id, out var oid))
        {
            return BadConflictId();
        }
        var conflict = await TenantOf(http, tenants).Graph.GetConflictAsync(oid, ct).ConfigureAwait(false);
        return conflict is null ? Problems.NotFound("Unknown conflict", $"Observation {id} is not a conflict.") : TypedResults.Ok(ConflictView.From(conflict, caller));
    }

    internal static async Task<Results<Ok<ResolutionView>, ProblemHttpResult>> ResolveConflictAsync(string id, ResolveConflictRequest? request, HttpContext http,
        TenantRegistry tenants, CancellationToken ct)
    {
        if (!ObservationId.TryParse(id, out var oid))
        {
            return BadConflictId();
        }
        var action = request?.Action switch
        {
            "dismiss" => ConflictAction.Dismiss,
            "apply" => (ConflictAction?)ConflictAction.Apply,
            _ => null,
        };
        if (action is null)
        {
            return Problems.BadRequest("Unknown action", "Send {\"action\":\"dismiss\"} to keep the observation rejected, or {\"action\":\"apply\"} to retract what stands in its way and apply it (optionally {\"retract\":[\"17\"]} to name the observations to retract).");
        }
        var retract = new List<ObservationId>();
        foreach (var r in request!.Retract ?? [])
        {
            if (!ObservationId.TryParse(r, out var o))
            {
                return Problems.BadRequest("Malformed observation id", $"retract: '{r}' is not an observation id.");
            }
            retract.Add(o);
        }
        if (action == ConflictAction.Dismiss && retract.Count > 0)
        {
            return Problems.BadRequest("Nothing to retract", "A dismissal retracts nothing; leave out \"retract\" or use \"apply\".");
        }
        var tenant = TenantOf(http, tenants);
        try
        {
            var resolution = await tenant.Graph.ResolveConflictAsync(oid, action.Value, retract, ct).ConfigureAwait(false);
            OperatorAudit.Note(http, resolution.Applied is { } a
                ? $"applied as observation {a.Observation}; retracted {string.Join(", ", resolution.Retractions.Select(r => r.Observation))}"
                : "dismissed");
            var caller = http.Caller();
            return TypedResults.Ok(new ResolutionView(ConflictView.From(resolution.Conflict, caller),
                resolution.Applied?.Person?.ToString(), resolution.Retractions.SelectMany(r => r.Persons).Select(p => p.ToString()).Distinct().ToArray()));
        }
        catch (UnknownConflictException)
        {
            return Problems.NotFound("Unknown conflict", $"Observation {id} is not a conflict.");
        }
        catch (ConflictNotResolvableException e)
        {
            return Problems.Conflict("Conflict not resolvable this way", e.Message);
        }
    }

    // ---- keep apart

    private static ProblemHttpResult BadPersonId(string id) =>
        Problems.BadRequest("Malformed person id", $"'{(id.Length > 40 ? id[..40] + "…" : id)}' is not a person id; person ids look like p_123.");

    internal static async Task<Results<Ok<KeptApartView>, ProblemHttpResult>> GetKeptApartAsync(string id, HttpContext http, TenantRegistry tenants, CancellationToken ct)
    {
        if (NeedInternal(http.Caller()) is { } denied)
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
            return Problems.NotFound("Unknown person", $"No person or alias {id}.");
        }
        return TypedResults.Ok(new KeptApartView(id, (await graph.GetKeptApartAsync(pid, ct).ConfigureAwait(false)).Select(p => p.ToString()).ToArray()));
    }

    internal static Task<Results<Ok<KeptApartView>, ProblemHttpResult>> KeepApartAsync(string id, KeepApartRequest? request, HttpContext http, TenantRegistry tenants, CancellationToken ct) =>
        ChangeKeepApartAsync(id, request?.Other, keep: true, http, tenants, ct);

    internal static Task<Results<Ok<KeptApartView>, ProblemHttpResult>> LiftKeepApartAsync(string id, string? other, HttpContext http, TenantRegistry tenants, CancellationToken ct) =>
        ChangeKeepApartAsync(id, other, keep: false, http, tenants, ct);

    private static async Task<Results<Ok<KeptApartView>, ProblemHttpResult>> ChangeKeepApartAsync(string id, string? other, bool keep, HttpContext http, TenantRegistry tenants, CancellationToken ct)
    {
        if (!PersonId.TryParse(id, out var pid))
        {
            return BadPersonId(id);
        }
        if (string.IsNullOrEmpty(other))
        {
            return Problems.BadRequest("Missing other person", keep
                ? "Send {\"other\":\"p_…\"}: the person to keep apart from this one."
                : "Pass ?other=p_…: the person this one is no longer kept apart from.");
        }
        if (!PersonId.TryParse(other, out var oid))
        {
            return BadPersonId(other);
        }
        var graph = TenantOf(http, tenants).Graph;
        try
        {
            if (keep)
            {
                OperatorAudit.Note(http, await graph.KeepApartAsync(pid, oid, ct).ConfigureAwait(false) ? "added" : "already held");
            }
            else if (!await graph.LiftKeepApartAsync(pid, oid, ct).ConfigureAwait(false))
            {
                return Problems.NotFound("Not kept apart", $"{id} and {other} are not kept apart.");
            }
        }
        catch (UnknownPersonException e)
        {
            return Problems.NotFound("Unknown person", $"No person or alias {e.Person}.");
        }
        catch (InvalidOperationException e)
        {
            return Problems.Conflict("Already one person", e.Message);
        }
        return TypedResults.Ok(new KeptApartView(id, (await graph.GetKeptApartAsync(pid, ct).ConfigureAwait(false)).Select(p => p.ToString()).ToArray()));
    }

    // ---- search

    internal static async Task<Results<Ok<SearchView>, ProblemHttpResult>> SearchAsync(string? q, int? limit, HttpContext http, TenantRegistry tenants, CancellationToken ct)
    {
        var caller = http.Caller();
        if (NeedInternal(caller) is { } denied)
        {
            return denied;
        }
        if (string.IsNullOrWhiteSpace(q) || q.Length > 300)
        {
            return Problems.BadRequest("Missing query", "Pass ?q= an identifier (type:namespace:value), the start of an identifier or of its value, a person id or alias; phones and nicknames need the 'private' tier.");
        }
        if (limit is < 1 or > 100)
        {
            return Problems.BadRequest("Bad limit", "limit must be 1 to 100 (default 20).");
        }
        var hits = await TenantOf(http, tenants).Graph.SearchAsync(q, caller.May(DataTier.Private), limit ?? 20, ct).ConfigureAwait(false);
        return TypedResults.Ok(new SearchView(q, hits.Select(h => new SearchHitView(
            PersonDocument.From(h.Person, caller.Tiers),
            // What matched is shown only when the caller may see it (a phone is private).
            Identifier.TryParse(h.Matched, out var matched, out _) && !caller.MaySee(matched) ? null : h.Matched)).ToArray()));
    }

    // ---- event feed

    internal static async Task<Results<Ok<EventFeedView>, ProblemHttpResult>> ReadEventsAsync(long? after, int? limit, HttpContext http, TenantRegistry tenants, CancellationToken ct)
    {
        var caller = http.Caller();
        if (NeedInternal(caller) is { } denied)
        {
            return denied;
        }
        if (after is < 0 || limit is < 1 or > 1000)
        {
            return Problems.BadRequest("Bad page", "after must be 0 or more (the last sequence you have) and limit 1 to 1000 (default 100).");
        }
        var tenant = TenantOf(http, tenants);
        var events = await tenant.Graph.ReadEventsAsync(after ?? 0, limit ?? 100, ct).ConfigureAwait(false);
        // The same documents the webhooks deliver, so a system can switch between push and pull.
        var documents = events.Where(e => e.WebhookName is not null).Select(e => WebhookDocument.From(tenant.Name, e, caller.Tiers)).ToArray();
        return TypedResults.Ok(new EventFeedView(documents, events.Count > 0 ? events[^1].Sequence : after ?? 0));
    }

    // ---- growth

    internal static async Task<Results<Ok<GrowthView>, ProblemHttpResult>> GrowthAsync(int? days, HttpContext http, TenantRegistry tenants, TimeProvider time, CancellationToken ct)
    {
        if (days is < 1 or > 366)
        {
            return Problems.BadRequest("Bad days", "days must be 1 to 366 (default 30).");
        }
        var today = time.GetUtcNow().UtcDateTime.Date;
        var since = new DateTimeOffset(today.AddDays(1 - (days ?? 30)), TimeSpan.Zero);
        var growth = await TenantOf(http, tenants).Graph.GetGrowthAsync(since, ct).ConfigureAwait(false);
        return TypedResults.Ok(new GrowthView(growth.Select(d => new DayView(d.Day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), d.Persons)).ToArray()));
    }

    // ---- audit

    internal static async Task<Results<Ok<AuditView>, ProblemHttpResult>> ReadAuditAsync(long? before, int? limit, HttpContext http, TenantRegistry tenants, CancellationToken ct)
    {
        if (before is < 1 || limit is < 1 or > 500)
        {
            return Problems.BadRequest("Bad page", "before must be a sequence from an earlier page and limit 1 to 500 (default 100).");
        }
        var entries = await TenantOf(http, tenants).Audit.ReadAsync(before, limit ?? 100, ct).ConfigureAwait(false);
        return TypedResults.Ok(new AuditView(entries.Select(e => new AuditEntryView(e.Sequence, e.At, e.KeyId, e.Action, e.Target, e.Status, e.Detail)).ToArray()));
    }
}
