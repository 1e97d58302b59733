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
    /// <summary>An identifier was replaced by a new one in the same person (docs/model.md §3.9); Identifiers are [old, new].</summary>
    IdentifierReplaced,
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
        GraphEventKind.IdentifierReplaced => "person.identifier_replaced",
        _ => null,
    };

    /// <summary>The kind as stored and answered: snake_case (created, merged, identifier_replaced …).</summary>
    public string KindName => NameOf(Kind);

    public static string NameOf(GraphEventKind kind) => kind == GraphEventKind.IdentifierReplaced ? "identifier_replaced" : kind.ToString().ToLowerInvariant();

    public static GraphEventKind ParseKind(string name) =>
        name == "identifier_replaced" ? GraphEventKind.IdentifierReplaced : Enum.Parse<GraphEventKind>(name, ignoreCase: true);
}
