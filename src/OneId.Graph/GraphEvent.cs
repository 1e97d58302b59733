namespace OneId.Graph;

/// <summary>The kinds of change written to the audit log, in the same transaction as the change.</summary>
public enum GraphEventKind
{
    Created,
    Linked,
    Merged,
    Split,
    Conflict,
    Retracted,
    Erased,
}

/// <summary>
/// One change to the graph. <see cref="Sequence"/> orders all events of a store, so it doubles as the outbox
/// cursor for webhooks (delivered in order per person).
/// </summary>
public sealed record GraphEvent(
    long Sequence,
    GraphEventKind Kind,
    PersonId? Person,
    IReadOnlyList<PersonId> Others,
    ObservationId? Observation,
    IReadOnlyList<Identifier> Identifiers,
    string? Detail,
    DateTimeOffset At)
{
    /// <summary>The webhook event name (person.created, person.merged …), or null for events that are audit-only.</summary>
    public string? WebhookName => Kind switch
    {
        GraphEventKind.Created => "person.created",
        GraphEventKind.Linked => "person.linked",
        GraphEventKind.Merged => "person.merged",
        GraphEventKind.Split => "person.split",
        GraphEventKind.Erased => "person.erased",
        _ => null,
    };
}
