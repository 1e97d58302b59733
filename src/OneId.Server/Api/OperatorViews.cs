using System.Text.Json.Serialization;
using OneId.Graph;
using OneId.Server.Security;
using OneId.Server.Webhooks;

namespace OneId.Server.Api;

public sealed record ObserveItemView(
    int Index,
    string Outcome,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Observation,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Person,
    bool NewPerson,
    IReadOnlyList<string> Conflicts,
    bool AlreadyApplied);

public sealed record ObserveBatchResponse(IReadOnlyList<ObserveItemView> Results);

public sealed record DisputeView(string Type, string Namespace, IReadOnlyList<string> Values, IReadOnlyList<string> Persons, string Text);

/// <summary>A conflict: the rejected observation, what it disputes, the persons concerned and what stands in its way.</summary>
public sealed record ConflictView(
    string Id,
    string State,
    ObservationView Observation,
    IReadOnlyList<DisputeView> Disputes,
    IReadOnlyList<string> Persons,
    IReadOnlyList<string> StandingInTheWay,
    DateTimeOffset? ResolvedAt,
    string? AppliedAs,
    IReadOnlyList<string> Retracted)
{
    public static ConflictView From(ConflictRecord c, Caller caller)
    {
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(caller);
        return new ConflictView(
            c.Id.ToString(),
            c.State.ToString().ToLowerInvariant(),
            ObservationView.From(c.Observation, caller),
            c.Disputes.Select(d => new DisputeView(d.Type, d.Namespace,
                // A disputed value is an identifier value: a phone's is private, the rest internal.
                IdentifierType.TryFromName(d.Type, out var t) && !t.IsExclusive && !caller.May(DataTier.Private) ? [] : d.Values,
                d.Persons.Select(p => p.ToString()).ToArray(), d.ToString())).ToArray(),
            c.Persons.Select(p => p.ToString()).ToArray(),
            c.StandingInTheWay.Select(o => o.ToString()).ToArray(),
            c.ResolvedAt,
            c.AppliedAs?.ToString(),
            c.Retracted.Select(o => o.ToString()).ToArray());
    }
}

public sealed record ConflictPageView(IReadOnlyList<ConflictView> Items, long Open, long Total, int Offset, int Limit);

public sealed record ResolveConflictRequest(string? Action, IReadOnlyList<string>? Retract);

public sealed record ResolutionView(ConflictView Conflict, string? Person, IReadOnlyList<string> RecomputedPersons);

public sealed record KeepApartRequest(string? Other);

public sealed record KeptApartView(string Person, IReadOnlyList<string> KeptApartFrom);

public sealed record SearchHitView(PersonDocument Person, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Matched);

public sealed record SearchView(string Query, IReadOnlyList<SearchHitView> Results);

/// <summary><c>next_after</c> is the cursor to pass as <c>after</c> next time (it moves past audit-only events too).</summary>
public sealed record EventFeedView(IReadOnlyList<WebhookEvent> Events, long NextAfter);

public sealed record AuditEntryView(long Sequence, DateTimeOffset At, string KeyId, string Action, string? Target, int Status, string? Detail);

public sealed record DayView(string Day, long Persons);

public sealed record GrowthView(IReadOnlyList<DayView> Days);

public sealed record AuditView(IReadOnlyList<AuditEntryView> Entries);

/// <summary>The webhook document of an event, as the webhooks deliver it and the pull feed serves it.</summary>
public static class WebhookDocument
{
    public static WebhookEvent From(string tenant, GraphEvent e, IReadOnlySet<DataTier> tiers)
    {
        ArgumentNullException.ThrowIfNull(e);
        ArgumentNullException.ThrowIfNull(tiers);
        return new WebhookEvent($"{tenant}-{e.Sequence}", e.WebhookName ?? e.KindName, tenant, e.Sequence, e.At, e.Person?.ToString(),
            e.Others.Select(p => p.ToString()).ToArray(), e.Observation?.ToString(),
            e.Identifiers.Where(id => tiers.Contains(id.Tier)).Select(id => id.ToString()).ToArray());
    }
}
